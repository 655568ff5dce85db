"""Prometheus metrics: the gateway's at /metrics, each service's on its own port, moving with the traffic."""
import requests
from prometheus_client.parser import text_string_to_metric_families

from .conftest import balance, eventually


def scrape(url):
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(samples, name, **labels):
    return sum(v for found, v in samples.get(name, []) if all(found.get(k) == w for k, w in labels.items()))


def test_gateway_counts_requests_by_route_template_and_status(platform, users):
    resident = users["wenxiaohua"]
    route = {"method": "POST", "route": "/api/v1/petitions", "status": "201"}
    before = scrape(platform.url + "/metrics")
    resident.post("/api/v1/petitions", {"category": "streetlight", "title": "指标：27栋灯不亮",
                                        "description": "看计数"}, expect=201)
    resident.get("/api/v1/petitions/hb-999998", expect=404)
    after = scrape(platform.url + "/metrics")   # whichever worker answers adds up every worker's counts
    assert value(after, "civicgrid_http_requests_total", **route) == value(before, "civicgrid_http_requests_total",
                                                                             **route) + 1
    assert value(after, "civicgrid_http_requests_total", route="/api/v1/petitions/<petition_id>", status="404") >= 1
    buckets = [labels for labels, _ in after["civicgrid_http_request_duration_seconds_bucket"]
               if labels["route"] == "/api/v1/petitions" and labels["method"] == "POST"]
    assert {"0.005", "1.0", "+Inf"} <= {b["le"] for b in buckets}
    assert not any("hb-999998" in labels["route"] for labels, _ in after["civicgrid_http_requests_total"])
    assert "/metrics" not in requests.get(platform.url + "/api/v1/openapi.json", timeout=10).json()["paths"]


def test_every_service_counts_its_work_and_shows_its_backlog(platform, users):
    resident, leader = users["wenxiaohua"], users["daiyunzhong"]
    urls = platform.metrics_urls
    before = {name: scrape(url) for name, url in urls.items()}
    points_before = balance(leader)
    pid = resident.post("/api/v1/petitions", {"category": "streetlight", "title": "指标：29栋灯不亮",
                                              "description": "看服务计数"}, expect=201)["id"]
    leader.act(pid, "claim")
    leader.act(pid, "resolve", {"note": "已修好"})
    resident.act(pid, "rate", {"score": 5})
    eventually(lambda: balance(leader) == points_before + 10)

    def moved(name, entrypoint, kind):
        labels = {"service": name, "entrypoint": entrypoint, "kind": kind, "outcome": "ok"}
        now = scrape(urls[name])
        return value(now, "civicgrid_entrypoint_calls_total", **labels) > value(
            before[name], "civicgrid_entrypoint_calls_total", **labels) and now

    petitions = eventually(lambda: moved("petitions", "submit", "rpc"))
    # petitions keep the grid's answers a few seconds (CIVICGRID_GRID_CACHE_SECONDS): ask the grid directly
    resident.get("/api/v1/districts/hb")
    grid = eventually(lambda: moved("grid", "get_district", "rpc"))
    points = eventually(lambda: moved("points", "handle_petition_closed", "event"))
    notify = eventually(lambda: moved("notify", "handle_petition_closed", "event"))

    assert value(petitions, "civicgrid_entrypoint_calls_total", entrypoint="act", outcome="ok") >= 3
    assert [labels for labels, _ in petitions["civicgrid_entrypoint_duration_seconds_bucket"]
            if labels["entrypoint"] == "submit" and labels["le"] == "+Inf"]
    # measured at scrape time: what waits in the outboxes, and in the retry and parked queues
    assert {labels["collection"] for labels, _ in petitions["civicgrid_outbox_pending_events"]} == {
        "petitions", "projects"}
    assert {labels["collection"] for labels, _ in points["civicgrid_outbox_pending_events"]} == {
        "orders", "activities", "claims", "wishes"}
    assert {labels["collection"] for labels, _ in grid["civicgrid_outbox_pending_events"]} == {"households"}
    parked = {labels["queue"] for labels, _ in points["civicgrid_parked_messages"]}
    assert any(q.endswith("points.handle_petition_closed") for q in parked)
    assert all(v >= 0 for _, v in points["civicgrid_parked_messages"])
    assert notify["civicgrid_parked_messages"] and notify["civicgrid_retrying_messages"]
    assert grid["process_resident_memory_bytes"]   # the process's own, from prometheus-client
