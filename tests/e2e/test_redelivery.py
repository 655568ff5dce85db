"""At-least-once delivery: the same event delivered again awards and notifies once."""
import time

import pytest
from kombu import Connection, Exchange, Queue

from .conftest import balance, eventually, notices


@pytest.fixture
def spy(amqp_uri, platform):
    """A queue of our own bound to the events we will deliver a second time."""
    with Connection(amqp_uri) as conn:
        queues = {
            "petition_closed": Queue(exchange=Exchange("petitions.events", type="topic", durable=True),
                                     routing_key="petition_closed", exclusive=True, auto_delete=True),
            "points_awarded": Queue(exchange=Exchange("points.events", type="topic", durable=True),
                                    routing_key="points_awarded", exclusive=True, auto_delete=True),
        }
        for queue in queues.values():
            queue(conn.default_channel).declare()
        yield conn, queues


def take(conn, queue, predicate, timeout=15):
    deadline = time.time() + timeout
    bound = queue(conn.default_channel)
    while time.time() < deadline:
        message = bound.get(no_ack=True)
        if message is None:
            time.sleep(0.05)
            continue
        if predicate(message.payload):
            return message
    raise AssertionError("event not seen on the bus")


def close_one(users, title, score):
    resident, leader = users["huxingyou"], users["wc-grid1"]
    pid = resident.post("/api/v1/petitions", {"category": "greening", "title": title}, expect=201)["id"]
    leader.act(pid, "claim")
    leader.act(pid, "resolve", {"note": "已处理"})
    resident.act(pid, "rate", {"score": score})
    return pid


def test_the_same_event_twice_awards_and_notifies_once(users, spy):
    conn, queues = spy
    resident, worker = users["huxingyou"], users["wc-grid1"]
    start = balance(resident), balance(worker)
    pid = close_one(users, "29栋绿化带杂草丛生", 5)
    eventually(lambda: balance(worker) == start[1] + 10 and len(notices(resident, pid)) == 5)
    closed = take(conn, queues["petition_closed"], lambda p: p["data"]["petition_id"] == pid)
    awarded = take(conn, queues["points_awarded"], lambda p: p["data"]["petition_id"] == pid)

    producer = conn.Producer()
    for message, exchange, key in ((closed, "petitions.events", "petition_closed"),
                                   (awarded, "points.events", "points_awarded")):
        for _ in range(2):
            producer.publish(message.payload, exchange=Exchange(exchange, type="topic", durable=True),
                             routing_key=key, serializer="json", headers=message.headers)

    # A later petition through the same queues proves the duplicates ahead of it were consumed.
    marker = close_one(users, "29栋单元门禁损坏", 4)
    eventually(lambda: balance(worker) == start[1] + 15 and len(notices(resident, marker)) == 5)
    time.sleep(1)
    assert balance(resident) == start[0] + 4
    assert balance(worker) == start[1] + 15
    types = sorted(n["type"] for n in notices(resident, pid))
    assert types == sorted(["petition_submitted", "petition_claimed", "petition_resolved",
                            "petition_closed", "points_awarded"])
    assert sorted(n["type"] for n in notices(worker, pid)).count("petition_closed") == 1
    assert users["hb-admin"].get("/api/v1/districts/hb/ledger/check")["sum"] == 0


def test_an_event_no_handler_can_take_is_retried_then_parked_for_the_operator(amqp_uri, platform, admin, users):
    """Nothing is acked away: a broken event waits in each consumer's parked queue, with its error."""
    broken = {"event_id": "evt-broken-" + str(time.time_ns()), "type": "petition_closed", "version": 1,
              "district": "hb", "data": {"petition_id": None}}
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(broken, exchange=Exchange("petitions.events", type="topic", durable=True),
                                routing_key="petition_closed", delivery_mode=2)

    def parked():
        return [m for m in admin.get("/api/v1/operator/parked") if m["id"] == broken["event_id"]]
    eventually(lambda: {m["consumer_queue"].rsplit(".", 1)[0] for m in parked()} >= {
        "evt-petitions-petition_closed--points", "evt-petitions-petition_closed--notify"})
    item = next(m for m in parked() if "--points." in m["consumer_queue"])
    assert item["attempts"] == 3 and item["type"] == "petition_closed"
    assert "occurred_at" in item["error"] or "petition_id" in item["error"], item["error"]

    users["huxingyou"].get("/api/v1/operator/parked", expect=403)
    admin.post("/api/v1/operator/parked/discard", {}, expect=422)
    dropped = admin.post("/api/v1/operator/parked/discard", {"ids": [broken["event_id"]]}, expect=200)
    assert len(dropped) >= 2 and parked() == []
