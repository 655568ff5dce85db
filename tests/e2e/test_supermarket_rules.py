"""Petition awards by the district's own rules, end to end: amounts by rating, a cap, a change that rewrites nothing.

A town of its own (its rules change here), imported through the API: a resident and the building
leader who handles their petitions at grid level. Every petition goes round the loop over HTTP
(submit, claim, resolve, rate); the points service books the awards when `petition_closed` arrives.
"""
import uuid

import pytest

from civicgrid.client import Client

from .conftest import PASSWORD, eventually


@pytest.fixture(scope="module")
def town(admin, platform):
    rid = uuid.uuid4().hex[:6]
    code, community, building = f"pr{rid}", f"prc-{rid}", f"prb-{rid}"
    admin.post("/api/v1/districts", {"code": code, "name": "积分规则镇"}, expect=201)
    nodes = [{"id": f"prs-{rid}", "type": "street", "name": "规则街道", "parent": code},
             {"id": community, "type": "community", "name": "规则社区", "parent": f"prs-{rid}"},
             {"id": f"prg-{rid}", "type": "grid", "name": "一网格", "parent": community},
             {"id": building, "type": "building", "name": "1栋", "parent": f"prg-{rid}"}]
    people = [
        {"username": f"pr{rid}-resident", "password": PASSWORD, "name": "陈阿婆", "roles": ["resident"],
         "scope": building},
        {"username": f"pr{rid}-leader", "password": PASSWORD, "name": "周楼栋长", "roles": ["building_leader"],
         "scope": building},
        {"username": f"pr{rid}-admin", "password": PASSWORD, "name": "管理员", "roles": ["district_admin"],
         "scope": code},
    ]
    admin.post(f"/api/v1/districts/{code}/import", {
        "nodes": nodes, "users": people,
        "departments": [{"id": f"prd-{rid}", "name": "城建", "categories": ["streetlight"]}]})
    anonymous = Client(platform.url)
    resident, leader, chief = (anonymous.login(p["username"], PASSWORD) for p in people)
    return {"code": code, "resident": resident, "leader": leader, "admin": chief,
            "names": [p["username"] for p in people]}


def round_the_loop(town, score):
    resident, leader = town["resident"], town["leader"]
    pid = resident.post("/api/v1/petitions", {"category": "streetlight", "title": f"路灯不亮 {uuid.uuid4().hex[:4]}",
                                              "description": "晚上看不见"}, expect=201)["id"]
    leader.act(pid, "claim")
    leader.act(pid, "resolve", {"note": "已修好"})
    assert resident.act(pid, "rate", {"score": score})["status"] == "closed"
    return pid


def awards(client, pid):
    """The petition's entries in this person's statement, once the points service has booked them."""
    return [(e["reason"], e["amount"]) for e in client.get("/api/v1/points/accounts/me/statement")["entries"]
            if e["petition_id"] == pid]


def booked(client, pid):
    return eventually(lambda: awards(client, pid))


def test_petition_awards_follow_the_districts_rules_caps_and_changes(town, users):
    admin, resident, leader = town["admin"], town["resident"], town["leader"]
    path = f"/api/v1/districts/{town['code']}/point-rules"
    admin.put(path, {"reporter_rated": 3, "handler_5_star": 7, "handler_4_star": 4,
                     "caps": {"petition": {"per_day": 10}}})
    assert users["hb-admin"].get("/api/v1/districts/hb/point-rules")["handler_5_star"] == 10  # hb keeps its own

    first = round_the_loop(town, 5)
    assert booked(leader, first) == [("petition_handled", 7)]
    assert booked(resident, first) == [("petition_rated", 3)]

    # four stars earn the handler 4, lowered to the 3 the daily cap of 10 leaves
    second = round_the_loop(town, 4)
    assert booked(leader, second) == [("petition_handled", 3)]
    assert booked(resident, second) == [("petition_rated", 3)]

    # three stars: the reporter is rewarded for rating, the handler earns nothing
    third = round_the_loop(town, 3)
    assert booked(resident, third) == [("petition_rated", 3)]

    # a change applies to what closes afterwards; the entries booked before keep their amounts
    admin.put(path, {"handler_5_star": 9, "reporter_rated": 1, "caps": {"petition": {"per_day": None}}})
    fourth = round_the_loop(town, 5)
    assert booked(leader, fourth) == [("petition_handled", 9)]
    assert booked(resident, fourth) == [("petition_rated", 1)]
    assert awards(leader, third) == []
    assert [e["amount"] for e in leader.get("/api/v1/points/accounts/me/statement")["entries"]] == [7, 3, 9]
    assert [e["amount"] for e in resident.get("/api/v1/points/accounts/me/statement")["entries"]] == [3, 3, 3, 1]
    assert (leader.get("/api/v1/points/me")["balance"], resident.get("/api/v1/points/me")["balance"]) == (19, 10)

    issuance = admin.get(f"/api/v1/points/accounts/issuance:{town['code']}/statement")
    assert issuance["closing_balance"] == -29 and {e["counter_account"] for e in issuance["entries"]} == {
        f"user:{town['names'][0]}", f"user:{town['names'][1]}"}
    report = admin.get(f"/api/v1/districts/{town['code']}/points-report")
    assert report["issued_by_rule"] == {"petition_rated": 10, "petition_handled": 19}
    check = admin.get(f"/api/v1/districts/{town['code']}/ledger/check")
    assert check["balanced"] and check["sum"] == 0 and check["entries"] == 14
