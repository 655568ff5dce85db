"""Petitions service entrypoints; the logic lives in usecases.py and domain.py."""
import logging

from nameko.events import EventDispatcher
from nameko.messaging import Publisher
from nameko.rpc import RpcProxy
from nameko.timer import timer

from civicgrid.auth import Auth
from civicgrid.integration import INTEGRATION_EXCHANGE, integration_key
from civicgrid.outbox import publish_pending
from civicgrid.rpc import rpc
from civicgrid.store import Store

from . import usecases
from .department_commands import DepartmentCommands
from .dependencies import GridDirectory
from .repository import PetitionRepository, create_indexes
from .views import petition_view

log = logging.getLogger(__name__)


class PetitionsService(DepartmentCommands):
    name = "petitions"

    db = Store(indexes=create_indexes)
    auth = Auth()
    dispatch = EventDispatcher()
    integration = Publisher(exchange=INTEGRATION_EXCHANGE)
    grid = RpcProxy("grid")

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def submit(self, payload):
        petition = usecases.submit(self._repo(), GridDirectory(self.grid), self.auth, payload)
        self._relay(petition["_id"])
        return petition_view(petition)

    @rpc
    def act(self, petition_id, action, payload=None):
        petition = usecases.act(self._repo(), GridDirectory(self.grid), self.auth, petition_id, action, payload)
        self._relay(petition["_id"])
        return petition_view(petition)

    @rpc
    def get(self, petition_id):
        return petition_view(usecases.get(self._repo(), self.auth, petition_id))

    @rpc
    def list(self, query=None):
        items, total, params = usecases.page(self._repo(), self.auth, query or {})
        return {"items": [petition_view(p) for p in items], "total": total,
                "page": params["page"], "page_size": params["page_size"]}

    @timer(interval=2)
    def relay_outbox(self):
        """Sends what an earlier write could not (a crash or a broker outage in between)."""
        publish_pending(self.db.petitions, self._publish)

    def _repo(self):
        return PetitionRepository(self.db)

    def _publish(self, event_type, event):
        """To the platform's consumers, and a copy to the department the event concerns."""
        self.dispatch(event_type, event)
        key = integration_key(event)
        if key:
            self.integration(event, routing_key=key)

    def _relay(self, petition_id):
        try:
            publish_pending(self.db.petitions, self._publish, {"_id": petition_id})
        except Exception:
            # The write stands; the relay timer publishes it once the broker answers.
            log.exception("publishing petition %s deferred to the relay", petition_id)
