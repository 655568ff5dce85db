"""The petition state machine (诉求 · 点单 派单 接单 评单 · 吹哨报到), free of infrastructure.

``transition`` decides whether ``auth`` may apply ``action`` to ``petition`` now and
returns the change to store. It checks, in this order: whether the user holds
any role that could ever take the action (403), whether the petition's state
allows it (409), then whether this user may take it at this petition's level
and place — role, scope, department, ownership (403).
"""
from dataclasses import dataclass, field

from civicgrid.errors import Conflict, Forbidden

GRID_ROLES = ("building_leader", "grid_worker", "grid_leader")
COMMUNITY_ROLES = ("community_staff",)
DEPARTMENT_ROLES = ("department_staff",)
RESIDENT_ROLES = ("resident",)

OPEN_STATES = ("submitted", "in_progress", "escalated", "dispatched")

EVENT_OF = {
    "submit": "petition_submitted", "claim": "petition_claimed",
    "escalate": "petition_escalated", "dispatch": "petition_dispatched",
    "accept": "petition_accepted", "return": "petition_returned",
    "resolve": "petition_resolved", "rate": "petition_closed",
    "withdraw": "petition_withdrawn",
}

# Roles that could take each action somewhere; anyone else is refused before state is considered.
ACTION_ROLES = {
    "claim": GRID_ROLES + COMMUNITY_ROLES,
    "escalate": GRID_ROLES,
    "dispatch": COMMUNITY_ROLES,
    "accept": DEPARTMENT_ROLES,
    "return": DEPARTMENT_ROLES,
    "resolve": GRID_ROLES + COMMUNITY_ROLES + DEPARTMENT_ROLES,
    "rate": RESIDENT_ROLES,
    "withdraw": RESIDENT_ROLES,
}


@dataclass
class Change:
    """What one transition does to a petition: fields to set and one timeline entry."""
    action: str
    role: str
    updates: dict
    note: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def event_type(self):
        return EVENT_OF[self.action]


def _in_scope(auth, petition):
    return auth.scope is not None and auth.scope in petition["path"]


def _acting_role(auth, roles, allowed):
    """The first of ``roles`` the user holds for which ``allowed(role)`` is true."""
    for role in roles:
        if auth.has(role) and allowed(role):
            return role
    return None


def _staff_at_level(auth, petition):
    """The role under which ``auth`` may work on the petition at its current level."""
    level = petition["level"]
    if level == "grid":
        return _acting_role(auth, GRID_ROLES, lambda r: _in_scope(auth, petition))
    if level == "community":
        return _acting_role(auth, COMMUNITY_ROLES, lambda r: _in_scope(auth, petition))
    if level == "department":
        return _acting_role(auth, DEPARTMENT_ROLES,
                            lambda r: auth.department is not None
                            and auth.department == petition.get("department_id"))
    return None


def _require(role, what):
    if role is None:
        raise Forbidden(what)
    return role


def _require_state(petition, action, allowed):
    state = (petition["status"], petition["level"])
    if not any(state == a or (a[1] is None and state[0] == a[0]) for a in allowed):
        raise Conflict(
            f"cannot {action} a petition that is {petition['status']} at {petition['level']} level",
            {"status": [petition["status"]]})


def _own(auth, petition):
    return "resident" if auth.has("resident") and auth.user_id == petition["resident_id"] else None


def claim(auth, petition, payload):
    _require_state(petition, "claim", [("submitted", "grid"), ("escalated", "community")])
    role = _require(_staff_at_level(auth, petition),
                    "only the building leader or grid workers of this building, "
                    "or staff of its community once escalated, may claim it")
    level = petition["level"]
    return Change("claim", role, {"status": "in_progress", "level": level, "handler_id": auth.user_id})


def escalate(auth, petition, payload):
    _require_state(petition, "escalate", [("submitted", "grid"), ("in_progress", "grid")])
    role = _require(_staff_at_level(auth, petition),
                    "only the building leader or grid workers of this building may whistle it up")
    return Change("escalate", role, {"status": "escalated", "level": "community", "handler_id": None},
                  note=payload["reason"], extra={"reason": payload["reason"]})


def dispatch(auth, petition, payload):
    _require_state(petition, "dispatch", [("escalated", "community"), ("in_progress", "community")])
    role = _require(_staff_at_level(auth, petition), "only staff of this community may dispatch it")
    department_id = payload["department_id"]
    involved = sorted(set(petition.get("departments", [])) | ({department_id} - {None}))
    return Change("dispatch", role,
                  {"status": "dispatched", "level": "department", "department_id": department_id,
                   "handler_id": None, "departments": involved},
                  note=department_id)


def accept(auth, petition, payload):
    _require_state(petition, "accept", [("dispatched", "department")])
    role = _require(_staff_at_level(auth, petition), "only staff of the department it was dispatched to may accept it")
    return Change("accept", role, {"status": "in_progress", "level": "department", "handler_id": auth.user_id})


def return_(auth, petition, payload):
    _require_state(petition, "return", [("dispatched", "department"), ("in_progress", "department")])
    role = _require(_staff_at_level(auth, petition), "only staff of the department it was dispatched to may return it")
    return Change("return", role,
                  {"status": "escalated", "level": "community", "department_id": None, "handler_id": None},
                  note=payload["reason"], extra={"reason": payload["reason"]})


def resolve(auth, petition, payload):
    _require_state(petition, "resolve", [("in_progress", None)])
    role = _require(_staff_at_level(auth, petition), "only those handling it at its level may resolve it")
    return Change("resolve", role, {"status": "resolved", "resolved_by": auth.user_id, "resolution": payload["note"]},
                  note=payload["note"], extra={"note": payload["note"]})


def rate(auth, petition, payload):
    _require_state(petition, "rate", [("resolved", None)])
    role = _require(_own(auth, petition), "only the resident who raised it may rate it")
    return Change("rate", role, {"status": "closed", "rating": payload["score"], "comment": payload["comment"]},
                  note=payload["comment"] or None, extra={"comment": payload["comment"]})


def withdraw(auth, petition, payload):
    _require_state(petition, "withdraw", [(s, None) for s in OPEN_STATES])
    role = _require(_own(auth, petition), "only the resident who raised it may withdraw it")
    return Change("withdraw", role, {"status": "withdrawn", "handler_id": None})


ACTIONS = {
    "claim": claim, "escalate": escalate, "dispatch": dispatch, "accept": accept,
    "return": return_, "resolve": resolve, "rate": rate, "withdraw": withdraw,
}


def transition(auth, petition, action, payload):
    if not auth.has(*ACTION_ROLES[action]):
        raise Forbidden(f"your roles do not allow '{action}'")
    return ACTIONS[action](auth, petition, payload)


def new_petition(auth, petition_id, fields, location, suggested_department_id, now):
    """The document of a freshly submitted petition, at grid level."""
    return {
        "_id": petition_id,
        "district": auth.district,
        "category": fields["category"],
        "title": fields["title"],
        "description": fields["description"],
        "building_id": location["building_id"],
        "path": location["path"],
        "resident_id": auth.user_id,
        "status": "submitted",
        "level": "grid",
        "department_id": None,
        "departments": [],
        "suggested_department_id": suggested_department_id,
        "handler_id": None,
        "resolved_by": None,
        "resolution": None,
        "rating": None,
        "comment": None,
        "timeline": [timeline_entry("submit", auth.user_id, "resident", now, None)],
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "outbox": [],
    }


def timeline_entry(action, actor, role, now, note):
    return {"action": action, "actor": actor, "role": role, "at": now, "note": note}


def apply(petition, change, actor, now):
    """The petition as it stands after ``change`` (used to build the event and the reply)."""
    after = dict(petition)
    after.update(change.updates)
    after["timeline"] = list(petition["timeline"]) + [timeline_entry(change.action, actor, change.role, now, change.note)]
    after["updated_at"] = now
    after["version"] = petition["version"] + 1
    return after


def event_data(petition, extra=None):
    data = {
        "petition_id": petition["_id"],
        "title": petition["title"],
        "category": petition["category"],
        "status": petition["status"],
        "level": petition["level"],
        "building_id": petition["building_id"],
        "path": list(petition["path"]),
        "resident_id": petition["resident_id"],
        "department_id": petition.get("department_id"),
        "handler_id": petition.get("resolved_by") or petition.get("handler_id"),
        "rating": petition.get("rating"),
        "comment": None, "reason": None, "note": None,
    }
    data.update(extra or {})
    return data


def can_view(auth, petition):
    """Who sees a petition: its resident, staff whose scope covers it, departments it reached, district admins."""
    if auth.district != petition["district"] and not auth.is_system:
        return False
    if auth.is_system or auth.has("district_admin"):
        return True
    if auth.user_id == petition["resident_id"]:
        return True
    if auth.has(*GRID_ROLES, *COMMUNITY_ROLES) and _in_scope(auth, petition):
        return True
    return auth.has(*DEPARTMENT_ROLES) and auth.department in petition.get("departments", [])


def visibility_filter(auth):
    """The Mongo filter matching exactly the petitions ``can_view`` allows."""
    if auth.has("district_admin"):
        return {"district": auth.district}
    clauses = [{"resident_id": auth.user_id}]
    if auth.has(*GRID_ROLES, *COMMUNITY_ROLES) and auth.scope:
        clauses.append({"path": auth.scope})
    if auth.has(*DEPARTMENT_ROLES) and auth.department:
        clauses.append({"departments": auth.department})
    return {"district": auth.district, "$or": clauses}
