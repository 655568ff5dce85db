"""The kit's Metrics and Tracing providers in a real container on the real broker."""
import logging

import eventlet
import pytest
import requests
from kombu import Connection
from nameko.rpc import RpcProxy
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from prometheus_client import REGISTRY

from civicgrid import correlation, logs, retries
from civicgrid.errors import NotFound
from civicgrid.handlers import event_handler
from civicgrid.metrics import Metrics
from civicgrid.rpc import rpc
from civicgrid.store import Store
from civicgrid.tracing import Tracing

SEEN = []
QUEUE = "evt-source-petition_closed--observed.handle_petition_closed"


class Observed:
    name = "observed"

    db = Store()
    tracing = Tracing(petition_key="id")
    metrics = Metrics(outboxes=("things", ("letters", {"announce": True})))
    peer = RpcProxy("observed_peer")

    @rpc
    def submit(self, payload=None):
        SEEN.append(correlation.current())
        return {"id": "hb-000009", "status": "submitted"}

    @rpc
    def act(self, petition_id, action):
        raise NotFound("no such petition", {"petition_id": ["not found"]})

    @rpc
    def crash(self):
        raise RuntimeError("a bug")

    @rpc
    def ask_peer(self):
        return self.peer.echo()

    @event_handler("source", "petition_closed")
    def handle_petition_closed(self, payload):
        SEEN.append(correlation.current())


class Peer:
    name = "observed_peer"

    tracing = Tracing()

    @rpc
    def echo(self):
        return correlation.current()


@pytest.fixture
def observed(container_factory, service_config, monkeypatch):
    monkeypatch.setenv("CIVICGRID_RETRY_DELAYS", "0.3,0.6")
    SEEN.clear()
    container = container_factory(Observed, dict(service_config, METRICS_PORT=0, METRICS_HOST="127.0.0.1"))
    container.start()
    return container


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO, logger="civicgrid.tracing")
    caplog.handler.addFilter(logs.ContextFilter("observed"))
    return lambda: [r for r in caplog.records if r.name == "civicgrid.tracing"]


def logged(records, entrypoint, count=1):
    """A worker logs once it has answered: wait for its line(s)."""
    with eventlet.Timeout(10):
        while len([r for r in records() if r.entrypoint == entrypoint]) < count:
            eventlet.sleep(0.01)
    return [r for r in records() if r.entrypoint == entrypoint]


def calls(entrypoint, outcome, kind="rpc"):
    return REGISTRY.get_sample_value("civicgrid_entrypoint_calls_total", {
        "service": "observed", "kind": kind, "entrypoint": entrypoint, "outcome": outcome}) or 0


def timed(entrypoint, kind="rpc"):
    return REGISTRY.get_sample_value("civicgrid_entrypoint_duration_seconds_count", {
        "service": "observed", "kind": kind, "entrypoint": entrypoint}) or 0


def provider(container, cls):
    return next(d for d in container.dependencies if isinstance(d, cls))


def test_every_rpc_is_counted_by_outcome_and_timed(observed):
    before = {o: calls("submit", o) for o in ("ok", "rejected", "failed")}
    before_act, before_crash, before_timed = calls("act", "rejected"), calls("crash", "failed"), timed("submit")
    with entrypoint_hook(observed, "submit") as submit:
        submit({})
        submit({})
    with entrypoint_hook(observed, "act") as act, pytest.raises(NotFound):
        act("hb-000001", "claim")
    with entrypoint_hook(observed, "crash") as crash, pytest.raises(RuntimeError):
        crash()
    with eventlet.Timeout(10):   # counted once the worker has answered
        while calls("crash", "failed") == before_crash:
            eventlet.sleep(0.01)
    assert calls("submit", "ok") == before["ok"] + 2
    assert calls("act", "rejected") == before_act + 1      # an expected error: the caller's, not ours
    assert calls("crash", "failed") == before_crash + 1
    assert timed("submit") == before_timed + 2
    assert REGISTRY.get_sample_value("civicgrid_entrypoint_duration_seconds_bucket", {
        "service": "observed", "kind": "rpc", "entrypoint": "submit", "le": "+Inf"}) >= 2


def test_metrics_are_served_on_the_configured_port(observed):
    with entrypoint_hook(observed, "submit") as submit:
        submit({})
    metrics = provider(observed, Metrics)
    assert metrics.port and metrics.port != 0
    text = requests.get(f"http://127.0.0.1:{metrics.port}/metrics", timeout=5).text
    assert 'civicgrid_entrypoint_calls_total{entrypoint="submit",kind="rpc",outcome="ok",service="observed"}' in text
    assert "process_resident_memory_bytes" in text


def test_outbox_backlog_and_parked_and_retrying_messages_are_measured_when_scraped(observed, service_config):
    metrics = provider(observed, Metrics)
    db = provider(observed, Store).db
    db.things.insert_many([{"_id": 1, "outbox": [{"event_id": "a"}, {"event_id": "b"}]}, {"_id": 2, "outbox": []},
                           {"_id": 3, "outbox": [{"event_id": "c"}]}])
    db.letters.insert_many([{"_id": 1, "announce": True}, {"_id": 2, "announce": None}])

    def gauge(name, **labels):
        return REGISTRY.get_sample_value(name, dict(labels, service="observed"))

    assert gauge("civicgrid_outbox_pending_events", collection="things") == 3
    assert gauge("civicgrid_outbox_pending_events", collection="letters") == 1
    assert metrics.consumer_queues() == [QUEUE]
    assert gauge("civicgrid_parked_messages", queue=QUEUE) == 0
    with Connection(service_config["AMQP_URI"]) as conn:
        producer = conn.Producer()
        producer.publish({"x": 1}, exchange="", routing_key=retries.parked_queue_name(QUEUE))
        producer.publish({"x": 2}, exchange="", routing_key=retries.parked_queue_name(QUEUE))
        producer.publish({"x": 3}, exchange="", routing_key=retries.wait_queue_name(QUEUE, 2))
    assert gauge("civicgrid_parked_messages", queue=QUEUE) == 2
    assert gauge("civicgrid_retrying_messages", queue=QUEUE) == 1
    db.things.update_one({"_id": 1}, {"$set": {"outbox": []}})
    assert gauge("civicgrid_outbox_pending_events", collection="things") == 1


def test_the_callers_correlation_id_is_every_log_lines_and_travels_on(observed, container_factory, service_config,
                                                                         records):
    peer = container_factory(Peer, service_config)
    peer.start()
    with entrypoint_hook(observed, "submit", context_data={"correlation_id": "req-1"}) as submit:
        submit({})
    assert SEEN == ["req-1"]
    [line] = logged(records, "observed.submit")
    assert (line.correlation_id, line.outcome, line.kind, line.petition_id) == ("req-1", "ok", "rpc", "hb-000009")
    assert line.levelno == logging.INFO and line.duration_ms >= 0
    with entrypoint_hook(observed, "act") as act, pytest.raises(NotFound):
        act("hb-000001", "claim")
    [refused] = logged(records, "observed.act")
    assert refused.outcome == "rejected" and refused.petition_id == "hb-000001"
    assert len(refused.correlation_id) == 32       # nobody sent one: a fresh id
    # an RPC the worker makes carries the id on
    with entrypoint_hook(observed, "ask_peer", context_data={"correlation_id": "req-2"}) as ask_peer:
        assert ask_peer() == "req-2"
    assert [r.correlation_id for r in logged(records, "observed_peer.echo")] == ["req-2"]
    assert correlation.current() is None           # nothing leaks out of a worker


def test_an_event_handler_takes_the_id_stored_in_the_envelope(observed, service_config, records):
    # The relay that publishes runs in a worker of its own, with an id of its own: the envelope wins.
    dispatch = event_dispatcher(service_config, headers={"nameko.correlation_id": "relay-timer"})
    envelope = {"event_id": "e-1", "type": "petition_closed", "correlation_id": "rate-req",
                "data": {"petition_id": "hb-000003"}}
    with entrypoint_waiter(observed, "handle_petition_closed"):
        dispatch("source", "petition_closed", envelope)
    assert SEEN == ["rate-req"]
    [line] = logged(records, "observed.handle_petition_closed")
    assert (line.correlation_id, line.kind, line.petition_id, line.event_type) == (
        "rate-req", "event", "hb-000003", "petition_closed")
    # an envelope from before correlation ids: the context's id, else a fresh one
    with entrypoint_waiter(observed, "handle_petition_closed"):
        dispatch("source", "petition_closed", {"event_id": "e-2", "data": {}})
    assert SEEN[-1] == "relay-timer"
