"""Micro-projects (微项目): what a community does once for a problem many residents keep raising.

Plain Python, no storage: who may do what to a project in which status, and the documents
and events that follow. ``project_usecases.py`` is the service layer that uses it.

Statuses: ``proposed`` → ``approved`` → ``in_progress`` → ``done``; a proposed or approved
project may be ``cancelled`` (with a reason), which frees its petitions for another project.
Community staff whose scope covers the project's community create, edit, start and finish
it; a district admin may do all of that anywhere in the district, and only a district admin
approves (it commits a budget and a sponsor unit, 驻区单位). As for petitions, checks come in
this order: a role that could ever do it (403), the status (409), then this user at this
project (403).
"""
from dataclasses import dataclass, field

from civicgrid.errors import Conflict, Forbidden

from .domain import COMMUNITY_ROLES, GRID_ROLES, timeline_entry

STATUSES = ("proposed", "approved", "in_progress", "done", "cancelled")
OPEN_STATUSES = ("proposed", "approved", "in_progress")
STAFF_ROLES = COMMUNITY_ROLES + ("district_admin",)

# target status -> the statuses it may be reached from
TRANSITIONS = {
    "approved": ("proposed",),
    "in_progress": ("approved",),
    "done": ("in_progress",),
    "cancelled": ("proposed", "approved"),
}
ACTION_OF = {"approved": "approve", "in_progress": "start", "done": "finish", "cancelled": "cancel"}
EVENT_OF = {"proposed": "project_proposed", "approved": "project_approved", "in_progress": "project_started",
            "done": "project_done", "cancelled": "project_cancelled"}
STAMP_OF = {"approved": "approved_at", "in_progress": "started_at", "done": "done_at", "cancelled": "cancelled_at"}

# once a district admin approved them, only a district admin changes these
LOCKED_AFTER_APPROVAL = ("budget", "sponsor", "sponsor_department_id")


@dataclass
class Move:
    """One status change: the fields it sets, its timeline action and its event."""
    status: str
    role: str
    note: str | None
    updates: dict = field(default_factory=dict)

    @property
    def action(self):
        return ACTION_OF[self.status]

    @property
    def event_type(self):
        return EVENT_OF[self.status]


def staff_role(auth, project):
    """The role in which ``auth`` runs this project, or ``None``."""
    if auth.has("district_admin") and auth.district == project["district"]:
        return "district_admin"
    if auth.has(*COMMUNITY_ROLES) and auth.scope and auth.scope in project["path"]:
        return "community_staff"
    return None


def _require_staff(auth, project, what):
    role = staff_role(auth, project)
    if role is None:
        raise Forbidden(f"only staff of community {project['community']} or a district admin may {what}")
    return role


def _require_open(project, what):
    if project["status"] not in OPEN_STATUSES:
        raise Conflict(f"cannot {what} a project that is {project['status']}", {"status": [project["status"]]})


def may_create(auth):
    if not auth.has(*STAFF_ROLES):
        raise Forbidden("only community staff or a district admin create a micro-project")


def move(auth, project, status, note):
    if not auth.has(*STAFF_ROLES):
        raise Forbidden("only community staff or a district admin move a micro-project")
    if project["status"] not in TRANSITIONS[status]:
        raise Conflict(f"cannot move a project that is {project['status']} to {status}",
                       {"status": [f"{project['status']} → {status} is not a step"]})
    role = _require_staff(auth, project, f"move it to {status}")
    if status == "approved":
        if role != "district_admin":
            raise Forbidden("a district admin approves a micro-project: it commits a budget and a sponsor unit")
        missing = {name: ["required before approval"] for name, key in (("budget", "budget_fen"), ("sponsor", "sponsor"))
                   if project.get(key) is None}
        if missing:
            raise Conflict("set the budget and the sponsor unit before approving", missing)
    return Move(status, role, note, {"status": status})


def may_edit(auth, project, changes):
    if not auth.has(*STAFF_ROLES):
        raise Forbidden("only community staff or a district admin edit a micro-project")
    _require_open(project, "edit")
    role = _require_staff(auth, project, "edit it")
    locked = [name for name in LOCKED_AFTER_APPROVAL if name in changes]
    if locked and role != "district_admin" and project["status"] != "proposed":
        raise Forbidden("once approved, the budget and the sponsor unit are changed by a district admin",
                        {name: ["approved: a district admin changes it"] for name in locked})
    return role


def may_support(auth, project):
    """The building the supporter lives in; one support per resident (the repository's unique index)."""
    if not auth.has("resident"):
        raise Forbidden("only residents support a micro-project")
    _require_open(project, "support")
    if not auth.scope or auth.scope not in project["buildings"]:
        raise Forbidden("only residents of the buildings it affects may support it: "
                        + ", ".join(project["buildings"]))
    return auth.scope


def may_comment(auth, project):
    """Residents of the affected buildings, their building leaders and grid workers, the community's staff."""
    role = staff_role(auth, project)
    if role:
        return role
    if auth.has("resident") and auth.scope in project["buildings"]:
        return "resident"
    grid_role = next((r for r in GRID_ROLES if auth.has(r)), None)
    if grid_role and auth.scope and auth.scope in project.get("nodes", []):
        return grid_role
    raise Forbidden("residents of the affected buildings, their building leaders and grid workers, and the "
                    "community's staff comment on a micro-project")


def may_resolve_petitions(auth, project):
    if not auth.has(*STAFF_ROLES):
        raise Forbidden("only community staff or a district admin resolve a project's petitions")
    if project["status"] != "done":
        raise Conflict("a project's petitions are resolved together once it is done",
                       {"status": [project["status"]]})
    return _require_staff(auth, project, "resolve its petitions")


# -- budget -----------------------------------------------------------------------

def to_fen(amount):
    """Yuan (a Decimal with at most two places) as integer fen; money is never a float."""
    return None if amount is None else int((amount * 100).to_integral_value())


def yuan_text(fen):
    return None if fen is None else f"{fen // 100}.{fen % 100:02d}"


# -- documents and events -----------------------------------------------------------

def nodes_of(building_paths):
    """Every node above an affected building (and the buildings): lists by grid or community match it."""
    return sorted({node for path in building_paths.values() for node in path})


def new_project(auth, role, project_id, seq, values, now):
    """``values``: title, description, community, path, petition_ids, building_paths, budget_fen, sponsor,
    sponsor_department_id, origin."""
    building_paths = dict(values["building_paths"])
    return {
        "_id": project_id, "seq": seq, "district": auth.district,
        "community": values["community"], "path": list(values["path"]),
        "title": values["title"], "description": values["description"],
        "budget_fen": values["budget_fen"], "sponsor": values["sponsor"],
        "sponsor_department_id": values["sponsor_department_id"],
        "buildings": sorted(building_paths), "building_paths": building_paths, "nodes": nodes_of(building_paths),
        "petition_ids": list(values["petition_ids"]), "origin": values["origin"],
        "status": "proposed", "supporters": 0, "comments": 0, "resolution": None,
        "created_by": auth.user_id,
        "timeline": [timeline_entry("propose", auth.user_id, role, now, None)],
        "created_at": now, "updated_at": now,
        "approved_at": None, "started_at": None, "done_at": None, "cancelled_at": None,
        "version": 1, "outbox": [],
    }


def apply(project, updates, action, actor, role, now, note=None):
    after = dict(project)
    after.update(updates)
    if "building_paths" in updates:
        after["buildings"] = sorted(updates["building_paths"])
        after["nodes"] = nodes_of(updates["building_paths"])
    after["timeline"] = list(project["timeline"]) + [timeline_entry(action, actor, role, now, note)]
    after["updated_at"] = now
    after["version"] = project["version"] + 1
    return after


def apply_move(project, move_, actor, now):
    updates = dict(move_.updates)
    updates[STAMP_OF[move_.status]] = now
    return apply(project, updates, move_.action, actor, move_.role, now, move_.note)


def event_data(project, note=None, resident_id=None):
    return {
        "project_id": project["_id"], "title": project["title"], "community": project["community"],
        "status": project["status"], "buildings": list(project["buildings"]),
        "petition_ids": list(project["petition_ids"]), "budget_fen": project.get("budget_fen"),
        "sponsor": project.get("sponsor"), "supporters": project.get("supporters", 0),
        "note": note, "resident_id": resident_id,
    }
