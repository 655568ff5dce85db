"""Care levels (红橙绿) and visits (入户走访) end to end, over HTTP with the services on RabbitMQ:
households imported with their members, a change of level audited, a visit logged with a petition
filed on the spot for the household (代办), the overdue heading the grid worker's queue once time
has passed, visit intervals per district, and who may see what."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.client import ApiError

CST = timezone(timedelta(hours=8))
HOMES = [
    {"id": "e2e-27-0101", "building_id": "b27", "name": "27栋1单元101 雷家", "address": "1单元101",
     "members": [{"name": "雷秀兰", "relation": "户主", "phone": "13900270101"}],
     "care_level": "red", "care_reason": "重大疾病：户主化疗中"},
    {"id": "e2e-28-0402", "building_id": "b28", "name": "28栋4单元402 张家", "address": "4单元402",
     "members": [{"name": "张意琴", "relation": "户主", "user_id": "zhangyiqin"}],
     "care_level": "orange", "care_reason": "残疾人家庭"},
    {"id": "e2e-29-0203", "building_id": "b29", "name": "29栋2单元203 邓家", "members": [{"name": "邓建国"}]},
]
MINE = [h["id"] for h in HOMES]


def refused(client, method, path, status, **kwargs):
    with pytest.raises(ApiError) as err:
        client.request(method, path, **kwargs)
    body = err.value.body
    assert err.value.status == status and set(body) == {"code", "status", "message", "errors"}
    return body


def today(clock):
    return (datetime.now(timezone.utc) + timedelta(seconds=clock.offset)).astimezone(CST).date()


def queue(client, **params):
    items = client.get("/api/v1/households", params={"queue": "mine", "page_size": 100, **params})["items"]
    return [h for h in items if h["id"] in MINE]


@pytest.fixture(scope="module")
def homes(users):
    counts = users["hb-admin"].post("/api/v1/districts/hb/import", {"households": HOMES})
    assert counts["households"] == 3 and counts["users"] == 0
    return MINE


def test_households_levels_visits_and_the_overdue_first(users, homes, clock):
    worker, staff, admin = users["wc-grid1"], users["wc-secretary"], users["hb-admin"]
    mine = queue(worker)
    assert [h["id"] for h in mine] == MINE  # red due in a week, orange in a month, green in a quarter
    assert [h["visit_interval_days"] for h in mine] == [7, 30, 90] and not any(h["visit_overdue"] for h in mine)
    assert mine[0]["members"][0]["phone"] == "13900270101" and mine[0]["building_name"] == "竹林湾路27栋"

    # a change of level, with its reason, kept on the household and in the audit trail
    changed = worker.put("/api/v1/households/e2e-29-0203/care-level", {"level": "red", "reason": "户主突发脑梗住院"})
    assert (changed["care_level"], changed["care_reason"]) == ("red", "户主突发脑梗住院")
    change = changed["care_history"][-1]
    assert (change["from_level"], change["to_level"], change["by"]["id"], change["source"]) == (
        "green", "red", "wc-grid1", "change")
    trail = staff.get("/api/v1/districts/hb/audit", params={"action": "grid.set_care_level", "target": "e2e-29-0203"})
    assert trail["items"][0]["actor"]["id"] == "wc-grid1" and trail["items"][0]["fields"] == ["level", "reason"]

    # a visit that finds a broken stair light files the petition for the household on the spot
    day = today(clock).isoformat()
    visit = worker.post("/api/v1/households/e2e-28-0402/visits", {
        "visited_on": day, "notes": "张阿姨说楼道灯坏了一周", "needs_found": ["楼道照明", "轮椅坡道"],
        "petition": {"category": "streetlight", "title": "28栋4单元楼道灯不亮",
                     "attributes": {"location_type": "stairwell"}}}, expect=201)
    assert visit["visited_on"] == day and visit["household"]["last_visit_on"] == day
    petition = users["zhangyiqin"].get(f"/api/v1/petitions/{visit['petition_id']}")
    assert (petition["resident_id"], petition["household_id"], petition["building_id"]) == (
        "zhangyiqin", "e2e-28-0402", "b28")
    assert petition["filed_by"]["id"] == "wc-grid1" and petition["timeline"][0]["role"] == "grid_worker"
    history = worker.get("/api/v1/households/e2e-28-0402/visits")
    assert [v["petition_id"] for v in history["items"]] == [visit["petition_id"]]
    assert history["items"][0]["needs_found"] == ["楼道照明", "轮椅坡道"]

    # a week and a day later: both red households are overdue and come first; the visited orange one waits
    clock.advance(8 * 24)
    mine = queue(worker)
    assert [h["id"] for h in mine] == ["e2e-27-0101", "e2e-29-0203", "e2e-28-0402"]
    assert [h["visit_overdue"] for h in mine] == [True, True, False] and mine[0]["overdue_days"] == 1
    assert [h["id"] for h in queue(worker, overdue="true")] == ["e2e-27-0101", "e2e-29-0203"]
    page = staff.get("/api/v1/households", params={"queue": "mine", "page_size": 1})
    assert page["items"][0]["visit_overdue"] and page["overdue"] >= 2  # the community's queue, overdue first

    # visiting one takes it off the top
    worker.post("/api/v1/households/e2e-27-0101/visits", {"visited_on": today(clock).isoformat(),
                                                          "notes": "已联系社区医生上门"}, expect=201)
    assert [h["id"] for h in queue(worker, overdue="true")] == ["e2e-29-0203"]

    # visit intervals per district: the administrator's, red ≤ orange ≤ green
    assert admin.get("/api/v1/districts/hb/care-settings") == {"red_days": 7, "orange_days": 30, "green_days": 90}
    body = refused(admin, "PUT", "/api/v1/districts/hb/care-settings", 422, json={"orange_days": 3})
    assert list(body["errors"]) == ["orange_days"]
    refused(staff, "PUT", "/api/v1/districts/hb/care-settings", 403, json={"orange_days": 40})
    try:
        assert admin.put("/api/v1/districts/hb/care-settings", {"orange_days": 8})["orange_days"] == 8
        orange = worker.get("/api/v1/households/e2e-28-0402")
        assert orange["visit_interval_days"] == 8 and orange["visit_overdue"] is False  # due on the 8th day
        clock.advance(24)
        assert worker.get("/api/v1/households/e2e-28-0402")["visit_overdue"] is True
    finally:
        admin.put("/api/v1/districts/hb/care-settings", {"orange_days": 30})


def test_who_may_see_change_and_log(users, homes, clock):
    worker = users["wc-grid1"]
    refused(users["wenxiaohua"], "GET", "/api/v1/households", 403)  # a resident: not theirs to read
    # not even their own household's label: for a resident no household is there to learn of
    refused(users["zhangyiqin"], "GET", "/api/v1/households/e2e-28-0402", 404)
    refused(users["cj-clerk"], "GET", "/api/v1/households", 403)
    refused(users["qj-leader"], "GET", "/api/v1/households/e2e-27-0101", 404)  # another district's
    refused(users["qj-leader"], "GET", "/api/v1/districts/hb/care-settings", 404)
    refused(users["daiyunzhong"], "GET", "/api/v1/households/e2e-27-0101", 404)  # 28栋's leader, a 27栋 household
    assert users["daiyunzhong"].get("/api/v1/households/e2e-28-0402")["care_level"] == "orange"
    refused(users["daiyunzhong"], "PUT", "/api/v1/households/e2e-28-0402/care-level", 403,
            json={"level": "green", "reason": "情况好转"})  # a building leader reports; the grid decides
    refused(worker, "GET", "/api/v1/households/nobody-here", 404)

    # bad input: 422 naming the field, nothing written
    body = refused(worker, "PUT", "/api/v1/households/e2e-27-0101/care-level", 422, json={"level": "purple"})
    assert set(body["errors"]) == {"level", "reason"}
    tomorrow = (today(clock) + timedelta(days=1)).isoformat()
    body = refused(worker, "POST", "/api/v1/households/e2e-27-0101/visits", 422, json={"visited_on": tomorrow})
    assert list(body["errors"]) == ["visited_on"]
    body = refused(worker, "POST", "/api/v1/households/e2e-27-0101/visits", 422,
                   json={"visited_on": "2026-02-30", "needs_found": [""], "petition": {"title": "x"}})
    assert set(body["errors"]) == {"visited_on", "needs_found[0]", "petition.category"}
    before = worker.get("/api/v1/households/e2e-28-0402")["visit_count"]
    body = refused(worker, "POST", "/api/v1/households/e2e-28-0402/visits", 422, json={
        "visited_on": today(clock).isoformat(), "petition": {"category": "ufo", "title": "不明飞行物"}})
    assert list(body["errors"]) == ["petition.category"]  # the petitions service refused it: no visit either
    assert worker.get("/api/v1/households/e2e-28-0402")["visit_count"] == before
    body = refused(users["hb-admin"], "POST", "/api/v1/districts/hb/import", 422, json={"households": [
        {"id": "e2e-bad", "building_id": "wenchang-g1", "name": "不是楼", "care_level": "red"}]})
    assert set(body["errors"]) == {"households[0].building_id", "households[0].care_reason"}
