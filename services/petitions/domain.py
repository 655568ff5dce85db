"""The petition state machine (诉求 · 点单 派单 接单 评单 · 吹哨报到), free of infrastructure.

``transition`` decides whether ``auth`` may apply ``action`` to ``petition`` now and
returns the change to store. It checks, in this order: whether the user holds
any role that could ever take the action (403), whether the petition's state
allows it (409), then whether this user may take it at this petition's level
and place — role, scope, community, department, ownership (403).

Levels, lowest first: ``party`` (a resident's help request offered to the party
members of their community: 居民吹哨，党员报到), ``grid``, ``community``,
``department``.
"""
from dataclasses import dataclass, field
from datetime import timezone

from civicgrid.errors import Conflict, Forbidden
from civicgrid.events import isoformat

PARTY_ROLES = ("party_member",)
GRID_ROLES = ("building_leader", "grid_worker", "grid_leader")
COMMUNITY_ROLES = ("community_staff",)
DEPARTMENT_ROLES = ("department_staff",)
RESIDENT_ROLES = ("resident",)

OPEN_STATES = ("submitted", "in_progress", "escalated", "dispatched")
STATES = OPEN_STATES + ("resolved", "closed", "withdrawn", "merged")
LEVELS = ("party", "grid", "community", "department")

EVENT_OF = {
    "submit": "petition_submitted", "claim": "petition_claimed",
    "escalate": "petition_escalated", "dispatch": "petition_dispatched",
    "accept": "petition_accepted", "return": "petition_returned",
    "resolve": "petition_resolved", "rate": "petition_closed",
    "withdraw": "petition_withdrawn", "merge": "petition_merged",
}

# Roles that could take each action somewhere; anyone else is refused before state is considered.
ACTION_ROLES = {
    "claim": PARTY_ROLES + GRID_ROLES + COMMUNITY_ROLES,
    "escalate": PARTY_ROLES + GRID_ROLES,
    "dispatch": COMMUNITY_ROLES,
    "accept": DEPARTMENT_ROLES,
    "return": DEPARTMENT_ROLES,
    "resolve": PARTY_ROLES + GRID_ROLES + COMMUNITY_ROLES + DEPARTMENT_ROLES,
    "rate": RESIDENT_ROLES,
    "withdraw": RESIDENT_ROLES,
    "merge": GRID_ROLES + COMMUNITY_ROLES,
}

LOW_RATING = 2  # 1 or 2 stars open a follow-up visit (回访)


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
    """The first of ``roles`` the user holds for which ``allowed()`` is true."""
    if not allowed():
        return None
    return next((role for role in roles if auth.has(role)), None)


def _staff_at_level(auth, petition):
    """The role under which ``auth`` may work on the petition at its current level."""
    level = petition["level"]
    if level == "party":
        # a help request, once claimed, stays with the party member who answered it
        mine = petition.get("handler_id") in (None, auth.user_id)
        return _acting_role(auth, PARTY_ROLES,
                            lambda: mine and auth.community is not None and auth.community in petition["path"])
    if level == "grid":
        return _acting_role(auth, GRID_ROLES, lambda: _in_scope(auth, petition))
    if level == "community":
        return _acting_role(auth, COMMUNITY_ROLES, lambda: _in_scope(auth, petition))
    if level == "department":
        return _acting_role(auth, DEPARTMENT_ROLES,
                            lambda: auth.department is not None
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
    _require_state(petition, "claim", [("submitted", "party"), ("submitted", "grid"), ("escalated", "community")])
    role = _require(_staff_at_level(auth, petition),
                    "only a party member of the community (help requests), the building leader or grid "
                    "workers of this building, or staff of its community once escalated, may claim it")
    return Change("claim", role, {"status": "in_progress", "handler_id": auth.user_id})


def escalate(auth, petition, payload):
    """Whistle one level up: party → grid (网格), grid → community (网格吹哨，社区报到)."""
    _require_state(petition, "escalate", [("in_progress", "party"), ("submitted", "grid"), ("in_progress", "grid")])
    role = _require(_staff_at_level(auth, petition),
                    "only whoever handles it at its level may whistle it up")
    return Change("escalate", role, escalation(petition), note=payload["reason"],
                  extra={"reason": payload["reason"]})


def escalation(petition):
    """The fields of a petition whistled one level up."""
    if petition["level"] == "party":
        return {"status": "submitted", "level": "grid", "handler_id": None}
    return {"status": "escalated", "level": "community", "handler_id": None}


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
    return Change("accept", role, {"status": "in_progress", "handler_id": auth.user_id})


def return_(auth, petition, payload):
    _require_state(petition, "return", [("dispatched", "department"), ("in_progress", "department")])
    role = _require(_staff_at_level(auth, petition), "only staff of the department it was dispatched to may return it")
    # the event names the department that returned it, so that department's system hears of it
    return Change("return", role,
                  {"status": "escalated", "level": "community", "department_id": None, "handler_id": None},
                  note=payload["reason"],
                  extra={"reason": payload["reason"], "department_id": petition.get("department_id")})


def resolve(auth, petition, payload):
    _require_state(petition, "resolve", [("in_progress", None)])
    role = _require(_staff_at_level(auth, petition), "only those handling it at its level may resolve it")
    return Change("resolve", role, {"status": "resolved", "resolved_by": auth.user_id,
                                    "resolution": payload["note"], "resolution_media": payload.get("media", [])},
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


def merge(auth, petition, payload):
    """Fold a duplicate into an open original; the duplicate's resident then follows the original."""
    _require_state(petition, "merge", [(s, lvl) for s in OPEN_STATES for lvl in ("grid", "community")])
    role = _require(_staff_at_level(auth, petition), "only whoever handles it at its level may merge it")
    return Change("merge", role, {"status": "merged", "merged_into": payload["into"], "handler_id": None},
                  note=payload["into"], extra={"merged_into": payload["into"]})


# A community can settle what waits at its own level or below; a department finishes (or returns) its own work.
PROJECT_RESOLVABLE = [(s, lvl) for s in ("submitted", "in_progress", "escalated") for lvl in ("party", "grid", "community")]


def resolve_for_project(auth, petition, project, note):
    """A finished micro-project (微项目) resolves a petition linked to it: one ``resolve`` transition of its own,
    by staff of the project's community or a district admin, whatever lower level was holding it."""
    if not auth.has(*COMMUNITY_ROLES, "district_admin"):
        raise Forbidden("only community staff or a district admin resolve petitions through a project")
    _require_state(petition, "resolve", PROJECT_RESOLVABLE)
    if auth.has("district_admin") and auth.district == petition["district"]:
        role = "district_admin"
    else:
        role = _require(_acting_role(auth, COMMUNITY_ROLES, lambda: _in_scope(auth, petition)),
                        "only staff of the petition's community may resolve it")
    entry = f"微项目 {project['_id']}「{project['title']}」完成：{note}"
    return Change("resolve", role, {"status": "resolved", "resolved_by": auth.user_id, "resolution": note,
                                    "resolution_media": [], "project_id": project["_id"]},
                  note=entry, extra={"note": entry, "project_id": project["_id"]})


ACTIONS = {
    "claim": claim, "escalate": escalate, "dispatch": dispatch, "accept": accept,
    "return": return_, "resolve": resolve, "rate": rate, "withdraw": withdraw, "merge": merge,
}


def transition(auth, petition, action, payload):
    if not auth.has(*ACTION_ROLES[action]):
        raise Forbidden(f"your roles do not allow '{action}'")
    return ACTIONS[action](auth, petition, payload)


def new_petition(auth, petition_id, fields, location, category, now):
    """The document of a freshly submitted petition: help requests start with the party members."""
    kind = category.get("kind") or "issue"
    return {
        "_id": petition_id,
        "district": auth.district,
        "kind": kind,
        "category": fields["category"],
        "title": fields["title"],
        "description": fields["description"],
        "attributes": fields.get("attributes", {}),
        "media": fields.get("media", []),
        "location": fields.get("location"),
        "address": fields.get("address"),
        "building_id": location["building_id"],
        "path": location["path"],
        "resident_id": auth.user_id,
        "status": "submitted",
        "level": "party" if kind == "help" else "grid",
        "department_id": None,
        "departments": [],
        "suggested_department_id": category.get("department_id"),
        "handler_id": None,
        "resolved_by": None,
        "resolution": None,
        "resolution_media": [],
        "rating": None,
        "comment": None,
        "followers": [],
        "merged_into": None,
        "follow_up": None,
        "deadline": None,
        # where it is, by level, for the read model's community and grid figures (analytics)
        "community_id": location.get("community"),
        "grid_id": location.get("grid"),
        "fell_due": None,
        "timeline": [timeline_entry("submit", auth.user_id, "resident", now, None)],
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "outbox": [],
    }


def timeline_entry(action, actor, role, now, note):
    return {"action": action, "actor": actor, "role": role, "at": now, "note": note}


def fell_due(petition, now):
    """The moment a petition first falls due for resolution (resolved, or a time limit first passed unmet)."""
    return {"at": now, "level": petition["level"], "department_id": petition.get("department_id")}


def stamp(after, settled, events):
    """The newest timeline entry keeps what its events said to the read model (analytics), so the read
    model can be rebuilt from the petitions alone: the events' ids and types, the level and department
    they named, and the time limit the step settled (``settled``: the one in force before it)."""
    entry = after["timeline"][-1]
    data = events[0]["data"]
    entry.update(events=[{"type": e["type"], "event_id": e["event_id"]} for e in events],
                 level=data["level"], department_id=data["department_id"],
                 settled=dict(settled) if settled else None)


def _iso(moment):
    if moment is None:
        return None
    return isoformat(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))


def deadline_ref(deadline):
    if not deadline:
        return None
    return {"kind": deadline["kind"], "level": deadline["level"], "since": _iso(deadline.get("since")),
            "due_at": _iso(deadline["due_at"]), "fired": bool(deadline["fired"])}


def _fell_due_ref(value):
    return dict(value, at=_iso(value["at"])) if value else None


def apply(petition, change, actor, now):
    """The petition as it stands after ``change`` (used to build the event and the reply)."""
    after = dict(petition)
    after.update(change.updates)
    after["timeline"] = list(petition["timeline"]) + [timeline_entry(change.action, actor, change.role, now, change.note)]
    after["updated_at"] = now
    after["version"] = petition["version"] + 1
    return after


def opens_follow_up(change):
    return change.action == "rate" and change.updates["rating"] is not None and change.updates["rating"] <= LOW_RATING


def event_data(petition, extra=None):
    deadline = petition.get("deadline")
    data = {
        "petition_id": petition["_id"],
        "title": petition["title"],
        "category": petition["category"],
        "kind": petition.get("kind", "issue"),
        "status": petition["status"],
        "level": petition["level"],
        "building_id": petition["building_id"],
        "path": list(petition["path"]),
        "resident_id": petition["resident_id"],
        "department_id": petition.get("department_id"),
        "handler_id": petition.get("resolved_by") or petition.get("handler_id"),
        "rating": petition.get("rating"),
        "due_at": isoformat(deadline["due_at"]) if deadline else None,
        "followers": list(petition.get("followers", [])),
        "comment": None, "reason": None, "note": None,
        "submitted_at": _iso(petition.get("created_at")),
        "community_id": petition.get("community_id"), "grid_id": petition.get("grid_id"),
        "settled": None, "fell_due": _fell_due_ref(petition.get("fell_due")),
    }
    data.update(extra or {})
    return data


def _handles(auth, petition):
    return auth.user_id in (petition.get("handler_id"), petition.get("resolved_by"))


def can_view(auth, petition):
    """Who sees a petition: its resident and followers, whoever handles it, staff whose scope covers it,
    party members of its community (help requests), departments it reached, district admins."""
    if auth.district != petition["district"] and not auth.is_system:
        return False
    if auth.is_system or auth.has("district_admin"):
        return True
    if auth.user_id == petition["resident_id"] or auth.user_id in petition.get("followers", []):
        return True
    if _handles(auth, petition):
        return True
    if auth.has(*GRID_ROLES, *COMMUNITY_ROLES) and _in_scope(auth, petition):
        return True
    if auth.has(*PARTY_ROLES) and petition.get("kind") == "help" and auth.community in petition["path"]:
        return True
    return auth.has(*DEPARTMENT_ROLES) and auth.department in petition.get("departments", [])


def visibility_filter(auth):
    """The Mongo filter matching exactly the petitions ``can_view`` allows."""
    if auth.has("district_admin"):
        return {"district": auth.district}
    clauses = [{"resident_id": auth.user_id}, {"followers": auth.user_id},
               {"handler_id": auth.user_id}, {"resolved_by": auth.user_id}]
    if auth.has(*GRID_ROLES, *COMMUNITY_ROLES) and auth.scope:
        clauses.append({"path": auth.scope})
    if auth.has(*PARTY_ROLES) and auth.community:
        clauses.append({"kind": "help", "path": auth.community})
    if auth.has(*DEPARTMENT_ROLES) and auth.department:
        clauses.append({"departments": auth.department})
    return {"district": auth.district, "$or": clauses}
