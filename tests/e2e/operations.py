"""Every operation of the OpenAPI document, filled in with one district's real identifiers.

The isolation walk and the authorization matrix call each operation the document lists; this module
knows how to fill each path parameter (``PARAMETERS``, by name) and each request body (``BODIES``, by
operation), and which petition (in which state) an action is tried on. An operation with a parameter or
a body it does not know fails ``unknown()``: a new endpoint cannot slip past the tests.
"""
import os
import uuid
from datetime import timedelta

import yaml

from civicgrid.auth import PLATFORM_ADMIN
from civicgrid.auth import ROLES as DISTRICT_ROLES

from .conftest import PASSWORD
from .tenancy import CAST, HELP_CATEGORY, ORGANISATION_NAMES

METHODS = ("get", "post", "put", "patch", "delete")
MATRIX = os.path.join(os.path.dirname(__file__), "authorization.yaml")
# the matrix's columns: every role of a district, the platform administrator, nobody signed in
ROLES = ("anonymous",) + DISTRICT_ROLES + (PLATFORM_ADMIN,)

# the petition (by state, see tenancy.build) each action is tried on: one the action could move
ACTION_TARGET = {
    "claim": "grid_submitted", "escalate": "grid_submitted", "withdraw": "grid_submitted",
    "merge": "grid_submitted", "dispatch": "escalated", "accept": "dispatched", "return": "dispatched",
    "resolve": "grid_in_progress", "rate": "resolved", "follow-up": "low_rated",
}


def operations(spec):
    """``[(METHOD, path, operation)]`` in the document's order."""
    return [(method.upper(), path, op) for path, ops in spec["paths"].items()
            for method, op in ops.items() if method in METHODS]


def key(method, path):
    return f"{method} {path}"


# the wish (by state, see tenancy.build) each action is tried on, and the project
WISH_TARGET = {"adopt": "open", "withdraw": "open_withdraw", "fulfil": "adopted", "confirm": "fulfilled"}
PROJECT_TARGET = {"resolve-petitions": "done"}


def _action(path):
    return path.rstrip("/").rsplit("/", 1)[-1]


def _petition(tenant, path):
    return tenant.ids["petitions"][ACTION_TARGET.get(_action(path), "grid_submitted")]


def _wish(tenant, path):
    return tenant.ids["wishes"][WISH_TARGET.get(_action(path), "open")]


def _project(tenant, path):
    return tenant.ids["projects"][PROJECT_TARGET.get(_action(path), "proposed")]


# path parameter -> its value in a district (``tenant``), given the operation's path
PARAMETERS = {
    "code": lambda t, path: t.code,
    "petition_id": _petition,
    "notification_id": lambda t, path: t.ids["notification_id"],
    "category": lambda t, path: HELP_CATEGORY,
    "key_id": lambda t, path: t.ids["key_id"],
    "event_type": lambda t, path: t.ids["event_type"],
    "audience": lambda t, path: t.ids["audience"],
    "locale": lambda t, path: t.ids["locale"],
    "webhook_id": lambda t, path: t.ids["webhook_id"],
    "delivery_id": lambda t, path: t.ids["delivery_id"],
    "user_id": lambda t, path: t.ids["user_id"],
    "broadcast_id": lambda t, path: t.ids["broadcast_id"],
    "item_id": lambda t, path: t.ids["item_id"],
    "order_id": lambda t, path: t.ids["order_id"],
    "community": lambda t, path: t.ids["community"],
    "activity_id": lambda t, path: t.ids["activity_id"],
    "claim_id": lambda t, path: t.ids["pending_claim"],
    "account": lambda t, path: t.ids["account"],
    "transaction_id": lambda t, path: t.ids["transaction_id"],
    "wish_id": _wish,
    "organisation_id": lambda t, path: t.ids["organisation_id"],
    "household_id": lambda t, path: t.ids["household_id"],
    "project_id": _project,
}


# parameters worth more than one value in the walk: every kind of points account
VARIANTS = {
    "account": lambda t: [t.ids["account"], f"community:{t.ids['community']}", f"shop:{t.ids['community']}",
                          f"issuance:{t.code}", f"org:{t.code}:{t.ids['organisation_id']}"],
}
# paths whose district is the caller's own (from the token) unless a query names one (the platform
# administrator's way in): the walk calls each both ways, and a member's own district must win
DISTRICT_QUERY = ("/api/v1/households",)


def queries(path, tenant):
    """The queries the walk sends with ``path`` when calling into ``tenant``."""
    if "{account}" in path:
        return [{"district": tenant.code}]   # members' own district wins
    if path.startswith(DISTRICT_QUERY):
        return [None, {"district": tenant.code}]
    return [None]


def variants(path, tenant):
    """Each filling of ``path`` the walk tries: one, or one per variant of a parameter in ``VARIANTS``."""
    for name in path_parameters(path):
        if name in VARIANTS:
            return [fill(path, tenant, {name: value}) for value in VARIANTS[name](tenant)]
    return [fill(path, tenant)]


def path_parameters(path):
    return _names(path)


def fill(path, tenant, overrides=None):
    """The path with every ``{parameter}`` replaced by the district's value."""
    overrides = overrides or {}
    filled = path
    for name in _names(path):
        value = overrides[name] if name in overrides else PARAMETERS[name](tenant, path)
        filled = filled.replace("{" + name + "}", str(value))
    return filled


def _names(path):
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _node_for(role):
    """Where a broadcast of ``role`` may go: its own scope's kind."""
    return {"building_leader": "building", "grid_worker": "grid", "grid_leader": "grid"}.get(role, "community")


def _broadcast(t, role, now):
    kind = _node_for(role)
    return {"target_kind": kind, "node_id": t.ids[kind], "title": "走查通知", "body": "走查", "confirm_required": False}


def _activity(t, role, now):
    return {"title": "走查活动", "place": "广场", "starts_at": (now + timedelta(days=40)).isoformat(), "capacity": 5}


def _merge(t, role, now):
    return {"into": t.ids["petitions"]["grid_in_progress"]}


def _local_day(now, days=0):
    return (now + timedelta(hours=8, days=days)).date().isoformat()


def _wish_post(t, role, now):
    body = {"title": "走查心愿", "reason": "走查", "wanted_by": _local_day(now, 200)}
    # community staff post for a resident of their community, everyone else for themselves
    return dict(body, resident_id=t.ids["user_id"]) if role == "community_staff" else body


# "METHOD path" -> body(tenant whose identifiers it names, the caller's role, the platform's now).
# Each is valid, so that a refusal is about who asks, never about the body.
BODIES = {
    # sign-in is open to anyone: each cell signs in as its role's own person (anonymous: as the resident)
    "POST /api/v1/auth/token": lambda t, role, now: (
        {"username": "admin", "password": "admin"} if role == "platform_admin"
        else {"username": CAST[t.code].get(role, CAST[t.code]["resident"]), "password": PASSWORD}),
    "POST /api/v1/districts": lambda t, role, now: {"code": "w" + uuid.uuid4().hex[:8], "name": "走查区"},
    "POST /api/v1/districts/{code}/import": lambda t, role, now: {},
    "PUT /api/v1/districts/{code}/point-rules": lambda t, role, now: {"reporter_rated": 2},
    "PUT /api/v1/districts/{code}/time-limits": lambda t, role, now: {"help_claim_hours": 24},
    "POST /api/v1/petitions": lambda t, role, now: {"category": t.ids["category"], "title": "走查诉求",
                                                    "building_id": t.ids["building"]},
    "POST /api/v1/petitions/{petition_id}/claim": lambda t, role, now: {},
    "POST /api/v1/petitions/{petition_id}/accept": lambda t, role, now: {},
    "POST /api/v1/petitions/{petition_id}/withdraw": lambda t, role, now: {},
    "POST /api/v1/petitions/{petition_id}/escalate": lambda t, role, now: {"reason": "走查"},
    "POST /api/v1/petitions/{petition_id}/return": lambda t, role, now: {"reason": "走查"},
    "POST /api/v1/petitions/{petition_id}/dispatch": lambda t, role, now: {"department_id": t.ids["department"]},
    "POST /api/v1/petitions/{petition_id}/resolve": lambda t, role, now: {"note": "走查"},
    "POST /api/v1/petitions/{petition_id}/rate": lambda t, role, now: {"score": 5},
    "POST /api/v1/petitions/{petition_id}/merge": _merge,
    "POST /api/v1/petitions/{petition_id}/follow-up": lambda t, role, now: {"outcome": "contacted", "note": "走查"},
    "POST /api/v1/notifications/read-all": lambda t, role, now: {},
    "PUT /api/v1/notifications/preferences": lambda t, role, now: {"locale": "zh-CN"},
    "PUT /api/v1/districts/{code}/categories/{category}": lambda t, role, now: {
        "name": "求助", "kind": "help", "department_id": None},
    "POST /api/v1/districts/{code}/party-members": lambda t, role, now: {
        "username": {"hb": "wc-party1", "qj": "qj-party1"}[t.code]},
    "POST /api/v1/districts/{code}/api-keys": lambda t, role, now: {"application": "walk", "name": "走查应用"},
    "PUT /api/v1/districts/{code}/notification-templates/{event_type}/{audience}/{locale}":
        lambda t, role, now: {"title": "走查标题", "body": "走查正文"},
    "PUT /api/v1/districts/{code}/notification-settings": lambda t, role, now: {"locale": "zh-CN"},
    # a department's staff manage their department's webhooks; everyone else asks for a district webhook
    "POST /api/v1/districts/{code}/webhooks": lambda t, role, now: (
        {"url": f"https://walk.{t.code}.hooks.invalid/x", "department_id": t.ids["department"]}
        if role == "department_staff" else {"url": f"https://walk.{t.code}.hooks.invalid/x", "events": ["broadcast_sent"]}),
    "PUT /api/v1/districts/{code}/users/{user_id}/notification-preferences": lambda t, role, now: {"locale": "zh-CN"},
    "POST /api/v1/broadcasts": _broadcast,
    "POST /api/v1/shop/items": lambda t, role, now: {"name": "走查商品", "price": 1, "stock": 1,
                                                     "community": t.ids["community"]},
    "PATCH /api/v1/shop/items/{item_id}": lambda t, role, now: {"price": 1},
    "POST /api/v1/shop/items/{item_id}/stock": lambda t, role, now: {"change": 1},
    "POST /api/v1/orders": lambda t, role, now: {"item_id": t.ids["item_id"]},
    "POST /api/v1/orders/{order_id}/cancel": lambda t, role, now: {},
    "POST /api/v1/communities/{community}/activities": _activity,
    "POST /api/v1/activities/{activity_id}/check-ins": lambda t, role, now: {"user_id": t.ids["user_id"]},
    "POST /api/v1/activities/{activity_id}/cancel": lambda t, role, now: {"reason": "走查"},
    "POST /api/v1/claims": lambda t, role, now: {"title": "走查申报"},
    "POST /api/v1/claims/{claim_id}/approve": lambda t, role, now: {},
    "POST /api/v1/claims/{claim_id}/reject": lambda t, role, now: {"reason": "走查"},
    "PUT /api/v1/points/me/settings": lambda t, role, now: {"show_on_leaderboard": True},
    "PUT /api/v1/districts/{code}/shop-settings": lambda t, role, now: {"pickup_days": 3},
    "POST /api/v1/districts/{code}/points/transactions/{transaction_id}/reversal":
        lambda t, role, now: {"reason": "走查"},
    "POST /api/v1/wishes": _wish_post,
    "POST /api/v1/wishes/{wish_id}/adopt": lambda t, role, now: {},
    "POST /api/v1/wishes/{wish_id}/fulfil": lambda t, role, now: {"note": "走查", "media": []},
    "POST /api/v1/wishes/{wish_id}/confirm": lambda t, role, now: {"note": "走查"},
    "POST /api/v1/wishes/{wish_id}/withdraw": lambda t, role, now: {"reason": "走查"},
    "PUT /api/v1/districts/{code}/wish-settings": lambda t, role, now: {"flag_days": 7},
    "POST /api/v1/districts/{code}/organisations": lambda t, role, now: {
        "id": "walk-" + uuid.uuid4().hex[:8], "name": "走查单位", "community": t.ids["community"]},
    # the name it has: an allowed change leaves it as every test knows it
    "PUT /api/v1/districts/{code}/organisations/{organisation_id}": lambda t, role, now: {
        "name": ORGANISATION_NAMES[t.ids["organisation_id"]]},
    "PUT /api/v1/households/{household_id}/care-level": lambda t, role, now: {"level": "green", "reason": "走查"},
    "POST /api/v1/households/{household_id}/visits": lambda t, role, now: {"visited_on": _local_day(now),
                                                                           "notes": "走查"},
    "PUT /api/v1/districts/{code}/care-settings": lambda t, role, now: {"red_days": 7},
    "POST /api/v1/projects": lambda t, role, now: {"title": "走查项目",
                                                   "petition_ids": [t.ids["petitions"]["grid_submitted"]]},
    "PATCH /api/v1/projects/{project_id}": lambda t, role, now: {"description": "走查"},
    # approving: the district administrator's alone (a budget and a sponsor are committed)
    "POST /api/v1/projects/{project_id}/transition": lambda t, role, now: {"status": "approved"},
    "POST /api/v1/projects/{project_id}/comments": lambda t, role, now: {"text": "走查"},
    "POST /api/v1/projects/{project_id}/resolve-petitions": lambda t, role, now: {"note": "走查"},
    "POST /api/v1/operator/parked/replay": lambda t, role, now: {"ids": ["no-such-message"]},
    "POST /api/v1/operator/parked/discard": lambda t, role, now: {"ids": ["no-such-message"]},
}


def has_body(op):
    return "requestBody" in op


def unknown(spec):
    """What the walk could not fill: path parameters without a filler, bodies without a factory."""
    problems = []
    for method, path, op in operations(spec):
        for name in path_parameters(path):
            if name not in PARAMETERS:
                problems.append(f"{method} {path}: no value for path parameter {name!r}")
        if has_body(op) and key(method, path) not in BODIES:
            problems.append(f"{method} {path}: no body")
        if not has_body(op) and key(method, path) in BODIES:
            problems.append(f"{method} {path}: a body for an operation that takes none")
    return problems


def body(method, path, tenant, role, now):
    factory = BODIES.get(key(method, path))
    return None if factory is None else factory(tenant, role, now)


def load_matrix():
    """authorization.yaml as ``{"METHOD path": {"allow": {roles}, "not_found": {roles}}}``, groups expanded."""
    with open(MATRIX, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    groups = document["groups"]
    cells = {}
    for op, entry in document["operations"].items():
        entry = entry if isinstance(entry, dict) else {"allow": entry}
        allow = set()
        for name in entry.get("allow") or ():
            allow |= set(groups.get(name, [name]))
        not_found = set()
        for name in entry.get("not_found") or ():
            not_found |= set(groups.get(name, [name]))
        cells[op] = {"allow": allow, "not_found": not_found}
    return cells
