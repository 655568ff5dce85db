"""Micro-wishes on the real broker: two adopters at once over two replicas, a confirmation awarded once
whatever is retried, the flag timer of several replicas acting once, events out through the outbox."""
from datetime import timedelta

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies

from civicgrid.auth import issue_token
from civicgrid.errors import Conflict, NotFound
from civicgrid.events import make_event
from civicgrid.idempotency_keys import CONTEXT_KEY as IDEMPOTENCY_KEY
from services.points import periods
from services.points.service import PointsService

from .helpers import NOW
from .test_supermarket_service import node_of


def token(user, roles, scope=None, community=None, district="hb", name=None, organisation=None):
    return {"auth_token": issue_token(user, district, roles, scope=scope, community=community, name=name,
                                      organisation=organisation)[0]}


WEN = token("wenxiaohua", ["resident"], "b28", "wenchang", name="文小华")
PARTY = token("wc-party2", ["party_member"], "wenchang", "wenchang", name="报到党员")
VOLUNTEER = token("wc-volunteer", ["volunteer", "resident"], "b27", "wenchang", name="志愿者")
UNIT = token("gxs-li", ["organisation_member"], None, "wenchang", name="李经理", organisation="gxs")
STAFF = token("wc-secretary", ["community_staff"], "wenchang", "wenchang")
ADMIN = token("hb-admin", ["district_admin"], "hb")
QJ = token("qj-resident", ["resident"], "qs-b1", "qingshan", district="qj")
GXS = {"id": "gxs", "district": "hb", "name": "区供销社河边分社", "kind": "unit", "community": "wenchang",
       "account": "org:hb:gxs", "members": [{"user_id": "gxs-li", "name": "李经理"}]}


def wish(days=3):
    return {"title": "想要一台收音机", "reason": "独居老人，眼睛不好，想听广播",
            "wanted_by": (periods.local_date(NOW) + timedelta(days=days)).isoformat()}


class Listener:
    name = "wish_listener"
    seen = []

    @event_handler("points", "wish_adopted")
    def on_wish_adopted(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "wish_confirmed")
    def on_wish_confirmed(self, payload):
        Listener.seen.append(payload)

    @event_handler("points", "wish_flagged")
    def on_wish_flagged(self, payload):
        Listener.seen.append(payload)


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def start(container_factory, service_config, clock):
    container = container_factory(PointsService, service_config)
    grid, tick = replace_dependencies(container, "grid", "clock")
    tick.side_effect = clock
    grid.get_organisation.side_effect = lambda district, org: dict(GXS) if (district, org) == ("hb", "gxs") else None
    grid.get_node.side_effect = node_of
    container.start()
    return container


@pytest.fixture
def points(container_factory, service_config, clock):
    return start(container_factory, service_config, clock)


@pytest.fixture
def listener(container_factory, service_config):
    Listener.seen = []
    container = container_factory(Listener, service_config)
    container.start()
    return container


def call(container, method, context, *args):
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args)


def seen(type_):
    return [e for e in Listener.seen if e["type"] == type_]


def test_of_two_adopters_at_once_on_two_replicas_one_wins(container_factory, service_config, clock, listener):
    replicas = [start(container_factory, service_config, clock) for _ in range(2)]
    posted = call(replicas[0], "post_wish", WEN, wish())
    outcomes = []

    def adopt(context):
        with ClusterRpcProxy(service_config, context_data=context, timeout=30) as cluster:
            try:
                outcomes.append(cluster.points.adopt_wish(posted["id"], {})["adopter"]["user_id"])
            except Conflict as err:
                outcomes.append(("409", sorted(err.errors)))

    with entrypoint_waiter(listener, "on_wish_adopted", timeout=10):
        threads = [eventlet.spawn(adopt, who) for who in (PARTY, VOLUNTEER, UNIT)]
        for thread in threads:
            thread.wait()
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1 and sorted(o for o in outcomes if not isinstance(o, str)) == [("409", ["status"])] * 2
    stored = call(replicas[1], "get_wish", WEN, posted["id"])
    assert (stored["status"], stored["adopter"]["user_id"]) == ("adopted", winners[0])
    eventlet.sleep(0.3)
    assert len({e["event_id"] for e in seen("wish_adopted")}) == 1


def test_a_confirmation_retried_or_repaired_awards_the_organisation_once(points, listener, clock):
    posted = call(points, "post_wish", WEN, wish())
    adopted = call(points, "adopt_wish", UNIT, posted["id"], {})
    assert adopted["adopter"]["account"] == "org:hb:gxs"
    call(points, "fulfil_wish", UNIT, posted["id"], {"note": "送去了一台收音机", "media": ["https://img.example/r.jpg"]})
    retry = dict(WEN, **{IDEMPOTENCY_KEY: "confirm-1"})
    with entrypoint_waiter(listener, "on_wish_confirmed", timeout=10):
        first = call(points, "confirm_wish", retry, posted["id"], {"note": "谢谢供销社"})
    again = call(points, "confirm_wish", retry, posted["id"], {"note": "谢谢供销社"})   # a timed-out client retries
    assert first == again and first["points"] == 10
    with pytest.raises(Conflict):
        call(points, "confirm_wish", WEN, posted["id"], {})
    clock.now += timedelta(minutes=5)
    call(points, "maintain", {})   # the repair sweep finds nothing to finish
    statement = call(points, "statement", UNIT, "org:hb:gxs", {})
    assert [(e["amount"], e["transaction_id"]) for e in statement["entries"]] == [(10, f"wish:{posted['id']}")]
    confirmed = seen("wish_confirmed")
    assert confirmed[0]["data"]["points"] == 10 and confirmed[0]["data"]["organisation_name"] == "区供销社河边分社"
    assert call(points, "check_ledger", ADMIN, "hb")["balanced"] is True


def test_the_organisation_account_opens_when_the_grid_announces_it(points, service_config):
    event = make_event("organisation_registered", "hb", {"id": "hb-admin", "role": "district_admin"}, {
        "organisation_id": "dianli", "name": "河边供电所", "kind": "unit", "community": "wenchang",
        "members": ["dl-zhou"]})
    with entrypoint_waiter(points, "handle_organisation_registered"):
        event_dispatcher(service_config)("grid", "organisation_registered", event)
    member = token("dl-zhou", ["organisation_member"], None, "wenchang", organisation="dianli")
    statement = call(points, "statement", member, "org:hb:dianli", {})
    assert (statement["owner"], statement["closing_balance"]) == ("河边供电所", 0)
    with pytest.raises(NotFound):
        call(points, "statement", PARTY, "org:hb:dianli", {})


def test_the_flag_timer_of_two_replicas_flags_once(container_factory, service_config, clock, listener):
    replicas = [start(container_factory, service_config, clock) for _ in range(2)]
    call(replicas[0], "set_wish_settings", ADMIN, "hb", {"flag_days": 2})
    waiting = call(replicas[0], "post_wish", WEN, wish(days=30))
    taken = call(replicas[0], "post_wish", WEN, wish(days=30))
    call(replicas[0], "adopt_wish", PARTY, taken["id"], {})
    clock.now += timedelta(days=2, minutes=1)

    def scan(container):
        with entrypoint_hook(container, "scan_wishes") as hook:
            hook()
    with entrypoint_waiter(listener, "on_wish_flagged", timeout=10):
        threads = [eventlet.spawn(scan, c) for c in replicas for _ in range(3)]
        for thread in threads:
            thread.wait()
    eventlet.sleep(0.5)
    flagged = seen("wish_flagged")
    assert {e["data"]["wish_id"] for e in flagged} == {waiting["id"]}
    assert len({e["event_id"] for e in flagged}) == 1 and flagged[0]["data"]["flag_days"] == 2
    page = call(replicas[1], "list_wishes", STAFF, {"community": "wenchang"})
    assert [(w["id"], w["flagged"]) for w in page["items"]][0] == (waiting["id"], True)
    with pytest.raises(NotFound):
        call(replicas[1], "get_wish", QJ, waiting["id"])
    with pytest.raises(NotFound):   # another district's community: as if it did not exist
        call(replicas[1], "list_wishes", QJ, {"community": "wenchang"})
