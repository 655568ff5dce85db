"""Points service entrypoints: the ledger, earning rules, activities, claims, the shop and reports.

The logic lives in plain modules: domain.py (awards, statements, the check), ledger.py, rules.py,
shop.py, activities.py, claims.py, wishes.py, reports.py.
"""
import logging
import os

from nameko.events import EventDispatcher
from nameko.rpc import RpcProxy
from nameko.timer import timer

from civicgrid import audit
from civicgrid.audit import audited
from civicgrid.auth import Auth
from civicgrid.clock import Clock
from civicgrid.handlers import event_handler  # retried later, then parked: never acked away on failure
from civicgrid.heap import SettledHeap
from civicgrid.idempotency import idempotent
from civicgrid.idempotency_keys import IdempotencyKey, once_per_key
from civicgrid.metrics import Metrics
from civicgrid.outbox import publish_pending
from civicgrid.rpc import rpc
from civicgrid.store import Store
from civicgrid.tracing import Tracing
from civicgrid.validation import schema

from . import accounts, activities, claims, domain, ledger, reports, shop, wishes
from .dependencies import GridDirectory, create_indexes
from .schemas import (AccountStatementSchema, ActivityPageSchema, ActivitySchema, CheckInAnswerSchema,
                      ClaimPageSchema, ClaimSchema, ItemSchema, LeaderboardSchema, LedgerCheckSchema,
                      OrderPageSchema, OrderSchema, ReportSchema, ReversalSchema, RulesSchema, ShopSettingsSchema,
                      StatementSchema, WishPageSchema, WishSchema, WishSettingsSchema)
from .views import activity_view, claim_view, item_view, order_view, wish_view

log = logging.getLogger(__name__)

SCAN_SECONDS = float(os.environ.get("CIVICGRID_SHOP_SCAN_SECONDS")
                     or os.environ.get("CIVICGRID_OVERDUE_SCAN_SECONDS") or 30)
OUTBOXES = ("orders", "activities", "claims", "wishes")
# the half-written sweep groups a day of entries: at start and every ten minutes, not on every maintenance pass
LEDGER_SWEEP_SECONDS = float(os.environ.get("CIVICGRID_LEDGER_SWEEP_SECONDS") or 600)


class PointsService:
    name = "points"

    db = Store(indexes=create_indexes)
    auth = Auth()
    clock = Clock()
    dispatch = EventDispatcher()
    grid = RpcProxy("grid")
    idempotency_key = IdempotencyKey()  # a wish command retried with its Idempotency-Key answers the first answer
    tracing = Tracing()   # correlation id, one log line per RPC and event
    heap = SettledHeap()   # the start-up heap frozen: no full collection walks it again
    metrics = Metrics(outboxes=OUTBOXES)

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def audit_trail(self, district, query=None):
        return audit.trail(self.db, self.auth, district, query)

    # -- my points, rules, statements, the check ------------------------------------

    @rpc
    def my_points(self):
        return schema(StatementSchema).dump(domain.my_points(self.db, self.auth, self.clock()))

    @rpc
    @audited
    def set_my_settings(self, settings):
        return schema(StatementSchema).dump(domain.set_my_settings(self.db, self.auth, settings, self.clock()))

    @rpc
    def get_rules(self, district):
        return schema(RulesSchema).dump(domain.get_rules(self.db, self.auth, district))

    @rpc
    @audited
    def set_rules(self, district, rules):
        return schema(RulesSchema).dump(domain.set_rules(self.db, self.auth, district, rules))

    @rpc
    def check_ledger(self, district):
        return schema(LedgerCheckSchema).dump(domain.check_ledger(self.db, self.auth, district))

    @rpc
    def statement(self, account, query=None):
        return schema(AccountStatementSchema).dump(
            domain.statement(self.db, self.auth, account, query or {}, self.clock(), GridDirectory(self.grid)))

    @rpc
    @audited
    def reverse_transaction(self, district, transaction_id, payload=None):
        return schema(ReversalSchema).dump(domain.reverse(self.db, self.auth, district, transaction_id, payload,
                                                          self.clock()))

    # -- the shop -----------------------------------------------------------------------

    @rpc
    def get_shop_settings(self, district):
        return schema(ShopSettingsSchema).dump(shop.get_settings(self.db, self.auth, district))

    @rpc
    @audited
    def set_shop_settings(self, district, settings):
        return schema(ShopSettingsSchema).dump(shop.set_settings(self.db, self.auth, district, settings, self.clock()))

    @rpc
    @audited
    def create_item(self, payload):
        return schema(ItemSchema).dump(item_view(shop.create_item(self.db, self.auth, payload, self.clock())))

    @rpc
    @audited
    def update_item(self, item_id, payload):
        return schema(ItemSchema).dump(item_view(shop.update_item(self.db, self.auth, item_id, payload, self.clock())))

    @rpc
    @audited
    def change_stock(self, item_id, payload):
        return schema(ItemSchema).dump(item_view(shop.change_stock(self.db, self.auth, item_id, payload, self.clock())))

    @rpc
    def list_items(self, query=None):
        return [schema(ItemSchema).dump(item_view(i)) for i in shop.list_items(self.db, self.auth, query or {})]

    @rpc
    def get_item(self, item_id):
        return schema(ItemSchema).dump(item_view(shop.get_item(self.db, self.auth, item_id)))

    @rpc
    @audited
    def reserve(self, payload):
        order, balance = shop.reserve(self.db, self.auth, payload, self.clock())
        self._relay("orders", order["_id"])
        return schema(OrderSchema).dump(order_view(order, balance))

    @rpc
    def list_orders(self, query=None):
        items, total, params = shop.list_orders(self.db, self.auth, query or {})
        return schema(OrderPageSchema).dump({"items": [order_view(o) for o in items], "total": total,
                                             "page": params["page"], "page_size": params["page_size"]})

    @rpc
    def get_order(self, order_id):
        return schema(OrderSchema).dump(order_view(shop.get_order(self.db, self.auth, order_id)))

    @rpc
    @audited
    def confirm_pickup(self, order_id):
        order = shop.confirm_pickup(self.db, self.auth, order_id, self.clock())
        self._relay("orders", order["_id"])
        return schema(OrderSchema).dump(order_view(order))

    @rpc
    @audited
    def cancel_order(self, order_id, payload=None):
        order = shop.cancel(self.db, self.auth, order_id, payload, self.clock())
        self._relay("orders", order["_id"])
        return schema(OrderSchema).dump(order_view(order))

    # -- activities -----------------------------------------------------------------------

    def _activity(self, doc):
        return schema(ActivitySchema).dump(activity_view(doc, self.auth, activities.is_staff_view(self.auth, doc)))

    @rpc
    @audited
    def create_activity(self, community, payload):
        return self._activity(activities.create(self.db, self.auth, community, payload, self.clock(),
                                                GridDirectory(self.grid)))

    @rpc
    def list_activities(self, community, query=None):
        items, total, params = activities.list_for(self.db, self.auth, community, query or {},
                                                   GridDirectory(self.grid))
        views = [activity_view(a, self.auth, activities.is_staff_view(self.auth, a)) for a in items]
        return schema(ActivityPageSchema).dump({"items": views, "total": total, "page": params["page"],
                                                "page_size": params["page_size"]})

    @rpc
    def get_activity(self, activity_id):
        return self._activity(activities.get(self.db, self.auth, activity_id))

    @rpc
    @audited
    def signup(self, activity_id):
        return self._activity(activities.signup(self.db, self.auth, activity_id, self.clock()))

    @rpc
    @audited
    def withdraw_signup(self, activity_id):
        return self._activity(activities.withdraw(self.db, self.auth, activity_id, self.clock()))

    @rpc
    @audited
    def check_in(self, activity_id, payload):
        results = activities.check_in(self.db, self.auth, activity_id, payload, self.clock())
        self._relay("activities", activity_id)
        return schema(CheckInAnswerSchema).dump({"activity_id": activity_id, "results": results})

    @rpc
    @audited
    def cancel_activity(self, activity_id, payload):
        doc = activities.cancel(self.db, self.auth, activity_id, payload, self.clock())
        self._relay("activities", doc["_id"])
        return self._activity(doc)

    # -- claims ------------------------------------------------------------------------

    @rpc
    @audited
    def submit_claim(self, payload):
        claim = claims.submit(self.db, self.auth, payload, self.clock())
        self._relay("claims", claim["_id"])
        return schema(ClaimSchema).dump(claim_view(claim))

    @rpc
    def list_claims(self, query=None):
        items, total, params = claims.list_for(self.db, self.auth, query or {})
        return schema(ClaimPageSchema).dump({"items": [claim_view(c) for c in items], "total": total,
                                             "page": params["page"], "page_size": params["page_size"]})

    @rpc
    def get_claim(self, claim_id):
        return schema(ClaimSchema).dump(claim_view(claims.get(self.db, self.auth, claim_id)))

    @rpc
    @audited
    def approve_claim(self, claim_id, payload=None):
        claim = claims.approve(self.db, self.auth, claim_id, payload, self.clock())
        self._relay("claims", claim["_id"])
        return schema(ClaimSchema).dump(claim_view(claim))

    @rpc
    @audited
    def reject_claim(self, claim_id, payload=None):
        claim = claims.reject(self.db, self.auth, claim_id, payload, self.clock())
        self._relay("claims", claim["_id"])
        return schema(ClaimSchema).dump(claim_view(claim))

    # -- micro-wishes (微心愿) ------------------------------------------------------------

    def _wish(self, doc):
        self._relay("wishes", doc["_id"])
        return schema(WishSchema).dump(wish_view(doc, self.clock()))

    @rpc
    @once_per_key
    @audited
    def post_wish(self, payload):
        return self._wish(wishes.post(self.db, self.auth, payload, self.clock(), wishes.lookup_person(self.grid)))

    @rpc
    def list_wishes(self, query=None):
        now = self.clock()
        items, total, params = wishes.list_for(self.db, self.auth, query or {},
                                               wishes.lookup_organisation(self.grid), now, GridDirectory(self.grid))
        return schema(WishPageSchema).dump({"items": [wish_view(w, now) for w in items], "total": total,
                                            "page": params["page"], "page_size": params["page_size"]})

    @rpc
    def get_wish(self, wish_id):
        doc = wishes.get(self.db, self.auth, wish_id, wishes.lookup_organisation(self.grid))
        return schema(WishSchema).dump(wish_view(doc, self.clock()))

    @rpc
    @once_per_key
    @audited
    def adopt_wish(self, wish_id, payload=None):
        return self._wish(wishes.adopt(self.db, self.auth, wish_id, payload, self.clock(),
                                       wishes.lookup_organisation(self.grid)))

    @rpc
    @once_per_key
    @audited
    def fulfil_wish(self, wish_id, payload):
        return self._wish(wishes.fulfil(self.db, self.auth, wish_id, payload, self.clock()))

    @rpc
    @once_per_key
    @audited
    def confirm_wish(self, wish_id, payload=None):
        return self._wish(wishes.confirm(self.db, self.auth, wish_id, payload, self.clock()))

    @rpc
    @once_per_key
    @audited
    def withdraw_wish(self, wish_id, payload=None):
        return self._wish(wishes.withdraw(self.db, self.auth, wish_id, payload, self.clock()))

    @rpc
    def get_wish_settings(self, district):
        return schema(WishSettingsSchema).dump(wishes.get_settings(self.db, self.auth, district))

    @rpc
    @audited
    def set_wish_settings(self, district, settings):
        return schema(WishSettingsSchema).dump(
            wishes.set_settings(self.db, self.auth, district, settings, self.clock()))

    # -- reports --------------------------------------------------------------------------

    @rpc
    def points_report(self, district=None, query=None):
        return schema(ReportSchema).dump(reports.report(self.db, self.auth, district, query or {}, self.clock(),
                                                        GridDirectory(self.grid)))

    @rpc
    def leaderboard(self, district=None, community=None, query=None):
        return schema(LeaderboardSchema).dump(reports.leaderboard(self.db, self.auth, district, community, query or {},
                                                                  self.clock(), GridDirectory(self.grid)))

    # -- events in, timers ---------------------------------------------------------------

    @event_handler("petitions", "petition_closed")
    @idempotent
    def handle_petition_closed(self, event):
        # Published after booking: a failed publish leaves the event unmarked, and the
        # redelivery books nothing new but publishes the same (derived) events again.
        for awarded in domain.on_petition_closed(self.db, event, self.clock()):
            self.dispatch("points_awarded", awarded)

    @event_handler("grid", "member_assigned")
    @idempotent
    def handle_member_assigned(self, event):
        domain.on_member_assigned(self.db, event, GridDirectory(self.grid).community_of_scope, self.clock())

    @event_handler("grid", "organisation_registered")
    @idempotent
    def handle_organisation_registered(self, event):
        accounts.open_organisation(self.db, event["district"], event["data"], self.clock())

    @timer(interval=SCAN_SECONDS)
    def scan_wishes(self):
        """Expire wishes past their day and flag those nobody adopted in time; each once, whatever the replicas."""
        expired, flagged = wishes.scan(self.db, self.clock())
        if expired or flagged:
            log.info("wishes: %d expired, %d flagged", expired, flagged)
            publish_pending(self.db.wishes, self._publish)

    @timer(interval=LEDGER_SWEEP_SECONDS, eager=True)
    def repair_ledger(self):
        """Complete the transactions a crash left half-written: as soon as the process is back, then every
        ``CIVICGRID_LEDGER_SWEEP_SECONDS``; every replica sweeps, and completing one twice changes nothing."""
        repaired = ledger.repair_half_written(self.db, self.clock())
        if repaired:
            log.info("ledger: completed %d half-written transactions", repaired)

    @timer(interval=SCAN_SECONDS)
    def maintain(self):
        """Expire reservations nobody picked up; finish what a crash left halfway; send pending events."""
        now = self.clock()
        expired = shop.expire(self.db, now)
        repaired = (shop.repair(self.db, now) + activities.repair(self.db, now) + claims.repair(self.db, now)
                    + wishes.repair(self.db, now))
        if expired or repaired:
            log.info("expired %d reservations, repaired %d", expired, repaired)
        self.relay_outbox()

    @timer(interval=2)
    def relay_outbox(self):
        """Sends what an earlier write could not (a crash or a broker outage in between)."""
        for name in OUTBOXES:
            publish_pending(self.db[name], self._publish)

    def _publish(self, event_type, event):
        self.dispatch(event_type, event)

    def _relay(self, collection, doc_id):
        try:
            publish_pending(self.db[collection], self._publish, {"_id": doc_id})
        except Exception:
            # The write stands; the relay timer publishes it once the broker answers.
            log.exception("publishing %s %s deferred to the relay", collection, doc_id)
