"""Every legal and every illegal transition of the petition state machine."""
from datetime import datetime, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden
from services.petitions import domain

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
PATH = ["hb", "hebian", "wenchang", "wenchang-g1", "b28"]


def person(user_id, *roles, scope=None, department=None, district="hb", community=None):
    return AuthContext(user_id=user_id, district=district, roles=roles, scope=scope, department=department,
                       community=community)


OWNER = person("wenxiaohua", "resident", scope="b28")
NEIGHBOUR = person("huxingyou", "resident", scope="b29")
LEADER = person("daiyunzhong", "building_leader", scope="b28")
OTHER_LEADER = person("daijiaqian", "building_leader", scope="b27")
GRID_WORKER = person("limin", "grid_worker", scope="wenchang-g1")
COMMUNITY = person("wangshuji", "community_staff", scope="wenchang")
OTHER_COMMUNITY = person("zhaoshuji", "community_staff", scope="yanjinghe")
DEPARTMENT = person("chengjian1", "department_staff", department="chengjian")
OTHER_DEPARTMENT = person("gongdian1", "department_staff", department="gongdian")
ADMIN = person("hbadmin", "district_admin", scope="hb")
PARTY = person("wcparty", "party_member", "resident", scope="b29", community="wenchang")
PARTY2 = person("wcparty2", "party_member", scope="wenchang", community="wenchang")
OTHER_PARTY = person("yjparty", "party_member", scope="yanjinghe", community="yanjinghe")

STATES = {
    "submitted@party": ("submitted", "party", None),
    "in_progress@party": ("in_progress", "party", None),
    "submitted@grid": ("submitted", "grid", None),
    "in_progress@grid": ("in_progress", "grid", None),
    "escalated@community": ("escalated", "community", None),
    "in_progress@community": ("in_progress", "community", None),
    "dispatched@department": ("dispatched", "department", "chengjian"),
    "in_progress@department": ("in_progress", "department", "chengjian"),
    "resolved": ("resolved", "department", "chengjian"),
    "closed": ("closed", "department", "chengjian"),
    "withdrawn": ("withdrawn", "grid", None),
    "merged": ("merged", "grid", None),
}

PAYLOADS = {
    "claim": {}, "accept": {}, "withdraw": {},
    "escalate": {"reason": "需要社区协调"}, "return": {"reason": "不属于本部门职责"},
    "dispatch": {"department_id": "chengjian"}, "resolve": {"note": "已修复路灯"},
    "rate": {"score": 5, "comment": "很满意"},
    "merge": {"into": "hb-000001"},
}

# (state, action, actor) -> (status, level) after; everything not listed is illegal.
LEGAL = {
    ("submitted@party", "claim", "PARTY"): ("in_progress", "party"),
    ("submitted@party", "claim", "PARTY2"): ("in_progress", "party"),
    ("in_progress@party", "resolve", "PARTY"): ("resolved", "party"),
    ("in_progress@party", "escalate", "PARTY"): ("submitted", "grid"),
    **{(state, "merge", actor): ("merged", STATES[state][1])
       for state in ("submitted@grid", "in_progress@grid") for actor in ("LEADER", "GRID_WORKER")},
    **{(state, "merge", "COMMUNITY"): ("merged", "community")
       for state in ("escalated@community", "in_progress@community")},
    ("submitted@grid", "claim", "LEADER"): ("in_progress", "grid"),
    ("submitted@grid", "claim", "GRID_WORKER"): ("in_progress", "grid"),
    ("submitted@grid", "escalate", "LEADER"): ("escalated", "community"),
    ("submitted@grid", "escalate", "GRID_WORKER"): ("escalated", "community"),
    ("in_progress@grid", "escalate", "GRID_WORKER"): ("escalated", "community"),
    ("in_progress@grid", "escalate", "LEADER"): ("escalated", "community"),
    ("in_progress@grid", "resolve", "LEADER"): ("resolved", "grid"),
    ("in_progress@grid", "resolve", "GRID_WORKER"): ("resolved", "grid"),
    ("escalated@community", "claim", "COMMUNITY"): ("in_progress", "community"),
    ("escalated@community", "dispatch", "COMMUNITY"): ("dispatched", "department"),
    ("in_progress@community", "dispatch", "COMMUNITY"): ("dispatched", "department"),
    ("in_progress@community", "resolve", "COMMUNITY"): ("resolved", "community"),
    ("dispatched@department", "accept", "DEPARTMENT"): ("in_progress", "department"),
    ("dispatched@department", "return", "DEPARTMENT"): ("escalated", "community"),
    ("in_progress@department", "return", "DEPARTMENT"): ("escalated", "community"),
    ("in_progress@department", "resolve", "DEPARTMENT"): ("resolved", "department"),
    ("resolved", "rate", "OWNER"): ("closed", "department"),
    **{(state, "withdraw", "OWNER"): ("withdrawn", STATES[state][1])
       for state in ("submitted@party", "in_progress@party", "submitted@grid", "in_progress@grid", "escalated@community",
                     "in_progress@community", "dispatched@department", "in_progress@department")},
}

# The actor who holds the action's role, so an illegal state is what refuses it.
ROLE_HOLDER = {
    "claim": "LEADER", "escalate": "GRID_WORKER", "dispatch": "COMMUNITY",
    "accept": "DEPARTMENT", "return": "DEPARTMENT", "resolve": "GRID_WORKER",
    "rate": "OWNER", "withdraw": "OWNER", "merge": "LEADER",
}
ACTORS = {name: value for name, value in globals().items() if isinstance(value, AuthContext)}


def petition_in(state):
    status, level, department = STATES[state]
    return {
        "_id": "p1", "district": "hb", "category": "streetlight", "title": "28栋路灯不亮",
        "description": "", "building_id": "b28", "path": PATH, "resident_id": "wenxiaohua",
        "status": status, "level": level, "department_id": department,
        "departments": [department] if department else [], "suggested_department_id": "chengjian",
        "kind": "help" if level == "party" else "issue",
        "handler_id": "wcparty" if state == "in_progress@party" else None,
        "resolved_by": "chengjian1" if status in ("resolved", "closed") else None,
        "rating": None, "comment": None, "timeline": [], "created_at": NOW, "updated_at": NOW,
        "version": 3,
    }


@pytest.mark.parametrize("state,action,actor", sorted(LEGAL))
def test_legal_transition(state, action, actor):
    petition = petition_in(state)
    change = domain.transition(ACTORS[actor], petition, action, dict(PAYLOADS[action]))
    after = domain.apply(petition, change, ACTORS[actor].user_id, NOW)
    assert (after["status"], after["level"]) == LEGAL[(state, action, actor)]
    assert after["timeline"][-1]["action"] == action
    assert after["timeline"][-1]["actor"] == ACTORS[actor].user_id
    assert after["version"] == petition["version"] + 1
    assert change.event_type == domain.EVENT_OF[action]


ILLEGAL_STATES = [(state, action) for state in STATES for action in PAYLOADS
                  if not any(k[:2] == (state, action) for k in LEGAL)]


@pytest.mark.parametrize("state,action", ILLEGAL_STATES)
def test_illegal_state_is_a_conflict(state, action):
    with pytest.raises(Conflict):
        domain.transition(ACTORS[ROLE_HOLDER[action]], petition_in(state), action, dict(PAYLOADS[action]))


WRONG_ACTORS = [
    (state, action, name) for (state, action, _) in LEGAL for name in ACTORS
    if (state, action, name) not in LEGAL
]


@pytest.mark.parametrize("state,action,actor", sorted(set(WRONG_ACTORS)))
def test_wrong_actor_is_forbidden(state, action, actor):
    with pytest.raises(Forbidden):
        domain.transition(ACTORS[actor], petition_in(state), action, dict(PAYLOADS[action]))


def test_dispatch_records_every_department_involved():
    petition = petition_in("escalated@community")
    petition["departments"] = ["gongdian"]
    change = domain.transition(COMMUNITY, petition, "dispatch", {"department_id": "chengjian"})
    assert change.updates["departments"] == ["chengjian", "gongdian"]


def test_event_data_names_the_resolver_as_handler():
    petition = petition_in("resolved")
    change = domain.transition(OWNER, petition, "rate", {"score": 4, "comment": ""})
    after = domain.apply(petition, change, OWNER.user_id, NOW)
    data = domain.event_data(after, change.extra)
    assert (data["handler_id"], data["rating"], data["status"]) == ("chengjian1", 4, "closed")


@pytest.mark.parametrize("actor,visible", [
    ("OWNER", True), ("NEIGHBOUR", False), ("LEADER", True), ("OTHER_LEADER", False),
    ("GRID_WORKER", True), ("COMMUNITY", True), ("OTHER_COMMUNITY", False),
    ("DEPARTMENT", True), ("OTHER_DEPARTMENT", False), ("ADMIN", True),
])
def test_visibility(actor, visible):
    assert domain.can_view(ACTORS[actor], petition_in("dispatched@department")) is visible


def test_another_district_sees_nothing():
    stranger = person("hbadmin", "district_admin", district="qj")
    assert not domain.can_view(stranger, petition_in("submitted@grid"))
    assert domain.visibility_filter(stranger)["district"] == "qj"
