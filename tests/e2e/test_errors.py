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


def test_forged_expired_and_tampered_tokens_are_refused(platform, users):
    import base64
    import json as jsonlib

    import jwt

    from civicgrid.auth import issue_token

    def b64(data):
        return base64.urlsafe_b64encode(jsonlib.dumps(data).encode()).rstrip(b"=").decode()

    genuine = users["huxingyou"].token
    header, claims, signature = genuine.split(".")
    payload = jsonlib.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    forged = {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({**payload, 'roles': ['platform_admin']})}.",
        "wrong key": jwt.encode({**payload, "roles": ["platform_admin"]}, "not-our-secret", algorithm="HS256"),
        "tampered": f"{header}.{b64({**payload, 'district': 'qj'})}.{signature}",
        "expired": issue_token("huxingyou", "hb", ["resident"], ttl=-10)[0],
    }
    for why, token in forged.items():
        body = error(Client(platform.url, token=token), "GET", "/api/v1/petitions", 401)
        assert body["message"] in ("invalid token", "token expired: sign in again"), (why, body)


def test_repeated_wrong_passwords_lock_the_account_with_a_clear_message(platform):
    anonymous = Client(platform.url)
    username = "locked-out-" + str(platform.port)
    for _ in range(4):
        error(anonymous, "POST", "/api/v1/auth/token", 401, json={"username": username, "password": "guess-1234"})
    body = error(anonymous, "POST", "/api/v1/auth/token", 423, json={"username": username, "password": "guess-1234"})
    assert "locked for 15 more minute" in body["message"] and "username" in body["errors"]


@pytest.mark.parametrize("path", ["/api/v1/notifications", "/api/v1/petitions", "/api/v1/follow-ups"])
def test_a_page_beyond_any_store_is_a_422_naming_it(users, path):
    # (page - 1) x page_size must fit the skip a MongoDB query carries: past that, pymongo cannot even send it
    body = error(users["hb-admin"], "GET", f"{path}?page={10 ** 25}", 422)
    assert "page" in str(body["errors"])
