"""``bare``: one RPC that answers, one that dispatches one event; and where ``bare_handler``'s passed-on
events land (notify's place in the points drain)."""
from nameko.events import EventDispatcher, event_handler

from civicgrid.heap import SettledHeap
from civicgrid.rpc import rpc

from .handler import Seen


class BareService:
    name = "bare"

    dispatch = EventDispatcher()
    arrivals = Seen()   # the passed-on events taken
    heap = SettledHeap()   # as every platform service: the same plumbing

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def echo(self, value):
        """HTTP -> one RPC (the counterpart of reading a petition)."""
        return {"id": value}

    @rpc
    def touch(self, value):
        """HTTP -> one RPC -> one event (the counterpart of submitting a petition)."""
        self.dispatch("touched", {"id": value})
        return {"id": value}

    @event_handler("bare_handler", "passed_on")
    def handle_passed_on(self, payload):
        """Frozen while the drain ceiling runs, as notify is while points drains: the events wait in its queue."""
        with self.arrivals.lock:
            self.arrivals.count += 1

    @rpc
    def landed(self):
        return self.arrivals.count
