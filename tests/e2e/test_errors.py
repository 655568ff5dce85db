"""Errors are a feature: each bad request gets the status and shape a client can act on."""
import pytest

from civicgrid.client import Client


@pytest.fixture
def petition(users):
    return users["wenxiaohua"].post("/api/v1/petitions", {"category": "road", "title": "竹林湾路坑洼"}, expect=201)


def error(client, method, path, status, **kwargs):
    body = client.request(method, path, expect=status, **kwargs)
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == status
    return body


def test_another_districts_petition_is_404(users, petition):
    error(users["qj-resident"], "GET", f"/api/v1/petitions/{petition['id']}", 404)
    error(users["qj-leader"], "POST", f"/api/v1/petitions/{petition['id']}/claim", 404, json={})
    assert petition["id"] not in [p["id"] for p in users["qj-resident"].get("/api/v1/petitions")["items"]]


def test_a_resident_cannot_dispatch(users, petition):
    body = error(users["wenxiaohua"], "POST", f"/api/v1/petitions/{petition['id']}/dispatch", 403,
                 json={"department_id": "chengjian"})
    assert "dispatch" in body["message"]


def test_bad_bodies_name_the_field(users, petition):
    resident = users["wenxiaohua"]
    body = error(resident, "POST", "/api/v1/petitions", 422, json={"category": "road", "title": 42})
    assert list(body["errors"]) == ["title"]
    body = error(resident, "POST", "/api/v1/petitions", 422, json={"category": "ufo", "title": "外星人"})
    assert list(body["errors"]) == ["category"]
    leader = users["daiyunzhong"]
    body = error(leader, "POST", f"/api/v1/petitions/{petition['id']}/escalate", 422, json={})
    assert list(body["errors"]) == ["reason"]
    body = error(resident, "POST", f"/api/v1/petitions/{petition['id']}/rate", 422, json={"score": 9})
    assert list(body["errors"]) == ["score"]
    error(resident, "POST", "/api/v1/petitions", 400, data="{not json", headers={"Content-Type": "application/json"})
    assert users["wenxiaohua"].get(f"/api/v1/petitions/{petition['id']}")["status"] == "submitted"


def test_a_closed_petition_cannot_be_rated_again(users, petition):
    leader, resident = users["daiyunzhong"], users["wenxiaohua"]
    leader.act(petition["id"], "claim")
    leader.act(petition["id"], "resolve", {"note": "已填补"})
    resident.act(petition["id"], "rate", {"score": 3})
    error(resident, "POST", f"/api/v1/petitions/{petition['id']}/rate", 409, json={"score": 5})


def test_bad_import_names_each_entry_and_writes_nothing(admin, districts):
    before = admin.get("/api/v1/districts/hb/departments")
    body = error(admin, "POST", "/api/v1/districts/hb/import", 422, json={
        "nodes": [{"id": "b30", "type": "building", "name": "30栋", "parent": "nowhere"}],
        "departments": [{"id": "new-dept", "name": "新部门", "categories": ["noise"]}],
        "users": [{"username": "someone", "password": "demo1234", "name": "某人", "roles": ["mayor"], "scope": None}],
    })
    assert any("nodes" in key and "parent" in key for key in body["errors"]), body["errors"]
    assert any("users" in key and "roles" in key for key in body["errors"]), body["errors"]
    assert admin.get("/api/v1/districts/hb/departments") == before


def test_sign_in_and_tokens(platform, users):
    anonymous = Client(platform.url)
    error(anonymous, "POST", "/api/v1/auth/token", 401, json={"username": "wenxiaohua", "password": "wrong-one"})
    error(anonymous, "GET", "/api/v1/petitions", 401)
    error(Client(platform.url, token="not-a-jwt"), "GET", "/api/v1/points/me", 401)
    me = users["cj-clerk"].get("/api/v1/auth/me")
    assert (me["district"], me["department"], me["roles"]) == ("hb", "chengjian", ["department_staff"])
    error(users["wenxiaohua"], "POST", "/api/v1/districts", 403, json={"code": "xx", "name": "x"})
