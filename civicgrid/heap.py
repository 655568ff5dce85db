"""What a process holds from its start, kept out of the garbage collector's full walks.

CPython's cycle collector walks every tracked object on each full collection. Once a service has
started, most of its objects are its modules and its framework's machinery (nameko, eventlet, kombu,
marshmallow: a few hundred thousand), alive until the process ends, and each full collection walked
them again: stalls of 40–90 ms seen here, in every process, at random moments of a request.
``gc.freeze()`` moves what exists into a generation the collector ignores. Only once, at start: an
object frozen then lives as long as the process anyway; anything made later is collected as usual.
"""
import gc
import logging

from nameko.extensions import DependencyProvider

log = logging.getLogger("civicgrid.heap")
_settled = []


def settle():
    """Collect what start-up left behind, then freeze the rest, once per process; returns how many
    objects are frozen."""
    if not _settled:
        _settled.append(True)
        gc.collect()
        gc.freeze()
    return gc.get_freeze_count()


class SettledHeap(DependencyProvider):
    """Freezes the heap once the container (and so every other extension) has started. Once per process:
    a test run starting many containers freezes only at the first."""

    def start(self):
        log.debug("%s: %d objects frozen at start", self.container.service_name, settle())
