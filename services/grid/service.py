"""Grid service entrypoints: districts, their hierarchy, people, departments and the catalogue.

Every method delegates to domain.py, which checks who is asking.
"""
from nameko.events import EventDispatcher

from civicgrid import audit
from civicgrid.audit import audited
from civicgrid.auth import Auth
from civicgrid.rpc import rpc
from civicgrid.store import Store

from . import apikeys, domain, signin
from .dependencies import create_indexes


class GridService:
    name = "grid"

    db = Store(indexes=create_indexes)
    auth = Auth()
    dispatch = EventDispatcher()

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
        counts, events = domain.import_district(self.db, self.auth, code, document)
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
