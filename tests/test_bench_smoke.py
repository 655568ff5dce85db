"""The benchmark suite's own parts, so it does not rot between runs (CI never runs the bench itself).

No timings are asserted anywhere: the suite prints figures, these tests check it can produce them.
"""
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest
import requests

from bench import load, scenarios, suite
from bench.bare import stack
from civicgrid import launcher
from civicgrid.harness import ROOT, temporary_vhost

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000/api/v1/petitions
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    52.43ms   10.11ms 151.22ms   80.00%
    Req/Sec   153.10     20.31   200.00     70.00%
  Latency Distribution
     50%   50.12ms 
     75%   56.00ms 
     90%   63.10ms 
     99%    1.20s 
  3061 requests in 10.01s, 4.70MB read
  Non-2xx or 3xx responses: 7
Requests/sec:    305.80
Transfer/sec:    480.35KB
"""


def test_the_bare_stack_runs_the_platforms_own_gunicorn_and_nameko_settings():
    ours = dict(launcher.commands(8123, 2, 8))
    bare = dict(stack.commands(8123, 2, 8))
    assert bare["gateway"][:-1] == ours["gateway"][:-1]
    assert bare["gateway"][-1] == "bench.bare.app:create_app()"
    for name in ("bare", "bare_handler"):
        assert bare[name][:-2] == ours["points"][:-2]  # python -m nameko run --config
    import yaml
    with open(stack.os.path.join(stack.HERE, "config.yml")) as f:
        bare_config = yaml.safe_load(f)
    with open(ours["points"][-2]) as f:
        points_config = yaml.safe_load(f)
    assert bare_config["max_workers"] == points_config["max_workers"]


def test_wrk_output_is_read_into_the_suites_figures():
    figures = load.parse_wrk(WRK_OUTPUT, 10)
    assert figures == {"requests": 3061, "errors": 7, "seconds": 10, "rps": 305.80, "p50": pytest.approx(0.05012),
                       "p99": pytest.approx(1.2), "client": "wrk"}


def test_the_wrk_script_sends_each_variant_with_its_own_body_and_headers():
    target = load.Target("http://127.0.0.1:1", "POST", "/api/v1/petitions", variants=[
        {"body": {"title": "楼道垃圾"}, "headers": {"Authorization": "Bearer a"}},
        {"body": {"title": 'say "hi"\\'}, "headers": {"Authorization": "Bearer b"}}])
    script = load._lua(target)
    assert load._lua_string("楼") == '"\\230\\165\\188"'  # LuaJIT reads bytes, not \\u escapes
    assert load._lua_string('"\\') == '"\\034\\092"'
    assert script.count('["Authorization"]') == 2 and '["Content-Type"] = "application/json"' in script
    assert "wrk.format(nil, v[1], v[3], v[2])" in script


class Counting(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway
    seen = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Counting.seen.append((self.path, self.headers["Authorization"], self.rfile.read(length).decode()))
        status = 201 if self.headers["Authorization"] == "Bearer a" else 422
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def client_check():
    """A keep-alive server on loopback and the multi-process client against it, for two variants."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        target = load.Target(f"http://127.0.0.1:{httpd.server_address[1]}", "POST", "/p", variants=[
            {"body": {"n": 1}, "headers": {"Authorization": "Bearer a"}},
            {"body": {"n": 2}, "headers": {"Authorization": "Bearer b"}}])
        result = load.python_client(target, connections=2, seconds=0.5, processes=1)
    finally:
        httpd.shutdown()
        httpd.server_close()
    return {"result": result, "seen": Counting.seen}


def test_the_python_client_sends_every_variant_and_counts_the_failures():
    # in a process of its own: this one runs under eventlet's monkey-patching (nameko's test set-up),
    # where multiprocessing's pool waits for ever
    code = "import json; from tests.test_bench_smoke import client_check; print(json.dumps(client_check()))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=ROOT, PYTHONWARNINGS="ignore"))
    assert out.returncode == 0, out.stderr
    checked = json.loads(out.stdout.strip().splitlines()[-1])
    result, seen = checked["result"], checked["seen"]
    assert result["client"] == "python" and result["requests"] > 0 and result["rps"] > 0
    assert result["requests"] == len(seen)
    assert result["errors"] == sum(1 for _, auth, _ in seen if auth == "Bearer b")
    assert {(auth, body) for _, auth, body in seen} == {("Bearer a", '{"n": 1}'), ("Bearer b", '{"n": 2}')}


def test_tiny_and_only_shape_a_run():
    args = suite.parse(["--tiny", "--only", "event,drain"])
    assert (args.rounds, args.drain, args.only) == (1, 10, ["event", "drain"])
    with pytest.raises(SystemExit):
        suite.parse(["--only", "everything"])


def test_a_ratio_is_the_median_of_each_rounds_own_ratio_and_targets_are_read_both_ways():
    args = suite.parse(["--tiny"])
    run = suite.Suite(args, None, None, None)
    for bare, ours in ((100, 70), (300, 150), (200, 130)):   # ratios 0.70, 0.50, 0.65
        run.record("event", "bare", bare)
        run.record("event", "ours", ours)
    run.record("loop1_p99", "bare", 20.0)
    run.record("loop1_p99", "ours", 50.0)
    rows = {row["name"]: row for row in run.medians()}
    assert rows["event"]["ratio"] == pytest.approx(0.65) and rows["event"]["met"] is True
    assert (rows["event"]["bare"], rows["event"]["ours"]) == (200, 130)
    assert rows["loop1_p99"]["met"] is True and rows["loop1_p99"]["ratio"] == pytest.approx(2.5)
    assert "drain" not in rows  # nothing measured, nothing shown


def test_the_suites_district_is_the_demos_tree_and_placed_people_under_codes_of_its_own():
    directory, user_ids, scopes = scenarios.demo_directory("benchx", "r1")
    assert user_ids["zhangyiqin"] == "zhangyiqin.r1"
    assert {u["username"] for u in directory["users"]} == set(user_ids.values())
    assert all(u.get("scope") for u in directory["users"])
    assert not [n for n in directory["nodes"] if n["parent"] == "hb"]
    assert [n for n in directory["nodes"] if n["parent"] == "benchx"]
    assert scenarios.SUBMITTERS[0] in user_ids and scopes[user_ids[scenarios.SUBMITTERS[0]]]


def test_the_drain_ceiling_is_a_ratio_to_the_bare_drain_of_its_own_round():
    run = suite.Suite(suite.parse(["--tiny"]), None, None, None)
    for drain, ceiling in ((1000, 400), (2000, 1000), (1500, 900)):   # ratios 0.40, 0.50, 0.60
        run.record("drain", "bare", drain)
        run.record("ceiling", "bare", ceiling)
    rows = {row["name"]: row for row in run.medians()}
    assert (rows["ceiling"]["bare"], rows["ceiling"]["ours"]) == (900, None)
    assert rows["ceiling"]["ratio"] == pytest.approx(0.50) and rows["ceiling"]["met"] is None


@pytest.mark.e2e
def test_the_drain_ceilings_handler_publishes_two_events_for_each_it_takes():
    with temporary_vhost("civicgrid_bench_smoke") as uri:
        bare = stack.BareStack(uri)
        try:
            bare.start()
            assert scenarios.ceiling_drain(bare, 20) > 0

            def landed():
                return requests.get(f"{bare.url}/bare/landed", timeout=10).json()["landed"]
            # bare took the forty passed-on events once thawed, and not one more
            scenarios.wait_for(lambda: landed() >= 40, timeout=30)
            assert landed() == 40
            assert requests.get(f"{bare.url}/bare/passed-on", timeout=10).json() == {"passed_on": 20}
            assert scenarios.queues.ready(uri, [scenarios.CEILING_QUEUE]) == {scenarios.CEILING_QUEUE: 0}
        finally:
            bare.stop()
