"""``bare_handler``: a trivial consumer of ``touched`` that remembers what it saw, and says so over RPC."""
import threading

from nameko.events import event_handler
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
    heap = SettledHeap()   # as every platform service: the same plumbing

    @rpc
    def ping(self):
        return "pong"

    @event_handler("bare", "touched")
    def handle_touched(self, payload):
        with self.seen.lock:
            self.seen.ids.add(payload["id"])
            self.seen.count += 1

    @rpc
    def has_seen(self, value):
        return value in self.seen.ids

    @rpc
    def handled(self):
        return self.seen.count
