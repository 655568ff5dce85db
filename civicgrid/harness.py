"""Start the whole platform as ``make run`` does, in a throwaway RabbitMQ vhost.

Used by the end-to-end tests, the demo (when nothing serves yet) and the
benchmarks, so that each starts exactly the processes an operator starts.
"""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid

import requests

from . import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def management_url():
    return os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")


def _management(method, path, json=None):
    parts = urllib.parse.urlsplit(management_url())
    response = requests.request(
        method, f"{parts.scheme}://{parts.hostname}:{parts.port}/api{path}", json=json,
        auth=(parts.username, parts.password), timeout=10)
    response.raise_for_status()
    return response


@contextlib.contextmanager
def temporary_vhost(prefix="civicgrid_e2e"):
    """A vhost of its own, so a running `make run` and these processes never share queues."""
    vhost = f"{prefix}_{uuid.uuid4().hex[:8]}"
    parts = urllib.parse.urlsplit(config.amqp_uri())
    _management("PUT", f"/vhosts/{vhost}")
    _management("PUT", f"/permissions/{vhost}/{parts.username or 'guest'}",
                {"configure": ".*", "write": ".*", "read": ".*"})
    uri = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + vhost, "", ""))
    try:
        yield uri
    finally:
        with contextlib.suppress(Exception):
            _management("DELETE", f"/vhosts/{vhost}")


def drop_databases(prefix):
    """Remove what a run left in a real MongoDB (nothing to do with mongomock)."""
    uri = config.mongo_uri()
    if not uri:
        return
    import pymongo
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        for name in client.list_database_names():
            if name.startswith(prefix + "_"):
                client.drop_database(name)


class MovableClock:
    """Moves the platform's time forward for tests: every process reads the offset file
    (``CIVICGRID_CLOCK_FILE``) on each call, so no test sleeps through a time limit."""

    def __init__(self, path):
        self.path = path
        self.offset = 0.0
        path.write_text("0")

    def advance(self, hours):
        self.offset += hours * 3600
        self.path.write_text(str(self.offset))


SERVICE_NAMES = ("grid", "petitions", "points", "notify")


def metrics_port_env(ports):
    """What tells the launcher each service's metrics port (civicgrid/launcher.py)."""
    return {f"CIVICGRID_{name.upper()}_METRICS_PORT": str(port) for name, port in ports.items()}


class Platform:
    """Every process logs JSON lines to ``log_path`` (each names its ``service``); the gateway's
    metrics are at ``url + "/metrics"``, each service's at ``metrics_urls[name]``: free ports,
    so several platforms run on one machine side by side."""

    def __init__(self, amqp_uri, port=None, log_path=None, env=None):
        self.amqp_uri = amqp_uri
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.metrics_ports = {name: free_port() for name in SERVICE_NAMES}
        self.metrics_urls = {name: f"http://127.0.0.1:{port}/metrics" for name, port in self.metrics_ports.items()}
        self.extra_env = env or {}
        self.process = None

    # Every client of the tests, the demo and the benchmarks comes from 127.0.0.1: the
    # per-address limits meant for the internet would throttle them (gateway/limits.py).
    LOCAL_LIMITS = {f"CIVICGRID_RATE_LIMIT_{name}": "100000/minute" for name in (
        "SIGNIN_PER_ADDRESS", "SIGNIN_PER_USER", "REDEEM_PER_ADDRESS", "REDEEM_PER_USER")}

    def start(self, timeout=60):
        env = dict(os.environ, AMQP_URI=self.amqp_uri, PYTHONPATH=ROOT,
                   **{**self.LOCAL_LIMITS, **metrics_port_env(self.metrics_ports), **self.extra_env})
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "civicgrid.launcher", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the platform exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"the platform was not ready within {timeout}s; see {self.log_path}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _children(pid):
    """The pids whose parent is ``pid`` (from /proc: no psutil needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return sorted(found)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Processes:
    """The processes ``make run`` starts, each started, killed, frozen and restarted on its own.

    The launcher stops everything when one child dies, as an operator wants; a chaos test
    wants the opposite, so this runs the launcher's own commands (``launcher.commands``,
    ``launcher.environment``) itself, each child in a session of its own, with one log file
    per process in ``log_dir``. ``Platform`` stays the way the end-to-end tests start it.
    """

    NAMES = ("grid", "petitions", "points", "notify", "gateway")

    def __init__(self, amqp_uri, port=None, log_dir=None, env=None, workers=2, threads=8):
        from . import launcher
        self._launcher = launcher
        self.amqp_uri = amqp_uri
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.workers, self.threads = workers, threads
        base = dict(os.environ, **{**Platform.LOCAL_LIMITS, **(env or {})})
        self.env = launcher.environment(amqp_uri, base)
        self.metrics_ports = {name: free_port() for name in SERVICE_NAMES}
        self.metrics_urls = {name: f"http://127.0.0.1:{port}/metrics" for name, port in self.metrics_ports.items()}
        self.procs = {}
        self.starts = {name: 0 for name in self.NAMES}

    def log_path(self, name):
        return os.path.join(self.log_dir, f"{name}.log") if self.log_dir else None

    def command(self, name):
        return dict(self._launcher.commands(self.port, self.workers, self.threads))[name]

    def start(self, timeout=90):
        for name in self.NAMES:
            self.start_one(name)
        self.wait_ready(timeout)
        return self

    def start_one(self, name):
        if self.running(name):
            raise RuntimeError(f"{name} is running already (pid {self.procs[name].pid})")
        path = self.log_path(name)
        log = open(path, "ab") if path else subprocess.DEVNULL
        try:
            env = self._launcher.child_environment(name, self.env, self.metrics_ports)
            self.procs[name] = subprocess.Popen(self.command(name), cwd=ROOT, env=env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            if path:
                log.close()
        self.starts[name] += 1
        return self.procs[name].pid

    def running(self, name):
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def exited(self):
        """Names of processes that stopped without being told to."""
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def pid(self, name):
        return self.procs[name].pid

    def signal_group(self, name, signum):
        """Send ``signum`` to the process and everything it started (its session's group)."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self, name, signum=signal.SIGKILL, timeout=20):
        """SIGKILL (by default) the process and its children, as a crashed container loses them."""
        proc = self.procs[name]
        self.signal_group(name, signum)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(name, signal.SIGKILL)
            proc.wait()
        if name == "gateway":
            self._wait_group_gone(proc.pid, timeout)
        return proc.returncode

    def kill_master_only(self, name="gateway", timeout=30):
        """SIGKILL the gunicorn master alone; its orphaned workers notice and leave (or are killed)."""
        proc = self.procs[name]
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + timeout
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.2)
        for worker in workers:
            if _alive(worker):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker, signal.SIGKILL)
        self._wait_group_gone(proc.pid, 10)
        return workers

    def _wait_group_gone(self, pgid, timeout):
        """The listening socket is free only once every process of the group has gone."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            except PermissionError:
                return True
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        return False

    def workers_of(self, name="gateway"):
        """The gunicorn workers of the gateway (its master's children)."""
        return _children(self.procs[name].pid)

    def kill_worker(self, name="gateway", timeout=30):
        """SIGKILL one gunicorn worker; the master starts a new one. Returns (killed, replacement)."""
        before = self.workers_of(name)
        if not before:
            raise RuntimeError(f"{name} has no workers")
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            now = [pid for pid in self.workers_of(name) if pid != victim]
            if len(now) >= len(before) and set(now) - set(before):
                return victim, sorted(set(now) - set(before))[0]
            time.sleep(0.1)
        raise RuntimeError(f"{name}: no worker replaced {victim} within {timeout}s")

    def freeze(self, name):
        self.signal_group(name, signal.SIGSTOP)

    def thaw(self, name):
        self.signal_group(name, signal.SIGCONT)

    def restart(self, name, timeout=60):
        """SIGKILL, start again, wait until it answers; returns the seconds it was away."""
        began = time.time()
        self.kill(name)
        self.start_one(name)
        self.wait_up(name, timeout)
        return time.time() - began

    def wait_up(self, name, timeout=60):
        """Until the gateway's ``/readyz`` answers 200, or a service answers ``ping`` over the broker."""
        from . import probe
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if not self.running(name):
                raise RuntimeError(f"{name} exited with {self.procs[name].returncode}; see {self.log_path(name)}")
            try:
                if name == "gateway":
                    if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return
                else:
                    probe.ping(name, self.amqp_uri, 2)
                    return
            except Exception as err:
                last = err
            time.sleep(0.3)
        raise RuntimeError(f"{name} did not come up within {timeout}s ({last}); see {self.log_path(name)}")

    def wait_ready(self, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            dead = self.exited()
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited; see the logs in {self.log_dir}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/readyz", timeout=3).status_code == 200:
                    return self
            time.sleep(0.3)
        raise RuntimeError(f"the platform was not ready within {timeout}s; see the logs in {self.log_dir}")

    def stop(self, grace=20):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                self.thaw(name)   # a frozen process cannot act on SIGTERM
                self.signal_group(name, signal.SIGTERM)
        deadline = time.time() + grace
        for name, proc in self.procs.items():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                self.signal_group(name, signal.SIGKILL)
                proc.wait()
        for proc in self.procs.values():
            self._wait_group_gone(proc.pid, 5)
