"""The points service on the real broker: petition_closed in, points_awarded out, RPC answers."""
import pytest
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from civicgrid.auth import issue_token
from civicgrid.errors import Forbidden, Invalid
from civicgrid.events import derived_event_id, make_event
from services.points.service import PointsService


def token(user, roles, scope=None, district="hb"):
    return {"auth_token": issue_token(user, district, roles, scope=scope)[0]}


RESIDENT = token("wenxiaohua", ["resident"], scope="b28")
HANDLER = token("daiyunzhong", ["building_leader"], scope="b28")
ADMIN = token("hbadmin", ["district_admin"], scope="hb")


class Listener:
    name = "listener"
    seen = []

    @event_handler("points", "points_awarded")
    def handle_points_awarded(self, payload):
        Listener.seen.append(payload)


def closed(rating=5, petition_id="p1"):
    return make_event("petition_closed", "hb", {"id": "wenxiaohua", "role": "resident"}, {
        "petition_id": petition_id, "title": "28栋路灯不亮", "category": "streetlight",
        "status": "closed", "level": "grid", "building_id": "b28",
        "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"],
        "resident_id": "wenxiaohua", "department_id": None, "handler_id": "daiyunzhong",
        "rating": rating, "comment": None, "reason": None, "note": "已修复",
    })


@pytest.fixture
def points(container_factory, service_config):
    container = container_factory(PointsService, service_config)
    container.start()
    return container


@pytest.fixture
def listener(container_factory, service_config):
    Listener.seen = []
    container = container_factory(Listener, service_config)
    container.start()
    return container


@pytest.fixture
def publish(service_config):
    dispatch = event_dispatcher(service_config)

    def publish(payload):
        dispatch("petitions", "petition_closed", payload)
    return publish


def close_over_the_broker(points, publish, payload):
    with entrypoint_waiter(points, "handle_petition_closed"):
        publish(payload)


def call(container, method, context, *args):
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args)


def test_closing_awards_points_once_however_often_delivered(points, publish):
    payload = closed(5)
    close_over_the_broker(points, publish, payload)
    close_over_the_broker(points, publish, payload)
    mine = call(points, "my_points", RESIDENT)
    assert mine["balance"] == 2
    assert [(e["amount"], e["reason"], e["petition_id"]) for e in mine["entries"]] == [
        (2, "petition_rated", "p1")]
    assert mine["entries"][0]["description"] == "诉求评价奖励"
    assert call(points, "my_points", HANDLER)["balance"] == 10
    check = call(points, "check_ledger", ADMIN, "hb")
    assert {k: check[k] for k in ("district", "entries", "sum", "balanced", "negative_accounts")} == {
        "district": "hb", "entries": 4, "sum": 0, "balanced": True, "negative_accounts": []}


def test_points_awarded_goes_out_over_the_broker(points, listener, publish):
    payload = closed(4)
    with entrypoint_waiter(listener, "handle_points_awarded", callback=lambda *a: len(Listener.seen) == 2):
        close_over_the_broker(points, publish, payload)
    by_user = {e["data"]["user_id"]: e for e in Listener.seen}
    handler = by_user["daiyunzhong"]
    assert handler["event_id"] == derived_event_id(payload["event_id"], "daiyunzhong", "petition_handled")
    assert handler["data"]["amount"] == 5 and handler["data"]["balance"] == 5
    assert by_user["wenxiaohua"]["data"]["reason"] == "petition_rated"


def test_rules_over_rpc(points, publish):
    changed = call(points, "set_rules", ADMIN, "hb", {"reporter_rated": 7})
    assert (changed["reporter_rated"], changed["handler_5_star"], changed["handler_4_star"]) == (7, 10, 5)
    assert call(points, "get_rules", ADMIN, "hb")["reporter_rated"] == 7
    with pytest.raises(Invalid) as err:
        call(points, "set_rules", ADMIN, "hb", {"jackpot": 1000})
    assert "jackpot" in err.value.errors
    with pytest.raises(Forbidden):
        call(points, "set_rules", RESIDENT, "hb", {"reporter_rated": 100})
    close_over_the_broker(points, publish, closed(3))
    assert call(points, "my_points", RESIDENT)["balance"] == 7
    assert call(points, "my_points", HANDLER)["balance"] == 0


def test_ping(points):
    assert call(points, "ping", {}) == "pong"
