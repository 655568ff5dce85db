"""What gunicorn always needs for the gateway: ``gunicorn --config python:gateway.gunicorn_conf …``.

The command line keeps the rest (workers, threads, bind). gunicorn reads this module's public
names as its settings, so everything else here has a leading underscore.

- Logs: gunicorn's own lines and the app's go to stderr as JSON (civicgrid/logs.py). Its
  access log is off: the app writes one line per request with the route and correlation id
  (gateway/observability.py).
- Metrics: several worker processes each count their own requests; prometheus-client's
  multiprocess mode has every worker write to ``PROMETHEUS_MULTIPROC_DIR`` and the scrape add
  them up. The directory must start empty on each start (left-over files would add an old
  run's counts), so the master empties the one it is given, or makes a temporary one and
  removes it on exit. prometheus-client picks its mode when it is first imported, so nothing
  here imports it before the variable is set, and the workers (forked later, the app loaded
  after the fork) all see it.
"""
import os as _os
import shutil as _shutil
import tempfile as _tempfile

from civicgrid import logs as _logs

logconfig_dict = _logs.dict_config("gateway")
logconfig_dict["loggers"].update({
    "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
    # enabled by a logconfig_dict; its lines would say nothing the app's request line does not
    "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
})

_created = []
_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def on_starting(server):
    path = _os.environ.get(_VARIABLE)
    if path:
        _os.makedirs(path, exist_ok=True)
        for name in _os.listdir(path):
            if name.endswith(".db"):
                _os.remove(_os.path.join(path, name))
    else:
        path = _tempfile.mkdtemp(prefix="civicgrid-gateway-metrics-")
        _os.environ[_VARIABLE] = path
        _created.append(path)
    server.log.info("gateway metrics: multiprocess files in %s", path)


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for path in _created:
        _shutil.rmtree(path, ignore_errors=True)


def post_worker_init(worker):
    # the app is loaded: freeze what it holds, as the services do (civicgrid/heap.py)
    from civicgrid import heap
    heap.settle()
