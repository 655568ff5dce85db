"""Tenant isolation (OWASP API1): nobody reads, lists, changes or counts anything of another district.

The walk takes every operation of the OpenAPI document. An operation with path parameters is filled
with the other district's real identifiers (its code, a petition in the state the action could move,
its item, order, activity, claim, broadcast, notice, API key, webhook, delivery, category, template,
account, award) and called by every person of qj, in every role, against hb, and by a sample of hb
against qj: each answer is 404, as for something that does not exist, and both districts are exactly
as they were afterwards (their petitions, ledger, shop, orders, claims, activities, keys, settings,
audit trail). An operation without one (lists, counts, my inbox, my points, commands whose body
names a building, a node, an item or a community) is called by everyone of qj with hb's identifiers
where it takes any: no answer holds anything of hb, a reference to hb's data is answered as one to
data that does not exist, and no figure moves when hb grows.

The platform administrator is allowed into every district by design (it sets them up and operates
them), so it is left out of the walk; tests/e2e/authorization.yaml lists what it may do.
"""
import re

import pytest
import requests

from . import operations as ops
from .conftest import eventually
from .tenancy import (CAST, PEOPLE, Builder, Caller, agreeing, describe, leaks, platform_now, settled_snapshot,
                      unchanged)

HB_SAMPLE = ("wenxiaohua", "wc-secretary", "hb-admin")
NOWHERE = "no-such-thing"

# operations without path parameters: what each is called with (a query, or the body's references
# to the other district swapped for ones that do not exist to compare the answers)
TENANTLESS = {
    "POST /api/v1/auth/token": {"public": True},   # sign-in: answers a token or 401, nothing of a district
    "GET /api/v1/auth/me": {},
    "POST /api/v1/districts": {},                  # the platform's own: everyone else is refused
    "POST /api/v1/petitions": {"reference": ("building_id",)},
    "GET /api/v1/petitions": {"queries": [{}, {"building_id": "building"}, {"node": "community"},
                                          {"node": "grid"}, {"queue": "mine"}, {"page_size": 100}]},
    "GET /api/v1/follow-ups": {"queries": [{}, {"status": "open"}]},
    "GET /api/v1/points/me": {},
    "GET /api/v1/notifications": {"queries": [{}, {"broadcast_id": "broadcast_id"}, {"petition_id": "petition_id"}]},
    "GET /api/v1/notifications/unread-count": {},
    "POST /api/v1/notifications/read-all": {"bodies": [{"broadcast_id": "broadcast_id"},
                                                       {"petition_id": "petition_id"}]},
    "GET /api/v1/notifications/preferences": {},
    "PUT /api/v1/notifications/preferences": {},
    "GET /api/v1/notifications/rules": {},
    "POST /api/v1/broadcasts": {"reference": ("node_id",)},
    "GET /api/v1/broadcasts": {},
    "GET /api/v1/shop/items": {"queries": [{}, {"community": "community"}]},
    "POST /api/v1/shop/items": {"reference": ("community",)},
    "POST /api/v1/orders": {"reference": ("item_id",)},
    "GET /api/v1/orders": {"queries": [{}, {"community": "community"}, {"user_id": "user_id"}]},
    "POST /api/v1/claims": {},
    "GET /api/v1/claims": {"queries": [{}, {"status": "pending"}]},
    "PUT /api/v1/points/me/settings": {},
    "POST /api/v1/wishes": {"reference": ("resident_id",)},
    "GET /api/v1/wishes": {"queries": [{}, {"view": "adopted"}, {"view": "community", "community": "community"},
                                       {"community": "community", "status": "open"}]},
    "GET /api/v1/households": {"queries": [{}, {"building_id": "building"}, {"node": "community"},
                                           {"queue": "mine"}, {"district": "code"}]},
    "POST /api/v1/projects": {"reference": ("petition_ids",)},
    "GET /api/v1/projects": {"queries": [{}, {"building_id": "building"}, {"community": "community"},
                                         {"node": "grid"}]},
    "GET /api/v1/operator/parked": {},
    "POST /api/v1/operator/parked/replay": {},
    "POST /api/v1/operator/parked/discard": {},
}
# a query value naming one of these is the other district's identifier of that kind
ID_KINDS = ("building", "community", "grid", "broadcast_id", "petition_id", "user_id", "code")


@pytest.fixture(scope="module")
def spec(platform):
    return requests.get(f"{platform.url}/api/v1/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def call(platform):
    return Caller(platform.url)


def role_of(code, name):
    return next((role for role, person in CAST[code].items() if person == name),
                "party_member" if "party" in name else "resident")


def test_the_walk_knows_every_operation(spec):
    """A new endpoint makes this fail until the walk, and the matrix, know how to call it."""
    problems = ops.unknown(spec)
    matrix = ops.load_matrix()
    for method, path, op in ops.operations(spec):
        if not ops.path_parameters(path) and ops.key(method, path) not in TENANTLESS:
            problems.append(f"{method} {path}: not in TENANTLESS (what to call it with?)")
        if ops.key(method, path) not in matrix:   # who may call it decides what the walk expects of it
            problems.append(f"{method} {path}: not in authorization.yaml")
    assert not problems, "\n".join(problems)
    assert len(ops.operations(spec)) >= 127
    # the gateway's metrics are no operation of the API: nothing for the walk to fill
    assert "/metrics" not in spec["paths"] and all(path.startswith("/api/v1/") for path in spec["paths"])


def test_nobody_reaches_another_districts_resources(spec, tenants, admin, call, clock):
    hb, qj = tenants["hb"], tenants["qj"]
    now = platform_now(clock.offset)
    before = {code: settled_snapshot(t, admin, call) for code, t in tenants.items()}
    walked, calls, asked = [], [], []
    for method, path, op in ops.operations(spec):
        if not ops.path_parameters(path):
            continue
        walked.append((method, path))
        for caller, target, names in ((qj, hb, PEOPLE["qj"]), (hb, qj, HB_SAMPLE)):
            for name in names:
                body = ops.body(method, path, target, role_of(caller.code, name), now)
                for filled in ops.variants(path, target):
                    for query in ops.queries(path, target):
                        calls.append((caller.clients[name], method, filled, body, query))
                        asked.append((name, method, filled + (f"?{query}" if query else "")))
    answers = call.many(calls)
    wrong = [f"{name}: {method} {filled} -> {describe(status, answer)}"
             for (name, method, filled), (status, answer) in zip(asked, answers) if status != 404]
    assert not wrong, f"{len(wrong)} of {len(calls)} calls were not 404:\n" + "\n".join(wrong)
    leaked = [f"{name}: {method} {filled}: {found}"
              for (name, method, filled), (_, answer), (*_, body, _q) in zip(asked, answers, calls)
              for found in [leaks(answer, hb if name in PEOPLE["qj"] else qj, [filled, body])] if found]
    assert not leaked, "\n".join(leaked)
    for code, tenant in tenants.items():
        changed = unchanged(before[code], tenant, admin, call)
        assert not changed, f"{code} changed: {changed}"
    print(f"walked {len(walked)} operations with path parameters in {len(calls)} calls")


def _swap(body, fields, value):
    return {k: (([value] if isinstance(v, list) else value) if k in fields else v) for k, v in body.items()}


def _query(template, target):
    return {k: (target.ids[v] if v in ID_KINDS else v) for k, v in template.items()}


def _bodies(template, target):
    return [{k: target.ids[v] for k, v in b.items()} for b in template]


def tenantless_calls(spec, caller, target, now):
    """[(who, method, path, body, query, reference fields)] for every operation without path parameters."""
    out = []
    for method, path, op in ops.operations(spec):
        how = TENANTLESS.get(ops.key(method, path))
        if how is None or how.get("public"):
            continue
        for name in PEOPLE[caller.code]:
            body = ops.body(method, path, target, role_of(caller.code, name), now)
            if "bodies" in how:
                out += [(name, method, path, b, None, ()) for b in _bodies(how["bodies"], target)]
            elif "queries" in how:
                out += [(name, method, path, body, _query(q, target), ()) for q in how["queries"]]
            else:
                # the body's references to the other district (a resident's wish names nobody else)
                fields = tuple(f for f in how.get("reference", ()) if f in (body or {}))
                out.append((name, method, path, body, None, fields))
    return out


def test_lists_counts_and_commands_without_a_district_leak_nothing(spec, tenants, admin, call, clock):
    """Everyone of qj, every such operation, with hb's identifiers where it takes any."""
    hb, qj = tenants["hb"], tenants["qj"]
    now = platform_now(clock.offset)
    before = settled_snapshot(hb, admin, call)
    planned = tenantless_calls(spec, qj, hb, now)
    answers = call.many([(qj.clients[name], method, path, body, query)
                         for name, method, path, body, query, _ in planned])
    leaked = [f"{name}: {method} {path} {query or body}: {found}"
              for (name, method, path, body, query, _), (_, answer) in zip(planned, answers)
              for found in [leaks(answer, hb, [path, body, query])] if found]
    assert not leaked, "\n".join(leaked)
    errors = [f"{name}: {method} {path} -> {describe(status, answer)}"
              for (name, method, path, *_), (status, answer) in zip(planned, answers) if status >= 500]
    assert not errors, "\n".join(errors)
    # naming hb's building, node, item or community is answered as naming one that does not exist
    referenced = [(p, a) for p, a in zip(planned, answers) if p[5]]
    nowhere = call.many([(qj.clients[name], method, path, _swap(body, fields, NOWHERE), None)
                         for (name, method, path, body, _, fields), _ in referenced])
    told = [f"{name}: {method} {path} {body}: {describe(status, answer)} but for a thing that does not exist "
            f"{describe(*other)}"
            for ((name, method, path, body, _, fields), (status, answer)), other in zip(referenced, nowhere)
            if (status, _fields(answer)) != (other[0], _fields(other[1]))]
    assert not told, "\n".join(told)
    assert all(status >= 400 for (_, (status, _)) in referenced)
    changed = unchanged(before, hb, admin, call)
    assert not changed, f"hb changed: {changed}"


def _fields(answer):
    return sorted(answer.get("errors") or {}) if isinstance(answer, dict) else answer


# what everyone of qj sees that could count something, and what its staff see of the whole district
QJ_VIEWS = [
    ("GET", "/api/v1/petitions", {"page_size": 100}), ("GET", "/api/v1/follow-ups", None),
    ("GET", "/api/v1/points/me", None), ("GET", "/api/v1/notifications", {"page_size": 100}),
    ("GET", "/api/v1/notifications/unread-count", None), ("GET", "/api/v1/broadcasts", None),
    ("GET", "/api/v1/shop/items", None), ("GET", "/api/v1/orders", None), ("GET", "/api/v1/claims", None),
    ("GET", "/api/v1/districts/qj/leaderboard", None), ("GET", "/api/v1/communities/qingshan/activities", None),
    ("GET", "/api/v1/wishes", None), ("GET", "/api/v1/wishes", {"view": "adopted"}), ("GET", "/api/v1/projects", None),
    ("GET", "/api/v1/districts/qj/organisations", None),
]
QJ_STAFF_VIEWS = [
    ("GET", "/api/v1/districts/qj/dashboard", None), ("GET", "/api/v1/districts/qj/points-report", None),
    ("GET", "/api/v1/districts/qj/ledger/check", None), ("GET", "/api/v1/districts/qj/audit", {"limit": 1}),
    ("GET", "/api/v1/communities/qingshan/points-report", None),
    ("GET", "/api/v1/communities/qingshan/leaderboard", None),
    ("GET", "/api/v1/communities/qingshan/wishes", None), ("GET", "/api/v1/households", None),
]


def test_no_figure_of_one_district_moves_when_another_grows(tenants, call, clock):
    hb, qj = tenants["hb"], tenants["qj"]
    asked = [(qj.clients[name], name, view) for name in PEOPLE["qj"] for view in QJ_VIEWS]
    asked += [(qj.as_role(role), CAST["qj"][role], view) for role in ("district_admin", "community_staff")
              for view in QJ_STAFF_VIEWS]

    def views():
        return call.many([(who, method, path, None, params) for who, _, (method, path, params) in asked])

    before = eventually(lambda: agreeing(views), timeout=30)
    resident, staff = hb.as_role("resident"), hb.as_role("community_staff")
    petition = resident.post("/api/v1/petitions", {"category": "streetlight", "title": "又一盏灯不亮"}, expect=201)
    hb.as_role("building_leader").act(petition["id"], "claim")
    resident.post("/api/v1/claims", {"title": "帮忙扫雪"}, expect=201)
    staff.post("/api/v1/shop/items", {"name": "毛巾", "price": 1, "stock": 3}, expect=201)
    resident.post("/api/v1/orders", {"item_id": hb.ids["item_id"]}, expect=201)
    broadcast = staff.post("/api/v1/broadcasts", {"target_kind": "community", "node_id": hb.ids["community"],
                                                  "title": "又一次通知", "body": "周末大扫除"}, expect=202)
    eventually(lambda: resident.get("/api/v1/notifications", params={"broadcast_id": broadcast["id"]})["items"])
    Builder(hb, platform_now(clock.offset)).wish(adopter="party_member")
    Builder(hb, platform_now(clock.offset)).project()
    moved = []

    def same():
        moved[:] = [f"{name}: {method} {path}: {b[0]} {str(b[1])[:300]} -> {a[0]} {str(a[1])[:300]}"
                    for (_, name, (method, path, _)), b, a in zip(asked, before, views()) if a != b]
        return not moved
    try:
        eventually(same, timeout=10, interval=0.5)
    except AssertionError:
        pass
    assert not moved, "\n".join(moved)


def _labels(url):
    from prometheus_client.parser import text_string_to_metric_families
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    return [dict(sample.labels) for family in text_string_to_metric_families(response.text)
            for sample in family.samples]


def test_metrics_say_nothing_of_any_district(spec, tenants, platform):
    """/metrics (the gateway's, each service's) labels by route template, entrypoint and queue: after the
    walks above, no label holds an identifier, a name or a title of either district."""
    gateway = _labels(platform.url + "/metrics")
    templates = {path.replace("{", "<").replace("}", ">") for path in spec["paths"]}
    filled = [re.compile(re.sub(r"<[^/>]+>", "[^/]+", t) + r"\Z") for t in templates if "<" in t]
    routes = {labels["route"] for labels in gateway if "route" in labels}
    assert "/api/v1/petitions/<petition_id>" in routes and "/api/v1/households/<household_id>" in routes
    # an operation's path with its parameters filled in, where its template belongs
    raw = sorted(r for r in routes if r not in templates and any(f.match(r) for f in filled))
    assert not raw, f"routes labelled by something else than their template: {raw}"
    every = gateway + [labels for url in platform.metrics_urls.values() for labels in _labels(url)]
    for tenant in tenants.values():
        found = leaks([[value for value in labels.values()] for labels in every], tenant)
        found.discard(f"district={tenant.code}")
        assert not found, f"metrics name {tenant.code}'s data: {found}"
