"""The notify service on the real broker: webhooks with retries, a slow receiver, the events it
announces, broadcasts fanned out by its timer, digests, the recipient cache, and bad input over RPC."""
import time
from datetime import datetime, timezone

import eventlet
import pytest
from nameko.events import event_handler
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from civicgrid.auth import issue_token
from civicgrid.errors import Conflict, Invalid, NotFound
from civicgrid.events import make_event

from .fakes import SYSTEM_ACTOR, petition_event
from .receiver import Receiver


def token(user, roles, scope=None, department=None):
    return {"auth_token": issue_token(user, "hb", roles, scope=scope, department=department)[0]}


ADMIN = token("hbadmin", ["district_admin"], scope="hb")
STAFF = token("wangshuji", ["community_staff"], scope="wenchang")
RESIDENT = token("wenxiaohua", ["resident"], scope="b28")
NEIGHBOUR = token("zhangyiqin", ["resident"], scope="b28")
CLERK = token("chengjian1", ["department_staff"], department="chengjian")


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.setenv("CIVICGRID_WEBHOOK_ALLOW_LOCAL_HTTP", "1")
    monkeypatch.setenv("CIVICGRID_WEBHOOK_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("CIVICGRID_DELIVERY_BACKOFF_SECONDS", "30")
    monkeypatch.setenv("CIVICGRID_DELIVERY_MAX_ATTEMPTS", "3")


def until(check, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        eventlet.sleep(0.05)
    raise AssertionError(f"not reached within {timeout}s: {check()!r}")


class Announcements:
    name = "notify_test_listener"
    heard = []

    @event_handler("notify", "notification_delivered")
    def delivered(self, payload):
        Announcements.heard.append(payload)

    @event_handler("notify", "notification_failed")
    def failed(self, payload):
        Announcements.heard.append(payload)

    @event_handler("notify", "broadcast_sent")
    def broadcast(self, payload):
        Announcements.heard.append(payload)


@pytest.fixture
def listener(container_factory, service_config):
    Announcements.heard = []
    container = container_factory(Announcements, service_config)
    container.start()
    return Announcements.heard


def deliveries_of(call, **query):
    return call("list_deliveries", ADMIN, "hb", query)["items"]


def test_a_webhook_that_fails_twice_is_delivered_on_the_third_attempt(notify, deliver, call, now, listener):
    with Receiver() as receiver:
        flaky = receiver.route("/flaky", fail_first=2)
        hook = call("create_webhook", CLERK, "hb", {"url": receiver.base + "/flaky", "department_id": "chengjian"})
        flaky.set_secret(hook["secret"])
        event = petition_event("petition_dispatched", department_id="chengjian", status="dispatched",
                               level="department")
        deliver("petitions", event)
        call("deliver_due", {})
        first = until(lambda: [d for d in deliveries_of(call, channel="webhook") if d["attempts"] == 1])[0]
        assert (first["status"], first["last_error"]) == ("pending", "receiver answered 500")
        call("deliver_due", {})
        eventlet.sleep(0.2)
        assert len(flaky.requests) == 1  # not due yet: the backoff is waited out by the clock, not by sleeping
        now.advance(seconds=31)
        call("deliver_due", {})
        until(lambda: deliveries_of(call, channel="webhook")[0]["attempts"] == 2)
        now.advance(seconds=61)
        call("deliver_due", {})
        sent = until(lambda: [d for d in deliveries_of(call, status="sent")])[0]
        assert sent["attempts"] == 3 and [a["ok"] for a in sent["attempt_log"]] == [False, False, True]
        assert all(r["verified"] for r in flaky.requests), [r["error"] for r in flaky.requests]
        assert {r["headers"]["X-CivicGrid-Delivery"] for r in flaky.requests} == {sent["id"]}
        assert flaky.requests[-1]["json"]["event"]["event_id"] == event["event_id"]
        call("deliver_due", {})  # announces the delivery on the bus
        heard = until(lambda: [e for e in listener if e["type"] == "notification_delivered"])[0]
        assert heard["data"]["delivery_id"] == sent["id"] and heard["data"]["attempts"] == 3
        deliver("petitions", event, "handle_petition_dispatched")  # the same event again: nothing more to send
        assert len(deliveries_of(call, channel="webhook")) == 1


def test_a_slow_webhook_does_not_hold_up_another_and_a_dead_one_fails(notify, deliver, call, now, listener,
                                                                      monkeypatch):
    monkeypatch.setenv("CIVICGRID_WEBHOOK_TIMEOUT_SECONDS", "30")  # the slow one is held, not timed out
    with Receiver() as receiver:
        slow = receiver.route("/slow").hold()
        fast = receiver.route("/fast")
        dead = receiver.route("/dead", status=503)
        hooks = {}
        for route, path in ((slow, "/slow"), (fast, "/fast"), (dead, "/dead")):
            hooks[path] = call("create_webhook", ADMIN, "hb", {"url": receiver.base + path,
                                                               "events": ["petition_submitted"]})
            route.set_secret(hooks[path]["secret"])
        deliver("petitions", petition_event("petition_submitted"))
        call("deliver_due", {})
        # the fast one is sent while the slow one is still in flight (a courier that waited for it would
        # wait for the release, which only comes after)
        until(lambda: deliveries_of(call, recipient=hooks["/fast"]["id"], status="sent"))
        assert slow.held == 1 and deliveries_of(call, recipient=hooks["/slow"]["id"])[0]["status"] == "pending"
        until(lambda: deliveries_of(call, recipient=hooks["/dead"]["id"])[0]["attempts"] == 1)
        slow.release()
        until(lambda: deliveries_of(call, recipient=hooks["/slow"]["id"], status="sent"))
        for attempt in (2, 3):  # each attempt recorded before the clock moves past the backoff
            now.advance(seconds=200)
            call("deliver_due", {})
            until(lambda: deliveries_of(call, recipient=hooks["/dead"]["id"])[0]["attempts"] == attempt)
        failed = until(lambda: deliveries_of(call, status="failed"))
        assert [(d["recipient"], d["last_error"], d["attempts"]) for d in failed] == [
            (hooks["/dead"]["id"], "receiver answered 503", 3)]
        assert [a["status_code"] for a in failed[0]["attempt_log"]] == [503, 503, 503]
        call("deliver_due", {})
        until(lambda: len([e for e in listener if e["type"] == "notification_failed"]) == 1)


def test_a_webhook_that_times_out_is_retried_and_finally_failed(notify, deliver, call, now, listener):
    with Receiver() as receiver:
        hang = receiver.route("/hang").hold()  # never answers within the 0.5 s limit
        hook = call("create_webhook", ADMIN, "hb", {"url": receiver.base + "/hang",
                                                    "events": ["petition_submitted"]})
        hang.set_secret(hook["secret"])
        deliver("petitions", petition_event("petition_submitted"))
        call("deliver_due", {})
        for attempt in (1, 2, 3):
            until(lambda: deliveries_of(call)[0]["attempts"] == attempt)
            now.advance(seconds=200)
            call("deliver_due", {})
        failed = until(lambda: deliveries_of(call, status="failed"))[0]
        assert failed["last_error"] == "timed out after 0.5s" and len(hang.requests) == 3


def test_a_broadcast_fans_out_in_the_background_and_the_sender_sees_who_read_it(notify, call, listener):
    sent = call("send_broadcast", STAFF, {"target_kind": "building", "node_id": "b28", "title": "停水通知",
                                          "body": "明天上午停水", "confirm_required": True})
    assert sent["status"] == "sending" and sent["total"] == 3
    item = until(lambda: call("inbox", RESIDENT, 1, 20, {"type": "broadcast"})["items"])[0]
    assert item["body"] == "明天上午停水（请确认已阅）"
    call("confirm", RESIDENT, item["id"])
    view = until(lambda: (lambda v: v if v["status"] == "sent" else None)(call("get_broadcast", STAFF, sent["id"])))
    assert (view["read"], view["confirmed"], view["fanned_out"]) == (1, 1, 3)
    assert [r["user_id"] for r in call("broadcast_recipients", STAFF, sent["id"], {"state": "confirmed"})["items"]] \
        == ["wenxiaohua"]
    other = call("send_broadcast", STAFF, {"target_kind": "building", "node_id": "b28", "title": "通知",
                                           "body": "无需确认"})
    notice = until(lambda: call("inbox", NEIGHBOUR, 1, 20, {"broadcast_id": other["id"]})["items"])[0]
    with pytest.raises(Conflict):
        call("confirm", NEIGHBOUR, notice["id"])
    until(lambda: [e for e in listener if e["type"] == "broadcast_sent"])  # announced on the bus


def test_the_morning_digest_timer(notify, deliver, call, now):
    deliver("petitions", petition_event("petition_submitted"))
    now.now = datetime(2026, 11, 3, 0, 30, tzinfo=timezone.utc)  # 08:30 in Shanghai
    assert call("send_digests", {}) == [("hb", "2026-11-03", 2)]  # the leader and the grid worker of b28
    digest = call("inbox", token("limin", ["grid_worker"], scope="wenchang-g1"), 1, 20, {"type": "digest"})
    assert digest["items"][0]["title"] == "今日待办（2026-11-03）"
    assert call("send_digests", {}) == []


def test_the_grid_is_asked_once_per_building_until_it_announces_a_change(notify, deliver, grid, service_config):
    deliver("petitions", petition_event("petition_submitted"))
    deliver("petitions", petition_event("petition_escalated", status="escalated", level="community",
                                        reason="需社区协调"))
    assert grid["proxy"].responsible_for_building.call_count == 1
    with entrypoint_waiter(notify, "forget_people"):
        event_dispatcher(service_config)("grid", "member_assigned", make_event(
            "member_assigned", "hb", SYSTEM_ACTOR, {"user_id": "x", "name": "x", "roles": ["party_member"]}))
    deliver("petitions", petition_event("petition_claimed"))  # only the resident: no grid call
    deliver("petitions", petition_event("petition_returned", reason="不属于本部门"))
    assert grid["proxy"].responsible_for_building.call_count == 2


def test_bad_input_over_rpc(notify, call):
    with pytest.raises(Invalid) as err:
        call("put_template", ADMIN, "hb", "petition_submitted", "resident", "zh-CN",
             {"title": "已受理", "body": "您的诉求「{title」已受理"})
    assert "malformed placeholder" in err.value.errors["body"][0]
    with pytest.raises(Invalid) as err:
        call("put_template", ADMIN, "hb", "petition_submitted", "resident", "de", {"title": "a", "body": "b"})
    assert "locale" in err.value.errors
    with pytest.raises(Invalid) as err:
        call("set_my_preferences", RESIDENT, {"channels": {"progress": ["pager"]}})
    assert "unknown channel 'pager'" in err.value.errors["channels.progress"][0]
    with pytest.raises(NotFound):
        call("user_preferences", STAFF, "hb", "ghost")
    with pytest.raises(Invalid) as err:
        call("list_deliveries", ADMIN, "hb", {"channel": "carrier-pigeon"})
    assert "channel" in err.value.errors
    with pytest.raises(Invalid) as err:
        call("create_webhook", ADMIN, "hb", {"url": "http://example.org/hook"})
    assert "https" in err.value.errors["url"][0]
    rules = call("recipient_rules", {})
    assert {"event": "petition_dispatched", "when": "always", "audience": "department",
            "people": "staff of the petition's department", "category": "dispatch",
            "critical": True, "practice": "社区吹哨，部门报到 (critical)"} in rules


def test_staff_register_a_residents_phone_and_a_critical_notice_goes_by_sms(notify, deliver, call, now, caplog):
    call("set_user_preferences", ADMIN, "hb", "chengjian1", {"contacts": {"sms": "13800000009"}})
    deliver("petitions", petition_event("petition_dispatched", department_id="chengjian", status="dispatched",
                                        level="department"))
    with caplog.at_level("INFO", logger="services.notify.channels"):
        call("deliver_due", {})
        sent = until(lambda: deliveries_of(call, channel="sms", status="sent"))
    assert sent[0]["recipient"] == "chengjian1"
    assert "SMS to 138****09: 社区吹哨" in caplog.text
