"""Every command RPC leaves an audit entry; a new RPC must say which it is before the suite passes."""
from types import SimpleNamespace

import mongomock
import pytest

from civicgrid import audit
from civicgrid.auth import AuthContext
from civicgrid.errors import Forbidden, NotFound
from services.grid.service import GridService
from services.notify.service import NotifyService
from services.petitions.service import PetitionsService
from services.points.service import PointsService

# Questions, and what changes nothing anyone would audit: sign-in (its failures are counted for the
# lock-out, not audited), an Open311 key check, reading one's own notices.
READS = {
    GridService: {"ping", "audit_trail", "get_district", "authenticate", "party_members", "members_under",
                  "user_profile", "get_node", "locate_building", "responsible_for_building", "get_department",
                  "list_departments", "department_for_category", "department_staff", "list_categories",
                  "get_category", "list_api_keys", "check_api_key", "match_building", "get_organisation",
                  "list_organisations", "list_households", "get_household", "list_visits", "get_care_settings",
                  "overdue_visits"},
    PetitionsService: {"ping", "audit_trail", "get", "list", "follow_ups", "open311_requests", "get_time_limits",
                       "get_project", "list_projects", "project_comments",
                       "analytics_rates", "analytics_durations", "analytics_whistles", "analytics_overdue",
                       "analytics_hotspots", "analytics_rankings"},
    PointsService: {"ping", "audit_trail", "my_points", "get_rules", "check_ledger", "statement", "get_shop_settings",
                    "list_items", "get_item", "list_orders", "get_order", "list_activities", "get_activity",
                    "list_claims", "get_claim", "points_report", "leaderboard", "list_wishes", "get_wish",
                    "get_wish_settings"},
    NotifyService: {"ping", "audit_trail", "inbox", "unread_count", "get_notification", "mark_read", "mark_all_read",
                    "my_preferences", "user_preferences", "list_templates", "get_settings", "list_webhooks",
                    "list_deliveries", "recipient_rules", "list_broadcasts", "get_broadcast",
                    "broadcast_recipients"},
}


def rpc_methods(cls):
    from nameko.rpc import Rpc
    for name in dir(cls):
        method = getattr(cls, name)
        if any(isinstance(e, Rpc) for e in getattr(method, "nameko_entrypoints", ())):
            yield name, method


@pytest.mark.parametrize("cls", list(READS), ids=lambda c: c.name)
def test_every_rpc_is_a_read_or_an_audited_command(cls):
    for name, method in rpc_methods(cls):
        audited = getattr(method, "audited", False)
        assert audited != (name in READS[cls]), (
            f"{cls.name}.{name}: decorate a command with @audited, or list a read in READS")


class Fake:
    name = "petitions"

    def __init__(self, auth):
        self.db = mongomock.MongoClient(tz_aware=True).db
        self.auth = auth

    @audit.audited
    def act(self, petition_id, action, payload=None):
        return {"id": petition_id, "status": "in_progress"}


STAFF = AuthContext(user_id="wc-secretary", district="hb", roles=("community_staff",),
                    origin={"channel": "http", "ip": "10.0.0.7"})


def test_an_entry_names_the_fields_never_their_values():
    service = Fake(STAFF)
    service.act("hb-000001", "dispatch", {"department_id": "chengjian", "note": "私密内容"})
    (doc,) = service.db.audit.find()
    assert (doc["action"], doc["target"], doc["district"]) == ("petitions.dispatch", "hb-000001", "hb")
    assert doc["fields"] == ["department_id", "note"] and "私密内容" not in repr(doc)
    assert doc["origin"] == {"channel": "http", "ip": "10.0.0.7"}
    page = audit.trail(service.db, STAFF, "hb", {"action": "petitions."})
    assert page["total"] == 1 and page["items"][0]["actor"]["id"] == "wc-secretary"


def test_a_refused_command_leaves_no_entry():
    class Refusing(Fake):
        @audit.audited
        def act(self, petition_id, action, payload=None):
            raise Forbidden("no")

    service = Refusing(STAFF)
    with pytest.raises(Forbidden):
        service.act("hb-000001", "claim")
    assert service.db.audit.count_documents({}) == 0


def test_another_district_is_not_found_and_residents_are_refused():
    db = SimpleNamespace(audit=mongomock.MongoClient().db.audit)
    with pytest.raises(NotFound):
        audit.trail(db, STAFF, "qj", {})
    with pytest.raises(Forbidden):
        audit.trail(db, AuthContext(user_id="wen", district="hb", roles=("resident",)), "hb", {})
