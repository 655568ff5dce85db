"""The shop: items, reservations that are all or nothing, pickup, cancel, expiry, repair after a crash."""
import random
from datetime import timedelta

import eventlet
import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from services.points import domain, ledger, shop
from services.points.dependencies import create_indexes

from .helpers import (ADMIN, HU, NOW, QJ_RESIDENT, STAFF, WEN, YJ_RESIDENT, YJ_STAFF, ZHANG, YieldingDb, balance,
                      fund, person)

RICE = {"name": "大米 5kg", "description": "东北大米", "image_url": "https://img.example/rice.jpg",
        "price": 30, "stock": 5}


@pytest.fixture
def db(open_db):
    database = open_db("points")
    create_indexes(database)
    return database


def item(db, who=STAFF, **fields):
    return shop.create_item(db, who, dict(RICE, **fields), NOW)


def reserve(db, who, item_id, quantity=1, now=NOW):
    order, _ = shop.reserve(db, who, {"item_id": item_id, "quantity": quantity}, now)
    return order


def snapshot(db):
    return {name: sorted(map(str, db[name].find({}, {"_id": 1, "stock": 1, "status": 1, "reserved": 1})))
            for name in ("entries", "orders", "items")}


def outbox_types(db, order_id):
    return [e["type"] for e in db.orders.find_one({"_id": order_id})["outbox"]]


def audit(db):
    report = domain.check_ledger(db, ADMIN, "hb")
    assert report["balanced"], report
    return report


# -- items ------------------------------------------------------------------------------

def test_staff_put_items_in_their_communitys_shop(db):
    rice = item(db)
    assert (rice["_id"], rice["community"], rice["stock"], rice["active"]) == ("hb-i000001", "wenchang", 5, True)
    assert [i["name"] for i in shop.list_items(db, WEN, {})] == ["大米 5kg"]
    assert shop.list_items(db, YJ_RESIDENT, {}) == []
    with pytest.raises(Forbidden):
        item(db, who=WEN)
    with pytest.raises(Forbidden):
        item(db, who=YJ_STAFF, community="wenchang")


@pytest.mark.parametrize("fields, field", [
    ({"price": -5}, "price"), ({"price": 0}, "price"), ({"price": 2.5}, "price"), ({"stock": -1}, "stock"),
    ({"name": ""}, "name"), ({"image_url": "not a url"}, "image_url"), ({"per_person_limit": 0}, "per_person_limit"),
    ({"limit_period": "week"}, "limit_period"), ({"discount": 3}, "discount"),
])
def test_a_bad_item_is_refused_by_name_and_nothing_is_written(db, fields, field):
    with pytest.raises(Invalid) as err:
        item(db, **fields)
    assert field in err.value.errors
    assert db.items.count_documents({}) == 0


def test_stock_is_added_or_written_off_never_below_zero(db):
    rice = item(db)
    assert shop.change_stock(db, STAFF, rice["_id"], {"change": 10}, NOW)["stock"] == 15
    assert shop.change_stock(db, STAFF, rice["_id"], {"change": -15}, NOW)["stock"] == 0
    with pytest.raises(Conflict) as err:
        shop.change_stock(db, STAFF, rice["_id"], {"change": -1}, NOW)
    assert "change" in err.value.errors
    with pytest.raises(Invalid):
        shop.change_stock(db, STAFF, rice["_id"], {"change": 0}, NOW)
    with pytest.raises(Forbidden):
        shop.change_stock(db, YJ_STAFF, rice["_id"], {"change": 1}, NOW)


def test_inactive_items_are_hidden_from_residents_and_prices_change_only_new_orders(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = reserve(db, WEN, rice["_id"])
    shop.update_item(db, STAFF, rice["_id"], {"price": 40, "active": False}, NOW)
    assert shop.list_items(db, WEN, {}) == []
    assert [i["active"] for i in shop.list_items(db, STAFF, {})] == [False]
    assert shop.get_order(db, WEN, order["_id"])["points"] == 30
    with pytest.raises(Conflict) as err:
        reserve(db, WEN, rice["_id"])
    assert "item_id" in err.value.errors


# -- reserving ---------------------------------------------------------------------------

def test_reserving_takes_points_and_stock_together(db):
    rice = item(db)
    fund(db, WEN, 100)
    order, left = shop.reserve(db, WEN, {"item_id": rice["_id"], "quantity": 2}, NOW)
    assert (order["_id"], order["status"], order["points"], left) == ("hb-o000001", "reserved", 60, 40)
    assert order["expires_at"] == NOW + timedelta(days=3)
    assert db.items.find_one({"_id": rice["_id"]})["stock"] == 3
    entries = {e["account"]: e["amount"] for e in db.entries.find({"transaction_id": f"order:{order['_id']}"})}
    assert entries == {"user:wenxiaohua": -60, "shop:wenchang": 60}
    assert outbox_types(db, order["_id"]) == ["points_redeemed"]
    event = db.orders.find_one({"_id": order["_id"]})["outbox"][0]
    assert event["data"] == {"order_id": order["_id"], "user_id": "wenxiaohua", "community": "wenchang",
                             "item_id": rice["_id"], "item_name": "大米 5kg", "quantity": 2, "points": 60,
                             "status": "reserved", "reason": None}
    audit(db)


@pytest.mark.parametrize("case, status, field", [
    ("zero quantity", Invalid, "quantity"),
    ("negative quantity", Invalid, "quantity"),
    ("unknown item", Invalid, "item_id"),
    ("another community's item", Invalid, "item_id"),
    ("another district's item", Invalid, "item_id"),
    ("more than the limit", Conflict, "quantity"),
    ("not enough points", Conflict, "points"),
    ("not enough stock", Conflict, "quantity"),
    ("no item named", Invalid, "item_id"),
])
def test_bad_reservations_name_the_problem_and_write_nothing(db, case, status, field):
    rice = item(db, per_person_limit=2, stock=3, price=10)
    yj = item(db, who=YJ_STAFF, community="yanjinghe")
    qj_item = shop.create_item(db, person("qj-staff", ["community_staff"], "qingshan", "qingshan", district="qj"),
                               RICE, NOW)
    fund(db, WEN, 25)
    reserve(db, WEN, rice["_id"])  # holds one already
    bodies = {
        "zero quantity": {"item_id": rice["_id"], "quantity": 0},
        "negative quantity": {"item_id": rice["_id"], "quantity": -1},
        "unknown item": {"item_id": "hb-i999999"},
        "another community's item": {"item_id": yj["_id"]},
        "another district's item": {"item_id": qj_item["_id"]},
        "more than the limit": {"item_id": rice["_id"], "quantity": 2},
        "not enough points": {"item_id": rice["_id"], "quantity": 2},  # 20 points, the balance is 15
        "not enough stock": {"item_id": rice["_id"], "quantity": 3},
        "no item named": {"quantity": 1},
    }
    body = bodies[case]
    if case == "not enough points":
        shop.update_item(db, STAFF, rice["_id"], {"per_person_limit": None}, NOW)
    if case == "not enough stock":
        shop.update_item(db, STAFF, rice["_id"], {"per_person_limit": None}, NOW)
        fund(db, WEN, 100)
    before, points = snapshot(db), balance(db, WEN)
    with pytest.raises(status) as err:
        shop.reserve(db, WEN, body, NOW)
    assert field in err.value.errors, err.value.errors
    assert snapshot(db) == before and balance(db, WEN) == points
    audit(db)


def test_the_limit_counts_what_one_holds_and_frees_on_cancel(db):
    oil = item(db, name="食用油", price=5, stock=10, per_person_limit=1, limit_period="month")
    fund(db, WEN, 50)
    first = reserve(db, WEN, oil["_id"])
    with pytest.raises(Conflict) as err:
        reserve(db, WEN, oil["_id"])
    assert "at most 1 per person a month" in err.value.errors["quantity"][0]
    shop.cancel(db, WEN, first["_id"], {}, NOW)
    second = reserve(db, WEN, oil["_id"])
    shop.confirm_pickup(db, STAFF, second["_id"], NOW)
    with pytest.raises(Conflict):
        reserve(db, WEN, oil["_id"])
    assert reserve(db, WEN, oil["_id"], now=NOW + timedelta(days=10))["status"] == "reserved"  # December
    audit(db)


# -- after reserving -------------------------------------------------------------------------

def test_the_resident_or_staff_cancel_refund_and_restock(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = reserve(db, WEN, rice["_id"], 2)
    cancelled = shop.cancel(db, WEN, order["_id"], {"note": "买重了"}, NOW)
    assert (cancelled["status"], cancelled["reason"], cancelled["note"]) == ("cancelled", "resident", "买重了")
    assert balance(db, WEN) == 100 and db.items.find_one({"_id": rice["_id"]})["stock"] == 5
    assert outbox_types(db, order["_id"]) == ["points_redeemed", "order_cancelled"]
    with pytest.raises(Conflict):
        shop.cancel(db, WEN, order["_id"], {}, NOW)
    other = reserve(db, WEN, rice["_id"])
    assert shop.cancel(db, STAFF, other["_id"], {}, NOW)["reason"] == "staff"
    refunds = {e["account"]: e["amount"] for e in db.entries.find({"transaction_id": f"order:{order['_id']}:refund"})}
    assert refunds == {"user:wenxiaohua": 60, "shop:wenchang": -60}
    actors = {e["transaction_id"]: e["actor"]["id"] for e in db.entries.find({"account": "user:wenxiaohua",
                                                                              "reason": "refund"})}
    assert actors == {f"order:{order['_id']}:refund": "wenxiaohua", f"order:{other['_id']}:refund": "wc-secretary"}
    audit(db)


def test_only_the_buyer_and_the_communitys_staff_touch_an_order(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = reserve(db, WEN, rice["_id"])
    for stranger in (ZHANG, YJ_STAFF, QJ_RESIDENT):
        with pytest.raises(NotFound):
            shop.cancel(db, stranger, order["_id"], {}, NOW)
        with pytest.raises(NotFound):
            shop.get_order(db, stranger, order["_id"])
    with pytest.raises(Forbidden):
        shop.confirm_pickup(db, WEN, order["_id"], NOW)
    with pytest.raises(Forbidden):
        shop.cancel(db, ADMIN, order["_id"], {}, NOW)
    assert shop.get_order(db, ADMIN, order["_id"])["status"] == "reserved"


def test_pickup_counts_the_units_as_sold(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = reserve(db, WEN, rice["_id"], 2)
    done = shop.confirm_pickup(db, STAFF, order["_id"], NOW)
    assert (done["status"], done["picked_up_by"]) == ("picked_up", "wc-secretary")
    stored = db.items.find_one({"_id": rice["_id"]})
    assert (stored["stock"], stored["reserved"], stored["sold"], stored["holds"]) == (3, 0, 2, [])
    assert outbox_types(db, order["_id"]) == ["points_redeemed", "order_picked_up"]
    with pytest.raises(Conflict):
        shop.cancel(db, WEN, order["_id"], {}, NOW)
    with pytest.raises(Conflict):
        shop.confirm_pickup(db, STAFF, order["_id"], NOW)
    assert balance(db, WEN) == 40
    audit(db)


def test_reservations_not_picked_up_in_time_are_cancelled_by_the_timer(db):
    assert shop.set_settings(db, ADMIN, "hb", {"pickup_days": 1}, NOW) == {"pickup_days": 1}
    with pytest.raises(Invalid):
        shop.set_settings(db, ADMIN, "hb", {"pickup_days": 0}, NOW)
    with pytest.raises(Forbidden):
        shop.set_settings(db, STAFF, "hb", {"pickup_days": 5}, NOW)
    rice = item(db)
    fund(db, WEN, 100)
    order = reserve(db, WEN, rice["_id"])
    assert order["expires_at"] == NOW + timedelta(days=1)
    assert shop.expire(db, NOW + timedelta(hours=23)) == 0
    assert shop.expire(db, NOW + timedelta(days=1)) == 1
    assert shop.expire(db, NOW + timedelta(days=2)) == 0
    expired = db.orders.find_one({"_id": order["_id"]})
    assert (expired["status"], expired["reason"], expired["cancelled_by"]) == ("cancelled", "expired", "system")
    assert balance(db, WEN) == 100 and db.items.find_one({"_id": rice["_id"]})["stock"] == 5
    assert outbox_types(db, order["_id"]) == ["points_redeemed", "order_cancelled"]
    audit(db)


def test_orders_list_by_who_asks(db):
    rice = item(db, stock=20)
    fund(db, WEN, 100)
    fund(db, HU, 100)
    mine = reserve(db, WEN, rice["_id"])
    reserve(db, HU, rice["_id"])
    assert [o["_id"] for o in shop.list_orders(db, WEN, {})[0]] == [mine["_id"]]
    assert shop.list_orders(db, STAFF, {})[1] == 2
    assert shop.list_orders(db, YJ_STAFF, {})[1] == 0
    assert shop.list_orders(db, ADMIN, {"user_id": "huxingyou"})[1] == 1
    shop.confirm_pickup(db, STAFF, mine["_id"], NOW)
    assert shop.list_orders(db, STAFF, {"status": "picked_up"})[1] == 1


# -- a crash halfway ------------------------------------------------------------------------

def crashed(db, who, rice, debit=True):
    """The request's first steps, then nothing: the service died."""
    order = {"_id": "hb-o000099", "district": "hb", "community": "wenchang", "user_id": who.user_id,
             "item_id": rice["_id"], "item_name": rice["name"], "quantity": 1, "unit_price": rice["price"],
             "points": rice["price"], "status": "pending", "reason": None, "note": None, "settled": False,
             "actor": who.as_actor("resident"), "created_at": NOW, "updated_at": NOW, "expires_at": None,
             "outbox": []}
    db.orders.insert_one(order)
    assert shop._take(db, order)
    if debit:
        entry = ledger.transfer(db, "hb", who.user_id, -order["points"], "shop:wenchang", shop.debit_tx(order["_id"]),
                                "redeem", now=NOW, item_id=rice["_id"], quantity=1, redeemed_at=NOW)
        db.entries.delete_one({"transaction_id": entry["transaction_id"], "account": "shop:wenchang"})
    return order


def test_a_crash_after_the_debit_is_finished_by_the_sweep(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = crashed(db, WEN, rice)
    assert domain.check_ledger(db, ADMIN, "hb")["orders_in_flight"] == 1
    assert shop.repair(db, NOW + timedelta(seconds=30)) == 0  # the request may still be alive
    assert shop.repair(db, NOW + timedelta(seconds=61)) == 1
    stored = db.orders.find_one({"_id": order["_id"]})
    assert stored["status"] == "reserved" and [e["type"] for e in stored["outbox"]] == ["points_redeemed"]
    assert balance(db, WEN) == 70 and db.items.find_one({"_id": rice["_id"]})["stock"] == 4
    audit(db)


def test_a_crash_before_the_debit_returns_the_units(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = crashed(db, WEN, rice, debit=False)
    assert shop.repair(db, NOW + timedelta(seconds=61)) == 1
    assert db.orders.find_one({"_id": order["_id"]})["status"] == "failed"
    assert balance(db, WEN) == 100 and db.items.find_one({"_id": rice["_id"]})["stock"] == 5
    assert shop.list_orders(db, WEN, {})[1] == 0
    assert domain.check_ledger(db, ADMIN, "hb")["orders_in_flight"] == 1  # watched a while for a late debit
    shop.repair(db, NOW + timedelta(minutes=20))
    assert audit(db)["orders_in_flight"] == 0


def test_a_stalled_request_that_debits_after_the_sweep_gave_up_is_refunded(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = crashed(db, WEN, rice, debit=False)
    shop.repair(db, NOW + timedelta(seconds=61))
    # the stalled request wakes up and debits; the sweep watching the failed order refunds it
    ledger.transfer(db, "hb", WEN.user_id, -30, "shop:wenchang", shop.debit_tx(order["_id"]), "redeem",
                    now=NOW + timedelta(seconds=62), item_id=rice["_id"], quantity=1, redeemed_at=NOW)
    assert shop._mark_reserved(db, order, NOW + timedelta(seconds=62)) is None  # it lost the race
    shop.repair(db, NOW + timedelta(seconds=90))
    assert balance(db, WEN) == 100 and db.items.find_one({"_id": rice["_id"]})["stock"] == 5
    shop.repair(db, NOW + timedelta(minutes=20))
    assert audit(db)["orders_in_flight"] == 0


def test_a_cancel_interrupted_before_its_refund_is_finished_by_the_sweep(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = reserve(db, WEN, rice["_id"])
    db.orders.update_one({"_id": order["_id"]}, {"$set": {"status": "cancelled", "reason": "resident",
                                                         "settled": False, "updated_at": NOW}})
    assert domain.check_ledger(db, ADMIN, "hb")["orders_in_flight"] == 1
    shop.repair(db, NOW)
    assert balance(db, WEN) == 100 and db.items.find_one({"_id": rice["_id"]})["stock"] == 5
    shop.repair(db, NOW)
    assert balance(db, WEN) == 100
    audit(db)


def test_the_check_reports_an_order_without_its_entries_and_stock_that_does_not_add_up(db):
    rice = item(db)
    fund(db, WEN, 100)
    order = reserve(db, WEN, rice["_id"])
    db.entries.delete_many({"transaction_id": f"order:{order['_id']}"})
    db.items.update_one({"_id": rice["_id"]}, {"$inc": {"stock": 1}})
    report = domain.check_ledger(db, ADMIN, "hb")
    assert report["balanced"] is False
    assert [b["order_id"] for b in report["order_breaks"]] == [order["_id"]]
    assert [b["item_id"] for b in report["stock_breaks"]] == [rice["_id"]]


# -- many at once -------------------------------------------------------------------------------

def test_two_hundred_concurrent_reservations_never_oversell_nor_overdraw(db):
    """50 residents, 4 reservations each, at once, through a database that interleaves every call."""
    residents = [AuthContext(user_id=f"r{n:02d}", district="hb", roles=("resident",), scope="b28",
                             community="wenchang") for n in range(50)]
    for who in residents:
        fund(db, who, 25)
    rice = item(db, name="大米", price=10, stock=30)
    oil = item(db, name="食用油", price=8, stock=30, per_person_limit=1)
    racing = YieldingDb(db, seed=11)
    rng = random.Random(5)
    outcomes = []

    def attempt(who, item_id):
        try:
            order, _ = shop.reserve(racing, who, {"item_id": item_id, "quantity": 1}, NOW)
            outcomes.append(("ok", order["_id"]))
        except Conflict as err:
            outcomes.append((sorted(err.errors)[0], None))

    pool = eventlet.GreenPool(200)
    for who in residents:
        for _ in range(4):
            pool.spawn(attempt, who, rng.choice([rice["_id"], oil["_id"]]))
    pool.waitall()

    accepted = [o for kind, o in outcomes if kind == "ok"]
    assert len(outcomes) == 200 and 0 < len(accepted) < 200
    for stored in db.items.find():
        assert stored["stock"] >= 0 and stored["holds"].__len__() == stored["reserved"]
        assert stored["stock"] + stored["reserved"] == 30
    for who in residents:
        assert balance(db, who) >= 0
        assert db.orders.count_documents({"user_id": who.user_id, "item_id": oil["_id"], "status": "reserved"}) <= 1
    orders = list(db.orders.find({}))
    assert sorted(o["_id"] for o in orders) == sorted(accepted)  # refused attempts left no order behind
    for order in orders:
        pair = sorted((e["account"], e["amount"]) for e in db.entries.find({"transaction_id": f"order:{order['_id']}"}))
        assert pair == sorted([(f"user:{order['user_id']}", -order["points"]), ("shop:wenchang", order["points"])])
    report = audit(db)
    assert report["sum"] == 0 and report["orders"] == {"reserved": len(accepted)}
