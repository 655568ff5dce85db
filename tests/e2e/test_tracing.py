"""One petition followed through the JSON logs of all five processes by its correlation id."""
import json
import uuid

from civicgrid import correlation

from .conftest import balance, eventually

PROCESSES = {"gateway", "grid", "petitions", "points", "notify"}


def lines_with(platform, needle):
    """Every line of the platform's log that mentions ``needle``, parsed: each must be one JSON object."""
    with open(platform.log_path, encoding="utf-8", errors="replace") as f:
        found = [line for line in f if needle in line]
    parsed = []
    for line in found:
        record = json.loads(line)   # a line that is not JSON fails the test here
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def by_service(records):
    services = {}
    for record in records:
        services.setdefault(record["service"], []).append(record)
    return services


def test_one_request_id_follows_a_petition_through_every_process(platform, users):
    resident, leader = users["wenxiaohua"], users["daiyunzhong"]
    trace = "trace-" + uuid.uuid4().hex
    headers = {correlation.HEADER: trace}
    before = balance(leader)

    answer = resident.session.post(platform.url + "/api/v1/petitions", headers={
        **headers, "Authorization": f"Bearer {resident.token}"}, json={
        "category": "streetlight", "title": "追踪：28栋灯不亮", "description": "按请求号查日志"}, timeout=30)
    assert answer.status_code == 201 and answer.headers[correlation.HEADER] == trace
    pid = answer.json()["id"]
    leader.act(pid, "claim", headers=dict(headers))
    leader.act(pid, "resolve", {"note": "已修好"}, headers=dict(headers))
    resident.act(pid, "rate", {"score": 5}, headers=dict(headers))
    eventually(lambda: balance(leader) == before + 10)   # points acted on petition_closed

    # each service logs a worker once it has answered or acked: wait for the last of them
    expected = {"petitions.submit", "petitions.act", "grid.locate_building", "points.handle_petition_closed",
                "notify.handle_petition_submitted", "notify.handle_petition_closed", "notify.handle_points_awarded"}

    def complete():
        found = lines_with(platform, trace)
        return found if expected <= {r.get("entrypoint") for r in found} else None
    records = eventually(complete, timeout=20)
    services = by_service(records)
    assert set(services) == PROCESSES
    for record in records:
        assert record[correlation.CONTEXT_KEY] == trace, record
        assert {"time", "level", "service", "pid", "logger", "message"} <= set(record)

    # the gateway: one request line per call, with the route template, not the path
    gateway = [r for r in services["gateway"] if r["logger"] == "gateway.requests"]
    assert {(r["method"], r["route"], r["status"]) for r in gateway} >= {
        ("POST", "/api/v1/petitions", 201), *(("POST", f"/api/v1/petitions/<petition_id>/{action}", 200)
                                              for action in ("claim", "resolve", "rate"))}
    assert {r["petition_id"] for r in gateway if r["route"] != "/api/v1/petitions"} == {pid}

    def handled(service, entrypoint):
        return [r for r in services[service] if r.get("entrypoint") == f"{service}.{entrypoint}"]

    # each service logs what it handled, with outcome, duration and the petition
    submit = handled("petitions", "submit")
    assert submit and submit[0]["outcome"] == "ok" and submit[0]["petition_id"] == pid
    assert isinstance(submit[0]["duration_ms"], (int, float))
    assert {r["petition_id"] for r in handled("petitions", "act")} == {pid}
    assert handled("grid", "locate_building")                  # an RPC the petitions service made
    closed = handled("points", "handle_petition_closed")       # an event the outbox relayed
    assert closed and closed[0]["petition_id"] == pid and closed[0]["kind"] == "event"
    notified = {r["entrypoint"] for r in services["notify"] if r.get("petition_id") == pid}
    assert {"notify.handle_petition_submitted", "notify.handle_petition_closed",
            "notify.handle_points_awarded"} <= notified      # points' own event carries the id on


def test_each_request_has_its_own_id_and_a_bad_one_is_replaced(platform, users):
    resident = users["wenxiaohua"]
    ids = set()
    for sent in (None, "has spaces in it", "x" * 500):
        response = resident.session.get(platform.url + "/api/v1/petitions", timeout=30, headers={
            "Authorization": f"Bearer {resident.token}", **({correlation.HEADER: sent} if sent else {})})
        assert response.status_code == 200
        ids.add(response.headers[correlation.HEADER])
    assert len(ids) == 3 and "x" * 100 in ids     # too long: capped; not printable: a fresh one
    assert "has spaces in it" not in ids
    # errors carry it too
    missing = resident.session.get(platform.url + "/api/v1/petitions/hb-999999", timeout=30, headers={
        "Authorization": f"Bearer {resident.token}", correlation.HEADER: "lost-1"})
    assert missing.status_code == 404 and missing.headers[correlation.HEADER] == "lost-1"
    assert [r["status"] for r in lines_with(platform, '"lost-1"') if r["logger"] == "gateway.requests"] == [404]
