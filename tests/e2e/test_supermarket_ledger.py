"""The ledger's rules end to end: earning rules and caps, a rule change that rewrites nothing, corrections,
statements of every kind of account, exact report figures and the check command.

A village of its own (rule changes and caps would disturb the demo district's other tests), imported
through the API; every call goes over HTTP to the platform's processes on RabbitMQ. The tests build on
each other in file order: the village keeps what each one did.
"""
import csv
import io
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from civicgrid.client import Client
from civicgrid.harness import ROOT

from .conftest import PASSWORD, eventually

LOCAL = timezone(timedelta(hours=8))


class Village:
    def __init__(self, code, community):
        self.code, self.community = code, community
        self.staff = self.admin = None
        self.people, self.names = [], []
        self.claims = []


def error(client, method, path, status, **kwargs):
    body = client.request(method, path, expect=status, **kwargs)
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == status, body
    return body


def platform_now(clock):
    return datetime.now(timezone.utc) + timedelta(seconds=clock.offset)


def today(clock):
    return platform_now(clock).astimezone(LOCAL).date()


@pytest.fixture(scope="module")
def village(admin, platform):
    rid = uuid.uuid4().hex[:6]
    code, community, building = f"rl{rid}", f"rlc-{rid}", f"rlb-{rid}"
    admin.post("/api/v1/districts", {"code": code, "name": "规则测试村"}, expect=201)
    nodes = [{"id": f"rls-{rid}", "type": "street", "name": "测试镇", "parent": code},
             {"id": community, "type": "community", "name": "测试村", "parent": f"rls-{rid}"},
             {"id": f"rlg-{rid}", "type": "grid", "name": "一网格", "parent": community},
             {"id": building, "type": "building", "name": "1栋", "parent": f"rlg-{rid}"}]
    staff = {"username": f"rl{rid}-staff", "password": PASSWORD, "name": "村干部", "roles": ["community_staff"],
             "scope": community}
    chief = {"username": f"rl{rid}-admin", "password": PASSWORD, "name": "管理员", "roles": ["district_admin"],
             "scope": code}
    people = [{"username": f"rl{rid}-r{n}", "password": PASSWORD, "name": name, "roles": ["resident"],
               "scope": building} for n, name in enumerate(("李大爷", "王阿姨", "赵师傅"))]
    admin.post(f"/api/v1/districts/{code}/import", {"nodes": nodes, "users": [staff, chief] + people})
    anonymous = Client(platform.url)
    made = Village(code, community)
    made.staff, made.admin = anonymous.login(staff["username"], PASSWORD), anonymous.login(chief["username"], PASSWORD)
    made.people = [anonymous.login(p["username"], PASSWORD) for p in people]
    made.names = [p["username"] for p in people]
    made.admin_name, made.staff_name = chief["username"], staff["username"]
    return made


def attend(village, clock, who, points=None):
    """An activity of the village that ``who`` (indices) sign up for and are checked in at."""
    body = {"title": f"志愿服务 {uuid.uuid4().hex[:4]}", "place": "村委会",
            "starts_at": (platform_now(clock) + timedelta(hours=2)).isoformat(), "capacity": 5}
    if points is not None:
        body["points"] = points
    made = village.staff.post(f"/api/v1/communities/{village.community}/activities", body, expect=201)
    for n in who:
        village.people[n].post(f"/api/v1/activities/{made['id']}/signup")
    results = village.staff.post(f"/api/v1/activities/{made['id']}/check-ins",
                                 {"user_ids": [village.names[n] for n in who]})["results"]
    return made, results


def claim(village, n, category="助老"):
    made = village.people[n].post("/api/v1/claims", {"title": f"好人好事 {uuid.uuid4().hex[:4]}",
                                                     "category": category}, expect=201)
    decided = village.staff.post(f"/api/v1/claims/{made['id']}/approve", {})
    village.claims.append(decided)
    return decided


def amounts(client, account="me", reason=None, **params):
    entries = client.get(f"/api/v1/points/accounts/{account}/statement", params=params)["entries"]
    return [e["amount"] for e in entries if reason is None or e["reason"] == reason]


def test_rules_and_caps_decide_awards_and_a_change_rewrites_nothing(village, clock, users):
    admin, rules_path = village.admin, f"/api/v1/districts/{village.code}/point-rules"
    rules = admin.get(rules_path)
    assert rules["caps"]["activity"] == {"per_day": 20, "per_month": 100}
    assert (rules["wish_fulfilled"], rules["caps"]["wish"]) == (5, {"per_day": 10, "per_month": 50})  # 微心愿, later
    changed = admin.put(rules_path, {"activity_attendance": 4, "claim_categories": {"助老": 8},
                                     "caps": {"activity": {"per_day": 10}, "claim": {"per_day": 30, "per_month": 30}}})
    assert changed["activity_attendance"] == 4 and changed["caps"]["activity"] == {"per_day": 10, "per_month": 100}
    assert users["hb-admin"].get("/api/v1/districts/hb/point-rules")["activity_attendance"] == 5  # per district
    error(village.staff, "PUT", rules_path, 403, json={"activity_attendance": 50})
    error(users["hb-admin"], "PUT", rules_path, 404, json={"activity_attendance": 50})  # another district's

    # a cap per day: 6, then what is left of 10, then nothing
    assert [(r["points"], r["capped"]) for r in attend(village, clock, [0], points=6)[1]] == [(6, False)]
    assert [(r["points"], r["capped"]) for r in attend(village, clock, [0], points=6)[1]] == [(4, True)]
    assert [(r["points"], r["capped"]) for r in attend(village, clock, [0], points=6)[1]] == [(0, True)]
    assert amounts(village.people[0], reason="activity_attendance") == [6, 4]

    # an activity that names no points takes the rule in force when it is created
    before, results = attend(village, clock, [1])
    assert before["points"] == 4 and results[0]["points"] == 4
    admin.put(rules_path, {"activity_attendance": 9, "caps": {"activity": {"per_day": 50}}})
    after, results = attend(village, clock, [1])
    assert after["points"] == 9 and results[0]["points"] == 9
    assert village.staff.get(f"/api/v1/activities/{before['id']}")["points"] == 4
    assert amounts(village.people[1], reason="activity_attendance") == [4, 9]  # the first entry kept its 4

    # claims: the category's amount at approval, then a monthly cap
    assert claim(village, 2)["points"] == 8
    admin.put(rules_path, {"claim_categories": {"助老": 12}})
    assert claim(village, 2)["points"] == 12
    admin.put(rules_path, {"caps": {"claim": {"per_day": 25, "per_month": 25}}})
    capped = claim(village, 2)
    assert (capped["points"], capped["capped"]) == (5, True)
    assert amounts(village.people[2], reason="claim_approved") == [8, 12, 5]
    assert [c["points"] for c in village.claims] == [8, 12, 5]
    balances = [p.get("/api/v1/points/me")["balance"] for p in village.people]
    assert balances == [10, 13, 25]


def test_a_correction_reverses_an_award_and_the_original_stands(village):
    admin, resident = village.admin, village.people[2]
    first = village.claims[0]
    path = f"/api/v1/districts/{village.code}/points/transactions/claim:{first['id']}/reversal"
    error(admin, "POST", path, 422, json={})
    error(village.staff, "POST", path, 403, json={"reason": "重复申报"})
    error(admin, "POST", f"/api/v1/districts/{village.code}/points/transactions/claim:nothing/reversal", 404,
          json={"reason": "x"})
    assert resident.get("/api/v1/points/me")["balance"] == 25

    reversed_ = admin.post(path, {"reason": "重复申报"}, expect=201)
    assert (reversed_["amount"], reversed_["balance"], reversed_["reverses"], reversed_["transaction_id"]) == (
        -8, 17, f"claim:{first['id']}", f"reversal:claim:{first['id']}")
    assert admin.post(path, {"reason": "重复申报"}, expect=201)["balance"] == 17  # once, however often asked
    mine = resident.get("/api/v1/points/accounts/me/statement")["entries"]
    assert [(e["reason"], e["amount"]) for e in mine] == [
        ("claim_approved", 8), ("claim_approved", 12), ("claim_approved", 5), ("reversal", -8)]
    correction = mine[-1]
    assert correction["source"] == {"type": "reversal", "id": f"claim:{first['id']}"}
    assert correction["actor"]["id"] == village.admin_name and correction["balance_after"] == 17
    assert correction["counter_account"] == f"community:{village.community}"
    counter = village.staff.get(f"/api/v1/points/accounts/community:{village.community}/statement")["entries"]
    assert [e["amount"] for e in counter if e["transaction_id"] == correction["transaction_id"]] == [8]

    # spent points are not taken back, and an order is cancelled rather than reversed
    item = village.staff.post("/api/v1/shop/items", {"name": "洗衣液", "price": 10, "stock": 5}, expect=201)
    spender = village.people[0]
    order = spender.post("/api/v1/orders", {"item_id": item["id"]}, expect=201)
    award = next(e for e in spender.get("/api/v1/points/accounts/me/statement")["entries"]
                 if e["reason"] == "activity_attendance")
    body = error(admin, "POST", f"/api/v1/districts/{village.code}/points/transactions/"
                                f"{award['transaction_id']}/reversal", 409, json={"reason": "签到有误"})
    assert "transaction_id" in body["errors"]
    error(admin, "POST", f"/api/v1/districts/{village.code}/points/transactions/order:{order['id']}/reversal", 409,
          json={"reason": "x"})
    cancelled = village.staff.post(f"/api/v1/orders/{order['id']}/cancel", {"note": "居民电话取消"})
    assert (cancelled["status"], cancelled["reason"], cancelled["cancelled_by"]) == ("cancelled", "staff",
                                                                                   village.staff_name)
    refund = spender.get("/api/v1/points/accounts/me/statement")["entries"][-1]
    assert (refund["reason"], refund["amount"], refund["actor"]["id"]) == ("refund", 10, village.staff_name)
    assert refund["source"] == {"type": "order", "id": order["id"]}
    bought = village.people[1].post("/api/v1/orders", {"item_id": item["id"]}, expect=201)
    village.staff.post(f"/api/v1/orders/{bought['id']}/pickup")
    assert [p.get("/api/v1/points/me")["balance"] for p in village.people] == [10, 3, 17]


def test_statements_of_every_kind_of_account_for_a_period(village, clock, users):
    day = today(clock)
    period = {"from": day.isoformat(), "to": day.isoformat()}
    closing = {}
    for n, person in enumerate(village.people):
        mine = village.staff.get(f"/api/v1/points/accounts/user:{village.names[n]}/statement", params=period)
        assert (mine["kind"], mine["owner"], mine["community"]) == ("user", ["李大爷", "王阿姨", "赵师傅"][n],
                                                                    village.community)
        assert mine["closing_balance"] == mine["opening_balance"] + mine["credits"] - mine["debits"]
        assert mine["closing_yuan"] == f"{mine['closing_balance']}.00"
        closing[mine["account"]] = mine["closing_balance"]
    for account, who in ((f"community:{village.community}", village.staff),
                         (f"shop:{village.community}", village.staff), (f"issuance:{village.code}", village.admin)):
        statement = who.get(f"/api/v1/points/accounts/{account}/statement", params=period)
        assert statement["kind"] == account.split(":")[0] and statement["total"] == len(statement["entries"])
        closing[account] = statement["closing_balance"]
    assert closing[f"community:{village.community}"] == -(6 + 4 + 4 + 9 + 8 + 12 + 5 - 8)
    assert closing[f"shop:{village.community}"] == 10 and closing[f"issuance:{village.code}"] == 0
    assert sum(closing.values()) == 0  # the village's accounts hold nothing between them

    year_ago = {"from": (day - timedelta(days=400)).isoformat(), "to": (day - timedelta(days=366)).isoformat()}
    earlier = village.staff.get(f"/api/v1/points/accounts/community:{village.community}/statement", params=year_ago)
    assert (earlier["entries"], earlier["opening_balance"], earlier["closing_balance"]) == ([], 0, 0)
    tomorrow = {"from": (day + timedelta(days=1)).isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    later = village.people[2].get("/api/v1/points/accounts/me/statement", params=tomorrow)
    assert (later["entries"], later["opening_balance"], later["closing_balance"]) == ([], 17, 17)
    paged = village.people[2].get("/api/v1/points/accounts/me/statement", params=dict(period, page_size=2, page=2))
    assert (paged["total"], [e["amount"] for e in paged["entries"]]) == (4, [5, -8])

    error(village.people[0], "GET", f"/api/v1/points/accounts/community:{village.community}/statement", 404)
    error(village.people[0], "GET", f"/api/v1/points/accounts/user:{village.names[1]}/statement", 404)
    error(village.staff, "GET", f"/api/v1/points/accounts/issuance:{village.code}/statement", 404)
    error(users["hb-admin"], "GET", f"/api/v1/points/accounts/user:{village.names[0]}/statement", 404)
    error(village.admin, "GET", "/api/v1/points/accounts/me/statement", 422, params={"from": "2026-02-30"})


def test_the_reports_figures_for_the_village(village, clock):
    day = today(clock)
    # the activities start two hours on: the period runs past them
    period = {"from": day.replace(month=1, day=1).isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    path = f"/api/v1/districts/{village.code}/points-report"
    # accounts open as the grid announces its members (asynchronously): staff, admin, three residents
    report = eventually(lambda: (lambda r: r if r["registered_accounts"] == 5 else None)(
        village.admin.get(path, params=period)))
    assert report["issued_by_rule"] == {"activity_attendance": 23, "claim_approved": 17}
    assert (report["issued"], report["redeemed"], report["outstanding"]) == (40, 10, 30)
    assert (report["issued_yuan"], report["redeemed_yuan"], report["outstanding_yuan"]) == ("40.00", "10.00", "30.00")
    assert (report["activities_held"], report["attendance"], report["signups"]) == (5, 5, 5)
    assert report["claims"] == {"pending": 0, "approved": 3, "rejected": 0}
    assert report["orders"] == {"reserved": 0, "picked_up": 1, "cancelled": 1}
    assert [(e["rank"], e["name"], e["points"]) for e in report["top_earners"]] == [
        (1, "赵师傅", 17), (2, "王阿姨", 13), (3, "李大爷", 10)]
    assert sum(m["issued"] for m in report["monthly"]) == 40 and sum(m["redeemed"] for m in report["monthly"]) == 10
    assert sum(m["attendance"] for m in report["monthly"]) == 5
    assert [(c["community"], c["issued"], c["redeemed"], c["outstanding"], c["registered_accounts"])
            for c in report["communities"]] == [(village.community, 40, 10, 30, 4)]  # the admin has no community

    response = requests.get(f"{village.admin.base_url}{path}.csv", params=dict(period, table="leaderboard"),
                            headers={"Authorization": f"Bearer {village.admin.token}"}, timeout=10)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["rank", "user_id", "name", "community", "points", "yuan"]
    assert [(r[2], r[4], r[5]) for r in rows[1:]] == [("赵师傅", "17", "17.00"), ("王阿姨", "13", "13.00"),
                                                      ("李大爷", "10", "10.00")]

    village.people[2].put("/api/v1/points/me/settings", {"show_on_leaderboard": False})
    board = village.people[0].get(f"/api/v1/communities/{village.community}/leaderboard", params=period)
    assert [e["name"] for e in board["items"]] == ["王阿姨", "李大爷"]
    assert [e["name"] for e in village.admin.get(path, params=period)["top_earners"]] == ["王阿姨", "李大爷"]


def test_the_check_command_verifies_the_whole_district(village, platform, users):
    def check(*extra):
        return subprocess.run([sys.executable, "-m", "services.points.check", "--district", village.code,
                               "--url", platform.url, *extra], cwd=ROOT, capture_output=True, text=True, timeout=60)

    done = check("--user", village.admin_name, "--password", PASSWORD)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"district {village.code}: ") and ", sum 0, " in lines[0]
    assert lines[-1] == "balanced" and not any("BREAK" in line for line in lines)
    assert check().returncode == 0  # the platform administrator, by default
    refused = check("--user", "hb-admin", "--password", PASSWORD)  # another district's administrator
    assert refused.returncode == 2 and refused.stderr.startswith("check:")
    assert check("--user", village.admin_name, "--password", "wrong").returncode == 2
    answer = village.admin.get(f"/api/v1/districts/{village.code}/ledger/check")
    assert answer["balanced"] and answer["negative_accounts"] == answer["unbalanced_transactions"] == []
    assert answer["orders"] == {"picked_up": 1, "cancelled": 1} and answer["orders_in_flight"] == 0
