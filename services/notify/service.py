"""Notify service entrypoints: a handler per event of the rules table, the inbox and its settings
over RPC, and three timers (deliveries, broadcast fan-out, morning digests). No entrypoint sends
anything to the outside world itself: the delivery timer hands due deliveries to the courier."""
from nameko.events import BROADCAST, EventDispatcher
from nameko.rpc import RpcProxy
from nameko.timer import timer

from civicgrid import audit
from civicgrid.audit import audited
from civicgrid.auth import Auth
from civicgrid.clock import Clock
from civicgrid.events import derived_event_id, make_event, source_of
from civicgrid.handlers import event_handler  # retried later, then parked: never acked away on failure
from civicgrid.heap import SettledHeap
from civicgrid.idempotency import idempotent
from civicgrid.metrics import Metrics
from civicgrid.rpc import rpc
from civicgrid.store import Store
from civicgrid.tracing import Tracing
from civicgrid.validation import schema

from . import broadcasts, deliveries, digests, domain, options, preferences, rules, webhooks
from .dependencies import create_indexes
from .directory import Directory, RecipientCache
from .schemas import (BroadcastPageSchema, BroadcastSchema, DeliveryPageSchema, DeliverySchema, InboxSchema,
                      MarkedSchema, NotificationSchema, PreferencesSchema, RecipientPageSchema, RuleSchema,
                      SettingsSchema, TemplateSchema, UnreadSchema, WebhookSchema)

SYSTEM_ACTOR = {"id": "system:notify", "role": "system"}


def _notice_handler(type_):
    """``handle_<type>``: one notice per recipient the rules table names, once per event."""
    def handle(self, event):
        return domain.notify(self.db, self.directory(), event, self.clock())
    handle.__name__ = handle.__qualname__ = f"handle_{type_}"
    return event_handler(source_of(type_), type_)(idempotent(handle))


class NotifyService:
    name = "notify"

    db = Store(indexes=create_indexes)
    auth = Auth()
    grid = RpcProxy("grid")
    clock = Clock()
    dispatch = EventDispatcher()
    courier = deliveries.Courier()
    recipient_cache = RecipientCache()
    tracing = Tracing()   # correlation id, one log line per RPC and event
    heap = SettledHeap()   # the start-up heap frozen: no full collection walks it again
    # its outboxes: finished deliveries and sent broadcasts waiting to be announced
    metrics = Metrics(outboxes=(("deliveries", {"announce": {"$in": list(deliveries.ANNOUNCED)}}),
                                ("broadcasts", broadcasts.PENDING_ANNOUNCEMENT)))

    def directory(self):
        return Directory(self.grid, self.recipient_cache)

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def audit_trail(self, district, query=None):
        return audit.trail(self.db, self.auth, district, query)

    # -- the inbox -----------------------------------------------------------

    @rpc
    def inbox(self, page=1, page_size=20, filters=None):
        return schema(InboxSchema).dump(domain.inbox(self.db, self.auth, page, page_size, filters))

    @rpc
    def unread_count(self):
        return schema(UnreadSchema).dump(domain.unread_count(self.db, self.auth))

    @rpc
    def get_notification(self, notification_id):
        return schema(NotificationSchema).dump(domain.get(self.db, self.auth, notification_id))

    @rpc
    def mark_read(self, notification_id):
        return schema(NotificationSchema).dump(domain.mark_read(self.db, self.auth, notification_id, self.clock()))

    @rpc
    def mark_all_read(self, filters=None):
        return schema(MarkedSchema).dump(domain.mark_all_read(self.db, self.auth, filters, self.clock()))

    @rpc
    @audited
    def confirm(self, notification_id):
        return schema(NotificationSchema).dump(domain.confirm(self.db, self.auth, notification_id, self.clock()))

    # -- preferences ---------------------------------------------------------

    @rpc
    def my_preferences(self):
        return schema(PreferencesSchema).dump(domain.my_preferences(self.db, self.auth))

    @rpc
    @audited
    def set_my_preferences(self, changes):
        return schema(PreferencesSchema).dump(domain.set_my_preferences(self.db, self.auth, changes, self.clock()))

    @rpc
    def user_preferences(self, district, user_id):
        return schema(PreferencesSchema).dump(
            domain.user_preferences(self.db, self.auth, self.directory(), district, user_id))

    @rpc
    @audited
    def set_user_preferences(self, district, user_id, changes):
        return schema(PreferencesSchema).dump(domain.set_user_preferences(
            self.db, self.auth, self.directory(), district, user_id, changes, self.clock()))

    # -- a district's templates, settings, webhooks, deliveries ----------------

    @rpc
    def list_templates(self, district, query=None):
        return schema(TemplateSchema, many=True).dump(domain.list_templates(self.db, self.auth, district, query))

    @rpc
    @audited
    def put_template(self, district, type_, audience, locale, template):
        return schema(TemplateSchema).dump(domain.put_template(
            self.db, self.auth, district, type_, audience, locale, template, self.clock()))

    @rpc
    @audited
    def delete_template(self, district, type_, audience, locale):
        return schema(TemplateSchema).dump(
            domain.delete_template(self.db, self.auth, district, type_, audience, locale))

    @rpc
    def get_settings(self, district):
        return schema(SettingsSchema).dump(domain.get_settings(self.db, self.auth, district))

    @rpc
    @audited
    def set_settings(self, district, changes):
        return schema(SettingsSchema).dump(domain.set_settings(self.db, self.auth, district, changes, self.clock()))

    @rpc
    def list_webhooks(self, district):
        return schema(WebhookSchema, many=True).dump(webhooks.list_(self.db, self.auth, district))

    @rpc
    @audited
    def create_webhook(self, district, payload):
        return schema(WebhookSchema).dump(
            webhooks.create(self.db, self.auth, self.directory(), district, payload, self.clock()))

    @rpc
    @audited
    def delete_webhook(self, district, webhook_id):
        return schema(WebhookSchema).dump(webhooks.delete(self.db, self.auth, district, webhook_id))

    @rpc
    @audited
    def rotate_webhook_secret(self, district, webhook_id):
        return schema(WebhookSchema).dump(webhooks.rotate(self.db, self.auth, district, webhook_id))

    @rpc
    def list_deliveries(self, district, query=None):
        return schema(DeliveryPageSchema).dump(deliveries.list_deliveries(self.db, self.auth, district, query))

    @rpc
    @audited
    def retry_delivery(self, district, delivery_id):
        return schema(DeliverySchema).dump(deliveries.retry(self.db, self.auth, district, delivery_id, self.clock()))

    @rpc
    def recipient_rules(self):
        """The rules table, row by row: (event, when, audience, people, category, practice)."""
        return schema(RuleSchema, many=True).dump([
            dict(zip(("event", "when", "audience", "people", "category", "practice"), row),
                 critical=row[4] in preferences.CRITICAL) for row in rules.table()])

    # -- broadcasts ----------------------------------------------------------

    @rpc
    @audited
    def send_broadcast(self, payload):
        return schema(BroadcastSchema).dump(
            broadcasts.create(self.db, self.auth, self.directory(), payload, self.clock()))

    @rpc
    def list_broadcasts(self, query=None):
        return schema(BroadcastPageSchema).dump(broadcasts.list_(self.db, self.auth, query))

    @rpc
    def get_broadcast(self, broadcast_id):
        return schema(BroadcastSchema).dump(broadcasts.get(self.db, self.auth, broadcast_id))

    @rpc
    def broadcast_recipients(self, broadcast_id, query=None):
        return schema(RecipientPageSchema).dump(broadcasts.recipients(self.db, self.auth, broadcast_id, query))

    # -- timers ----------------------------------------------------------------

    @timer(interval=options.DELIVERY_SCAN_SECONDS)
    def deliver_due(self):
        """Announce finished deliveries, then hand due ones to the courier (which sends each on its own)."""
        self._announce()
        return self.courier.dispatch(self.db, self.clock)

    @timer(interval=options.FANOUT_SCAN_SECONDS)
    def fan_out(self):
        return broadcasts.fan_out(self.db, self.clock)

    @timer(interval=options.DIGEST_SCAN_SECONDS)
    def send_digests(self):
        return digests.run(self.db, self.directory(), self.clock())

    def _announce(self):
        # outboxes in the delivery and broadcast documents: publish, then mark; a crash in between
        # publishes again with the same (derived) event id, which consumers recognise
        for doc in deliveries.pending_announcements(self.db):
            event = make_event(doc["announce"], doc["district"], SYSTEM_ACTOR, deliveries.announcement(doc),
                               event_id=derived_event_id(doc["_id"], doc["announce"]),
                               correlation_id=doc.get("correlation_id"))
            self.dispatch(event["type"], event)
            deliveries.announced(self.db, doc)
        for doc in broadcasts.pending_announcements(self.db):
            event = broadcasts.announcement(doc)
            self.dispatch(event["type"], event)
            broadcasts.announced(self.db, doc)

    # -- events ----------------------------------------------------------------

    # handle_petition_submitted ... handle_order_cancelled: one per event type of the rules table
    for _type in rules.EVENT_TYPES:
        locals()[f"handle_{_type}"] = _notice_handler(_type)
    del _type

    @event_handler("points", "claim_submitted")
    @idempotent
    def handle_claim_submitted(self, event):
        """A claim waits for the community: remembered for the morning digest, nobody notified now."""
        digests.observe(self.db, event, self.clock())

    @event_handler("grid", "member_assigned", handler_type=BROADCAST, reliable_delivery=False)
    def forget_people(self, payload):
        """The grid's people changed: every replica forgets what it cached of the district."""
        self.recipient_cache.clear(payload.get("district") if isinstance(payload, dict) else None)

    @event_handler("grid", "department_registered", handler_type=BROADCAST, reliable_delivery=False)
    def forget_departments(self, payload):
        self.recipient_cache.clear(payload.get("district") if isinstance(payload, dict) else None)
