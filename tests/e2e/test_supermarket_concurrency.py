"""THE concurrency test: 200 reservations at once from 50 residents against items with stock 30.

A district of its own (usernames are unique platform-wide: a random suffix), its 50 residents
imported through the API and paid the way the product pays them (an activity, a check-in). Then
200 reservations at once through the gateway, and the invariants: stock never below zero, no
balance below zero, every accepted order paired with exactly its two entries, the ledger sums to
zero. Then the reservations nobody picks up expire by the timer (the platform's clock moves).
"""
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from civicgrid.auth import issue_token
from civicgrid.client import Client

from .conftest import PASSWORD, eventually

RESIDENTS = 50
ATTEMPTS = 200
STOCK = 30
EARNED = 20


class District:
    def __init__(self, code, url, community):
        self.code, self.url, self.community = code, url, community
        self.residents, self.staff, self.admin = [], None, None
        self.items = {}


def client(url, user_id, district, roles, scope, community, name):
    """A resident's client; the token carries exactly what signing in gives (checked for one of them)."""
    token, _ = issue_token(user_id, district, roles, scope=scope, community=community, name=name)
    return Client(url, token, requests.Session())


@pytest.fixture(scope="module")
def town(admin, platform, clock):
    rid = uuid.uuid4().hex[:6]
    code, community, building = f"sm{rid}", f"smc-{rid}", f"smb-{rid}"
    admin.post("/api/v1/districts", {"code": code, "name": "并发测试镇"}, expect=201)
    nodes = [{"id": f"sms-{rid}", "type": "street", "name": "测试街道", "parent": code},
             {"id": community, "type": "community", "name": "测试社区", "parent": f"sms-{rid}"},
             {"id": f"smg-{rid}", "type": "grid", "name": "测试网格", "parent": community},
             {"id": building, "type": "building", "name": "1栋", "parent": f"smg-{rid}"}]
    staff = {"username": f"sm{rid}-staff", "password": PASSWORD, "name": "社区干部", "roles": ["community_staff"],
             "scope": community}
    chief = {"username": f"sm{rid}-admin", "password": PASSWORD, "name": "管理员", "roles": ["district_admin"],
             "scope": code}
    admin.post(f"/api/v1/districts/{code}/import", {"nodes": nodes, "users": [staff, chief]})
    people = [{"username": f"sm{rid}-r{n:02d}", "password": PASSWORD, "name": f"居民{n:02d}", "roles": ["resident"],
               "scope": building} for n in range(RESIDENTS)]
    # each import hashes its passwords (scrypt) inside one RPC: batches of ten stay in time on a loaded machine
    for start in range(0, RESIDENTS, 10):
        admin.post(f"/api/v1/districts/{code}/import", {"users": people[start:start + 10]})

    town = District(code, platform.url, community)
    anonymous = Client(platform.url)
    town.staff, town.admin = anonymous.login(staff["username"], PASSWORD), anonymous.login(chief["username"], PASSWORD)
    first = anonymous.login(people[0]["username"], PASSWORD)
    signed_in = first.get("/api/v1/auth/me")
    assert (signed_in["community"], signed_in["scope"], signed_in["roles"]) == (community, building, ["resident"])
    town.residents = [first] + [client(platform.url, p["username"], code, ["resident"], building, community, p["name"])
                                for p in people[1:]]
    assert town.residents[1].get("/api/v1/auth/me")["community"] == community

    # earning: an activity for all fifty, one check-in call
    starts = (datetime.now(timezone.utc) + timedelta(seconds=clock.offset, hours=2)).isoformat()
    made = town.staff.post(f"/api/v1/communities/{community}/activities", {
        "title": "社区大扫除", "place": "1栋", "starts_at": starts, "capacity": RESIDENTS, "points": EARNED}, expect=201)
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda r: r.post(f"/api/v1/activities/{made['id']}/signup"), town.residents))
    names = [p["username"] for p in people]
    results = town.staff.post(f"/api/v1/activities/{made['id']}/check-ins", {"user_ids": names})["results"]
    assert [r["points"] for r in results] == [EARNED] * RESIDENTS

    town.items = {
        "rice": town.staff.post("/api/v1/shop/items", {"name": "大米", "price": 10, "stock": STOCK}, expect=201),
        "oil": town.staff.post("/api/v1/shop/items", {"name": "食用油", "price": 8, "stock": STOCK,
                                                      "per_person_limit": 1}, expect=201),
    }
    return town


def test_two_hundred_concurrent_reservations(town):
    rng = random.Random(2026)
    plan = [(n % RESIDENTS, rng.choice(["rice", "oil"])) for n in range(ATTEMPTS)]
    rng.shuffle(plan)

    def reserve(attempt):
        who, item = attempt
        resident = town.residents[who]
        # a connection of its own: a kept-alive one the server closed meanwhile would fail the attempt, not the test
        response = requests.post(f"{town.url}/api/v1/orders", json={"item_id": town.items[item]["id"]},
                                 headers={"Authorization": f"Bearer {resident.token}"}, timeout=30)
        return who, item, response.status_code, response.json()

    started = time.perf_counter()
    with ThreadPoolExecutor(RESIDENTS) as pool:
        outcomes = list(pool.map(reserve, plan))
    elapsed = time.perf_counter() - started

    statuses = Counter(status for _, _, status, _ in outcomes)
    assert set(statuses) <= {201, 409}, statuses  # never a 5xx, never a malformed refusal
    accepted = [(who, item, body) for who, item, status, body in outcomes if status == 201]
    refused = Counter(next(iter(body["errors"])) for _, _, status, body in outcomes if status == 409)

    # stock never below zero, and exactly what was sold is gone. Both items sell out whatever the order:
    # 45 residents try rice and each one's first try finds 12 points or more; at most 15 people can spend
    # their 20 points on two rice, so at least 35 can still pay for oil
    for name, item in town.items.items():
        sold = sum(1 for _, it, _ in accepted if it == name)
        stored = town.staff.get(f"/api/v1/shop/items/{item['id']}")
        assert stored["stock"] == STOCK - sold == 0 and stored["reserved"] == sold == STOCK
    assert "only 0 left" in str([body for _, _, status, body in outcomes if status == 409])
    # no balance below zero; each balance is what was earned less what was accepted; the limit held
    for who, resident in enumerate(town.residents):
        mine = [body for w, _, body in accepted if w == who]
        assert resident.get("/api/v1/points/me")["balance"] == EARNED - sum(o["points"] for o in mine) >= 0
        assert sum(1 for w, it, _ in accepted if w == who and it == "oil") <= 1
    # every accepted order paired with exactly its entries, and no entries for refused attempts
    orders = town.admin.get("/api/v1/orders", params={"page_size": 100})
    listed = {o["id"]: o for o in orders["items"]}
    assert orders["total"] == len(accepted) and set(listed) == {body["id"] for _, _, body in accepted}
    shop = town.staff.get(f"/api/v1/points/accounts/shop:{town.community}/statement", params={"page_size": 500})
    by_tx = Counter(e["transaction_id"] for e in shop["entries"])
    assert by_tx == Counter({f"order:{order_id}": 1 for order_id in listed})
    assert {e["transaction_id"]: e["amount"] for e in shop["entries"]} == {
        f"order:{o['id']}": o["points"] for o in listed.values()}
    for who, resident in enumerate(town.residents):  # each resident's side: exactly the accepted orders' debits
        entries = resident.get("/api/v1/points/accounts/me/statement")["entries"]
        mine = {body["id"]: body["points"] for w, _, body in accepted if w == who}
        assert {e["transaction_id"]: e["amount"] for e in entries if e["reason"] == "redeem"} == {
            f"order:{order_id}": -points for order_id, points in mine.items()}
    check = town.admin.get(f"/api/v1/districts/{town.code}/ledger/check")
    assert check["balanced"] and check["sum"] == 0 and check["negative_accounts"] == []
    assert check["order_breaks"] == check["stock_breaks"] == check["chain_breaks"] == []
    assert check["orders"] == {"reserved": len(accepted)} and check["orders_in_flight"] == 0

    print(f"\n{ATTEMPTS} reservations from {RESIDENTS} residents in {elapsed:.2f}s "
          f"({ATTEMPTS / elapsed:.0f}/s): {len(accepted)} accepted "
          f"(rice {sum(1 for _, it, _ in accepted if it == 'rice')}, "
          f"oil {sum(1 for _, it, _ in accepted if it == 'oil')}), "
          f"refused by {dict(refused)}")


def test_reservations_nobody_picks_up_expire(town, clock):
    """Three days (the default) pass: the timer cancels every reservation, refunds it and restocks."""
    admin = town.admin
    reserved = admin.get("/api/v1/orders", params={"status": "reserved", "page_size": 100})["total"]
    assert reserved > 0
    clock.advance(73)
    eventually(lambda: admin.get("/api/v1/orders", params={"status": "reserved"})["total"] == 0, timeout=20)
    cancelled = admin.get("/api/v1/orders", params={"status": "cancelled", "page_size": 100})
    assert cancelled["total"] == reserved and {o["reason"] for o in cancelled["items"]} == {"expired"}
    for item in town.items.values():
        stored = town.staff.get(f"/api/v1/shop/items/{item['id']}")
        assert (stored["stock"], stored["reserved"]) == (STOCK, 0)
    assert all(r.get("/api/v1/points/me")["balance"] == EARNED for r in town.residents)

    # a district that wants pickups within a day: new reservations get a day
    admin.put(f"/api/v1/districts/{town.code}/shop-settings", {"pickup_days": 1})
    order = town.residents[0].post("/api/v1/orders", {"item_id": town.items["rice"]["id"]}, expect=201)
    created, expires = (datetime.fromisoformat(order[k]) for k in ("created_at", "expires_at"))
    assert expires - created == timedelta(days=1)
    clock.advance(25)
    eventually(lambda: town.residents[0].get(f"/api/v1/orders/{order['id']}")["status"] == "cancelled", timeout=20)
    check = admin.get(f"/api/v1/districts/{town.code}/ledger/check")
    assert check["balanced"] and check["sum"] == 0 and check["orders_in_flight"] == 0
    assert check["orders"] == {"cancelled": reserved + 1}


def test_sign_ups_and_check_ins_at_once_hold_capacity_and_award_once(town, clock):
    """Fifty residents sign up at once for eight places; staff check the eight in from three devices at once."""
    # the fixture's 20 points filled the daily cap of the day it ran: this test does not depend on the clock
    town.admin.put(f"/api/v1/districts/{town.code}/point-rules", {"caps": {"activity": {"per_day": 100}}})
    starts = (datetime.now(timezone.utc) + timedelta(seconds=clock.offset, hours=2)).isoformat()
    made = town.staff.post(f"/api/v1/communities/{town.community}/activities", {
        "title": "敬老院探访", "place": "敬老院", "starts_at": starts, "capacity": 8, "points": 3}, expect=201)
    before = {me["user_id"]: me["balance"] for me in (r.get("/api/v1/points/me") for r in town.residents)}

    def sign_up(resident):
        response = requests.post(f"{town.url}/api/v1/activities/{made['id']}/signup",
                                 headers={"Authorization": f"Bearer {resident.token}"}, timeout=30)
        return response.status_code, response.json()

    with ThreadPoolExecutor(RESIDENTS) as pool:
        answers = list(pool.map(sign_up, town.residents))
    assert Counter(status for status, _ in answers) == {200: 8, 409: RESIDENTS - 8}
    assert all("capacity" in body["errors"] for status, body in answers if status == 409)
    seen = town.staff.get(f"/api/v1/activities/{made['id']}")
    assert (seen["signed_up"], seen["places_left"]) == (8, 0)
    signed = [s["user_id"] for s in seen["signups"]]

    def check_in(_):  # a connection each, as three phones would have
        response = requests.post(f"{town.url}/api/v1/activities/{made['id']}/check-ins", json={"user_ids": signed},
                                 headers={"Authorization": f"Bearer {town.staff.token}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    with ThreadPoolExecutor(3) as pool:
        rounds = list(pool.map(check_in, range(3)))
    statuses = Counter((r["user_id"], r["status"]) for results in rounds for r in results)
    assert all(statuses[(user, "checked_in")] == 1 and statuses[(user, "already")] == 2 for user in signed)
    after = {me["user_id"]: me["balance"] for me in (r.get("/api/v1/points/me") for r in town.residents)}
    assert {user: after[user] - before[user] for user in after if after[user] != before[user]} == {
        user: 3 for user in signed}
    assert town.staff.get(f"/api/v1/activities/{made['id']}")["checked_in"] == 8
    check = town.admin.get(f"/api/v1/districts/{town.code}/ledger/check")
    assert check["balanced"] and check["sum"] == 0
