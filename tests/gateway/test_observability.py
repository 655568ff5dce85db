"""The gateway's correlation id, request line and /metrics (Flask test client, the real broker behind)."""
import logging

import eventlet
import pytest
from prometheus_client.parser import text_string_to_metric_families

from civicgrid import correlation, logs
from civicgrid.tracing import Tracing
from gateway.app import create_app
from services.grid.service import GridService


@pytest.fixture
def client(rabbit_config):
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "RPC_TIMEOUT": 5})
    return app.test_client()


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(logs.ContextFilter("test"))
    return lambda name: [r for r in caplog.records if r.name == name]


def samples(client, name):
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return [(s.labels, s.value) for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples if s.name == name]


def count(client, **labels):
    return sum(v for found, v in samples(client, "civicgrid_http_requests_total")
               if all(found.get(k) == w for k, w in labels.items()))


def test_every_response_carries_the_request_id_sent_or_a_new_one(client):
    assert client.get("/healthz", headers={"X-Request-ID": "phone-1"}).headers["X-Request-ID"] == "phone-1"
    fresh = client.get("/healthz").headers["X-Request-ID"]
    assert len(fresh) == 32 and fresh != client.get("/healthz").headers["X-Request-ID"]
    assert client.get("/healthz", headers={"X-Request-ID": "bad id"}).headers["X-Request-ID"] != "bad id"
    # errors too: no route, a bad body, no token
    for response in (client.get("/no/such/page", headers={"X-Request-ID": "e-404"}),
                     client.post("/api/v1/auth/token", json={}, headers={"X-Request-ID": "e-422"}),
                     client.get("/api/v1/petitions", headers={"X-Request-ID": "e-401"})):
        assert response.status_code in (404, 422, 401)
        assert response.headers["X-Request-ID"] == f"e-{response.status_code}"
        assert response.json["code"] == response.status_code


def test_one_request_line_per_request_with_the_route_and_the_id(client, records):
    client.get("/api/v1/petitions/hb-000001", headers={"X-Request-ID": "line-1"})
    client.get("/healthz", headers={"X-Request-ID": "line-2"})
    [line] = [r for r in records("gateway.requests") if r.correlation_id == "line-1"]
    assert line.levelno == logging.INFO
    assert (line.method, line.route, line.path, line.status, line.petition_id) == (
        "GET", "/api/v1/petitions/<petition_id>", "/api/v1/petitions/hb-000001", 401, "hb-000001")
    assert [r.levelno for r in records("gateway.requests") if r.correlation_id == "line-2"] == [logging.DEBUG]
    assert correlation.current() is None   # nothing left behind once the request ended


def test_metrics_count_by_route_template_method_and_status_not_by_path(client):
    before = count(client, route="/api/v1/petitions/<petition_id>", status="401", method="GET")
    for pid in ("hb-000001", "hb-000002", "hb-000003"):
        client.get(f"/api/v1/petitions/{pid}")
    client.open("/healthz", method="BREW")
    assert count(client, route="/api/v1/petitions/<petition_id>", status="401", method="GET") == before + 3
    assert count(client, route="<unmatched>", method="OTHER") + count(client, route="/healthz", method="OTHER") >= 1
    routes = {labels["route"] for labels, _ in samples(client, "civicgrid_http_requests_total")}
    assert not any("hb-00000" in route for route in routes)
    buckets = {labels["le"] for labels, _ in samples(client, "civicgrid_http_request_duration_seconds_bucket")
               if labels["route"] == "/api/v1/petitions/<petition_id>"}
    assert {"0.005", "0.1", "+Inf"} <= buckets


def test_metrics_are_left_out_of_the_openapi_document_and_never_rate_limited(client):
    assert "/metrics" not in client.get("/api/v1/openapi.json").json["paths"]
    assert all(client.get("/metrics").status_code == 200 for _ in range(50))


def test_a_scrape_token_when_one_is_set(client, monkeypatch):
    monkeypatch.setenv("CIVICGRID_METRICS_TOKEN", "s3cret")
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.json["code"] == 401 and refused.headers["X-Request-ID"]
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_the_request_id_rides_with_the_rpc_into_the_service_and_its_log_line(client, container_factory,
                                                                                service_config, records):
    grid = container_factory(GridService, service_config)
    grid.start()
    answer = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong-password"},
                         headers={"X-Request-ID": "signin-7"})
    assert answer.status_code == 401 and answer.headers["X-Request-ID"] == "signin-7"
    # the service logs once it has answered: a moment after the gateway has its reply
    with eventlet.Timeout(10):
        while not [r for r in records("civicgrid.tracing") if r.entrypoint == "grid.authenticate"]:
            eventlet.sleep(0.02)
    [line] = [r for r in records("civicgrid.tracing") if r.entrypoint == "grid.authenticate"]
    assert (line.correlation_id, line.outcome) == ("signin-7", "rejected")
    assert any(isinstance(d, Tracing) for d in grid.dependencies)
