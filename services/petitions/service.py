"""Petitions service entrypoints; the logic lives in usecases.py, domain.py and deadlines.py."""
import logging
import os

from nameko.events import EventDispatcher
from nameko.rpc import RpcProxy
from nameko.timer import timer

from civicgrid import audit
from civicgrid.audit import audited
from civicgrid.auth import Auth
from civicgrid.clock import Clock
from civicgrid.events import source_of
from civicgrid.handlers import event_handler  # retried later, then parked: never acked away on failure
from civicgrid.heap import SettledHeap
from civicgrid.idempotency import idempotent
from civicgrid.idempotency_keys import IdempotencyKey, once_per_key
from civicgrid.integration import IntegrationPublisher, integration_key, outgoing
from civicgrid.metrics import Metrics
from civicgrid.outbox import publish_pending
from civicgrid.rpc import rpc
from civicgrid.store import Store
from civicgrid.tracing import Tracing
from civicgrid.validation import schema

from . import department_commands, open311, proxy_filing, usecases
from . import project_entrypoints
from .analytics import EVENTS as COUNTED_EVENTS, feed, queries as figures, rebuild
from .analytics.schemas import (DurationsSchema, HotspotsSchema, OverdueCountsSchema, RankingsSchema, RatesSchema,
                                RebuildSchema, WhistlesSchema)
from .dependencies import GridAnswers, GridDirectory, create_indexes
from .repository import PetitionRepository
from .views import petition_view

log = logging.getLogger(__name__)

OVERDUE_SCAN_SECONDS = float(os.environ.get("CIVICGRID_OVERDUE_SCAN_SECONDS", "30"))


def _counting_handler(type_):
    """``handle_<type>``: the read model (analytics) counts the service's own event, once per event."""
    def handle(self, event):
        feed.record(self.db, event)
    handle.__name__ = handle.__qualname__ = f"handle_{type_}"
    return event_handler(source_of(type_), type_)(idempotent(handle))


# the mixin is reached through its module: `nameko run` would take a class in this namespace for a service
class PetitionsService(department_commands.DepartmentCommands, project_entrypoints.ProjectEntrypoints):
    name = "petitions"

    db = Store(indexes=create_indexes)
    auth = Auth()
    idempotency_key = IdempotencyKey()
    clock = Clock()
    dispatch = EventDispatcher()
    # no nameko context headers: a department must never receive anyone's token
    integration = IntegrationPublisher()
    grid = RpcProxy("grid")
    tracing = Tracing(petition_key="id")   # correlation id, one log line per RPC and event
    heap = SettledHeap()   # the start-up heap frozen: no full collection walks it again
    metrics = Metrics(outboxes=("petitions", "projects"))
    grid_answers = GridAnswers()

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def audit_trail(self, district, query=None):
        return audit.trail(self.db, self.auth, district, query)

    @rpc
    @once_per_key
    @audited
    def submit(self, payload):
        now = self.clock()
        petition, duplicates = usecases.submit(self._repo(), GridDirectory(self.grid, self.grid_answers), self.auth,
                                               payload, now,
                                               idempotency_key=self.idempotency_key)
        self._relay(petition["_id"])
        return petition_view(petition, now, duplicates)

    @rpc
    @once_per_key
    @audited
    def act(self, petition_id, action, payload=None):
        now = self.clock()
        petition = usecases.act(self._repo(), GridDirectory(self.grid), self.auth, petition_id, action, payload, now)
        self._relay(petition["_id"])
        return petition_view(petition, now)

    @rpc
    @once_per_key
    @audited
    def submit_for_household(self, payload):
        """代办: a grid worker files for a household they visit (the grid service's visit log calls it)."""
        now = self.clock()
        petition, duplicates = proxy_filing.submit_for_household(
            self._repo(), GridDirectory(self.grid), self.auth, payload, now, idempotency_key=self.idempotency_key)
        self._relay(petition["_id"])
        return petition_view(petition, now, duplicates)

    @rpc
    def get(self, petition_id):
        return petition_view(usecases.get(self._repo(), self.auth, petition_id), self.clock())

    @rpc
    def list(self, query=None):
        now = self.clock()
        items, total, params = usecases.page(self._repo(), self.auth, query or {}, now)
        return {"items": [petition_view(p, now) for p in items], "total": total,
                "page": params["page"], "page_size": params["page_size"]}

    @rpc
    def follow_ups(self, query=None):
        now = self.clock()
        items, total, params, counts = usecases.follow_ups(self._repo(), self.auth, query or {})
        return {"items": [petition_view(p, now) for p in items], "total": total, "counts": counts,
                "page": params["page"], "page_size": params["page_size"]}

    @rpc
    @once_per_key
    @audited
    def record_follow_up(self, petition_id, payload):
        now = self.clock()
        petition = usecases.record_follow_up(self._repo(), self.auth, petition_id, payload, now)
        self._relay(petition["_id"])
        if petition["follow_up"]["linked_petition_id"]:
            self._relay(petition["follow_up"]["linked_petition_id"])
        return petition_view(petition, now)

    @rpc
    @audited
    def open311_submit(self, request):
        """An Open311 application files a request (gateway-minted ``open311_client`` token)."""
        petition, _, receipt = open311.submit(self._repo(), open311.Directory(self.grid), self.auth, request,
                                              self.clock())
        self._relay(petition["_id"])
        return receipt

    @rpc
    def open311_requests(self, query=None):
        """The jurisdiction's Open311 requests as GeoReport v2 ``request`` items (public reads)."""
        return open311.requests(self._repo(), open311.Directory(self.grid), self.auth, query or {}, self.clock())

    @rpc
    def get_time_limits(self, district):
        return usecases.get_limits(self._repo(), self.auth, district)

    @rpc
    @audited
    def set_time_limits(self, district, limits):
        return usecases.set_limits(self._repo(), self.auth, district, limits, self.clock())

    # -- the three rates and the figures around them (analytics read model) ----------------

    @rpc
    def analytics_rates(self, district, query=None):
        return schema(RatesSchema).dump(figures.rates(self.db, self.auth, district, query, self.clock()))

    @rpc
    def analytics_durations(self, district, query=None):
        return schema(DurationsSchema).dump(figures.durations(self.db, self.auth, district, query, self.clock()))

    @rpc
    def analytics_whistles(self, district, query=None):
        return schema(WhistlesSchema).dump(figures.whistles(self.db, self.auth, district, query, self.clock()))

    @rpc
    def analytics_overdue(self, district, query=None):
        return schema(OverdueCountsSchema).dump(figures.overdue(self.db, self.auth, district, query, self.clock()))

    @rpc
    def analytics_hotspots(self, district, query=None):
        return schema(HotspotsSchema).dump(figures.hotspots(self.db, self.auth, district, query, self.clock()))

    @rpc
    def analytics_rankings(self, district, query=None):
        return schema(RankingsSchema).dump(figures.rankings(self.db, self.auth, district, query, self.clock()))

    @rpc
    @audited
    def rebuild_analytics(self, district=None):
        """Recompute the read model from the petitions and swap it in (operator; ``python -m
        services.petitions.analytics rebuild``)."""
        return schema(RebuildSchema, many=True).dump(rebuild.rebuild(self.db, self.auth, district, self.clock()))

    # handle_petition_submitted ... handle_petition_merged: the read model's counters
    for _type in COUNTED_EVENTS:
        locals()[f"handle_{_type}"] = _counting_handler(_type)
    del _type

    @timer(interval=OVERDUE_SCAN_SECONDS)
    def scan_overdue(self):
        """Deadlines that passed: raise them once, whistle up, close unrated petitions."""
        acted = usecases.scan_overdue(self._repo(), self.clock())
        if acted:
            log.info("acted on %d overdue petitions", acted)
            self.relay_outbox()

    @timer(interval=2)
    def relay_outbox(self):
        """Sends what an earlier write could not (a crash or a broker outage in between)."""
        publish_pending(self.db.petitions, self._publish)
        publish_pending(self.db.projects, self._publish)

    def _repo(self):
        return PetitionRepository(self.db)

    def _publish(self, event_type, event):
        """To the platform's consumers, and a copy to the department the event concerns."""
        self.dispatch(event_type, event)
        key = integration_key(event)
        if key:
            body, properties = outgoing(event)   # the correlation id as a property, never a token
            self.integration(body, routing_key=key, **properties)

    def _relay(self, petition_id):
        try:
            publish_pending(self.db.petitions, self._publish, {"_id": petition_id})
        except Exception:
            # The write stands; the relay timer publishes it once the broker answers.
            log.exception("publishing petition %s deferred to the relay", petition_id)
