"""The catalogue (categories as service definitions) and 党员报到 over HTTP, through the gateway and the grid service."""
import uuid

from civicgrid.client import Client

from .conftest import PASSWORD


def error(client, method, path, status, **kwargs):
    body = client.request(method, path, expect=status, **kwargs)
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == status
    return body


def normalised(definition, departments):
    """A definition of demo/hebian.json as the API returns it: every default spelled out."""
    return {
        "category": definition["category"], "name": definition["name"],
        "description": definition.get("description", ""),
        "department_id": definition.get("department_id"),
        "department_name": departments.get(definition.get("department_id")),
        "kind": definition.get("kind", "issue"),
        "fields": [{"code": f["code"], "name": f["name"], "type": f["type"],
                    "required": f.get("required", False), "description": f.get("description", ""),
                    "choices": f.get("choices", [])} for f in definition.get("fields", [])],
    }


def test_the_categories_are_the_demos_definitions(users, demo_district):
    # Needs the whole demo document imported, "categories" included (tests/e2e/conftest.py).
    departments = {d["id"]: d["name"] for d in demo_district["departments"]}
    listed = {c["category"]: c for c in users["wenxiaohua"].get("/api/v1/districts/hb/categories")}
    for definition in demo_district["categories"]:
        assert listed[definition["category"]] == normalised(definition, departments)
    # named only in a department's list: a basic category
    assert listed["road"] == {"category": "road", "name": "road", "description": "", "department_id": "chengjian",
                              "department_name": "镇城建办", "kind": "issue", "fields": []}
    assert list(listed) == sorted(listed)
    streetlight = users["cj-clerk"].get("/api/v1/districts/hb/categories/streetlight")
    assert streetlight["fields"][0]["choices"][0] == {"key": "stairwell", "name": "楼道"}
    help_ = users["wc-secretary"].get("/api/v1/districts/hb/categories/help_errand")
    assert (help_["kind"], help_["department_id"]) == ("help", None)
    error(users["wenxiaohua"], "GET", "/api/v1/districts/hb/categories/ufo", 404)
    error(users["qj-resident"], "GET", "/api/v1/districts/hb/categories", 404)  # another district: not found


NOISE = {"name": "夜间噪音", "description": "晚上十点后的施工、广场舞噪音", "department_id": "zongzhi",
         "fields": [{"code": "source", "name": "噪音来源", "type": "single_choice", "required": True,
                     "choices": [{"key": "construction", "name": "施工"}, {"key": "dance", "name": "广场舞"}]},
                    {"code": "since", "name": "开始时间", "type": "string"}]}


def test_a_district_admin_defines_a_category(users):
    code = f"noise-{uuid.uuid4().hex[:6]}"
    path = f"/api/v1/districts/hb/categories/{code}"
    saved = users["hb-admin"].put(path, NOISE, expect=200)
    assert saved["category"] == code and saved["department_name"] == "镇综治办"
    assert saved["fields"][0]["choices"] == NOISE["fields"][0]["choices"]
    assert saved["fields"][1] == {"code": "since", "name": "开始时间", "type": "string", "required": False,
                                  "description": "", "choices": []}
    assert users["wenxiaohua"].get(path) == saved
    assert code in [c["category"] for c in users["wenxiaohua"].get("/api/v1/districts/hb/categories")]

    error(users["wenxiaohua"], "PUT", path, 403, json=NOISE)
    error(users["wc-secretary"], "PUT", path, 403, json=NOISE)
    bad = {**NOISE, "fields": [{**NOISE["fields"][0], "choices": []}, NOISE["fields"][1]]}
    body = error(users["hb-admin"], "PUT", path, 422, json=bad)
    assert list(body["errors"]) == ["fields[0].choices"], body
    duplicate = {**NOISE, "fields": [NOISE["fields"][0], {**NOISE["fields"][0], "choices": [
        {"key": "dance", "name": "广场舞"}, {"key": "dance", "name": "跳舞"}]}]}
    body = error(users["hb-admin"], "PUT", path, 422, json=duplicate)
    assert set(body["errors"]) == {"fields[1].code", "fields[1].choices"}, body
    body = error(users["hb-admin"], "PUT", path, 422, json={**NOISE, "department_id": "ghost"})
    assert list(body["errors"]) == ["department_id"]
    assert users["wenxiaohua"].get(path) == saved


def test_community_staff_register_a_party_member(platform, users):
    # someone of our own, so that the demo's people keep their roles for the other tests
    username = f"party-{uuid.uuid4().hex[:6]}"
    users["hb-admin"].post("/api/v1/districts/hb/import", {"users": [
        {"username": username, "password": PASSWORD, "name": "29栋居民", "roles": ["resident"], "scope": "b29"}]})
    person = Client(platform.url).login(username, PASSWORD)
    me = person.get("/api/v1/auth/me")
    assert (me["roles"], me["community"]) == (["resident"], "wenchang")

    error(users["wenxiaohua"], "POST", "/api/v1/districts/hb/party-members", 403, json={"username": username})
    error(users["qj-leader"], "POST", "/api/v1/districts/hb/party-members", 404, json={"username": username})
    body = error(users["wc-secretary"], "POST", "/api/v1/districts/hb/party-members", 403,
                 json={"username": username, "community": "yanjinghe"})
    assert "own community" in body["message"]
    error(users["wc-secretary"], "POST", "/api/v1/districts/hb/party-members", 404, json={"username": "nobody-here"})
    body = error(users["hb-admin"], "POST", "/api/v1/districts/hb/party-members", 422,
                 json={"username": username, "community": "b29"})
    assert list(body["errors"]) == ["community"]

    member = users["wc-secretary"].post("/api/v1/districts/hb/party-members", {"username": username}, expect=200)
    assert member == {"user_id": username, "name": "29栋居民", "roles": ["resident", "party_member"],
                      "community": "wenchang"}
    again = users["wc-secretary"].post("/api/v1/districts/hb/party-members",
                                       {"username": username, "community": "wenchang"}, expect=200)
    assert again == member
    me = Client(platform.url).login(username, PASSWORD).get("/api/v1/auth/me")
    assert "party_member" in me["roles"] and me["community"] == "wenchang"
    assert (me["district"], me["scope"]) == ("hb", "b29")
