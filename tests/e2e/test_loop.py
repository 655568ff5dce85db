"""The whole loop over HTTP through the gateway, the services talking over RabbitMQ."""
from collections import Counter

from .conftest import balance, eventually, notices


def inbox_types(users, petition_id, names):
    return {name: Counter(n["type"] for n in notices(users[name], petition_id)) for name in names}


EVERYONE = ["wenxiaohua", "zhangyiqin", "daiyunzhong", "daijiaqian", "wc-grid1",
            "wc-secretary", "cj-clerk", "zz-clerk"]


def settle(users, petition_id, expected):
    """Wait until every inbox holds what it should, then check nothing else arrived."""
    eventually(lambda: all(sum(inbox_types(users, petition_id, [n])[n].values()) >= sum(c.values())
                           for n, c in expected.items()))
    actual = inbox_types(users, petition_id, EVERYONE)
    assert actual == {n: Counter(expected.get(n, {})) for n in EVERYONE}


def test_grid_path(users):
    resident, leader = users["wenxiaohua"], users["daiyunzhong"]
    before = balance(resident), balance(leader)
    petition = resident.post("/api/v1/petitions", {
        "category": "streetlight", "title": "28栋楼道声控灯不亮", "description": "晚上上下楼看不见"}, expect=201)
    assert (petition["building_id"], petition["status"], petition["level"]) == ("b28", "submitted", "grid")
    pid = petition["id"]
    assert leader.act(pid, "claim")["status"] == "in_progress"
    assert leader.act(pid, "resolve", {"note": "已更换声控灯"})["status"] == "resolved"
    closed = resident.act(pid, "rate", {"score": 5, "comment": "很及时"})
    assert (closed["status"], closed["rating"]) == ("closed", 5)
    assert [e["action"] for e in closed["timeline"]] == ["submit", "claim", "resolve", "rate"]

    eventually(lambda: balance(leader) == before[1] + 10)
    assert balance(resident) == before[0] + 2
    settle(users, pid, {
        "wenxiaohua": {"petition_submitted": 1, "petition_claimed": 1, "petition_resolved": 1,
                       "petition_closed": 1, "points_awarded": 1},
        "daiyunzhong": {"petition_submitted": 1, "petition_closed": 1, "points_awarded": 1},
        "wc-grid1": {"petition_submitted": 1},
    })
    closed_notice = next(n for n in notices(leader, pid) if n["type"] == "petition_closed")
    assert "28栋楼道声控灯不亮" in closed_notice["title"] + closed_notice["body"]
    assert "5" in closed_notice["title"] + closed_notice["body"]


def test_department_path(users):
    resident, grid_worker, community = users["zhangyiqin"], users["wc-grid1"], users["wc-secretary"]
    clerk, wrong_clerk, admin = users["cj-clerk"], users["zz-clerk"], users["hb-admin"]
    before = balance(resident), balance(clerk)
    pid = resident.post("/api/v1/petitions", {
        "category": "slope", "title": "楼后荒地雨后滑坡", "description": "坡度大、土质松软，影响出行"}, expect=201)["id"]
    assert grid_worker.act(pid, "escalate", {"reason": "需要镇相关科室加固"})["level"] == "community"
    assert community.act(pid, "dispatch", {"department_id": "zongzhi"})["department_id"] == "zongzhi"
    returned = wrong_clerk.act(pid, "return", {"reason": "属城建办职责"})
    assert (returned["status"], returned["level"], returned["department_id"]) == ("escalated", "community", None)
    redispatched = community.act(pid, "dispatch", {})
    assert redispatched["department_id"] == "chengjian"  # the catalogue's suggestion
    assert clerk.act(pid, "accept")["status"] == "in_progress"
    assert clerk.act(pid, "resolve", {"note": "已加固边坡并清理路面"})["status"] == "resolved"
    closed = resident.act(pid, "rate", {"score": 4, "comment": "解决了，稍慢"})
    assert [e["action"] for e in closed["timeline"]] == [
        "submit", "escalate", "dispatch", "return", "dispatch", "accept", "resolve", "rate"]
    assert resident.get(f"/api/v1/petitions/{pid}")["status"] == "closed"

    eventually(lambda: balance(clerk) == before[1] + 5)
    assert balance(resident) == before[0] + 2
    settle(users, pid, {
        "zhangyiqin": {"petition_submitted": 1, "petition_escalated": 1, "petition_dispatched": 2,
                       "petition_returned": 1, "petition_accepted": 1, "petition_resolved": 1,
                       "petition_closed": 1, "points_awarded": 1},
        "daiyunzhong": {"petition_submitted": 1},
        "wc-grid1": {"petition_submitted": 1},
        "wc-secretary": {"petition_escalated": 1, "petition_returned": 1},
        "zz-clerk": {"petition_dispatched": 1},
        "cj-clerk": {"petition_dispatched": 1, "petition_closed": 1, "points_awarded": 1},
    })
    ledger = admin.get("/api/v1/districts/hb/ledger/check")
    assert ledger["balanced"] and ledger["sum"] == 0 and ledger["negative_accounts"] == []
    statement = resident.get("/api/v1/points/me")["entries"]
    assert statement[0]["petition_id"] == pid and statement[0]["amount"] == 2


def test_lists_and_inbox_reads(users):
    resident, leader, clerk = users["huxingyou"], users["wc-grid1"], users["zz-clerk"]
    pid = resident.post("/api/v1/petitions", {"category": "garbage", "title": "29栋楼道垃圾堆放"}, expect=201)["id"]
    mine = resident.get("/api/v1/petitions", params={"page_size": 100})["items"]
    assert mine[0]["id"] == pid and {p["resident_id"] for p in mine} == {"huxingyou"}   # newest first, own only
    assert pid in [p["id"] for p in leader.get("/api/v1/petitions", params={"page_size": 100})["items"]]
    assert pid not in [p["id"] for p in clerk.get("/api/v1/petitions")["items"]]
    notice = eventually(lambda: notices(resident, pid))[0]
    unread = resident.get("/api/v1/notifications")["unread"]
    assert resident.post(f"/api/v1/notifications/{notice['id']}/read")["read"] is True
    assert resident.get("/api/v1/notifications")["unread"] == unread - 1
    leader.request("POST", f"/api/v1/notifications/{notice['id']}/read", expect=404)
