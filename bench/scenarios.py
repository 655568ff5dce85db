"""What the suite measures, once for the bare stack and once for ours, with the same clients.

Each pair (bare, ours) is one figure of the table:

- event path: bare ``POST /bare/touch`` (HTTP -> RPC -> event -> handler) / ours ``POST /api/v1/petitions``;
- rpc path: bare ``GET /bare/echo/<id>`` (HTTP -> RPC) / ours ``GET /api/v1/petitions/<id>``;
- drain: preloaded events consumed by a trivial handler / ``petition_closed`` by the points service; and
  the drain's ceiling, the trivial handler publishing two events per event (what points must publish);
- loop: four HTTP -> RPC -> event calls and until the handler has the last / submit -> claim -> resolve
  -> rate and until the points and the notice are visible through the gateway.
"""
import json
import os
import time
import uuid

import requests

from civicgrid import config
from civicgrid.client import Client
from civicgrid.events import make_event
from civicgrid.harness import ROOT

from . import load, queues

BARE_DRAIN_QUEUE = queues.event_queue("bare", "touched", "bare_handler", "handle_touched")
CEILING_QUEUE = queues.event_queue("bare", "closed", "bare_handler", "handle_closed")
POINTS_DRAIN_QUEUE = queues.event_queue("petitions", "petition_closed", "points", "handle_petition_closed")
SUBMIT_BODY = {"category": "garbage", "title": "楼道垃圾"}
SUBMIT_TITLES = {"garbage": "楼道垃圾", "slope": "边坡裂缝", "high_fall": "高空抛物", "streetlight": "路灯不亮"}
SUBMITTERS = ("zhangyiqin", "huxingyou", "wc-party1")  # residents of 28栋 and 29栋 (demo/hebian.json)


def wait_for(check, timeout=60, poll=0.005):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if check():
            return time.perf_counter()
        time.sleep(poll)
    raise RuntimeError("timed out waiting")


# -- ours: a district of the suite's own --------------------------------------------------------

def demo_directory(code, run):
    """demo/hebian.json's tree and people under district ``code``, usernames suffixed with ``run``
    (usernames are platform-wide). Only people placed in the tree: the demo's organisation members
    belong to organisations the suite does not import."""
    with open(os.path.join(ROOT, "demo", "hebian.json"), encoding="utf-8") as f:
        demo = json.load(f)
    placed = [u for u in demo["users"] if u.get("scope")]
    user_ids = {u["username"]: f"{u['username']}.{run}" for u in placed}
    nodes = [dict(n, parent=code if n["parent"] == "hb" else n["parent"]) for n in demo["nodes"]]
    users = [dict(u, username=user_ids[u["username"]], scope=code if u["scope"] == "hb" else u["scope"])
             for u in placed]
    scopes = {user_ids[u["username"]]: u["scope"] for u in placed}
    return {"nodes": nodes, "departments": demo["departments"], "users": users}, user_ids, scopes


class District:
    """The demo district (demo/hebian.json) under a code and usernames of this run's own."""

    def __init__(self, url):
        run = uuid.uuid4().hex[:6]
        self.url = url
        self.code = code = f"bench{run}"
        directory, self.user_ids, self.scopes = demo_directory(code, run)
        admin = Client(url).login(*config.admin_credentials())
        admin.post("/api/v1/districts", {"code": code, "name": "基准测试区"}, expect=201)
        admin.post(f"/api/v1/districts/{code}/import", directory)
        anonymous = Client(url)
        self.who = {name: anonymous.login(renamed, "demo1234") for name, renamed in self.user_ids.items()}
        self.some_ids = [self.who["zhangyiqin"].post("/api/v1/petitions", SUBMIT_BODY)["id"] for _ in range(4)]

    def token(self, name):
        return self.who[name].token


# -- targets for the load generator -------------------------------------------------------------

def bare_event_target(url):
    return load.Target(url, "POST", "/bare/touch", {"id": "x"})


def ours_event_target(district):
    """Residents of two buildings filing in four categories by turns: every petition of a category in a
    building is a possible duplicate of the next (usecases.submit), so one resident filing one category
    over and over would measure the duplicate search over a pile no estate has."""
    return load.Target(district.url, "POST", "/api/v1/petitions", variants=[
        {"body": {"category": category, "title": SUBMIT_TITLES[category]},
         "headers": {"Authorization": f"Bearer {district.token(resident)}"}}
        for resident in SUBMITTERS for category in SUBMIT_TITLES])


def bare_rpc_target(url):
    return load.Target(url, "GET", [f"/bare/echo/p{i}" for i in range(4)])


def ours_rpc_target(district):
    return load.Target(district.url, "GET", [f"/api/v1/petitions/{pid}" for pid in district.some_ids],
                       headers={"Authorization": f"Bearer {district.token('zhangyiqin')}"})


# -- one whole loop -------------------------------------------------------------------------------

def bare_loop(url, session):
    """Four HTTP -> RPC -> event calls, then until the handler has seen the last: (total, after the last)."""
    ids = [uuid.uuid4().hex for _ in range(4)]
    started = time.perf_counter()
    for value in ids:
        session.post(url + "/bare/touch", json={"id": value}, timeout=30).raise_for_status()
    answered = time.perf_counter()
    seen = wait_for(lambda: session.get(f"{url}/bare/seen/{ids[-1]}", timeout=30).json()["seen"])
    return seen - started, seen - answered


def ours_loop(district):
    """Submit -> claim -> resolve -> rate, then until the handler's points and notice are visible."""
    who = district.who
    resident, leader = who["wenxiaohua"], who["daiyunzhong"]
    before = leader.get("/api/v1/points/me")["balance"]
    started = time.perf_counter()
    pid = resident.post("/api/v1/petitions", {"category": "streetlight", "title": "路灯不亮"})["id"]
    leader.act(pid, "claim")
    leader.act(pid, "resolve", {"note": "已修复"})
    resident.act(pid, "rate", {"score": 5})
    rated = time.perf_counter()
    # the notice first: points_awarded is published after the booking, so once its notice shows the points
    # are booked too, and the points service is not kept busy answering the poll while it books them
    wait_for(lambda: bool(leader.get(f"/api/v1/notifications?petition_id={pid}&type=points_awarded")["items"]))
    seen = wait_for(lambda: leader.get("/api/v1/points/me")["balance"] >= before + 10)
    return seen - started, seen - rated


# -- drains -----------------------------------------------------------------------------------------

def bare_drain(stack, n):
    """Preload ``n`` events while the handler is frozen, then time it emptying the queue (events/s)."""
    return _bare_drain(stack, n, BARE_DRAIN_QUEUE, lambda: _bare_count(stack, "handled", "handled"))


def ceiling_drain(stack, n):
    """``bare_drain`` with a handler that publishes two events for each (``handle_closed``): the most the
    points drain could reach with the two ``points_awarded`` it owes per petition. Their consumer (the
    ``bare`` service) stays frozen meanwhile, as notify does in ``points_drain``, and catches up afterwards."""
    stack.freeze("bare")
    try:
        return _bare_drain(stack, n, CEILING_QUEUE, lambda: _bare_count(stack, "passed-on", "passed_on"))
    finally:
        stack.thaw("bare")


def _bare_count(stack, path, key):
    """One of the bare app's counters (``GET /bare/<path>``)."""
    return requests.get(f"{stack.url}/bare/{path}", timeout=30).json()[key]


def _bare_drain(stack, n, queue, count):
    uri = stack.amqp_uri
    before = count()
    stack.freeze("bare_handler")
    try:
        queues.preload(uri, queue, ({"id": f"drain-{uuid.uuid4().hex}"} for _ in range(n)))
    finally:
        started = time.perf_counter()
        stack.thaw("bare_handler")
    queues.wait_empty(uri, queue)
    done = wait_for(lambda: count() >= before + n, timeout=300, poll=0.01)
    return n / (done - started)


def closed_events(district, n):
    """``petition_closed`` envelopes the points service accepts: rated 5, handled by the building leader."""
    resident, leader = district.user_ids["wenxiaohua"], district.user_ids["daiyunzhong"]
    building = district.scopes[resident]
    for i in range(n):
        data = {"petition_id": f"{district.code}-d{uuid.uuid4().hex[:10]}", "title": "路灯不亮",
                "category": "streetlight", "kind": "issue", "status": "closed", "level": "grid",
                "building_id": building, "path": [district.code, building], "resident_id": resident,
                "department_id": None, "handler_id": leader, "rating": 5, "due_at": None, "followers": [],
                "comment": None, "reason": None, "note": None}
        yield make_event("petition_closed", district.code, {"id": resident, "role": "resident"}, data)


def points_drain(processes, district, n):
    """Preload ``n`` petition_closed events while points is frozen, then time it booking them (events/s).

    notify stays frozen meanwhile (it would take the points_awarded events on the same two cores) and
    catches up afterwards, outside the measurement."""
    uri, leader = processes.amqp_uri, district.who["daiyunzhong"]
    before = leader.get("/api/v1/points/me")["balance"]
    events = list(closed_events(district, n))
    processes.freeze("notify")
    processes.freeze("points")
    try:
        queues.preload(uri, POINTS_DRAIN_QUEUE, events)
    finally:
        started = time.perf_counter()
        processes.thaw("points")
    try:
        queues.wait_empty(uri, POINTS_DRAIN_QUEUE)
        done = wait_for(lambda: leader.get("/api/v1/points/me")["balance"] >= before + 10 * n,
                        timeout=300, poll=0.01)
    finally:
        processes.thaw("notify")
    return n / (done - started)
