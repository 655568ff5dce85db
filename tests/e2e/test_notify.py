"""Notifications end to end: the real processes over HTTP and AMQP, a local webhook receiver that
checks signatures (and one that fails twice first), templates, preferences, broadcasts, the points
supermarket's notices, requests filed through Open311, the rules table, digests.

This module starts a platform of its own (a vhost, databases and a movable clock of its own):
it needs settings the shared one does not have (webhooks to http://127.0.0.1 allowed, fast
timers, a short webhook timeout, three attempts) and it moves time by days for the digest.
"""
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from kombu import Connection, Exchange, Queue

from civicgrid.client import Client
from civicgrid.harness import ROOT, Platform, drop_databases, temporary_vhost
from services.notify.tests.receiver import Receiver

from .conftest import PASSWORD, MovableClock, eventually, import_in_parts, second_district

SHANGHAI = timezone(timedelta(hours=8))
NAMES = ["wenxiaohua", "zhangyiqin", "huxingyou", "daiyunzhong", "daijiaqian", "wc-grid1", "wc-secretary",
         "cj-clerk", "zz-clerk", "hb-admin", "qj-resident", "qj-leader", "qj-admin"]


@pytest.fixture(scope="module")
def clock(tmp_path_factory):
    return MovableClock(tmp_path_factory.mktemp("notify-clock") / "offset")


@pytest.fixture(scope="module")
def platform(tmp_path_factory, clock):
    prefix = "e2e_notify_" + uuid.uuid4().hex[:8]
    env = {"MONGO_DB_PREFIX": prefix, "CIVICGRID_CLOCK_FILE": str(clock.path),
           "CIVICGRID_WEBHOOK_ALLOW_LOCAL_HTTP": "1", "CIVICGRID_WEBHOOK_TIMEOUT_SECONDS": "1",
           "CIVICGRID_DELIVERY_SCAN_SECONDS": "0.2", "CIVICGRID_FANOUT_SCAN_SECONDS": "0.2",
           "CIVICGRID_DIGEST_SCAN_SECONDS": "0.5", "CIVICGRID_DELIVERY_MAX_ATTEMPTS": "3",
           "CIVICGRID_DELIVERY_BACKOFF_SECONDS": "30", "CIVICGRID_OVERDUE_SCAN_SECONDS": "0.5"}
    log = tmp_path_factory.mktemp("notify-platform") / "platform.log"
    with temporary_vhost("civicgrid_e2e_notify") as uri:
        running = Platform(uri, log_path=str(log), env=env).start()
        yield running
        running.stop()
    drop_databases(prefix)


@pytest.fixture(scope="module")
def users(platform):
    with open(os.path.join(ROOT, "demo", "hebian.json"), encoding="utf-8") as f:
        demo = json.load(f)
    admin = Client(platform.url).login("admin", "admin")
    admin.post("/api/v1/districts", demo["district"], expect=201)
    admin.post("/api/v1/districts/hb/import", {k: v for k, v in demo.items() if k != "district"})
    admin.post("/api/v1/districts", {"code": "qj", "name": "綦江区（演示）"}, expect=201)
    # a district of its own texts and timezone, with an administrator of its own (qj-admin)
    import_in_parts(admin, "qj", second_district())
    anonymous = Client(platform.url)
    clients = {name: anonymous.login(name, PASSWORD) for name in NAMES}
    clients["admin"] = admin
    return clients


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as running:
        yield running


def error(client, method, path, status, **kwargs):
    body = client.request(method, path, expect=status, **kwargs)
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == status
    return body


def inbox(client, **params):
    return client.get("/api/v1/notifications", params={"page_size": 100, **params})


def deliveries(admin, **params):
    return admin.get("/api/v1/districts/hb/deliveries", params={"page_size": 100, **params})["items"]


def submit(client, title, category="streetlight"):
    return client.post("/api/v1/petitions", {"category": category, "title": title}, expect=201)["id"]


def dispatched(users, resident, title):
    """A petition whistled up from the grid to the community and dispatched to 镇城建办."""
    pid = submit(users[resident], title)
    users["wc-grid1"].act(pid, "escalate", {"reason": "需城建办维修线路"})
    users["wc-secretary"].act(pid, "dispatch", {"department_id": "chengjian"})
    return pid


def quiet_now(clock):
    """Quiet hours from an hour ago until two hours from now, by the platform's clock in Shanghai."""
    local = (datetime.now(timezone.utc) + timedelta(seconds=clock.offset)).astimezone(SHANGHAI)
    return local, {"start": (local - timedelta(hours=1)).strftime("%H:%M"),
                   "end": (local + timedelta(hours=2)).strftime("%H:%M")}


def test_webhooks_signed_per_department_and_district_one_failing_twice_first(users, receiver, clock):
    admin, clerk = users["hb-admin"], users["cj-clerk"]
    department = receiver.route("/chengjian")
    flaky = receiver.route("/district-flaky", fail_first=2)
    mine = clerk.post("/api/v1/districts/hb/webhooks", {"url": receiver.base + "/chengjian",
                                                        "department_id": "chengjian"}, expect=201)
    department.set_secret(mine["secret"])
    district = admin.post("/api/v1/districts/hb/webhooks", {"url": receiver.base + "/district-flaky",
                                                            "events": ["petition_dispatched"]}, expect=201)
    flaky.set_secret(district["secret"])
    assert [w["id"] for w in clerk.get("/api/v1/districts/hb/webhooks")] == [mine["id"]]
    assert all("secret" not in w for w in admin.get("/api/v1/districts/hb/webhooks"))
    for bad, field, words in (({"url": "http://example.org/hook"}, "url", "https"),
                              ({"url": "ftp://example.org/hook"}, "url", "https"),
                              ({"url": "https://example.org/h", "department_id": "nowhere"}, "department_id", "unknown"),
                              ({"url": "https://example.org/h", "events": ["petition_gossip"]}, "events[0]", "choose")):
        assert words in error(admin, "POST", "/api/v1/districts/hb/webhooks", 422, json=bad)["errors"][field][0]
    assert len(admin.get("/api/v1/districts/hb/webhooks")) == 2  # nothing written

    pid = submit(users["zhangyiqin"], "竹林湾路路灯整排不亮")
    users["wc-grid1"].act(pid, "escalate", {"reason": "需城建办维修线路"})
    users["wc-secretary"].act(pid, "dispatch", {"department_id": "chengjian"})

    request = eventually(lambda: department.requests)[0]
    assert request["verified"], request["error"]
    assert request["json"]["event"]["type"] == "petition_dispatched"
    assert request["json"]["event"]["data"]["petition_id"] == pid
    assert request["headers"]["X-CivicGrid-Event"] == "petition_dispatched"
    # the receiver refuses the same request sent again, and one whose body was altered
    signed = {k: v for k, v in request["headers"].items() if k.startswith("X-CivicGrid-")}
    for body in (request["body"], request["body"].replace(pid.encode(), b"forged")):
        assert requests.post(receiver.base + "/chengjian", data=body, headers=signed, timeout=10).status_code == 401
    assert [r["error"] for r in department.requests[1:]] == ["replayed request", "signature does not match"]
    # the resident's notice names the department (the grid's name for it)
    told = eventually(lambda: inbox(users["zhangyiqin"], petition_id=pid, type="petition_dispatched")["items"])[0]
    assert told["body"] == "您的诉求「竹林湾路路灯整排不亮」已派单至镇城建办"
    # the district's receiver failed once: the delivery waits for its backoff, which the clock moves past
    eventually(lambda: [d for d in deliveries(admin, recipient=district["id"]) if d["attempts"] == 1])
    clock.advance(31 / 3600)
    eventually(lambda: [d for d in deliveries(admin, recipient=district["id"]) if d["attempts"] == 2])
    clock.advance(61 / 3600)
    sent = eventually(lambda: deliveries(admin, recipient=district["id"], status="sent"))[0]
    assert sent["attempts"] == 3 and [a["ok"] for a in sent["attempt_log"]] == [False, False, True]
    assert [a["status_code"] for a in sent["attempt_log"]] == [500, 500, 200]
    assert len(flaky.requests) == 3 and all(r["verified"] for r in flaky.requests)
    assert {r["headers"]["X-CivicGrid-Delivery"] for r in flaky.requests} == {sent["id"]}
    assert [r["json"]["attempt"] for r in flaky.requests] == [1, 2, 3]
    # the department's own webhook heard of its petition only: dispatched, nothing of the grid's steps
    clerk.act(pid, "accept")
    genuine = eventually(lambda: (lambda g: g if len(g) == 2 else None)(
        [r for r in department.requests if r["verified"]]))
    assert [r["json"]["event"]["type"] for r in genuine] == ["petition_dispatched", "petition_accepted"]
    assert len(flaky.requests) == 3  # the district's was narrowed to petition_dispatched
    clerk.request("DELETE", f"/api/v1/districts/hb/webhooks/{mine['id']}", expect=200)
    admin.request("DELETE", f"/api/v1/districts/hb/webhooks/{district['id']}", expect=200)


def test_a_receiver_that_keeps_failing_is_listed_for_the_operator_and_retried(users, receiver, clock):
    admin = users["hb-admin"]
    dead = receiver.route("/dead", status=503)
    hook = admin.post("/api/v1/districts/hb/webhooks", {"url": receiver.base + "/dead",
                                                        "events": ["petition_submitted"]}, expect=201)
    dead.set_secret(hook["secret"])
    submit(users["huxingyou"], "29栋楼道灯闪烁")
    for attempt in (1, 2):
        eventually(lambda: [d for d in deliveries(admin, recipient=hook["id"]) if d["attempts"] == attempt])
        clock.advance(61 / 3600)
    failed = eventually(lambda: deliveries(admin, status="failed", recipient=hook["id"]))[0]
    assert (failed["attempts"], failed["last_error"]) == (3, "receiver answered 503")
    dead.status = 200
    retried = admin.post(f"/api/v1/districts/hb/deliveries/{failed['id']}/retry")
    assert retried["status"] == "pending"
    eventually(lambda: deliveries(admin, status="sent", recipient=hook["id"]))
    error(admin, "POST", f"/api/v1/districts/hb/deliveries/{failed['id']}/retry", 409)
    error(users["cj-clerk"], "GET", "/api/v1/districts/hb/deliveries", 403)
    error(admin, "GET", "/api/v1/districts/hb/deliveries", 422, params={"channel": "fax"})
    admin.request("DELETE", f"/api/v1/districts/hb/webhooks/{hook['id']}", expect=200)


def test_a_receiver_that_hangs_or_answers_500_holds_up_no_other_delivery(users, receiver, clock):
    admin = users["hb-admin"]
    routes = {"/hung": receiver.route("/hung").hold(), "/broken": receiver.route("/broken", status=500),
              "/fine": receiver.route("/fine")}
    hooks = {}
    for path, route in routes.items():
        hooks[path] = admin.post("/api/v1/districts/hb/webhooks", {"url": receiver.base + path,
                                                                    "events": ["petition_submitted"]}, expect=201)
        route.set_secret(hooks[path]["secret"])
    submit(users["huxingyou"], "29栋电梯异响")
    hung, broken, fine = (eventually(lambda p=p: routes[p].requests)[0] for p in ("/hung", "/broken", "/fine"))
    # sent side by side: the others did not wait for the hung receiver's time limit (1 s)
    assert fine["at"] - hung["at"] < 1 and broken["at"] - hung["at"] < 1
    assert eventually(lambda: deliveries(admin, recipient=hooks["/fine"]["id"], status="sent"))[0]["attempts"] == 1

    def after_one_attempt(path):
        return eventually(lambda: [d for d in deliveries(admin, recipient=hooks[path]["id"]) if d["attempts"] == 1])[0]
    timed_out, refused = after_one_attempt("/hung"), after_one_attempt("/broken")
    assert timed_out["status"] == "pending" and timed_out["last_error"].startswith(("timed out", "no complete"))
    assert (refused["status"], refused["last_error"]) == ("pending", "receiver answered 500")
    routes["/hung"].release()
    clock.advance(61 / 3600)  # past the backoff: the receiver that hung answers now
    again = eventually(lambda: deliveries(admin, recipient=hooks["/hung"]["id"], status="sent"))[0]
    assert [a["ok"] for a in again["attempt_log"]] == [False, True]
    for hook in hooks.values():
        admin.request("DELETE", f"/api/v1/districts/hb/webhooks/{hook['id']}", expect=200)


def test_a_dispatch_is_critical_reaches_every_channel_at_once_and_once_however_often_it_arrives(
        users, receiver, platform, clock):
    clerk, admin = users["cj-clerk"], users["hb-admin"]
    _, quiet = quiet_now(clock)  # critical notices ring at any hour
    clerk.put("/api/v1/notifications/preferences", {"quiet_hours": quiet,
                                                    "contacts": {"sms": "13912345678", "wechat": "o-cj-clerk-01"}})
    hook = clerk.post("/api/v1/districts/hb/webhooks", {"url": receiver.base + "/once", "department_id": "chengjian",
                                                        "events": ["petition_dispatched"]}, expect=201)
    route = receiver.route("/once")
    route.set_secret(hook["secret"])
    exchange = Exchange("petitions.events", type="topic", durable=True)
    with Connection(platform.amqp_uri) as conn:
        spy = Queue(exchange=exchange, routing_key="petition_dispatched", exclusive=True, auto_delete=True)
        bound = spy(conn.default_channel)
        bound.declare()
        pid = dispatched(users, "huxingyou", "29栋后门路灯不亮")

        def seen():
            got = bound.get(no_ack=True)
            return got if got is not None and got.payload["data"]["petition_id"] == pid else None
        message = eventually(seen)
        for _ in range(2):  # the broker brings the same event twice more (at-least-once delivery)
            conn.Producer().publish(message.payload, exchange=exchange, routing_key="petition_dispatched",
                                    serializer="json", headers=message.headers)
        marker = dispatched(users, "huxingyou", "29栋前门路灯不亮")  # behind the duplicates in every queue
    event_id = message.payload["event_id"]
    eventually(lambda: [r for r in route.requests if r["json"]["event"]["data"]["petition_id"] == marker])
    time.sleep(1)
    sent = eventually(lambda: (lambda ds: ds if len(ds) == 3 and all(d["status"] == "sent" for d in ds) else None)(
        deliveries(admin, event_id=event_id)))
    assert sorted((d["channel"], d["recipient"]) for d in sent) == [
        ("sms", "cj-clerk"), ("webhook", hook["id"]), ("wechat", "cj-clerk")]
    assert all(d["attempts"] == 1 and d["delayed_until"] is None for d in sent)
    assert all(d["critical"] for d in sent if d["channel"] != "webhook")
    assert [r["verified"] for r in route.requests if r["json"]["event"]["event_id"] == event_id] == [True]
    mine = inbox(clerk, petition_id=pid)["items"]
    assert [(n["type"], n["critical"]) for n in mine] == [("petition_dispatched", True)]
    with open(platform.log_path, encoding="utf-8", errors="replace") as log:  # the default senders only log
        text = log.read()
    assert "SMS to 139****78" in text and "WeChat to o-c****01" in text and "13912345678" not in text
    clerk.put("/api/v1/notifications/preferences", {"quiet_hours": None, "contacts": {"sms": None, "wechat": None}})
    clerk.request("DELETE", f"/api/v1/districts/hb/webhooks/{hook['id']}", expect=200)


def test_templates_per_district_and_locale_checked_when_saved(users):
    admin, resident = users["hb-admin"], users["wenxiaohua"]
    path = "/api/v1/districts/hb/notification-templates/petition_submitted/resident"
    body = error(admin, "PUT", path + "/zh-CN", 422, json={"title": "已受理", "body": "您的诉求「{titel}」已受理"})
    assert "unknown field {titel}" in body["errors"]["body"][0]
    body = error(admin, "PUT", path + "/zh-CN", 422, json={"title": "已受理{", "body": "ok"})
    assert "malformed placeholder" in body["errors"]["title"][0]
    error(admin, "PUT", path + "/fr", 422, json={"title": "a", "body": "b"})
    error(admin, "PUT", "/api/v1/districts/hb/notification-templates/petition_nothing/resident/zh-CN", 404,
          json={"title": "a", "body": "b"})
    error(resident, "PUT", path + "/zh-CN", 403, json={"title": "a", "body": "b"})
    assert admin.get("/api/v1/districts/hb/notification-templates", params={"type": "petition_submitted",
                     "locale": "zh-CN"})[0]["source"] == "default"  # nothing refused was written
    saved = admin.put(path + "/zh-CN", {"title": "河边镇已受理", "body": "「{title}」已受理（{status_text}）"})
    assert saved["source"] == "district" and "status_text" in saved["fields"]
    pid = submit(resident, "28栋门禁损坏")
    notice = eventually(lambda: [n for n in inbox(resident)["items"] if n["petition_id"] == pid])[0]
    assert (notice["title"], notice["body"]) == ("河边镇已受理", "「28栋门禁损坏」已受理（已提交）")
    elsewhere = submit(users["qj-resident"], "青山1栋门禁损坏")  # another district keeps the default text
    theirs = eventually(lambda: inbox(users["qj-resident"], petition_id=elsewhere)["items"])[0]
    assert (theirs["title"], theirs["body"]) == ("诉求已提交", "您的诉求「青山1栋门禁损坏」已提交")
    listed = admin.get("/api/v1/districts/hb/notification-templates",
                       params={"type": "petition_submitted", "locale": "en"})
    assert {t["audience"] for t in listed} == {"resident", "building", "party"}
    assert admin.request("DELETE", path + "/zh-CN")["source"] == "default"


def test_preferences_locale_and_bad_input(users, clock):
    resident, staff = users["zhangyiqin"], users["wc-secretary"]
    body = error(resident, "PUT", "/api/v1/notifications/preferences", 422,
                 json={"channels": {"progress": ["inbox", "fax"]}})
    assert "unknown channel 'fax'" in body["errors"]["channels.progress"][0]
    error(users["cj-clerk"], "PUT", "/api/v1/notifications/preferences", 422, json={"channels": {"dispatch": []}})
    error(resident, "PUT", "/api/v1/notifications/preferences", 422, json={"locale": "fr"})
    error(resident, "PUT", "/api/v1/notifications/preferences", 422, json={"pager": "123"})
    body = error(resident, "PUT", "/api/v1/notifications/preferences", 422,  # one bad key: nothing is written
                 json={"locale": "en", "channels": {"progress": ["sms"], "gossip": ["inbox"]}})
    assert "unknown category 'gossip'" in body["errors"]["channels.gossip"][0]
    assert resident.get("/api/v1/notifications/preferences")["locale"] == "zh-CN"
    off = resident.put("/api/v1/notifications/preferences", {"channels": {"progress": []}})
    assert [c["channels"] for c in off["categories"] if c["category"] == "progress"] == [["inbox"]]  # always on
    error(staff, "GET", "/api/v1/districts/hb/users/nobody-here/notification-preferences", 404)
    error(resident, "GET", "/api/v1/districts/hb/users/wenxiaohua/notification-preferences", 403)
    local, quiet = quiet_now(clock)
    mine = resident.put("/api/v1/notifications/preferences", {"locale": "en", "quiet_hours": quiet,
                                                              "channels": {"progress": ["inbox", "sms"]}})
    assert mine["locale"] == "en" and mine["quiet_hours"] == quiet
    seen = staff.put("/api/v1/districts/hb/users/zhangyiqin/notification-preferences",
                     {"contacts": {"sms": "13800000000"}})
    assert seen["contacts"]["sms"] == "13800000000" and seen["locale"] == "en"
    pid = submit(resident, "Lift stuck at floor 3")
    notice = eventually(lambda: [n for n in inbox(resident)["items"] if n["petition_id"] == pid])[0]
    assert (notice["title"], notice["body"]) == ("Petition submitted",
                                                 "Your petition \"Lift stuck at floor 3\" has been submitted")
    # the inbox at once; the SMS waits for the end of the quiet hours
    [sms] = [d for d in deliveries(users["hb-admin"], recipient="zhangyiqin", channel="sms")
             if d["type"] == "petition_submitted"]
    assert (sms["status"], sms["attempts"]) == ("pending", 0)
    released = datetime.fromisoformat(sms["delayed_until"]).astimezone(SHANGHAI)
    assert released.strftime("%H:%M") == quiet["end"] and released > local
    resident.put("/api/v1/notifications/preferences", {"locale": None, "quiet_hours": None,
                                                       "channels": {"progress": ["inbox", "wechat"]}})


def test_a_broadcast_to_a_building_with_read_and_confirmed_lists(users):
    staff, resident, neighbour = users["wc-secretary"], users["wenxiaohua"], users["zhangyiqin"]
    sent = staff.post("/api/v1/broadcasts", {"target_kind": "building", "node_id": "b28", "title": "停水通知",
                                             "body": "11月3日8:00-12:00停水检修，请提前储水",
                                             "confirm_required": True}, expect=202)
    assert sent["status"] == "sending" and sent["total"] == 3  # two residents and the building leader
    notice = eventually(lambda: inbox(resident, type="broadcast", broadcast_id=sent["id"])["items"])[0]
    assert notice["confirm_required"] and notice["body"].endswith("（请确认已阅）")
    confirmed = resident.post(f"/api/v1/notifications/{notice['id']}/confirm")
    assert confirmed["confirmed"] and confirmed["read"]
    theirs = eventually(lambda: inbox(neighbour, broadcast_id=sent["id"])["items"])[0]
    assert theirs["title"] == "停水通知"
    neighbour.post(f"/api/v1/notifications/{theirs['id']}/read")
    view = eventually(lambda: (lambda v: v if v["status"] == "sent" else None)(
        staff.get(f"/api/v1/broadcasts/{sent['id']}")))
    assert (view["total"], view["fanned_out"], view["read"], view["confirmed"]) == (3, 3, 2, 1)
    lists = {state: [r["user_id"] for r in staff.get(f"/api/v1/broadcasts/{sent['id']}/recipients",
                                                      params={"state": state})["items"]]
             for state in ("read", "unread", "confirmed", "unconfirmed")}
    assert lists == {"read": ["wenxiaohua", "zhangyiqin"], "unread": ["daiyunzhong"], "confirmed": ["wenxiaohua"],
                     "unconfirmed": ["daiyunzhong", "zhangyiqin"]}
    assert sent["id"] in [b["id"] for b in users["wc-grid1"].get("/api/v1/broadcasts")["items"]]
    error(resident, "GET", f"/api/v1/broadcasts/{sent['id']}", 404)
    before = staff.get("/api/v1/broadcasts")["total"]
    body = error(staff, "POST", "/api/v1/broadcasts", 422,
                 json={"target_kind": "building", "node_id": "b28", "title": "   ", "body": "y"})
    assert list(body["errors"]) == ["title"]
    error(resident, "POST", "/api/v1/broadcasts", 403,
          json={"target_kind": "building", "node_id": "b28", "title": "x", "body": "y"})
    error(staff, "POST", "/api/v1/broadcasts", 422,
          json={"target_kind": "building", "node_id": "b99", "title": "x", "body": "y"})
    error(staff, "POST", "/api/v1/broadcasts", 422,
          json={"target_kind": "grid", "node_id": "b28", "title": "x", "body": "y"})
    error(users["daijiaqian"], "POST", "/api/v1/broadcasts", 403,
          json={"target_kind": "building", "node_id": "b28", "title": "x", "body": "y"})
    error(users["wc-grid1"], "POST", "/api/v1/broadcasts", 403,  # a grid worker's scope is the grid
          json={"target_kind": "community", "node_id": "wenchang", "title": "x", "body": "y"})
    assert staff.get("/api/v1/broadcasts")["total"] == before  # nothing refused was written
    grid = users["wc-grid1"].post("/api/v1/broadcasts", {"target_kind": "grid", "node_id": "wenchang-g1",
                                                         "title": "楼栋群通知", "body": "本周六网格内消防检查"}, expect=202)
    for name in ("huxingyou", "daijiaqian", "wenxiaohua"):  # every building of the grid
        eventually(lambda name=name: inbox(users[name], broadcast_id=grid["id"])["items"])
    assert not inbox(staff, broadcast_id=grid["id"])["items"]  # the community's staff live above the grid
    plain = staff.post("/api/v1/broadcasts", {"target_kind": "community", "node_id": "wenchang", "title": "公示",
                                              "body": "本月积分超市开放时间调整"}, expect=202)
    item = eventually(lambda: inbox(neighbour, broadcast_id=plain["id"])["items"])[0]
    error(neighbour, "POST", f"/api/v1/notifications/{item['id']}/confirm", 409)


def test_the_inbox_api(users):
    resident = users["huxingyou"]
    pid = submit(resident, "29栋门口积水")
    eventually(lambda: inbox(resident, petition_id=pid)["items"])
    counts = resident.get("/api/v1/notifications/unread-count")
    assert counts["unread"] >= 1 and counts["by_category"]["progress"] >= 1
    assert inbox(resident, read="false", category="progress")["total"] == counts["by_category"]["progress"]
    first = inbox(resident, page_size=1, page=1)
    assert len(first["items"]) == 1 and first["total"] >= 1
    one = resident.get(f"/api/v1/notifications/{first['items'][0]['id']}")
    assert (one["id"], one["status"], one["read_at"]) == (first["items"][0]["id"], "sent", None)
    read = resident.post(f"/api/v1/notifications/{one['id']}/read")
    assert read["status"] == "read" and read["read_at"]
    assert resident.get("/api/v1/notifications/unread-count")["unread"] == counts["unread"] - 1
    marked = resident.post("/api/v1/notifications/read-all", {"category": "progress"})
    assert marked["marked"] == counts["by_category"]["progress"] - (one["category"] == "progress")
    assert resident.get("/api/v1/notifications/unread-count")["by_category"].get("progress", 0) == 0
    assert resident.post("/api/v1/notifications/read-all", {})["unread"] == 0
    error(resident, "GET", "/api/v1/notifications", 422, params={"category": "gossip"})
    error(resident, "GET", "/api/v1/notifications", 422, params={"page_size": 500})
    error(users["daiyunzhong"], "GET", f"/api/v1/notifications/{one['id']}", 404)


def test_the_points_supermarket_tells_residents(users):
    staff, wen, zhang = users["wc-secretary"], users["wenxiaohua"], users["zhangyiqin"]

    def notice(client, type_, needle):
        return eventually(lambda: [n for n in inbox(client, type=type_)["items"] if needle in n["body"]])[0]

    starts = (datetime.now(timezone.utc) + timedelta(days=5)).isoformat()
    activity = staff.post("/api/v1/communities/wenchang/activities", {
        "title": "綦河河道清洁", "place": "竹林湾河堤", "starts_at": starts, "capacity": 20}, expect=201)
    for resident in (wen, zhang):
        resident.post(f"/api/v1/activities/{activity['id']}/signup")
    staff.post(f"/api/v1/activities/{activity['id']}/cancel", {"reason": "暴雨预警，改期举行"})
    for resident in (wen, zhang):  # everyone signed up hears, with the reason
        cancelled = notice(resident, "activity_cancelled", "綦河河道清洁")
        assert cancelled["category"] == "activity" and cancelled["body"].endswith("已取消。暴雨预警，改期举行")

    claim = zhang.post("/api/v1/claims", {"title": "帮独居老人买菜"}, expect=201)
    approved = staff.post(f"/api/v1/claims/{claim['id']}/approve", {})
    assert notice(zhang, "claim_approved", "帮独居老人买菜")["body"] == \
        f"您申报的「帮独居老人买菜」已通过审核，获得{approved['points']}积分"
    other = zhang.post("/api/v1/claims", {"title": "捡到钥匙"}, expect=201)
    staff.post(f"/api/v1/claims/{other['id']}/reject", {"reason": "请补充照片"})
    assert notice(zhang, "claim_rejected", "捡到钥匙")["body"] == "您申报的「捡到钥匙」未通过审核，原因：请补充照片"

    tissue = staff.post("/api/v1/shop/items", {"name": "抽纸一提", "price": 2, "stock": 5}, expect=201)
    first = zhang.post("/api/v1/orders", {"item_id": tissue["id"]}, expect=201)
    assert notice(zhang, "points_redeemed", "抽纸一提")["body"] == \
        "您已用2积分兑换「抽纸一提」×1，请到社区积分超市领取"
    staff.post(f"/api/v1/orders/{first['id']}/pickup")
    assert notice(zhang, "order_picked_up", "抽纸一提")["body"] == "您兑换的「抽纸一提」×1已领取"
    second = zhang.post("/api/v1/orders", {"item_id": tissue["id"]}, expect=201)
    zhang.post(f"/api/v1/orders/{second['id']}/cancel", {})
    assert notice(zhang, "order_cancelled", "抽纸一提")["body"] == \
        "您兑换的「抽纸一提」×1已取消（您已取消），2积分已退回"
    assert not [n for n in inbox(wen)["items"] if n["type"].startswith(("claim_", "order_", "points_redeemed"))]


def test_a_request_filed_through_open311_notifies_staff_and_skips_its_requester(users, receiver, platform):
    admin, leader, clerk = users["hb-admin"], users["daiyunzhong"], users["cj-clerk"]
    key = admin.post("/api/v1/districts/hb/api-keys", {"application": "hotline", "name": "河边镇12345热线"},
                     expect=201)["key"]
    bridge = receiver.route("/open311-bridge")
    hook = admin.post("/api/v1/districts/hb/webhooks", {"url": receiver.base + "/open311-bridge",
                                                        "events": ["petition_resolved"]}, expect=201)
    bridge.set_secret(hook["secret"])
    answer = requests.post(platform.url + "/open311/v2/requests.json", timeout=30, data={
        "api_key": key, "jurisdiction_id": "hb", "service_code": "streetlight", "address_id": "b28",
        "description": "28栋二单元楼道灯坏了一周", "email": "alice@example.com", "phone": "13800000000"})
    assert answer.status_code == 200, answer.text
    [receipt] = answer.json()
    rid, account = receipt["service_request_id"], receipt["account_id"]
    assert account.startswith("open311:")
    # staff hear of it as of any petition; critical notices reach the department
    assert eventually(lambda: inbox(leader, petition_id=rid)["items"])[0]["title"] == "楼栋新诉求"
    users["wc-grid1"].act(rid, "escalate", {"reason": "线路老化"})
    users["wc-secretary"].act(rid, "dispatch", {"department_id": "chengjian"})
    assert eventually(lambda: inbox(clerk, petition_id=rid)["items"])[0]["critical"]
    clerk.act(rid, "accept")
    clerk.act(rid, "resolve", {"note": "已更换线路"})
    # the district's system heard the resolution (so notify handled it): the requester got nothing queued,
    # nothing failed, nothing was logged as a problem
    heard = eventually(lambda: [r for r in bridge.requests if r["json"]["event"]["data"]["petition_id"] == rid])
    assert heard[0]["verified"] and heard[0]["json"]["event"]["data"]["resident_id"] == account
    assert deliveries(admin, recipient=account) == []
    assert not [d for d in deliveries(admin, status="failed") if d["event_id"] in
                {r["json"]["event"]["event_id"] for r in heard}]
    with open(platform.log_path, encoding="utf-8", errors="replace") as log:
        troubles = [line for line in log if account in line and ("ERROR" in line or "WARNING" in line)]
    assert troubles == []
    admin.request("DELETE", f"/api/v1/districts/hb/webhooks/{hook['id']}", expect=200)


def test_the_rules_table_is_published(users):
    rows = users["wenxiaohua"].get("/api/v1/notifications/rules")
    assert {"event": "petition_dispatched", "when": "always", "audience": "department",
            "people": "staff of the petition's department", "category": "dispatch", "critical": True,
            "practice": "社区吹哨，部门报到 (critical)"} in rows
    assert {r["event"] for r in rows} >= {"activity_cancelled", "claim_approved", "claim_rejected",
                                          "points_redeemed", "order_picked_up", "order_cancelled"}
    assert {r["category"] for r in rows if r["critical"]} == {"dispatch", "overdue"}
    error(Client(users["wenxiaohua"].base_url), "GET", "/api/v1/notifications/rules", 401)


def test_the_morning_digest_lists_what_waits_for_staff(users, clock):
    admin, staff = users["hb-admin"], users["wc-secretary"]
    admin.put("/api/v1/districts/hb/time-limits", {"grid_claim_hours": 24 * 90, "grid_resolve_hours": 24 * 90,
                                                   "community_dispatch_hours": 1})
    error(admin, "PUT", "/api/v1/districts/hb/notification-settings", 422, json={"timezone": "Mars/Base"})
    assert admin.put("/api/v1/districts/hb/notification-settings", {"digest_hour": 8})["timezone"] == "Asia/Shanghai"
    pid = submit(users["huxingyou"], "29栋后坡护栏松动", category="slope")  # waits for the grid
    late = submit(users["huxingyou"], "29栋单元门禁失灵", category="security")  # will wait too long for the community
    users["wc-grid1"].act(late, "escalate", {"reason": "需社区协调物业"})
    rated = submit(users["wenxiaohua"], "28栋楼道扶手松动", category="building_repair")  # a low rating: a follow-up
    users["daiyunzhong"].act(rated, "claim")
    users["daiyunzhong"].act(rated, "resolve", {"note": "已紧固"})
    users["wenxiaohua"].act(rated, "rate", {"score": 1, "comment": "第二天又松了"})
    claim = users["wenxiaohua"].post("/api/v1/claims", {"title": "清理楼道杂物"}, expect=201)  # to approve
    # the rating reaches whoever handled it and the community, in their texts
    rated_text = eventually(lambda: inbox(users["daiyunzhong"], petition_id=rated, type="petition_closed")["items"])
    assert rated_text[0]["body"] == "您办理的诉求「28栋楼道扶手松动」获得1星评价"
    follow = eventually(lambda: inbox(staff, petition_id=rated, type="follow_up_opened")["items"])[0]
    assert follow["body"] == "差评回访：诉求「28栋楼道扶手松动」获得1星评价，请回访"
    # a district six hours west of UTC (Xinjiang) has its morning two hours after Shanghai's
    users["qj-admin"].put("/api/v1/districts/qj/time-limits", {"grid_claim_hours": 24 * 90,
                                                               "grid_resolve_hours": 24 * 90})
    assert users["qj-admin"].put("/api/v1/districts/qj/notification-settings",
                              {"timezone": "Asia/Urumqi"})["timezone"] == "Asia/Urumqi"
    far = submit(users["qj-resident"], "青山1栋楼道灯不亮")

    def local_now():
        return (datetime.now(timezone.utc) + timedelta(seconds=clock.offset)).astimezone(SHANGHAI)

    def move_to(day, hours):
        target = datetime.combine(day, datetime.min.time(), SHANGHAI) + timedelta(hours=hours)
        clock.advance((target - local_now()).total_seconds() / 3600)
        return target.date().isoformat()

    # 入户走访: a red household whose last visit (logged late, from the paper record) was ten days ago
    long_ago = (local_now().date() - timedelta(days=10)).isoformat()
    users["wc-grid1"].post("/api/v1/households/b27-1-101/visits", {"visited_on": long_ago, "notes": "纸质台账补录"},
                           expect=201)

    # 07:00 tomorrow, before the digest hour: the community's time limit has passed, a (critical) warning
    tomorrow = local_now().date() + timedelta(days=1)
    move_to(tomorrow, 7)
    warned = eventually(lambda: inbox(staff, type="petition_overdue", petition_id=late)["items"], timeout=20)[0]
    assert warned["critical"] and warned["body"] == "诉求「29栋单元门禁失灵」已超过派单时限"
    date = move_to(tomorrow, 8.5)

    def digest_for(client):
        return [n for n in inbox(client, type="digest")["items"] if n["data"]["date"] == date]
    grid = eventually(lambda: digest_for(users["wc-grid1"]), timeout=20)[0]
    assert grid["title"] == f"今日待办（{date}）" and grid["category"] == "digest"
    assert pid in [i["petition_id"] for i in grid["data"]["items"]["unclaimed"]]
    assert grid["data"]["counts"]["unclaimed"] == len(grid["data"]["items"]["unclaimed"])
    assert grid["body"].startswith(f"待认领/待派单/待接单{grid['data']['counts']['unclaimed']}件")
    # the grid answers which households are overdue for a visit: the grid worker's and the community's
    assert "b27-1-101" in [i["household_id"] for i in grid["data"]["items"]["visits"]]
    assert grid["data"]["counts"]["visits"] >= 1 and "逾期未走访" in grid["body"]
    mine = eventually(lambda: digest_for(staff))[0]["data"]["items"]
    assert late in [i["petition_id"] for i in mine["unclaimed"]]  # waits for the community to dispatch
    assert late in [i["petition_id"] for i in mine["overdue"]]
    assert rated in [i["petition_id"] for i in mine["follow_ups"]]
    assert claim["id"] in [i["claim_id"] for i in mine["claims"]]
    assert "b27-1-101" in [i["household_id"] for i in mine["visits"]]
    district = eventually(lambda: digest_for(admin))[0]["data"]["items"]
    assert late in [i["petition_id"] for i in district["overdue"]]  # the district chases late communities
    assert not digest_for(users["wenxiaohua"])  # residents get no digest
    assert len(digest_for(users["wc-grid1"])) == 1
    time.sleep(1.5)  # a few more ticks of the digest timer
    assert not digest_for(users["qj-leader"])  # 06:30 in Urumqi
    move_to(tomorrow, 10.5)  # 08:30 in Urumqi
    west = eventually(lambda: digest_for(users["qj-leader"]), timeout=20)[0]
    assert far in [i["petition_id"] for i in west["data"]["items"]["unclaimed"]]
