"""Points service entrypoints; the ledger and the rules live in domain.py and ledger.py."""
from nameko.events import EventDispatcher, event_handler

from civicgrid.auth import Auth
from civicgrid.idempotency import idempotent
from civicgrid.rpc import rpc
from civicgrid.store import Store

from . import domain
from .dependencies import create_indexes
from .schemas import LedgerCheckSchema, RulesSchema, StatementSchema


class PointsService:
    name = "points"

    db = Store(indexes=create_indexes)
    auth = Auth()
    dispatch = EventDispatcher()

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def my_points(self):
        return StatementSchema().dump(domain.my_points(self.db, self.auth))

    @rpc
    def get_rules(self, district):
        return RulesSchema().dump(domain.get_rules(self.db, self.auth, district))

    @rpc
    def set_rules(self, district, rules):
        return RulesSchema().dump(domain.set_rules(self.db, self.auth, district, rules))

    @rpc
    def check_ledger(self, district):
        return LedgerCheckSchema().dump(domain.check_ledger(self.db, self.auth, district))

    @event_handler("petitions", "petition_closed")
    @idempotent
    def handle_petition_closed(self, event):
        # Published after booking: a failed publish leaves the event unmarked, and the
        # redelivery books nothing new but publishes the same (derived) events again.
        for awarded in domain.on_petition_closed(self.db, event):
            self.dispatch("points_awarded", awarded)
