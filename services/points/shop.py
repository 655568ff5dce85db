"""The community shop (积分超市): items with stock, and orders that reserve, are picked up or cancelled.

Reserving is all or nothing without a transaction. Three single-document
writes, each conditional, each recorded where the next actor can see it:

1. the order is inserted ``pending`` (the saga's record);
2. the item gives up the units: ``stock >= q`` → ``stock -= q, reserved += q``
   and the order id joins the item's ``holds`` (one atomic update, so stock
   never goes below zero and the hold says exactly which order has the units);
3. the buyer's ledger chain takes the points: the debit entry is appended only
   if ``balance_after >= 0`` and the per-person limit still holds on the same
   snapshot (``ledger.transfer``); the shop's side of the pair follows;
4. the order turns ``reserved`` (conditional on ``pending``), with its
   ``points_redeemed`` event in the same write (outbox).

A refusal at 2 deletes the order; at 3 it returns the units (conditional on the
hold, so at most once) and deletes the order: nothing remains. A crash leaves a
``pending`` order: the repair sweep finishes it if the debit exists, or fails it
and returns the units; a failed or cancelled order is refunded under its own
transaction id, at most once. Whoever moves the order out of ``pending`` first
wins; the loser undoes what it did. Cancelling and pickup follow the same
pattern: the order's status changes first (conditionally, with its event), then
the units return (or count as sold) and the points come back, each step
idempotent and repeated by the sweep until the order is ``settled``.
"""
import uuid
from datetime import timedelta

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import make_event
from civicgrid.validation import load, schema

from . import accounts, ledger, periods
from .ids import next_id
from .schemas import CancelIn, ItemIn, ItemPatch, ItemQuery, OrderIn, OrderQuery, ShopSettingsSchema, StockChangeIn
from .views import yuan

SYSTEM_ACTOR = {"id": "system:points", "role": "system"}
DEFAULT_PICKUP_DAYS = 3
STALE = timedelta(seconds=60)           # a pending order this old has lost its request
SETTLE_HORIZON = timedelta(minutes=10)  # a failed order is watched this long for a late debit
LISTED = ("reserved", "picked_up", "cancelled")
EVENT_NS = uuid.UUID("5b0c5f7e-0d1f-4c4e-9a43-6f1d2a7c9e10")


class LimitReached(Exception):
    def __init__(self, limit, held, period):
        super().__init__(f"limit {limit}, held {held}")
        self.limit, self.held, self.period = limit, held, period


def debit_tx(order_id):
    return f"order:{order_id}"


def refund_tx(order_id):
    return f"order:{order_id}:refund"


# -- settings -------------------------------------------------------------------------

def pickup_days(db, district):
    doc = db.settings.find_one({"_id": f"shop:{district}"}) or {}
    return int(doc.get("pickup_days", DEFAULT_PICKUP_DAYS))


def get_settings(db, auth, district):
    auth.require()
    auth.require_district(district)
    return {"pickup_days": pickup_days(db, district)}


def set_settings(db, auth, district, payload, now):
    accounts.require_admin(auth, district)
    changes = load(schema(ShopSettingsSchema), payload)
    if changes:
        db.settings.update_one({"_id": f"shop:{district}"},
                               {"$set": dict(changes, district=district, updated_at=now, updated_by=auth.user_id)},
                               upsert=True)
    return {"pickup_days": pickup_days(db, district)}


# -- items ------------------------------------------------------------------------------

def _staff_item(db, auth, item_id):
    item = db.items.find_one({"_id": item_id, "district": auth.district}, {"holds": 0})
    if item is None:
        raise NotFound("no such item", {"item_id": [f"{item_id} not found"]})
    if not accounts.is_staff(auth, item["district"], item["community"]):
        raise Forbidden(f"only staff of community {item['community']} manage its shop")
    return item


def create_item(db, auth, payload, now):
    auth.require("community_staff")
    district = accounts.require_member(auth)
    fields = load(ItemIn(), payload)
    community = fields.pop("community") or auth.scope
    if not accounts.is_staff(auth, district, community):
        raise Forbidden(f"only staff of community {community} manage its shop")
    item = dict(fields, _id=next_id(db, district, "item"), district=district, community=community,
                stock_added=fields["stock"], reserved=0, sold=0, holds=[], created_at=now, updated_at=now,
                created_by=auth.user_id)
    db.items.insert_one(item)
    return item


def update_item(db, auth, item_id, payload, now):
    item = _staff_item(db, auth, item_id)
    changes = load(ItemPatch(), payload)
    if changes:
        db.items.update_one({"_id": item["_id"]}, {"$set": dict(changes, updated_at=now, updated_by=auth.user_id)})
    return db.items.find_one({"_id": item["_id"]}, {"holds": 0})


def change_stock(db, auth, item_id, payload, now):
    """Add units (delivery) or write some off (damaged, expired); never below zero."""
    item = _staff_item(db, auth, item_id)
    change = load(StockChangeIn(), payload)["change"]
    done = db.items.update_one({"_id": item["_id"], "stock": {"$gte": -change}},
                               {"$inc": {"stock": change, "stock_added": change},
                                "$set": {"updated_at": now, "updated_by": auth.user_id}})
    if not done.matched_count:
        current = db.items.find_one({"_id": item["_id"]}, {"stock": 1})
        raise Conflict("cannot write off more than the stock",
                       {"change": [f"only {current['stock']} in stock (others are reserved)"]})
    return db.items.find_one({"_id": item["_id"]}, {"holds": 0})


def list_items(db, auth, query):
    district = accounts.require_member(auth)
    query = load(ItemQuery(), query)
    community = query["community"] or auth.community or auth.scope
    staff = accounts.is_staff(auth, district, community) or accounts.is_admin(auth, district)
    selector = {"district": district, "community": community}
    if not staff:
        selector["active"] = True
    elif query["active"] is not None:
        selector["active"] = query["active"]
    return list(db.items.find(selector, {"holds": 0}).sort([("created_at", 1), ("_id", 1)]).limit(500))


def get_item(db, auth, item_id):
    district = accounts.require_member(auth)
    item = db.items.find_one({"_id": item_id, "district": district}, {"holds": 0})
    if item is None:
        raise NotFound("no such item", {"item_id": [f"{item_id} not found"]})
    return item


# -- reserving ----------------------------------------------------------------------------

def _item_for_order(db, auth, item_id):
    item = db.items.find_one({"_id": item_id, "district": auth.district}, {"holds": 0})
    if item is None:
        raise Invalid("unknown item", {"item_id": [f"no item {item_id!r} in the shop"]})
    if item["community"] != auth.community:
        raise Invalid("another community's item",
                      {"item_id": [f"{item_id} is sold by the shop of community {item['community']}, "
                                   f"not yours ({auth.community or 'none'})"]})
    if not item["active"]:
        raise Conflict("the item is not on offer", {"item_id": [f"{item['name']} is not on offer now"]})
    return item


def held_units(db, district, user_id, item, now):
    """Units of the item the person holds or has picked up (this month, for a monthly limit)."""
    match = {"district": district, "account": ledger.user_account(user_id), "item_id": item["_id"]}
    if item.get("limit_period") == "month":
        match["redeemed_at"] = {"$gte": periods.month_start(now)}
    rows = list(db.entries.aggregate([{"$match": match}, {"$group": {"_id": None, "q": {"$sum": "$quantity"}}}]))
    return int(rows[0]["q"]) if rows else 0


def _limit_guard(db, district, user_id, item, quantity, now):
    def guard(seq, balance, amount):
        limit = item.get("per_person_limit")
        if limit:
            held = held_units(db, district, user_id, item, now)
            if held + quantity > limit:
                raise LimitReached(limit, held, item.get("limit_period", "total"))
        return amount
    return guard


def _limit_error(err):
    per = " a month" if err.period == "month" else ""
    return Conflict("over the per-person limit",
                    {"quantity": [f"at most {err.limit} per person{per}; you have {err.held} already"]})


def _points_error(balance, needed):
    return Conflict("not enough points",
                    {"points": [f"needs {needed} points ({yuan(needed)} yuan), the balance is {balance}"]})


def _take(db, order):
    """The item gives up the order's units, once: stock never goes below zero."""
    done = db.items.update_one(
        {"_id": order["item_id"], "active": True, "stock": {"$gte": order["quantity"]},
         "holds": {"$ne": order["_id"]}},
        {"$inc": {"stock": -order["quantity"], "reserved": order["quantity"]}, "$push": {"holds": order["_id"]}})
    return done.matched_count == 1


def _release(db, order):
    """The units come back, at most once (only while the order holds them)."""
    db.items.update_one({"_id": order["item_id"], "holds": order["_id"]},
                        {"$inc": {"stock": order["quantity"], "reserved": -order["quantity"]},
                         "$pull": {"holds": order["_id"]}})


def _consume(db, order):
    """Picked up: the held units count as sold, once."""
    db.items.update_one({"_id": order["item_id"], "holds": order["_id"]},
                        {"$inc": {"sold": order["quantity"], "reserved": -order["quantity"]},
                         "$pull": {"holds": order["_id"]}})


def _event(type_, order, actor, now, suffix):
    data = {k: order[k] for k in ("user_id", "community", "item_id", "item_name", "quantity", "points", "status")}
    data.update(order_id=order["_id"], reason=order.get("reason"))
    return make_event(type_, order["district"], actor, data, occurred_at=now,
                      event_id=uuid.uuid5(EVENT_NS, f"{order['_id']}:{suffix}"))


def _mark_reserved(db, order, now):
    expires = now + timedelta(days=pickup_days(db, order["district"]))
    after = dict(order, status="reserved", reserved_at=now, expires_at=expires, settled=True, updated_at=now)
    event = _event("points_redeemed", after, order["actor"], now, "reserved")
    done = db.orders.update_one(
        {"_id": order["_id"], "status": "pending"},
        {"$set": {"status": "reserved", "reserved_at": now, "expires_at": expires, "settled": True,
                  "updated_at": now}, "$push": {"outbox": event}})
    return after if done.matched_count else None


def reserve(db, auth, payload, now):
    """Redeem: the points and the units go together or not at all (see the module's note)."""
    district = accounts.require_member(auth)
    fields = load(OrderIn(), payload)
    item = _item_for_order(db, auth, fields["item_id"])
    quantity, user_id = fields["quantity"], auth.user_id
    points = item["price"] * quantity
    # the same checks the writes below make atomically, first without writing: a clear answer, nothing written
    try:
        _limit_guard(db, district, user_id, item, quantity, now)(0, 0, 0)
    except LimitReached as err:
        raise _limit_error(err)
    if item["stock"] < quantity:
        raise Conflict("not enough stock", {"quantity": [f"only {item['stock']} left"]})
    balance = ledger.head(db, district, ledger.user_account(user_id))[1]
    if balance < points:
        raise _points_error(balance, points)

    order = {
        "_id": next_id(db, district, "order"), "district": district, "community": item["community"],
        "user_id": user_id, "item_id": item["_id"], "item_name": item["name"], "quantity": quantity,
        "unit_price": item["price"], "points": points, "status": "pending", "reason": None, "note": None,
        "settled": False, "actor": auth.as_actor("resident"), "created_at": now, "updated_at": now,
        "expires_at": None, "outbox": [],
    }
    db.orders.insert_one(order)
    if not _take(db, order):
        db.orders.delete_one({"_id": order["_id"], "status": "pending"})
        current = db.items.find_one({"_id": item["_id"]}, {"stock": 1, "active": 1})
        if not current or not current["active"]:
            raise Conflict("the item is not on offer", {"item_id": [f"{item['name']} is not on offer now"]})
        raise Conflict("not enough stock", {"quantity": [f"only {current['stock']} left"]})
    try:
        debit = ledger.transfer(
            db, district, user_id, -points, ledger.shop_account(order["community"]), debit_tx(order["_id"]),
            "redeem", now=now, actor=order["actor"], source={"type": "order", "id": order["_id"]},
            community=order["community"], guard=_limit_guard(db, district, user_id, item, quantity, now),
            item_id=item["_id"], quantity=quantity, redeemed_at=now)
    except (ledger.NotEnoughPoints, LimitReached, Conflict) as err:
        _release(db, order)
        db.orders.delete_one({"_id": order["_id"], "status": "pending"})
        if isinstance(err, ledger.NotEnoughPoints):
            raise _points_error(err.balance, err.needed)
        if isinstance(err, LimitReached):
            raise _limit_error(err)
        raise
    reserved = _mark_reserved(db, order, now)
    if reserved is None:
        current = db.orders.find_one({"_id": order["_id"]}, {"outbox": 0})
        if current["status"] != "reserved":
            # the repair sweep gave up on this order meanwhile: undo, and say so
            settle(db, current, now)
            raise Conflict("the reservation took too long and was undone; nothing was charged",
                           {"order_id": [order["_id"]]})
        reserved = current
    accounts.touch(db, auth, now)
    return reserved, debit["balance_after"]


# -- after reserving ----------------------------------------------------------------------

def _order(db, auth, order_id):
    if not isinstance(order_id, str):
        raise NotFound("no such order", {"order_id": ["not found"]})
    return accounts.visible(auth, db.orders.find_one({"_id": order_id}, {"outbox": 0}), "order")


def get_order(db, auth, order_id):
    auth.require()
    return _order(db, auth, order_id)


def list_orders(db, auth, query):
    district = accounts.require_member(auth)
    query = load(OrderQuery(), query)
    selector = {"district": district, "status": {"$in": list(LISTED)}}
    if query["status"]:
        selector["status"] = query["status"]
    if accounts.is_admin(auth, district):
        if query["community"]:
            selector["community"] = query["community"]
    elif auth.has("community_staff") and (query["community"] in (None, auth.scope)):
        selector["community"] = auth.scope
    else:
        selector["user_id"] = auth.user_id
    if query["user_id"] and "user_id" not in selector:
        selector["user_id"] = query["user_id"]
    total = db.orders.count_documents(selector)
    cursor = (db.orders.find(selector, {"outbox": 0}).sort([("created_at", -1), ("_id", -1)])
              .skip((query["page"] - 1) * query["page_size"]).limit(query["page_size"]))
    return list(cursor), total, query


def confirm_pickup(db, auth, order_id, now):
    order = _order(db, auth, order_id)
    if not accounts.is_staff(auth, order["district"], order["community"]):
        raise Forbidden(f"only staff of community {order['community']} hand out its orders")
    if order["status"] != "reserved":
        raise Conflict(f"the order is {order['status']}: only a reserved order can be picked up",
                       {"status": [order["status"]]})
    after = dict(order, status="picked_up", picked_up_at=now, picked_up_by=auth.user_id, settled=False, updated_at=now)
    event = _event("order_picked_up", after, auth.as_actor("community_staff"), now, "picked_up")
    done = db.orders.update_one(
        {"_id": order["_id"], "status": "reserved"},
        {"$set": {"status": "picked_up", "picked_up_at": now, "picked_up_by": auth.user_id, "settled": False,
                  "updated_at": now}, "$push": {"outbox": event}})
    if not done.matched_count:
        raise Conflict("the order changed meanwhile: reload it", {"order_id": [order["_id"]]})
    settle(db, after, now)
    return after


def cancel(db, auth, order_id, payload, now):
    note = load(CancelIn(), payload)["note"]
    order = _order(db, auth, order_id)
    if auth.user_id == order["user_id"]:
        reason, role = "resident", "resident"
    elif accounts.is_staff(auth, order["district"], order["community"]):
        reason, role = "staff", "community_staff"
    else:
        raise Forbidden("only the buyer or the community's staff cancel an order")
    return _cancel(db, order, reason, auth.as_actor(role), note, now, auth.user_id)


def _cancel(db, order, reason, actor, note, now, by):
    if order["status"] != "reserved":
        raise Conflict(f"the order is {order['status']}: only a reserved order can be cancelled",
                       {"status": [order["status"]]})
    after = dict(order, status="cancelled", reason=reason, note=note, cancelled_at=now, cancelled_by=by,
                 cancel_actor=actor, settled=False, updated_at=now)
    event = _event("order_cancelled", after, actor, now, "cancelled")
    done = db.orders.update_one(
        {"_id": order["_id"], "status": "reserved"},
        {"$set": {"status": "cancelled", "reason": reason, "note": note, "cancelled_at": now, "cancelled_by": by,
                  "cancel_actor": actor, "settled": False, "updated_at": now}, "$push": {"outbox": event}})
    if not done.matched_count:
        raise Conflict("the order changed meanwhile: reload it", {"order_id": [order["_id"]]})
    settle(db, after, now)
    return after


def settle(db, order, now):
    """The side effects of a finished order, each at most once; the order is settled when all are done."""
    status = order["status"]
    if status == "picked_up":
        _consume(db, order)
        done = True
    elif status in ("cancelled", "failed"):
        _release(db, order)
        debit = ledger.user_entry(db, debit_tx(order["_id"]), order["user_id"])
        if debit is not None:
            ledger.complete(db, debit)
            ledger.transfer(
                db, order["district"], order["user_id"], order["points"], ledger.shop_account(order["community"]),
                # the refund is booked by whoever cancelled (the sweep finishing it keeps their name)
                refund_tx(order["_id"]), "refund", now=now, actor=order.get("cancel_actor") or SYSTEM_ACTOR,
                source={"type": "order", "id": order["_id"]}, community=order["community"],
                item_id=order["item_id"], quantity=-order["quantity"], redeemed_at=debit["created_at"])
        # a failed order stays watched a while: a stalled request could still debit it late
        done = status == "cancelled" or now - periods.aware(order["updated_at"]) > SETTLE_HORIZON
    else:
        return False
    if done:
        db.orders.update_one({"_id": order["_id"], "status": status}, {"$set": {"settled": True}})
    return done


# -- the timer ----------------------------------------------------------------------------

def expire(db, now, limit=200):
    """Reservations nobody picked up in time are cancelled, refunded and restocked."""
    expired = 0
    for order in db.orders.find({"status": "reserved", "expires_at": {"$lte": now}}, {"outbox": 0}).limit(limit):
        try:
            _cancel(db, order, "expired", SYSTEM_ACTOR, None, now, "system")
            expired += 1
        except Conflict:
            continue  # picked up or cancelled meanwhile, or another replica was first
    return expired


def repair(db, now, limit=200):
    """Finish what a crash left halfway: pending orders, and finished orders not yet settled."""
    repaired = 0
    for order in db.orders.find({"status": "pending", "created_at": {"$lte": now - STALE}}, {"outbox": 0}).limit(limit):
        debit = ledger.user_entry(db, debit_tx(order["_id"]), order["user_id"])
        if debit is not None:
            ledger.complete(db, debit)
            if _mark_reserved(db, order, now):
                repaired += 1
            continue
        done = db.orders.update_one({"_id": order["_id"], "status": "pending"},
                                    {"$set": {"status": "failed", "reason": "interrupted", "settled": False,
                                              "updated_at": now}})
        if done.matched_count:
            settle(db, dict(order, status="failed", updated_at=now), now)
            repaired += 1
    for order in db.orders.find({"settled": False, "status": {"$in": ["picked_up", "cancelled", "failed"]}},
                                {"outbox": 0}).limit(limit):
        settle(db, order, now)
    return repaired


# -- the check -----------------------------------------------------------------------------

def _pairs(entries):
    return sorted((e["account"], e["amount"]) for e in entries)


def audit(db, district):
    """Every order is paired with exactly its entries; stock adds up and never goes below zero."""
    orders = {o["_id"]: o for o in db.orders.find({"district": district}, {"outbox": 0})}
    by_tx = {}
    for entry in db.entries.find({"district": district, "transaction_id": {"$regex": "^order:"}},
                                 {"transaction_id": 1, "account": 1, "amount": 1}):
        by_tx.setdefault(entry["transaction_id"], []).append(entry)
    breaks, in_flight, statuses = [], 0, {}
    for order_id, order in orders.items():
        status = order["status"]
        statuses[status] = statuses.get(status, 0) + 1
        if status == "pending" or not order.get("settled", True):
            in_flight += 1
            continue
        user, shop = ledger.user_account(order["user_id"]), ledger.shop_account(order["community"])
        debit = _pairs(by_tx.get(debit_tx(order_id), []))
        refund = _pairs(by_tx.get(refund_tx(order_id), []))
        paid = sorted([(user, -order["points"]), (shop, order["points"])])
        back = sorted([(user, order["points"]), (shop, -order["points"])])
        if status in ("reserved", "picked_up"):
            ok = debit == paid and not refund
        elif status == "cancelled":
            ok = debit == paid and refund == back
        else:  # failed: never charged, or charged and refunded
            ok = (not debit and not refund) or (debit == paid and refund == back)
        if not ok:
            breaks.append({"order_id": order_id, "problem": f"{status} order with entries debit={debit} "
                                                            f"refund={refund}, expected {paid}"})
    for tx in by_tx:
        order_id = tx.split(":")[1]
        if order_id not in orders:
            breaks.append({"order_id": order_id, "problem": f"entries of {tx} without an order"})

    stock_breaks = []
    for item in db.items.find({"district": district}):
        problems = []
        if item["stock"] < 0 or item.get("reserved", 0) < 0:
            problems.append(f"stock {item['stock']}, reserved {item.get('reserved')} below zero")
        if item["stock"] + item.get("reserved", 0) + item.get("sold", 0) != item.get("stock_added", item["stock"]):
            problems.append(f"stock {item['stock']} + reserved {item.get('reserved', 0)} + sold "
                            f"{item.get('sold', 0)} != {item.get('stock_added')} added")
        holds = item.get("holds", [])
        held = sum(orders[o]["quantity"] for o in holds if o in orders)
        if held != item.get("reserved", 0):
            problems.append(f"reserved {item.get('reserved', 0)} but its orders hold {held}")
        for order_id in holds:
            order = orders.get(order_id)
            if order is None or (order["status"] not in ("pending", "reserved") and order.get("settled", True)):
                problems.append(f"holds units for {order_id} ({order['status'] if order else 'missing'})")
        for order in orders.values():
            if order["item_id"] == item["_id"] and order["status"] == "reserved" and order["_id"] not in holds:
                problems.append(f"reserved order {order['_id']} holds no units")
        stock_breaks += [{"item_id": item["_id"], "problem": p} for p in problems]
    return {"order_breaks": breaks, "stock_breaks": stock_breaks, "orders": statuses, "orders_in_flight": in_flight}
