"""Deliveries: claimed once, retried with backoff and jitter, failed for an operator, never doubled;
channels behind one interface; webhook signatures a receiver can check."""
import random
import time
from datetime import datetime, timedelta, timezone

import eventlet
import eventlet.event
import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from services.notify import channels, deliveries, domain, signing, webhooks

from .fakes import FakeDirectory, petition_event
from .receiver import Receiver

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
ADMIN = AuthContext(user_id="hbadmin", district="hb", roles=("district_admin",), scope="hb")
CLERK = AuthContext(user_id="chengjian1", district="hb", roles=("department_staff",), department="chengjian")
RESIDENT = AuthContext(user_id="wenxiaohua", district="hb", roles=("resident",), scope="b28")


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.setenv("CIVICGRID_WEBHOOK_ALLOW_LOCAL_HTTP", "1")
    monkeypatch.setenv("CIVICGRID_DELIVERY_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("CIVICGRID_DELIVERY_BACKOFF_SECONDS", "10")
    monkeypatch.setenv("CIVICGRID_DELIVERY_BACKOFF_CAP_SECONDS", "60")
    monkeypatch.setenv("CIVICGRID_WEBHOOK_TIMEOUT_SECONDS", "0.5")


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    domain.create_indexes(database)
    return database


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


def queue(db, channel="webhook", recipient="hook1", event_id="e1", now=T0, **extra):
    doc = deliveries.new(district="hb", event_id=event_id, type_="petition_dispatched", channel=channel,
                         recipient=recipient, payload={"event": {"type": "petition_dispatched"}, "title": "t",
                                                       "body": "b"}, now=now, **extra)
    assert deliveries.enqueue(db, [doc]) == 1
    return doc["_id"]


class Scripted(channels.Channel):
    """A channel that answers from a script: an exception to raise or an outcome, per attempt."""
    name = "webhook"

    def __init__(self, *script, delay=0):
        self.script = list(script)
        self.delay = delay
        self.sent = []

    def send(self, delivery, target):
        if self.delay:
            eventlet.sleep(self.delay)
        self.sent.append(delivery["_id"])
        step = self.script.pop(0) if self.script else {"status_code": 200}
        if isinstance(step, Exception):
            raise step
        return step


def run(db, channel, clock, doc_id=None):
    """Claim and send what is due, in this green thread."""
    sent = 0
    while True:
        doc = deliveries.claim(db, clock())
        if doc is None:
            return sent
        deliveries.attempt(db, {"webhook": channel, "sms": channel, "wechat": channel}, doc, clock)
        sent += 1


def hook(db, url="https://example.org/hook", **extra):
    db.webhooks.insert_one({"_id": "hook1", "district": "hb", "department_id": None, "url": url,
                            "secret": "s3cret", "active": True, "events": None, **extra})


# -- the retry machine ---------------------------------------------------------

def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    for attempt, (low, high) in enumerate([(5, 10), (10, 20), (20, 40), (30, 60), (30, 60)], start=1):
        waits = {deliveries.backoff(attempt, rng) for _ in range(50)}
        assert all(low <= w <= high for w in waits) and len(waits) > 1


def test_a_failing_delivery_is_retried_then_sent_once(db):
    hook(db)
    clock = Clock()
    delivery = queue(db)
    channel = Scripted(channels.DeliveryError("receiver answered 500", status_code=500),
                       channels.DeliveryError("timed out after 0.5s"), {"status_code": 200})
    assert run(db, channel, clock) == 1
    doc = db.deliveries.find_one({"_id": delivery})
    assert (doc["status"], doc["attempts"], doc["last_error"]) == ("pending", 1, "receiver answered 500")
    assert T0 + timedelta(seconds=5) <= doc["next_attempt_at"] <= T0 + timedelta(seconds=10)
    assert run(db, channel, clock) == 0  # not due yet: nothing sleeps, nothing is sent
    clock.advance(10)
    assert run(db, channel, clock) == 1
    clock.advance(20)
    assert run(db, channel, clock) == 1
    doc = db.deliveries.find_one({"_id": delivery})
    assert (doc["status"], doc["attempts"], doc["announce"]) == ("sent", 3, "notification_delivered")
    assert [a["ok"] for a in doc["attempt_log"]] == [False, False, True]
    assert doc["attempt_log"][0]["status_code"] == 500
    clock.advance(3600)
    assert run(db, channel, clock) == 0 and channel.sent == [delivery] * 3


def test_after_max_attempts_a_delivery_fails_and_an_operator_sees_and_retries_it(db):
    hook(db)
    clock = Clock()
    delivery = queue(db)
    channel = Scripted(*[channels.DeliveryError("receiver answered 503", status_code=503)] * 10)
    for _ in range(6):
        run(db, channel, clock)
        clock.advance(60)
    doc = db.deliveries.find_one({"_id": delivery})
    assert (doc["status"], doc["attempts"], doc["announce"]) == ("failed", 4, "notification_failed")
    listed = deliveries.list_deliveries(db, ADMIN, "hb", {"status": "failed"})
    assert [d["id"] for d in listed["items"]] == [delivery] and listed["total"] == 1
    assert listed["items"][0]["last_error"] == "receiver answered 503"
    assert len(listed["items"][0]["attempt_log"]) == 4
    again = deliveries.retry(db, ADMIN, "hb", delivery, clock())
    assert (again["status"], again["max_attempts"]) == ("pending", 8)
    channel.script = [{"status_code": 204}]
    run(db, channel, clock)
    assert db.deliveries.find_one({"_id": delivery})["status"] == "sent"
    with pytest.raises(Conflict):
        deliveries.retry(db, ADMIN, "hb", delivery, clock())


def test_a_failure_that_will_not_pass_fails_at_once(db):
    hook(db)
    delivery = queue(db)
    run(db, Scripted(channels.DeliveryError("receiver answered 404", retryable=False, status_code=404)), Clock())
    doc = db.deliveries.find_one({"_id": delivery})
    assert (doc["status"], doc["attempts"]) == ("failed", 1)


def test_a_removed_webhook_or_a_lost_address_fails_the_delivery(db):
    clock = Clock()
    lost = queue(db)
    no_phone = queue(db, channel="sms", recipient="wenxiaohua")
    run(db, Scripted(), clock)
    assert {d["_id"]: d["last_error"] for d in db.deliveries.find({"status": "failed"})} == {
        lost: "the webhook was removed or switched off", no_phone: "the user has no sms address any more"}


def test_a_claim_is_leased_and_only_its_holder_records_the_outcome(db):
    hook(db)
    clock = Clock()
    queue(db)
    first = deliveries.claim(db, clock())
    assert deliveries.claim(db, clock()) is None  # leased: nobody else takes it
    clock.advance(3600)  # the holder died; the lease ran out
    second = deliveries.claim(db, clock())
    assert second["claims"] == 2
    assert not deliveries.record_success(db, first, clock())  # the stale holder changes nothing
    assert deliveries.record_success(db, second, clock())
    assert db.deliveries.find_one({"_id": second["_id"]})["attempts"] == 1


def test_the_same_event_never_queues_a_channel_twice_for_a_recipient(db):
    queue(db)
    doc = deliveries.new(district="hb", event_id="e1", type_="x", channel="webhook", recipient="hook1",
                         payload={}, now=T0)
    assert deliveries.enqueue(db, [doc]) == 0
    # the unique key is the _id, made of the event, the channel and the recipient, and of nothing else
    again = deliveries.new(district="hb", event_id="e1", type_="y", channel="webhook", recipient="hook1",
                           payload={"other": True}, now=T0 + timedelta(hours=1), category="task")
    assert again["_id"] == doc["_id"] and deliveries.enqueue(db, [again]) == 0
    others = [deliveries.new(district="hb", event_id=e, type_="x", channel=c, recipient=r, payload={}, now=T0)
              for e, c, r in (("e2", "webhook", "hook1"), ("e1", "sms", "hook1"), ("e1", "webhook", "hook2"))]
    assert deliveries.enqueue(db, others + [again]) == 3
    assert db.deliveries.count_documents({}) == 4


def test_a_slow_delivery_does_not_hold_up_the_others(db):
    hook(db)
    clock = Clock()
    for i in range(5):
        queue(db, event_id=f"e{i}")
    slow = Held()
    courier = deliveries.Courier(channels=lambda: {"webhook": slow})
    courier.setup()
    assert courier.dispatch(db, clock) == 5
    # the slow one is only let go once the four others are sent: a courier that waited for it would never get there
    until_sent = eventlet.Timeout(10, False)
    with until_sent:
        while db.deliveries.count_documents({"status": "sent"}) < 4:
            eventlet.sleep(0.01)
    assert db.deliveries.count_documents({"status": "sent"}) == 4
    assert slow.in_flight == ["e0"] and db.deliveries.find_one({"event_id": "e0"})["status"] == "pending"
    slow.release.send()
    courier.wait()
    assert db.deliveries.count_documents({"status": "sent"}) == 5
    courier.stop()


class Held(channels.Channel):
    """Holds the delivery of event e0 until released; answers the others at once."""
    name = "webhook"

    def __init__(self):
        self.release = eventlet.event.Event()
        self.in_flight = []

    def send(self, delivery, target):
        if delivery["event_id"] == "e0":
            self.in_flight.append("e0")
            self.release.wait()
            self.in_flight.remove("e0")
        return {"status_code": 200}


# -- the webhook channel against a real HTTP receiver ----------------------------------

def test_webhooks_are_signed_and_answers_classified(db):
    with Receiver() as receiver:
        ok = receiver.route("/ok", secret="s3cret")
        receiver.route("/missing", secret="s3cret", status=404)
        receiver.route("/broken", secret="s3cret", status=500)
        receiver.route("/slow", secret="s3cret", delay=2)
        channel = channels.WebhookChannel()
        doc = {"_id": "d1", "type": "petition_dispatched",
               "payload": {"event": {"event_id": "e1", "type": "petition_dispatched", "data": {"title": "路灯"}}}}
        assert channel.send(doc, {"url": receiver.base + "/ok", "secret": "s3cret"}) == {"status_code": 200}
        request = ok.requests[0]
        assert request["verified"], request["error"]
        assert request["json"] == {"delivery_id": "d1", "attempt": 1, "event": doc["payload"]["event"]}
        assert request["headers"]["X-CivicGrid-Delivery"] == "d1"
        assert request["headers"]["X-CivicGrid-Event"] == "petition_dispatched"
        for path, retryable in (("/missing", False), ("/broken", True)):
            with pytest.raises(channels.DeliveryError) as err:
                channel.send(doc, {"url": receiver.base + path, "secret": "s3cret"})
            assert err.value.retryable is retryable
        with pytest.raises(channels.DeliveryError) as err:  # answers after 2 s; the limit is 0.5 s
            channel.send(doc, {"url": receiver.base + "/slow", "secret": "s3cret"})
        assert err.value.retryable and "timed out after 0.5s" in str(err.value)
        with pytest.raises(channels.DeliveryError) as err:  # nobody listens there
            channel.send(doc, {"url": "http://127.0.0.1:9/", "secret": "s3cret"})
        assert err.value.retryable


def test_a_receiver_rejects_tampering_old_timestamps_and_replays():
    body = b'{"delivery_id":"d1"}'
    now = time.time()
    headers = signing.headers("s3cret", body, "d1", "petition_dispatched", timestamp=now)
    verifier = signing.Verifier("s3cret")
    assert verifier.verify(headers, body) == "d1"
    with pytest.raises(signing.SignatureError, match="replayed"):
        verifier.verify(headers, body)
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.Verifier("s3cret").verify(headers, body + b" ")
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.Verifier("other").verify(headers, body)
    old = signing.headers("s3cret", body, "d1", "petition_dispatched", timestamp=now - 600)
    with pytest.raises(signing.SignatureError, match="tolerance"):
        signing.Verifier("s3cret").verify(old, body)
    with pytest.raises(signing.SignatureError, match="unsigned"):
        verifier.verify({}, body)
    assert signing.signature("k", 1, b"x") == signing.signature("k", "1", "x")


def test_webhook_urls_must_be_https_unless_local_http_is_allowed(monkeypatch):
    assert channels.url_problem("https://dept.example.gov.cn/civicgrid") is None
    assert channels.url_problem("http://127.0.0.1:8080/x") is None
    assert "https" in channels.url_problem("http://dept.example.gov.cn/x")
    assert channels.url_problem("ftp://x") is not None and channels.url_problem("https://") is not None
    monkeypatch.delenv("CIVICGRID_WEBHOOK_ALLOW_LOCAL_HTTP")
    assert "CIVICGRID_WEBHOOK_ALLOW_LOCAL_HTTP" in channels.url_problem("http://127.0.0.1:8080/x")


def test_sms_and_wechat_adapters_use_their_sender(caplog):
    class Sender:
        def __init__(self):
            self.calls = []

        def send(self, address, title, body, **extra):
            self.calls.append((address, title, body, extra))
            return {"provider_id": "p1"}

    sender = Sender()
    doc = {"_id": "d", "payload": {"title": "诉求已派单", "body": "您的诉求「路灯」已派单"}}
    assert channels.SmsChannel(sender).send(doc, {"address": "13800000000"}) == {"provider_id": "p1"}
    assert sender.calls[0][:3] == ("13800000000", "诉求已派单", "【诉求已派单】您的诉求「路灯」已派单")
    channels.WeChatChannel(sender).send(doc, {"address": "oWen123"})
    assert sender.calls[1][3]["data"]["keyword1"] == "您的诉求「路灯」已派单"

    class Down:
        def send(self, *args, **kwargs):
            raise ConnectionError("gateway down")

    with pytest.raises(channels.DeliveryError) as err:
        channels.SmsChannel(Down()).send(doc, {"address": "13800000000"})
    assert err.value.retryable
    with caplog.at_level("INFO"):
        assert channels.LoggingSender("SMS").send("13800000000", "t", "b")["provider_id"].startswith("log-")
    assert "138****00" in caplog.text and "13800000000" not in caplog.text


# -- webhooks as configured --------------------------------------------------------------

def test_webhooks_for_a_district_and_a_department(db):
    directory = FakeDirectory()
    district = webhooks.create(db, ADMIN, directory, "hb", {"url": "https://hb.example.gov.cn/hook"})
    assert len(district["secret"]) == 64
    dept = webhooks.create(db, CLERK, directory, "hb", {"url": "https://cj.example.gov.cn/hook",
                                                        "department_id": "chengjian",
                                                        "events": ["petition_dispatched"]})
    event = petition_event("petition_dispatched", department_id="chengjian")
    domain.notify(db, directory, event, now=T0)
    hooked = {d["recipient"] for d in db.deliveries.find({"event_id": event["event_id"], "channel": "webhook"})}
    assert hooked == {district["id"], dept["id"]}
    other = petition_event("petition_accepted", department_id="chengjian")
    domain.notify(db, directory, other, now=T0)
    assert {d["recipient"] for d in db.deliveries.find({"event_id": other["event_id"]})} == {district["id"]}
    assert [w["id"] for w in webhooks.list_(db, CLERK, "hb")] == [dept["id"]]
    assert "secret" not in webhooks.list_(db, ADMIN, "hb")[0]
    rotated = webhooks.rotate(db, ADMIN, "hb", dept["id"])
    assert rotated["secret"] != dept["secret"]
    with pytest.raises(NotFound):
        webhooks.delete(db, CLERK, "hb", district["id"])  # not theirs: it does not exist for them
    webhooks.delete(db, ADMIN, "hb", dept["id"])
    assert len(webhooks.list_(db, ADMIN, "hb")) == 1


@pytest.mark.parametrize("payload, who, field", [
    ({"url": "http://hb.example.gov.cn/hook"}, ADMIN, "url"),
    ({"url": "https://x.example/h", "department_id": "nowhere"}, ADMIN, "department_id"),
    ({"url": "https://x.example/h", "events": ["petition_dispatched", "gossip"]}, ADMIN, "events[1]"),
    ({"url": "https://x.example/h", "department_id": "chengjian", "events": ["points_awarded"]}, ADMIN,
     "events[0]"),
    ({"url": "https://x.example/h", "secret": "mine"}, ADMIN, "secret"),
    ({}, ADMIN, "url"),
])
def test_bad_webhooks_are_refused(db, payload, who, field):
    with pytest.raises(Invalid) as err:
        webhooks.create(db, who, FakeDirectory(), "hb", payload)
    assert field in err.value.errors
    assert db.webhooks.count_documents({}) == 0


def test_only_administrators_and_a_departments_own_staff_manage_webhooks(db):
    with pytest.raises(Forbidden):
        webhooks.create(db, RESIDENT, FakeDirectory(), "hb", {"url": "https://x.example/h"})
    with pytest.raises(Forbidden):
        webhooks.create(db, CLERK, FakeDirectory(), "hb", {"url": "https://x.example/h"})
    with pytest.raises(Forbidden):
        deliveries.list_deliveries(db, CLERK, "hb")
    with pytest.raises(Invalid) as err:
        deliveries.list_deliveries(db, ADMIN, "hb", {"channel": "fax"})
    assert "channel" in err.value.errors
