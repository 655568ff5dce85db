"""Start the bare stack with the platform's own commands: only the app and the service modules differ.

The gunicorn command line is the launcher's (civicgrid/launcher.py: worker class, workers, threads,
access log, timeouts) with the bare app swapped in; each nameko service runs as ``nameko run`` with a
config of the same shape and ``max_workers`` as the platform's services.
"""
import os

from civicgrid import launcher
from civicgrid.harness import Processes

HERE = os.path.dirname(os.path.abspath(__file__))
GATEWAY_APP = "gateway.app:create_app()"
SERVICES = {"bare": "bench.bare.service", "bare_handler": "bench.bare.handler"}


def commands(port, workers, threads):
    ours = dict(launcher.commands(port, workers, threads))
    gateway = ours["gateway"]
    if gateway[-1] != GATEWAY_APP:
        raise RuntimeError(f"the launcher's gateway command changed ({gateway[-1]!r}): update bench/bare/stack.py")
    template = ours["points"]  # [python, -m, nameko, run, --config, <config.yml>, <module>]
    for name, module in SERVICES.items():
        yield name, template[:-2] + [os.path.join(HERE, "config.yml"), module]
    yield "gateway", gateway[:-1] + ["bench.bare.app:create_app()"]


class BareStack(Processes):
    NAMES = tuple(SERVICES) + ("gateway",)

    def command(self, name):
        return dict(commands(self.port, self.workers, self.threads))[name]
