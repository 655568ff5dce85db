"""One platform per test session: the launcher `make run` uses, in its own vhost."""
import json
import os
import time
import uuid

import pytest

from civicgrid.client import Client
from civicgrid.harness import ROOT, MovableClock, Platform, drop_databases, temporary_vhost

DEMO = os.path.join(ROOT, "demo", "hebian.json")
PASSWORD = "demo1234"


@pytest.fixture(scope="session")
def amqp_uri():
    with temporary_vhost() as uri:
        yield uri


@pytest.fixture(scope="session")
def clock(tmp_path_factory):
    return MovableClock(tmp_path_factory.mktemp("clock") / "offset")


@pytest.fixture(scope="session")
def platform(amqp_uri, tmp_path_factory, clock):
    """With MONGO_URI set, the run gets databases of its own and drops them afterwards."""
    log = tmp_path_factory.mktemp("platform") / "platform.log"
    prefix = "e2e_" + uuid.uuid4().hex[:8]
    env = {"MONGO_DB_PREFIX": prefix, "CIVICGRID_CLOCK_FILE": str(clock.path),
           "CIVICGRID_OVERDUE_SCAN_SECONDS": "0.3", "CIVICGRID_RETRY_DELAYS": "0.2,0.4"}
    platform = Platform(amqp_uri, log_path=str(log), env=env).start()
    yield platform
    platform.stop()
    drop_databases(prefix)


@pytest.fixture(scope="session")
def admin(platform):
    return Client(platform.url).login("admin", "admin")


@pytest.fixture(scope="session")
def demo_district():
    with open(DEMO, encoding="utf-8") as f:
        return json.load(f)


def second_district():
    """A neighbouring district with one person of every role (tests/e2e/tenancy.py walks the API as each)."""
    return {
        "nodes": [
            {"id": "gutan", "type": "street", "name": "古南街道", "parent": "qj"},
            {"id": "qingshan", "type": "community", "name": "青山社区", "parent": "gutan"},
            {"id": "qs-g1", "type": "grid", "name": "青山一网格", "parent": "qingshan"},
            {"id": "qs-b1", "type": "building", "name": "青山1栋", "parent": "qs-g1"},
        ],
        "departments": [{"id": "qj-cj", "name": "城建", "categories": ["streetlight"]}],
        "users": [
            {"username": "qj-resident", "password": PASSWORD, "name": "綦江居民", "roles": ["resident"], "scope": "qs-b1"},
            {"username": "qj-leader", "password": PASSWORD, "name": "青山楼栋长", "roles": ["building_leader"], "scope": "qs-b1"},
            {"username": "qj-grid1", "password": PASSWORD, "name": "青山网格员", "roles": ["grid_worker"], "scope": "qs-g1"},
            {"username": "qj-gridlead", "password": PASSWORD, "name": "青山网格长", "roles": ["grid_leader"], "scope": "qs-g1"},
            {"username": "qj-secretary", "password": PASSWORD, "name": "青山社区书记", "roles": ["community_staff"],
             "scope": "qingshan"},
            {"username": "qj-clerk", "password": PASSWORD, "name": "綦江城建办事员", "roles": ["department_staff"],
             "scope": None, "department": "qj-cj"},
            {"username": "qj-admin", "password": PASSWORD, "name": "綦江管理员", "roles": ["district_admin"], "scope": "qj"},
            {"username": "qj-party1", "password": PASSWORD, "name": "青山党员志愿者", "roles": ["party_member", "resident"],
             "scope": "qs-b1"},
            {"username": "qj-party2", "password": PASSWORD, "name": "青山社区报到党员", "roles": ["party_member"],
             "scope": "qingshan"},
            {"username": "qj-volunteer", "password": PASSWORD, "name": "青山志愿者", "roles": ["volunteer"], "scope": "qs-b1"},
            {"username": "qj-org", "password": PASSWORD, "name": "青山物业经理", "roles": ["organisation_member"]},
        ],
        "organisations": [{"id": "qs-wy", "name": "青山物业", "kind": "company", "community": "qingshan",
                           "members": ["qj-org"]}],
        "households": [
            {"id": "qs-b1-101", "building_id": "qs-b1", "name": "青山1栋101 綦家", "address": "1单元101",
             "members": [{"name": "綦江居民", "relation": "户主", "user_id": "qj-resident"}], "care_level": "green"},
            {"id": "qs-b1-202", "building_id": "qs-b1", "name": "青山1栋202 谭家", "address": "1单元202",
             "members": [{"name": "谭婆婆", "relation": "户主", "phone": "13800000202"}], "care_level": "red",
             "care_reason": "独居老人，行动不便"},
        ],
    }


def import_in_parts(client, code, document, size=4):
    """Import a set-up document a few people at a time: hashing passwords is the slow part of an import,
    and on a loaded machine a dozen of them can outlast the gateway's RPC timeout. Organisations and
    households name people, so they come once everyone is in."""
    users = document.get("users", [])
    later = {k: document[k] for k in ("organisations", "households") if k in document}
    first = {k: v for k, v in document.items() if k not in later}
    counts = client.post(f"/api/v1/districts/{code}/import", dict(first, users=users[:size]))
    for start in range(size, len(users), size):
        counts["users"] += client.post(f"/api/v1/districts/{code}/import", {"users": users[start:start + size]})["users"]
    if later:
        counts.update({k: v for k, v in client.post(f"/api/v1/districts/{code}/import", later).items() if k in later})
    return counts


@pytest.fixture(scope="session")
def districts(admin, demo_district):
    admin.post("/api/v1/districts", demo_district["district"], expect=201)
    body = {k: v for k, v in demo_district.items() if k != "district"}
    counts = import_in_parts(admin, "hb", body)
    assert counts["users"] == len(demo_district["users"])
    admin.post("/api/v1/districts", {"code": "qj", "name": "綦江区（演示）"}, expect=201)
    import_in_parts(admin, "qj", second_district())
    return ["hb", "qj"]


@pytest.fixture(scope="session")
def users(platform, districts):
    """A signed-in client per demo user, by username."""
    anonymous = Client(platform.url)
    names = ["wenxiaohua", "zhangyiqin", "huxingyou", "daiyunzhong", "daijiaqian", "wc-grid1",
             "wc-secretary", "cj-clerk", "zz-clerk", "hb-admin", "wc-party1", "wc-party2",
             "qj-resident", "qj-leader", "qj-grid1", "qj-gridlead", "qj-secretary", "qj-clerk", "qj-admin",
             "qj-party1", "qj-party2", "qj-volunteer", "gxs-he", "qj-org"]
    return {name: anonymous.login(name, PASSWORD) for name in names}


@pytest.fixture(scope="session")
def tenants(users, clock):
    """hb and qj with one of every resource each, made by their own people (tests/e2e/tenancy.py)."""
    from . import tenancy
    return tenancy.setup(users, clock.offset)


def eventually(check, timeout=15, interval=0.1):
    """Poll until ``check()`` returns a truthy value; the loop is asynchronous past the gateway."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"not reached within {timeout}s; last value: {last!r}")


def notices(client, petition_id=None):
    items = client.get("/api/v1/notifications", params={"page_size": 100})["items"]
    return [n for n in items if petition_id is None or n["petition_id"] == petition_id]


def balance(client):
    return client.get("/api/v1/points/me")["balance"]
