"""The time a service acts on: real UTC, unless a test moves it.

Deadlines are tested by moving time, not by sleeping: container tests replace
the ``Clock`` dependency; end-to-end tests point ``CIVICGRID_CLOCK_FILE`` at a
file holding an offset in seconds, which every process reads on each call.
Production never sets it.
"""
import os
from datetime import timedelta

from nameko.extensions import DependencyProvider

from .events import utcnow


def now():
    moment = utcnow()
    path = os.environ.get("CIVICGRID_CLOCK_FILE")
    if path:
        try:
            with open(path) as f:
                moment += timedelta(seconds=float(f.read().strip() or 0))
        except (OSError, ValueError):
            pass
    return moment


class Clock(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return now
