"""Function-level authorization (OWASP API5): every cell of the role × operation matrix.

tests/e2e/authorization.yaml lists, for every operation of the OpenAPI document, the roles it allows.
Each cell is tried in the caller's own district (qj, which has one person of every role, on
resources of its own made for this test): a role the matrix does not allow gets 403 (anonymous: 401;
``not_found`` roles 404, for whom the resource does not exist: someone else's order or notice), and
nothing is written; a role it allows gets neither 401 nor 403, on a resource its role could act on
(a petition in the state and at the level that role handles, its own notice, its community's order).
An operation missing from the matrix, or a matrix entry the document no longer has, fails the test.
"""
import pytest
import requests

from civicgrid.client import Client

from . import operations as ops
from .conftest import eventually
from .operations import ROLES, load_matrix
from .tenancy import CAST, PEOPLE, Builder, Caller, Tenant, agreeing, build, platform_now

GRID = ("building_leader", "grid_worker", "grid_leader")

# the petition state each role acts on, per action: the level that role works at (domain.py)
ROLE_STATE = {
    "claim": dict({r: "grid_submitted" for r in GRID}, community_staff="escalated", party_member="help_submitted"),
    "escalate": dict({r: "grid_submitted" for r in GRID}, party_member="help_in_progress"),
    "resolve": dict({r: "grid_in_progress" for r in GRID}, community_staff="community_in_progress",
                    department_staff="department_in_progress", party_member="help_in_progress"),
    "merge": dict({r: "grid_submitted" for r in GRID}, community_staff="escalated"),
    "dispatch": {"community_staff": "escalated"}, "accept": {"department_staff": "dispatched"},
    "return": {"department_staff": "dispatched"}, "rate": {"resident": "resolved"},
    "withdraw": {"resident": "grid_submitted"}, "follow-up": {"community_staff": "low_rated"},
}


@pytest.fixture(scope="module")
def spec(platform):
    return requests.get(f"{platform.url}/api/v1/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


# each acting role fulfils a wish it adopted itself; the others are tried on the party member's
WISH_ADOPTERS = ("party_member", "volunteer", "organisation_member")


class Wishes:
    """A wish adopted by each adopting role, made on first use."""

    def __init__(self, builder, tenant):
        self.builder = builder
        self.made = {"party_member": tenant.ids["wishes"]["adopted"]}

    def adopted_by(self, role):
        role = role if role in WISH_ADOPTERS else "party_member"
        if role not in self.made:
            self.made[role] = self.builder.wish(adopter=role, title="想有人帮忙修水管")
        return self.made[role]


class Petitions:
    """A fresh petition per action and acting role, in the state that role acts on (tenancy.Builder)."""

    def __init__(self, builder):
        self.builder = builder
        self.made = {}

    def for_(self, action, role):
        acting = ROLE_STATE[action]
        slot = role if role in acting else None   # the roles it does not let act share one petition
        if (action, slot) not in self.made:
            self.made[(action, slot)] = getattr(self.builder, acting.get(role) or next(iter(acting.values())))()
        return self.made[(action, slot)]


@pytest.fixture(scope="module")
def world(users, admin, platform, clock):
    """qj's resources of this test alone (the allowed cells change them), and a client per role."""
    now = platform_now(clock.offset)
    tenant = build(Tenant("qj", {name: users[name] for name in PEOPLE["qj"]}), now)
    clients = {role: users[name] for role, name in CAST["qj"].items()}
    clients.update(anonymous=Client(platform.url), platform_admin=admin)
    builder = Builder(tenant, now)
    return {"tenant": tenant, "clients": clients, "petitions": Petitions(builder), "wishes": Wishes(builder, tenant),
            "now": now}


def target(method, path, role, world):
    """The path's parameters for ``role``'s cell, and its query."""
    t, overrides, query = world["tenant"], {}, None
    ids = t.ids
    if "{petition_id}" in path:
        action = path.rsplit("/", 1)[-1]
        if action in ROLE_STATE:
            overrides["petition_id"] = world["petitions"].for_(action, role)
    if "{notification_id}" in path:
        overrides["notification_id"] = ids["notifications"].get(CAST["qj"].get(role), ids["notification_id"])
    if "{webhook_id}" in path and role == "department_staff":
        overrides["webhook_id"] = ids["department_webhook"]   # theirs to manage
    elif method == "DELETE" and "{webhook_id}" in path:
        overrides["webhook_id"] = ids["spare_webhook"]
    if method == "DELETE" and "{key_id}" in path:
        overrides["key_id"] = ids["spare_key"]
    if path.endswith("/cancel") and "{order_id}" in path:
        overrides["order_id"] = ids["orders"][1]
    if path.endswith("/reject"):
        overrides["claim_id"] = ids["spare_claim"]
    if path.endswith("/{wish_id}/fulfil"):
        overrides["wish_id"] = world["wishes"].adopted_by(role)
    if "{account}" in path or (role == "platform_admin" and path.startswith(ops.DISTRICT_QUERY)):
        query = {"district": t.code}   # the platform administrator names the district; members have theirs
    return ops.fill(path, t, overrides), query


def cells_of(spec, matrix):
    return [(method, path, role) for method, path, _ in ops.operations(spec) for role in ROLES]


def expected(matrix, method, path, role):
    cell = matrix[ops.key(method, path)]
    if role in cell["allow"]:
        return "allowed"
    if role == "anonymous":
        return 401
    return 404 if role in cell["not_found"] else 403


def test_the_matrix_has_every_operation_and_only_those(spec, matrix):
    listed = {ops.key(m, p) for m, p, _ in ops.operations(spec)}
    assert not listed - set(matrix), f"missing from authorization.yaml: {sorted(listed - set(matrix))}"
    assert not set(matrix) - listed, f"no longer in the OpenAPI document: {sorted(set(matrix) - listed)}"
    unknown = {r for cell in matrix.values() for r in cell["allow"] | cell["not_found"]} - set(ROLES)
    assert not unknown, f"unknown roles in authorization.yaml: {unknown}"


def test_every_cell(spec, matrix, world, admin, platform):
    """Refusals first, all of them: then nothing an allowed cell changed can make a refusal pass."""
    call = Caller(platform.url)
    clients, t, now = world["clients"], world["tenant"], world["now"]
    plan = []
    for method, path, role in cells_of(spec, matrix):
        filled, query = target(method, path, role, world)
        body = ops.body(method, path, t, role, now)
        plan.append((method, path, role, filled, body, query, expected(matrix, method, path, role)))
    refusals = [p for p in plan if p[-1] != "allowed"]
    audit = lambda: admin.get("/api/v1/districts/qj/audit", params={"limit": 1})["total"]  # noqa: E731
    before = eventually(lambda: agreeing(audit), timeout=30)
    answers = call.many([(clients[role] if role != "anonymous" else None, method, filled, body, query)
                         for method, path, role, filled, body, query, _ in refusals])
    wrong = [f"{role}: {method} {filled} -> {status} (matrix: {want}) {_message(answer)}"
             for (method, path, role, filled, body, query, want), (status, answer) in zip(refusals, answers)
             if status != want]
    assert audit() == before, "a refused call wrote something"
    # then the allowed cells, deletions last (a secret is rotated before its webhook goes): each acting
    # role has a resource of its own, and whatever state another cell left it in, no answer may be 401/403
    allowed = [p for p in plan if p[-1] == "allowed"]
    for batch in ([p for p in allowed if p[0] != "DELETE"], [p for p in allowed if p[0] == "DELETE"]):
        answers = call.many([(clients[role], method, filled, body, query)
                             for method, path, role, filled, body, query, _ in batch])
        wrong += [f"{role}: {method} {filled} -> {status} (matrix: allowed) {_message(answer)}"
                  for (method, path, role, filled, *_), (status, answer) in zip(batch, answers) if status in (401, 403)]
    assert not wrong, f"{len(wrong)} of {len(plan)} cells disagree with authorization.yaml:\n" + "\n".join(wrong)
    print(f"matrix: {len(ROLES)} roles × {len(plan) // len(ROLES)} operations = {len(plan)} cells, "
          f"{len(allowed)} allowed")


def _message(answer):
    return answer.get("message") if isinstance(answer, dict) else str(answer)[:80]
