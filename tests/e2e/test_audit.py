"""The audit trail: every command leaves who, what, when and from where; nobody can edit it."""
import uuid

import pytest
import requests

from civicgrid.client import ApiError

from .conftest import PASSWORD


def trail(client, **params):
    return client.get("/api/v1/districts/hb/audit", params=params)


def test_every_change_is_recorded_with_who_what_when_and_where(users):
    resident, leader, admin = users["wenxiaohua"], users["daiyunzhong"], users["hb-admin"]
    request_id = "req-" + uuid.uuid4().hex[:8]
    pid = resident.post("/api/v1/petitions", {"category": "streetlight", "title": "审计：28栋灯不亮",
                                              "description": "楼道灯坏了"}, expect=201,
                        headers={"X-Request-ID": request_id, "User-Agent": "civicgrid-phone/1.0"})["id"]
    leader.act(pid, "claim")
    leader.act(pid, "resolve", {"note": "已修好"})
    limits = admin.get("/api/v1/districts/hb/time-limits")
    admin.put("/api/v1/districts/hb/time-limits", {"grid_claim_hours": limits["grid_claim_hours"]})

    entries = trail(admin, target=pid)["items"]
    assert [e["action"] for e in entries] == ["petitions.resolve", "petitions.claim", "petitions.submit"]
    submit = entries[-1]
    assert submit["actor"]["id"] == "wenxiaohua" and "resident" in submit["actor"]["roles"]
    assert submit["origin"] == {"channel": "http", "ip": "127.0.0.1", "user_agent": "civicgrid-phone/1.0",
                                "request_id": request_id}
    assert submit["district"] == "hb" and submit["at"].endswith("+00:00")
    assert {"category", "description", "title"} <= set(submit["fields"])
    assert entries[0]["actor"]["id"] == "daiyunzhong" and "note" in entries[0]["fields"]

    settings = trail(admin, action="petitions.set_time_limits", actor="hb-admin")["items"]
    assert settings and settings[0]["fields"] == ["grid_claim_hours"]
    # the community's secretary reads it too; paging and the services' merge keep newest first
    everything = trail(users["wc-secretary"], limit=100)
    stamps = [e["at"] for e in everything["items"]]
    assert stamps == sorted(stamps, reverse=True) and everything["total"] >= len(stamps)
    assert {e["action"].split(".")[0] for e in everything["items"]} >= {"petitions", "grid"}


def test_values_are_never_copied_into_the_trail(users):
    """An import carries passwords: the trail names the sections it set, never what they held."""
    body = requests.get(f"{users['hb-admin'].base_url}/api/v1/districts/hb/audit",
                        params={"action": "grid.import_district", "limit": 100},
                        headers={"Authorization": f"Bearer {users['hb-admin'].token}"}, timeout=10).text
    assert "grid.import_district" in body and PASSWORD not in body


def test_only_the_districts_staff_read_it_and_nobody_edits_it(users):
    for name in ("wenxiaohua", "daiyunzhong", "cj-clerk"):
        with pytest.raises(ApiError) as err:
            trail(users[name])
        assert err.value.status == 403, name
    with pytest.raises(ApiError) as err:
        users["qj-leader"].get("/api/v1/districts/hb/audit")
    assert err.value.status == 404
    admin = users["hb-admin"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = requests.request(method, f"{admin.base_url}/api/v1/districts/hb/audit", json={},
                                    headers={"Authorization": f"Bearer {admin.token}"}, timeout=10)
        assert response.status_code == 405, method
    with pytest.raises(ApiError) as err:
        trail(admin, limit=1000)
    assert err.value.status == 422 and "limit" in err.value.body["errors"]
