"""``bare_handler``: a trivial consumer of ``touched`` that remembers what it saw, and says so over RPC; and
the least a points drain could do per ``petition_closed``: publish two events (``handle_closed``)."""
import threading

from nameko.events import EventDispatcher, event_handler
from nameko.extensions import DependencyProvider

from civicgrid.heap import SettledHeap
from civicgrid.rpc import rpc


class Seen(DependencyProvider):
    """What this process has handled (one process, a lock: several workers write)."""

    def setup(self):
        self.ids = set()
        self.count = 0
        self.lock = threading.Lock()

    def get_dependency(self, worker_ctx):
        return self


class BareHandler:
    name = "bare_handler"

    seen = Seen()
    passed = Seen()   # the closed events handled, each passed on twice
    dispatch = EventDispatcher()
    heap = SettledHeap()   # as every platform service: the same plumbing

    @rpc
    def ping(self):
        return "pong"

    @event_handler("bare", "touched")
    def handle_touched(self, payload):
        with self.seen.lock:
            self.seen.ids.add(payload["id"])
            self.seen.count += 1

    @event_handler("bare", "closed")
    def handle_closed(self, payload):
        """What the points drain cannot do without, for each event: its two ``points_awarded`` (the resident's
        and the handler's), published as the platform publishes, each confirmed by the broker."""
        for whom in ("resident", "handler"):
            self.dispatch("passed_on", {"id": payload["id"], "to": whom})
        with self.passed.lock:
            self.passed.count += 1

    @rpc
    def has_seen(self, value):
        return value in self.seen.ids

    @rpc
    def handled(self):
        return self.seen.count

    @rpc
    def passed_on(self):
        return self.passed.count
