"""``make run``: the four services and the gateway as separate processes.

Each child runs in its own session so that Ctrl-C reaches only this launcher,
which then stops every child gracefully (SIGTERM, then SIGKILL after a grace
period). If any child dies, the launcher stops the rest and says which one.

Each service serves Prometheus metrics on a port of its own (``METRICS_PORTS``, each
overridable with ``CIVICGRID_<SERVICE>_METRICS_PORT``, e.g. ``CIVICGRID_GRID_METRICS_PORT``);
the gateway serves its own at ``/metrics`` on its HTTP port. Every process logs JSON lines.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request

from . import broker, config

SERVICES = ("grid", "petitions", "points", "notify")
# the defaults of services/<name>/config.yml (CIVICGRID_METRICS_PORT) for one machine
METRICS_PORTS = {"grid": 9101, "petitions": 9102, "points": 9103, "notify": 9104}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# nameko 2.14's CLI warns about eventlet and pkg_resources at every start: known, pinned, not news.
QUIET = "ignore::Warning:nameko.cli.commands,ignore::UserWarning:nameko.cli.main"


def commands(port, workers, threads):
    for name in SERVICES:
        yield name, [sys.executable, "-m", "nameko", "run",
                     "--config", os.path.join(ROOT, "services", name, "config.yml"),
                     f"services.{name}.service"]
    yield "gateway", [sys.executable, "-m", "gunicorn",
                      "--worker-class", "gthread", "--workers", str(workers),
                      "--threads", str(threads), "--bind", f"0.0.0.0:{port}",
                      # JSON logs (the app's request line replaces the access log), metrics across workers
                      "--config", "python:gateway.gunicorn_conf", "--graceful-timeout", "10",
                      # one machine may run several platforms (dev, tests): no shared control socket
                      "--no-control-socket",
                      "gateway.app:create_app()"]


def environment(uri, base=None):
    """What every child runs with: the broker, the checkout on the path, nameko's known warnings quiet."""
    base = os.environ if base is None else base
    return dict(base, AMQP_URI=uri, PYTHONPATH=ROOT + os.pathsep + base.get("PYTHONPATH", ""),
                PYTHONWARNINGS=QUIET)


def metrics_ports(base=None):
    """{service: the port its metrics are served on}."""
    base = os.environ if base is None else base
    return {name: int(base.get(f"CIVICGRID_{name.upper()}_METRICS_PORT") or default)
            for name, default in METRICS_PORTS.items()}


def child_environment(name, env, ports):
    """A service's own environment: its metrics port (config.yml reads CIVICGRID_METRICS_PORT)."""
    return dict(env, CIVICGRID_METRICS_PORT=str(ports[name])) if name in ports else env


def wait_ready(port, procs, timeout):
    deadline = time.time() + timeout
    url = f"http://127.0.0.1:{port}/readyz"
    while time.time() < deadline:
        if any(p.poll() is not None for p in procs.values()):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.3)
    return False


def stop(procs, grace=10):
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.time() + grace
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the CivicGrid platform")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GATEWAY_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GATEWAY_THREADS", "8")))
    args = parser.parse_args(argv)

    uri = config.amqp_uri()
    if not broker.reachable(uri):
        print(broker.hint(uri), file=sys.stderr)
        return 2

    env = environment(uri)
    if not config.mongo_uri():
        print("civicgrid: MONGO_URI unset: every service keeps its data in memory "
              "(mongomock); nothing persists after Ctrl-C", flush=True)
    procs = {}
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ports = metrics_ports()
    for name, cmd in commands(args.port, args.workers, args.threads):
        procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=child_environment(name, env, ports),
                                       start_new_session=True)

    if wait_ready(args.port, procs, timeout=60):
        print(f"civicgrid: up at http://127.0.0.1:{args.port} "
              f"(API docs /api/v1/docs); Ctrl-C stops everything", flush=True)
        print("civicgrid: metrics at " + ", ".join(
            [f"http://127.0.0.1:{args.port}/metrics (gateway)"]
            + [f"http://127.0.0.1:{port}/metrics ({name})" for name, port in ports.items()]), flush=True)
    code = 0
    while not stopping:
        dead = [n for n, p in procs.items() if p.poll() is not None]
        if dead:
            print(f"civicgrid: {', '.join(dead)} stopped unexpectedly; stopping the rest",
                  file=sys.stderr, flush=True)
            code = 1
            break
        time.sleep(0.3)
    stop(procs)
    print("civicgrid: stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
