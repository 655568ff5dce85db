"""The supermarket on the real broker: RPC in, events out through the outboxes, timers that expire and repair."""
import random
from datetime import timedelta

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies

from civicgrid.auth import issue_token
from civicgrid.errors import Conflict, Invalid, NotFound
from civicgrid.events import make_event
from services.points.service import PointsService

from .helpers import NOW


def token(user, roles, scope=None, community=None, district="hb", name=None):
    return {"auth_token": issue_token(user, district, roles, scope=scope, community=community, name=name)[0]}


WEN = token("wenxiaohua", ["resident"], "b28", "wenchang", name="文小华")
HU = token("huxingyou", ["resident"], "b29", "wenchang", name="胡兴友")
STAFF = token("wc-secretary", ["community_staff"], "wenchang", "wenchang")
ADMIN = token("hb-admin", ["district_admin"], "hb")
QJ = token("qj-resident", ["resident"], "qs-b1", "qingshan", district="qj")
USER_IDS = {id(WEN): "wenxiaohua", id(HU): "huxingyou"}


class Listener:
    name = "listener"
    seen = []

    @event_handler("points", "points_awarded")
    def on_points_awarded(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "activity_cancelled")
    def on_activity_cancelled(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "claim_approved")
    def on_claim_approved(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "claim_rejected")
    def on_claim_rejected(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "points_redeemed")
    def on_points_redeemed(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "order_picked_up")
    def on_order_picked_up(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "order_cancelled")
    def on_order_cancelled(self, payload):
        Listener.seen.append(payload)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def node_of(district, node_id):
    """hb's communities, as the grid answers a member of hb (and nothing of any other district)."""
    if district == "hb" and node_id in ("wenchang", "yanjinghe"):
        return {"id": node_id, "type": "community", "name": node_id, "parent": "hebian",
                "path": ["hb", "hebian", node_id]}
    raise NotFound(f"no node {node_id!r} in district {district!r}")


def start(container_factory, service_config, clock):
    container = container_factory(PointsService, service_config)
    grid, tick = replace_dependencies(container, "grid", "clock")
    grid.locate_building.side_effect = lambda district, building: {"community": "wenchang", "building_id": building}
    grid.get_node.side_effect = node_of
    tick.side_effect = clock
    container.tick = tick  # how often this replica's workers asked the time: did it serve anything?
    container.start()
    return container, grid


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def points(container_factory, service_config, clock):
    return start(container_factory, service_config, clock)[0]


@pytest.fixture
def listener(container_factory, service_config):
    Listener.seen = []
    container = container_factory(Listener, service_config)
    container.start()
    return container


def call(container, method, context, *args):
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args)


def heard(listener, type_, count=1, action=None):
    """Run ``action`` and wait until ``count`` events of ``type_`` arrived in all."""
    def enough(*args, **kwargs):
        return sum(1 for e in Listener.seen if e["type"] == type_) >= count
    with entrypoint_waiter(listener, f"on_{type_}", callback=enough, timeout=10):
        result = action() if action else None
    return result, [e for e in Listener.seen if e["type"] == type_]


def fund(points, listener, clock, people, amount=20):
    """Points the product's way: an activity, sign-ups, one check-in of everyone."""
    activity = call(points, "create_activity", STAFF, "wenchang", {
        "title": "楼道清洁", "place": "28栋", "starts_at": (clock.now + timedelta(days=1)).isoformat(),
        "capacity": 10, "points": amount})
    for who in people:
        call(points, "signup", who, activity["id"])
    before = sum(1 for e in Listener.seen if e["type"] == "points_awarded")
    answer, _ = heard(listener, "points_awarded", before + len(people), lambda: call(
        points, "check_in", STAFF, activity["id"], {"user_ids": [USER_IDS[id(w)] for w in people]}))
    return activity, answer


def test_check_ins_award_points_and_tell_the_attendees(points, listener, clock):
    activity, answer = fund(points, listener, clock, [WEN, HU], amount=5)
    assert [(r["user_id"], r["points"]) for r in answer["results"]] == [("wenxiaohua", 5), ("huxingyou", 5)]
    awarded = {e["data"]["user_id"]: e for e in Listener.seen if e["type"] == "points_awarded"}
    assert awarded["wenxiaohua"]["data"]["title"] == "楼道清洁" and awarded["wenxiaohua"]["data"]["balance"] == 5
    mine = call(points, "my_points", WEN)
    assert (mine["balance"], mine["balance_yuan"], mine["entries"][0]["description"]) == (5, "5.00", "志愿服务活动签到")
    seen = call(points, "get_activity", STAFF, activity["id"])
    assert seen["checked_in"] == 2 and [a["user_id"] for a in seen["attendance"]] == ["wenxiaohua", "huxingyou"]
    assert "attendance" not in call(points, "get_activity", WEN, activity["id"])


def test_a_cancelled_activity_tells_everyone_signed_up(points, listener, clock):
    activity = call(points, "create_activity", STAFF, "wenchang", {
        "title": "义诊", "place": "社区", "starts_at": (clock.now + timedelta(days=2)).isoformat(), "capacity": 5})
    call(points, "signup", WEN, activity["id"])
    _, events = heard(listener, "activity_cancelled", 1, lambda: call(
        points, "cancel_activity", STAFF, activity["id"], {"reason": "医生有事"}))
    assert events[0]["data"]["attendees"] == ["wenxiaohua"] and events[0]["actor"]["id"] == "wc-secretary"


def test_claims_decided_either_way_are_announced(points, listener):
    first = call(points, "submit_claim", HU, {"title": "帮老人买菜"})
    second = call(points, "submit_claim", HU, {"title": "捡到钱包"})
    heard(listener, "claim_approved", 1, lambda: call(points, "approve_claim", STAFF, first["id"], {}))
    _, rejected = heard(listener, "claim_rejected", 1, lambda: call(
        points, "reject_claim", STAFF, second["id"], {"reason": "无证明"}))
    approved = next(e for e in Listener.seen if e["type"] == "claim_approved")
    assert (approved["data"]["points"], rejected[0]["data"]["points"]) == (5, 0)
    assert call(points, "my_points", HU)["balance"] == 5


def test_an_order_is_announced_when_reserved_picked_up_or_cancelled(points, listener, clock):
    fund(points, listener, clock, [WEN], amount=20)
    rice = call(points, "create_item", STAFF, {"name": "大米", "price": 8, "stock": 3})
    order, redeemed = heard(listener, "points_redeemed", 1, lambda: call(
        points, "reserve", WEN, {"item_id": rice["id"], "quantity": 2}))
    assert (order["status"], order["points"], order["yuan"], order["balance"]) == ("reserved", 16, "16.00", 4)
    assert redeemed[0]["data"]["order_id"] == order["id"]
    heard(listener, "order_picked_up", 1, lambda: call(points, "confirm_pickup", STAFF, order["id"]))
    assert call(points, "get_item", WEN, rice["id"])["sold"] == 2
    with pytest.raises(Conflict) as err:
        call(points, "reserve", WEN, {"item_id": rice["id"], "quantity": 1})
    assert "points" in err.value.errors
    with pytest.raises(Invalid) as err:
        call(points, "reserve", WEN, {"item_id": rice["id"], "quantity": 0})
    assert "quantity" in err.value.errors
    with pytest.raises(NotFound):
        call(points, "get_order", QJ, order["id"])


def test_the_timer_cancels_what_nobody_picked_up(points, listener, clock):
    fund(points, listener, clock, [WEN], amount=20)
    rice = call(points, "create_item", STAFF, {"name": "大米", "price": 8, "stock": 3})
    order = call(points, "reserve", WEN, {"item_id": rice["id"]})
    clock.now += timedelta(days=3, seconds=1)
    _, cancelled = heard(listener, "order_cancelled", 1, lambda: call(points, "maintain", {}))
    assert (cancelled[0]["data"]["order_id"], cancelled[0]["data"]["reason"]) == (order["id"], "expired")
    assert call(points, "my_points", WEN)["balance"] == 20
    assert call(points, "get_item", WEN, rice["id"])["stock"] == 3
    assert call(points, "check_ledger", ADMIN, "hb")["balanced"] is True


def test_two_replicas_repair_a_stuck_order_once(container_factory, service_config, listener, clock):
    """A reservation whose request died after the debit: both replicas' sweeps run at once; one finishes it."""
    replicas = [start(container_factory, service_config, clock)[0] for _ in range(2)]
    fund(replicas[0], listener, clock, [WEN], amount=20)
    rice = call(replicas[0], "create_item", STAFF, {"name": "大米", "price": 8, "stock": 3})
    store = next(d for d in replicas[0].dependencies if d.attr_name == "db")
    from services.points import ledger, shop
    order = {"_id": "hb-o000777", "district": "hb", "community": "wenchang", "user_id": "wenxiaohua",
             "item_id": rice["id"], "item_name": "大米", "quantity": 1, "unit_price": 8, "points": 8,
             "status": "pending", "reason": None, "note": None, "settled": False,
             "actor": {"id": "wenxiaohua", "role": "resident"}, "created_at": clock.now, "updated_at": clock.now,
             "expires_at": None, "outbox": []}
    store.db.orders.insert_one(order)
    shop._take(store.db, order)
    ledger.transfer(store.db, "hb", "wenxiaohua", -8, "shop:wenchang", shop.debit_tx(order["_id"]), "redeem",
                    now=clock.now, item_id=rice["id"], quantity=1, redeemed_at=clock.now)
    clock.now += timedelta(minutes=2)

    def sweep(container):
        with entrypoint_hook(container, "maintain") as hook:
            hook()
    with entrypoint_waiter(listener, "on_points_redeemed", timeout=10):
        threads = [eventlet.spawn(sweep, c) for c in replicas]
        for thread in threads:
            thread.wait()
    eventlet.sleep(0.5)
    # acted on once: one fact (a relay may send it twice; consumers know it by its id)
    redeemed = {(e["event_id"], e["data"]["order_id"]) for e in Listener.seen if e["type"] == "points_redeemed"}
    assert [order_id for _, order_id in redeemed] == ["hb-o000777"]
    assert call(replicas[1], "get_order", WEN, "hb-o000777")["status"] == "reserved"
    assert call(replicas[1], "check_ledger", ADMIN, "hb")["balanced"] is True


def test_two_replicas_take_concurrent_reservations_over_the_broker(container_factory, service_config, clock):
    """Two replicas consume the points RPC queue and share the database: 20 residents fire 80 reservations at
    once (several each, in flight together); neither replica oversells nor overdraws, and the ledger holds."""
    replicas = [start(container_factory, service_config, clock)[0] for _ in range(2)]
    first = replicas[0]
    names = [f"rr{n:02d}" for n in range(20)]
    residents = [token(name, ["resident"], "b28", "wenchang", name=name) for name in names]
    activity = call(first, "create_activity", STAFF, "wenchang", {
        "title": "大扫除", "place": "28栋", "starts_at": (clock.now + timedelta(days=1)).isoformat(),
        "capacity": len(names), "points": 20})
    for who in residents:
        call(first, "signup", who, activity["id"])
    call(first, "check_in", STAFF, activity["id"], {"user_ids": names})
    items = {"rice": call(first, "create_item", STAFF, {"name": "大米", "price": 10, "stock": 15}),
             "oil": call(first, "create_item", STAFF, {"name": "食用油", "price": 8, "stock": 15,
                                                      "per_person_limit": 1})}
    rng = random.Random(2026)
    plan = {n: [rng.choice(["rice", "oil"]) for _ in range(4)] for n in range(len(names))}
    served_before = [replica.tick.call_count for replica in replicas]
    outcomes = []

    def burst(n):
        """One resident's four reservations in flight at once, each answered by whichever replica takes it."""
        with ClusterRpcProxy(service_config, context_data=residents[n], timeout=30) as cluster:
            replies = [(item, cluster.points.reserve.call_async({"item_id": items[item]["id"]}))
                       for item in plan[n]]
            for item, reply in replies:
                try:
                    outcomes.append((n, item, reply.result()))
                except Conflict as err:
                    outcomes.append((n, item, sorted(err.errors)[0]))

    pool = eventlet.GreenPool(len(names))
    for n in plan:
        pool.spawn(burst, n)
    pool.waitall()

    assert all(replica.tick.call_count > before for replica, before in zip(replicas, served_before))
    assert len(outcomes) == 80
    accepted = [(n, item, order) for n, item, order in outcomes if isinstance(order, dict)]
    assert {o for _, _, o in outcomes if not isinstance(o, dict)} <= {"quantity", "points"}
    assert 0 < len(accepted) < 80
    for name, item in items.items():
        sold = sum(1 for _, it, _ in accepted if it == name)
        stored = call(replicas[1], "get_item", STAFF, item["id"])
        assert stored["stock"] == 15 - sold >= 0 and stored["reserved"] == sold
    for n, who in enumerate(residents):
        mine = [order for m, _, order in accepted if m == n]
        assert call(replicas[n % 2], "my_points", who)["balance"] == 20 - sum(o["points"] for o in mine) >= 0
        assert sum(1 for m, it, _ in accepted if m == n and it == "oil") <= 1
    shop_side = call(first, "statement", STAFF, "shop:wenchang", {"page_size": 500})
    assert {e["transaction_id"]: e["amount"] for e in shop_side["entries"]} == {
        f"order:{order['id']}": order["points"] for _, _, order in accepted}
    assert shop_side["total"] == len(accepted)
    check = call(replicas[1], "check_ledger", ADMIN, "hb")
    assert check["balanced"] is True and check["sum"] == 0 and check["orders"] == {"reserved": len(accepted)}
    assert check["orders_in_flight"] == 0 and check["order_breaks"] == check["stock_breaks"] == []


def test_a_member_announced_by_the_grid_gets_an_account_in_their_community(container_factory, service_config, clock):
    points, grid = start(container_factory, service_config, clock)
    event = make_event("member_assigned", "hb", {"id": "hb-admin", "role": "district_admin"}, {
        "user_id": "newcomer", "name": "新居民", "roles": ["resident"], "scope": "b27"})
    with entrypoint_waiter(points, "handle_member_assigned"):
        event_dispatcher(service_config)("grid", "member_assigned", event)
    grid.locate_building.assert_called_once_with("hb", "b27")
    report = call(points, "points_report", ADMIN, "hb", {"community": "wenchang"})
    assert report["registered_accounts"] == 1


def test_a_half_written_transaction_is_completed_by_the_ledger_sweep_not_by_every_maintenance_pass(
        container_factory, service_config, clock):
    """The sweep groups a day of entries, so it is a timer of its own (at start, then every ten minutes)."""
    from services.points import ledger
    points = start(container_factory, service_config, clock)[0]
    store = next(d for d in points.dependencies if d.attr_name == "db")
    ledger.transfer(store.db, "hb", "wenxiaohua", 5, ledger.community_account("wenchang"), "seed:crashed",
                    "claim_approved", now=clock.now, earning="seed", community="wenchang")
    # a crash between the two writes: the user's side stands, the community's is missing
    store.db.entries.delete_one({"transaction_id": "seed:crashed", "account": ledger.community_account("wenchang")})
    call(points, "maintain", {})
    assert call(points, "check_ledger", ADMIN, "hb")["balanced"] is False
    # a replica (re)starting sweeps at once: its timer is eager
    replica = start(container_factory, service_config, clock)[0]
    deadline = eventlet.Timeout(10)
    with deadline:
        while not call(replica, "check_ledger", ADMIN, "hb")["balanced"]:
            eventlet.sleep(0.05)
    assert call(points, "repair_ledger", {}) is None   # and again later: nothing left to complete
    assert call(points, "check_ledger", ADMIN, "hb")["balanced"] is True
