"""Micro-projects (微项目) end to end: the community turns residents' recurring petitions into one project, the
district approves it, residents of the affected buildings support and comment, and once it is done its
petitions are resolved together, each through its own state machine, so residents hear of it and rate it."""
import uuid

from .conftest import balance, eventually, notices


def submit(client, **body):
    return client.post("/api/v1/petitions", body, expect=201)["id"]


def error(client, method, path, status, **kwargs):
    body = client.request(method, path, expect=status, **kwargs)
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == status
    return body


def move(client, project_id, status, **body):
    return client.post(f"/api/v1/projects/{project_id}/transition", {"status": status, **body})


def test_from_selected_petitions_to_ratings(users):
    wen, zhang, hu = users["wenxiaohua"], users["zhangyiqin"], users["huxingyou"]
    secretary, admin, grid, leader = users["wc-secretary"], users["hb-admin"], users["wc-grid1"], users["daiyunzhong"]
    lamp = {
        "wen": submit(wen, category="streetlight", title="28栋二单元楼道灯坏了", attributes={"location_type": "stairwell"}),
        "zhang": submit(zhang, category="streetlight", title="28栋三楼楼道灯一到晚上就不亮"),
        "hu": submit(hu, category="streetlight", title="29栋楼道灯忽明忽暗"),
        "dept": submit(zhang, category="streetlight", title="28栋门口路灯杆歪了"),
    }
    body = {"title": "28、29栋楼道声控灯改造", "description": "居民反复反映楼道灯不亮，统一更换为声控LED灯",
            "petition_ids": list(lamp.values()), "budget": "3600.50", "sponsor_department_id": "chengjian"}

    error(wen, "POST", "/api/v1/projects", 403, json=body)                               # residents do not create
    assert list(error(secretary, "POST", "/api/v1/projects", 422, json={**body, "budget": -1})["errors"]) == ["budget"]
    bad = error(secretary, "POST", "/api/v1/projects", 422, json={**body, "petition_ids": [lamp["wen"], "hb-999999"]})
    assert list(bad["errors"]) == ["petition_ids"] and "1" in bad["errors"]["petition_ids"]

    project = secretary.post("/api/v1/projects", body, expect=201)
    pid = project["id"]
    assert (project["status"], project["buildings"], project["petition_count"]) == ("proposed", ["b28", "b29"], 4)
    assert (project["budget"], project["budget_fen"], project["sponsor"]) == ("3600.50", 360050, "镇城建办")
    taken = error(secretary, "POST", "/api/v1/projects", 409, json={**body, "petition_ids": [lamp["wen"]]})
    assert pid in taken["errors"]["petition_ids"]["0"][0]                                # one open project at a time

    error(secretary, "POST", f"/api/v1/projects/{pid}/transition", 403, json={"status": "approved"})
    assert move(admin, pid, "approved", note="同意实施，城建办出资")["status"] == "approved"

    # residents of the affected buildings support it, once each; another district does not see it
    first = wen.post(f"/api/v1/projects/{pid}/support")
    again = wen.post(f"/api/v1/projects/{pid}/support")
    assert first["supporters"] == again["supporters"] == 1 and again["supported_by_me"] is True
    assert hu.post(f"/api/v1/projects/{pid}/support")["supporters"] == 2
    error(users["qj-resident"], "GET", f"/api/v1/projects/{pid}", 404)
    error(users["qj-resident"], "POST", f"/api/v1/projects/{pid}/support", 404)
    error(users["qj-leader"], "POST", f"/api/v1/projects/{pid}/transition", 404, json={"status": "in_progress"})
    assert pid not in [p["id"] for p in users["qj-resident"].get("/api/v1/projects")["items"]]

    wen.post(f"/api/v1/projects/{pid}/comments", {"text": "希望晚上十点后灯光柔和一点"}, expect=201)
    secretary.post(f"/api/v1/projects/{pid}/comments", {"text": "已转告施工方，选用暖光灯"}, expect=201)
    page = hu.get(f"/api/v1/projects/{pid}/comments")
    assert [c["author_id"] for c in page["items"]] == ["wc-secretary", "wenxiaohua"] and page["total"] == 2
    assert list(error(wen, "POST", f"/api/v1/projects/{pid}/comments", 422, json={"text": "长" * 501})["errors"]) == ["text"]

    # meanwhile the grid fixed one for good, and one went to the department
    grid.act(lamp["hu"], "claim")
    grid.act(lamp["hu"], "resolve", {"note": "更换了29栋的灯泡"})
    hu.act(lamp["hu"], "rate", {"score": 4})
    leader.act(lamp["dept"], "escalate", {"reason": "路灯杆需城建办处理"})
    secretary.act(lamp["dept"], "dispatch", {})

    move(secretary, pid, "in_progress")
    error(secretary, "POST", f"/api/v1/projects/{pid}/resolve-petitions", 409, json={"note": "还没完工"})
    assert move(secretary, pid, "done", note="声控灯已全部安装")["status"] == "done"

    key = {"Idempotency-Key": str(uuid.uuid4())}
    note = {"note": "楼道灯已全部更换为声控LED灯，欢迎评价"}
    result = secretary.post(f"/api/v1/projects/{pid}/resolve-petitions", note, headers=key)
    assert [p["id"] for p in result["resolved"]] == [lamp["wen"], lamp["zhang"]]
    assert {p["id"]: p["reason"] for p in result["not_resolved"]} == {lamp["hu"]: "closed", lamp["dept"]: "at_department"}
    assert secretary.post(f"/api/v1/projects/{pid}/resolve-petitions", note, headers=key) == result   # a retry
    repeat = secretary.post(f"/api/v1/projects/{pid}/resolve-petitions", note)
    assert repeat["resolved"] == [] and [p["id"] for p in repeat["already_resolved"]] == [lamp["wen"], lamp["zhang"]]

    # each resident hears of it, and rates as usual
    eventually(lambda: any(n["type"] == "petition_resolved" for n in notices(wen, lamp["wen"])))
    eventually(lambda: any(n["type"] == "petition_resolved" for n in notices(zhang, lamp["zhang"])))
    petition = wen.get(f"/api/v1/petitions/{lamp['wen']}")
    assert (petition["status"], petition["project_id"], petition["resolved_by"]) == ("resolved", pid, "wc-secretary")
    assert pid in petition["timeline"][-1]["note"]
    before = balance(wen)
    assert wen.act(lamp["wen"], "rate", {"score": 5, "comment": "楼道终于亮了"})["status"] == "closed"
    eventually(lambda: balance(wen) > before)

    done = admin.get("/api/v1/projects", params={"status": "done", "community": "wenchang"})
    assert pid in [p["id"] for p in done["items"]]
    mine = wen.get(f"/api/v1/projects/{pid}")
    assert [p["id"] for p in mine["petitions"]] == [lamp["wen"]]                          # only what she may see
    assert mine["resolution"]["resolved"] == [lamp["wen"], lamp["zhang"]]
    assert [e["action"] for e in mine["timeline"]] == ["propose", "approve", "start", "finish", "resolve_petitions"]


def test_from_a_hotspot(users):
    wen, zhang, hu, secretary = users["wenxiaohua"], users["zhangyiqin"], users["huxingyou"], users["wc-secretary"]
    parking = [submit(wen, category="parking", title="28栋楼下车位被占"),
               submit(zhang, category="parking", title="28栋门口乱停车堵消防通道")]
    bad = error(secretary, "POST", "/api/v1/projects", 422, json={"title": "停车", "hotspot": {"category": "parking"}})
    assert "building_id" in bad["errors"]["hotspot"]

    project = secretary.post("/api/v1/projects", {
        "title": "28栋停车位划线", "hotspot": {"category": "parking", "building_id": "b28"}}, expect=201)
    assert project["petition_ids"] == parking and project["buildings"] == ["b28"]
    assert (project["origin"]["kind"], project["origin"]["matched"]) == ("hotspot", 2)

    later = submit(hu, category="parking", title="29栋也没有车位")
    by_grid = secretary.post("/api/v1/projects", {
        "title": "网格停车难治理", "hotspot": {"category": "parking", "grid_id": "wenchang-g1"}}, expect=201)
    assert by_grid["petition_ids"] == [later]                                            # the others are taken
    assert {s["petition_id"] for s in by_grid["origin"]["skipped"]} == set(parking)

    error(hu, "POST", f"/api/v1/projects/{project['id']}/support", 403)                   # lives in 29栋
    assert [p["id"] for p in hu.get("/api/v1/projects", params={"building_id": "b29"})["items"]][0] == by_grid["id"]
