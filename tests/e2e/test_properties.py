"""Property-level authorization (OWASP API3): no body sets a field its caller may not set.

Every operation of the OpenAPI document that takes a body is sent, by a role the authorization matrix
allows, its valid body plus one field it does not declare and a client must never set: a status, a
district, points, a balance, a rating, who resolved or acted, an id, a time, a secret. Each is refused
with 422 naming that field (marshmallow refuses unknown fields at the gateway and again in the service;
nested documents such as an import name the entry), and afterwards qj is exactly as it was. Fields a
body does declare are checked for what they may hold: a rating only of one's own petition, an item
only for one's own community, a check-in only of someone who signed up, a merge only into a petition
of one's own district, an import that cannot take another district's person, node or role.
"""
from datetime import timedelta

import pytest
import requests

from civicgrid.auth import PLATFORM_ADMIN

from . import operations as ops
from .conftest import PASSWORD
from .operations import load_matrix
from .tenancy import CAST, Builder, Caller, describe, platform_now, settled_snapshot, unchanged

# what no client sets in any body that does not declare it, and a value it might try
FORBIDDEN = {
    "id": "qj-999999", "district": "hb", "status": "closed", "level": "department", "points": 1000,
    "balance": 1000, "amount": 1000, "rating": 5, "resolved_by": "qj-admin", "handler_id": "qj-admin",
    "resident_id": "qj-admin", "user_id": "qj-admin", "actor": {"id": "qj-admin", "role": "district_admin"},
    "created_at": "2020-01-01T00:00:00+00:00", "created_by": "qj-admin", "updated_at": "2020-01-01T00:00:00+00:00",
    "secret": "chosen-by-me", "key": "o311_chosen-by-me", "roles": ["district_admin"], "sender": "qj-admin",
    "recipient": "qj-admin", "community": "qingshan", "reserved": 0, "sold": 0, "stock_added": 0, "version": 1,
    "timeline": [], "department_id": "qj-cj", "score": 5,
    # a wish's adopter, a project's support and approval, a household's level, an organisation's account
    "adopter": {"kind": "person", "user_id": "qj-admin"}, "supporters": 1000, "budget_fen": 1, "approved_at":
        "2020-01-01T00:00:00+00:00", "care_level": "red", "visits": [], "account": "org:qj:qs-wy",
    "organisation": "qs-wy", "members": ["qj-admin"],
}
# who tries each operation: the first role of this list the matrix allows
PREFERENCE = ("resident", "building_leader", "grid_worker", "grid_leader", "community_staff", "district_admin",
              "party_member", "department_staff", "volunteer", "organisation_member", PLATFORM_ADMIN, "anonymous")


@pytest.fixture(scope="module")
def spec(platform):
    return requests.get(f"{platform.url}/api/v1/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def call(platform):
    return Caller(platform.url)


def declared(spec, op):
    """The field names the operation's body schema declares."""
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


def caller(users, admin, platform, role):
    if role == PLATFORM_ADMIN:
        return admin
    if role == "anonymous":
        from civicgrid.client import Client
        return Client(platform.url)
    return users[CAST["qj"][role]]


def test_no_body_takes_a_field_it_does_not_declare(spec, tenants, users, admin, platform, call, clock):
    qj, now, matrix = tenants["qj"], platform_now(clock.offset), load_matrix()
    before = settled_snapshot(qj, admin, call)
    planned = []
    for method, path, op in ops.operations(spec):
        if not ops.has_body(op):
            continue
        allowed = matrix[ops.key(method, path)]["allow"]
        role = next(r for r in PREFERENCE if r in allowed)
        body = ops.body(method, path, qj, role, now)
        # all at once: the answer names every field it refused, each one
        fields = sorted(set(FORBIDDEN) - declared(spec, op))
        planned.append((role, method, path, fields, dict(body, **{f: FORBIDDEN[f] for f in fields})))
    answers = call.many([(caller(users, admin, platform, role), method, ops.fill(path, qj), body, None)
                         for role, method, path, fields, body in planned])
    wrong = [f"{role}: {method} {path} -> {describe(status, answer)}; not named: "
             f"{sorted(set(fields) - set(answer.get('errors') or {}))}"
             for (role, method, path, fields, _), (status, answer) in zip(planned, answers)
             if status != 422 or set(fields) - set(answer.get("errors") or {})]
    assert not wrong, f"{len(wrong)} of {len(planned)} bodies:\n" + "\n".join(wrong)
    changed = unchanged(before, qj, admin, call)
    assert not changed, f"qj changed: {changed}"
    print(f"{sum(len(p[3]) for p in planned)} forbidden fields over {len(planned)} bodies, all refused by name")


def _import_entry(section, **fields):
    return {section: [fields]}


def test_fields_a_body_declares_hold_only_what_the_caller_may_set(tenants, admin, call, clock):
    hb, qj = tenants["hb"], tenants["qj"]
    # petitions of this test's own: other tests move the clock, and time limits move petitions on
    now = platform_now(clock.offset)
    fresh = Builder(qj, now)
    petitions = {"resolved": fresh.resolved(), "grid_submitted": fresh.grid_submitted(), "escalated": fresh.escalated()}
    # a project approved by the district: its budget and sponsor are the district administrator's now
    approved, proposed = fresh.project(), fresh.project()
    qj.admin.post(f"/api/v1/projects/{approved}/transition", {"status": "approved"}, expect=200)
    wish = fresh.wish()
    before = settled_snapshot(qj, admin, call)
    resident, party1, staff = qj.as_role("resident"), qj.clients["qj-party1"], qj.as_role("community_staff")
    leader, admin_ = qj.as_role("building_leader"), qj.admin
    worker, member = qj.as_role("grid_worker"), qj.as_role("organisation_member")
    wanted_by = (now + timedelta(hours=8, days=200)).date().isoformat()
    a_wish = {"title": "x", "reason": "y", "wanted_by": wanted_by}
    today = (now + timedelta(hours=8)).date().isoformat()
    visits = f"/api/v1/households/{qj.ids['household_id']}/visits"
    an_organisation = {"id": "qj-new-unit", "name": "新单位", "community": qj.ids["community"]}
    a_household = {"id": "qs-b1-909", "building_id": qj.ids["building"], "name": "青山1栋909"}
    hb_petition = hb.ids["petitions"]["grid_submitted"]
    person = {"username": "qj-newcomer", "password": PASSWORD, "name": "新居民", "roles": ["resident"],
              "scope": qj.ids["building"]}
    cases = [
        # (who, method, path, body, status, the field the answer names)
        (party1, "POST", f"/api/v1/petitions/{petitions['resolved']}/rate", {"score": 1}, 403, None),
        (leader, "POST", f"/api/v1/petitions/{petitions['grid_submitted']}/merge",
         {"into": hb.ids["petitions"]["grid_in_progress"]}, 422, "into"),
        (staff, "POST", f"/api/v1/petitions/{petitions['escalated']}/dispatch",
         {"department_id": hb.ids["department"]}, 422, "department_id"),
        (staff, "POST", "/api/v1/shop/items", {"name": "x", "price": 1, "stock": 1, "community": "wenchang"},
         403, None),
        (staff, "POST", f"/api/v1/activities/{qj.ids['activity_id']}/check-ins", {"user_id": "qj-admin"},
         422, "user_id"),
        (staff, "POST", f"/api/v1/communities/{qj.ids['community']}/activities",
         {"title": "x", "place": "y", "starts_at": "2099-01-01T00:00:00+00:00", "capacity": 1, "points": 100000},
         422, "points"),
        (resident, "POST", "/api/v1/orders", {"item_id": qj.ids["item_id"], "quantity": -5}, 422, "quantity"),
        (staff, "POST", f"/api/v1/shop/items/{qj.ids['item_id']}/stock", {"change": -100000}, 409, "change"),
        (admin_, "PUT", "/api/v1/districts/qj/point-rules", {"reporter_rated": -100}, 422, "reporter_rated"),
        (admin_, "POST", "/api/v1/districts/qj/import", _import_entry("users", **dict(person, district="hb")),
         422, "users[0].district"),
        (admin_, "POST", "/api/v1/districts/qj/import", _import_entry("users", **dict(person, roles=["platform_admin"])),
         422, "users[0].roles"),
        (admin_, "POST", "/api/v1/districts/qj/import", _import_entry("users", **dict(person, username="wenxiaohua")),
         422, "users[0].username"),      # another district's person stays theirs
        (admin_, "POST", "/api/v1/districts/qj/import", _import_entry("users", **dict(person, scope="b28")),
         422, "users[0].scope"),
        (admin_, "POST", "/api/v1/districts/qj/import",
         _import_entry("nodes", id="qj-annexe", type="grid", name="飞地", parent=hb.ids["community"]),
         422, "nodes[0].parent"),
        (admin_, "POST", "/api/v1/districts/qj/party-members", {"username": "wenxiaohua"}, 404, "username"),
        (resident, "PUT", "/api/v1/notifications/preferences", {"contacts": {"sms": "13800000000", "user_id": "x"}},
         422, "contacts.user_id"),
        (resident, "POST", "/api/v1/petitions", {"category": qj.ids["category"], "title": "x",
                                                 "attributes": {"status": "closed"}}, 422, "attributes.status"),
        (resident, "POST", "/api/v1/petitions", {"category": qj.ids["category"], "title": "x",
                                                 "building_id": hb.ids["building"]}, 422, "building_id"),
        # micro-wishes: only staff post for someone else, and only for a resident of their own community
        (resident, "POST", "/api/v1/wishes", dict(a_wish, resident_id="qj-party1"), 403, None),
        (staff, "POST", "/api/v1/wishes", dict(a_wish, resident_id=hb.ids["user_id"]), 422, "resident_id"),
        (staff, "POST", "/api/v1/wishes", dict(a_wish, resident_id="qj-admin"), 422, "resident_id"),
        (member, "POST", f"/api/v1/wishes/{wish}/adopt", {"adopter": "person"}, 403, "adopter"),
        # organisations: a community and members of the district's own
        (admin_, "POST", "/api/v1/districts/qj/organisations", dict(an_organisation, community=hb.ids["community"]),
         422, "community"),
        (admin_, "POST", "/api/v1/districts/qj/organisations", dict(an_organisation, members=["wenxiaohua"]),
         422, "members[0]"),
        (staff, "PUT", f"/api/v1/districts/qj/organisations/{qj.ids['organisation_id']}",
         {"members": ["wenxiaohua"]}, 422, "members[0]"),
        (admin_, "POST", "/api/v1/districts/qj/import",
         _import_entry("organisations", **dict(an_organisation, members=["gxs-he"])), 422,
         "organisations[0].members[0]"),
        (admin_, "POST", "/api/v1/districts/qj/import",
         _import_entry("organisations", **dict(an_organisation, community=hb.ids["community"])), 422,
         "organisations[0].community"),
        # households: in a building of the district, members its own people; a visit sets no level
        (admin_, "POST", "/api/v1/districts/qj/import",
         _import_entry("households", **dict(a_household, building_id=hb.ids["building"])), 422,
         "households[0].building_id"),
        (admin_, "POST", "/api/v1/districts/qj/import",
         _import_entry("households", **dict(a_household, members=[{"name": "文小华", "user_id": "wenxiaohua"}])),
         422, "households[0].members[0].user_id"),
        (worker, "POST", visits, {"visited_on": today, "petition": {
            "category": qj.ids["category"], "title": "x", "resident_id": hb.ids["user_id"]}}, 422,
         "petition.resident_id"),
        (worker, "POST", visits, {"visited_on": today, "petition": {
            "category": qj.ids["category"], "title": "x", "status": "closed"}}, 422, "petition.status"),
        # micro-projects: the district's own petitions, buildings and departments; once approved, the
        # budget and the sponsor are the district administrator's
        (staff, "POST", "/api/v1/projects", {"title": "x", "petition_ids": [hb_petition]}, 422, "petition_ids"),
        (staff, "POST", "/api/v1/projects", {"title": "x", "hotspot": {"category": "streetlight",
                                                                      "building_id": hb.ids["building"]}},
         422, "hotspot"),
        (staff, "POST", "/api/v1/projects", {"title": "x", "petition_ids": [petitions["grid_submitted"]],
                                             "sponsor_department_id": hb.ids["department"]},
         422, "sponsor_department_id"),
        (staff, "PATCH", f"/api/v1/projects/{proposed}", {"add_petition_ids": [hb_petition]}, 422, "add_petition_ids"),
        (staff, "PATCH", f"/api/v1/projects/{proposed}", {"buildings": [hb.ids["building"]]}, 422, "buildings"),
        (staff, "PATCH", f"/api/v1/projects/{approved}", {"budget": "1.00"}, 403, "budget"),
        (staff, "PATCH", f"/api/v1/projects/{approved}", {"sponsor": "别人"}, 403, "sponsor"),
    ]
    answers = call.many([(who, method, path, body, None) for who, method, path, body, _, _ in cases])
    wrong = [f"{method} {path} {body} -> {describe(status, answer)} {answer.get('errors')} (want {want} {field})"
             for (who, method, path, body, want, field), (status, answer) in zip(cases, answers)
             if status != want or (field and field not in (answer.get("errors") or {}))]
    assert not wrong, "\n".join(wrong)
    changed = unchanged(before, qj, admin, call)
    assert not changed, f"qj changed: {changed}"
    assert resident.get(f"/api/v1/petitions/{petitions['resolved']}")["rating"] is None
