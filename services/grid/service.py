"""Grid service entrypoints: districts, their hierarchy, people, departments and the catalogue.

Every method delegates to domain.py, which checks who is asking.
"""
import logging

from nameko.events import EventDispatcher
from nameko.rpc import RpcProxy
from nameko.timer import timer

from civicgrid import audit
from civicgrid.audit import audited
from civicgrid.auth import Auth
from civicgrid.clock import Clock
from civicgrid.heap import SettledHeap
from civicgrid.idempotency_keys import IdempotencyKey, once_per_key
from civicgrid.outbox import publish_pending
from civicgrid.metrics import Metrics
from civicgrid.rpc import rpc
from civicgrid.store import Store
from civicgrid.tracing import Tracing

from . import apikeys, domain, households, organisations, signin
from .dependencies import create_indexes

log = logging.getLogger(__name__)


class GridService:
    name = "grid"

    db = Store(indexes=create_indexes)
    auth = Auth()
    dispatch = EventDispatcher()
    clock = Clock()
    idempotency_key = IdempotencyKey()
    # a petition filed during a visit (代办) goes through the petitions service's own command
    petitions = RpcProxy("petitions")
    tracing = Tracing()   # correlation id, one log line per RPC and event
    heap = SettledHeap()   # the start-up heap frozen: no full collection walks it again
    metrics = Metrics(outboxes=("households",))

    @rpc
    def ping(self):
        return "pong"

    @rpc
    def audit_trail(self, district, query=None):
        return audit.trail(self.db, self.auth, district, query)

    @rpc
    @audited
    def create_district(self, code, name):
        return domain.create_district(self.db, self.auth, code, name)

    @rpc
    def get_district(self, code):
        return domain.get_district(self.db, self.auth, code)

    @rpc
    @audited
    def import_district(self, code, document):
        counts, events = domain.import_district(self.db, self.auth, code, document, self.clock())
        # Published after the write: a crash in between is repaired by importing again,
        # which rewrites nothing new and re-sends every event (consumers are idempotent).
        for event in events:
            self.dispatch(event["type"], event)
        return counts

    @rpc
    def authenticate(self, username, password):
        return signin.authenticate(self.db, username, password)

    @rpc
    @audited
    def register_party_member(self, district, username, community=None):
        member, events = domain.register_party_member(self.db, self.auth, district, username, community)
        for event in events:
            self.dispatch(event["type"], event)
        return member

    @rpc
    def party_members(self, district, community):
        return domain.party_members(self.db, self.auth, district, community)

    # -- organisations registered with a community (驻区单位, companies: organisations.py) --

    @rpc
    @audited
    def register_organisation(self, district, payload):
        org, events = organisations.register(self.db, self.auth, district, payload)
        self._publish(events)
        return org

    @rpc
    @audited
    def update_organisation(self, district, organisation_id, payload):
        org, events = organisations.update(self.db, self.auth, district, organisation_id, payload)
        self._publish(events)
        return org

    @rpc
    def get_organisation(self, district, organisation_id):
        return organisations.get(self.db, self.auth, district, organisation_id)

    @rpc
    def list_organisations(self, district, query=None):
        return organisations.list_(self.db, self.auth, district, query)

    def _publish(self, events):
        # after the write, as the import does: saving the same organisation again re-sends everything
        for event in events:
            self.dispatch(event["type"], event)

    @rpc
    def members_under(self, district, node_id, roles=None):
        return domain.members_under(self.db, self.auth, district, node_id, roles)

    @rpc
    def user_profile(self, district, user_id):
        return domain.user_profile(self.db, self.auth, district, user_id)

    @rpc
    def get_node(self, district, node_id):
        return domain.get_node(self.db, self.auth, district, node_id)

    @rpc
    def locate_building(self, district, building_id):
        return domain.locate_building(self.db, self.auth, district, building_id)

    @rpc
    def responsible_for_building(self, district, building_id):
        return domain.responsible_for_building(self.db, self.auth, district, building_id)

    @rpc
    def get_department(self, district, department_id):
        return domain.get_department(self.db, self.auth, district, department_id)

    @rpc
    def list_departments(self, district):
        return domain.list_departments(self.db, self.auth, district)

    @rpc
    def department_for_category(self, district, category):
        return domain.department_for_category(self.db, self.auth, district, category)

    @rpc
    def department_staff(self, district, department_id):
        return domain.department_staff(self.db, self.auth, district, department_id)

    @rpc
    def list_categories(self, district):
        return domain.list_categories(self.db, self.auth, district)

    @rpc
    def get_category(self, district, category):
        return domain.get_category(self.db, self.auth, district, category)

    @rpc
    @audited
    def put_category(self, district, category, definition):
        return domain.put_category(self.db, self.auth, district, category, definition)

    # -- Open311 intake (apikeys.py): applications' API keys, and where their requests land --

    @rpc
    @audited
    def create_api_key(self, district, application):
        return apikeys.create_api_key(self.db, self.auth, district, application)

    @rpc
    def list_api_keys(self, district):
        return apikeys.list_api_keys(self.db, self.auth, district)

    @rpc
    @audited
    def revoke_api_key(self, district, key_id):
        return apikeys.revoke_api_key(self.db, self.auth, district, key_id)

    @rpc
    def check_api_key(self, api_key):
        return apikeys.check_api_key(self.db, api_key)

    @rpc
    def match_building(self, district, address_id=None, address=None, lat=None, lng=None):
        return apikeys.match_building(self.db, self.auth, district, address_id, address, lat, lng)

    # -- households, care levels (红橙绿) and visits (households.py) --

    @rpc
    def list_households(self, district, query=None):
        return households.list_households(self.db, self.auth, district, query or {}, self.clock())

    @rpc
    def get_household(self, district, household_id):
        return households.get_household(self.db, self.auth, district, household_id, self.clock())

    @rpc
    @audited
    def set_care_level(self, district, household_id, change):
        household = households.set_care_level(self.db, self.auth, district, household_id, change, self.clock())
        self._relay(household_id, district)
        return household

    @rpc
    @once_per_key
    @audited
    def record_visit(self, district, household_id, visit):
        return households.record_visit(self.db, self.auth, district, household_id, visit, self.clock(),
                                       file_petition=self.petitions.submit_for_household)

    @rpc
    def list_visits(self, district, household_id, query=None):
        return households.list_visits(self.db, self.auth, district, household_id, query or {})

    @rpc
    def get_care_settings(self, district):
        return households.get_care_settings(self.db, self.auth, district)

    @rpc
    @audited
    def set_care_settings(self, district, changes):
        return households.set_care_settings(self.db, self.auth, district, changes, self.clock())

    @rpc
    def overdue_visits(self, district):
        return households.overdue_visits(self.db, self.auth, district, self.clock())

    @timer(interval=2)
    def relay_outbox(self):
        """Sends what an earlier write could not (a crash or a broker outage in between)."""
        publish_pending(self.db.households, self.dispatch)

    def _relay(self, household_id, district):
        try:
            publish_pending(self.db.households, self.dispatch, {"district": district, "id": household_id})
        except Exception:
            # The write stands; the relay timer publishes it once the broker answers.
            log.exception("publishing household %s/%s deferred to the relay", district, household_id)
