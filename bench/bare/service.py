"""``bare``: one RPC that answers, one that dispatches one event; nothing else."""
from nameko.events import EventDispatcher

from civicgrid.heap import SettledHeap
from civicgrid.rpc import rpc


class BareService:
    name = "bare"

    dispatch = EventDispatcher()
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
