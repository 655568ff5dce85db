"""Chaos: a steady load of petitions through the whole loop while processes die and RabbitMQ restarts.

    python -m tests.chaos.run            (or .venv/bin/python tests/chaos/run.py)

Starts the platform's five processes on their own (``civicgrid.harness.Processes``, the
launcher's commands, a throwaway vhost), imports the demo district (demo/hebian.json) and
keeps a few residents walking the grid path: submit → building leader claims → resolves →
resident rates 5. Every command carries an ``Idempotency-Key`` and is retried with the same
key after a connection error, a 502/503/504, a 500 or a 409 "still being handled", so a retry
is never a second petition. Meanwhile a chaos thread works through its plan:

- with ``MONGO_URI`` set (a real MongoDB): SIGKILL and restart each of grid, petitions,
  points, notify and the gateway ``--kills`` times, kill single gunicorn workers, restart
  RabbitMQ once; after the load, restart every service process and check again that the data
  is intact;
- with ``MONGO_URI`` unset (mongomock: each service's data lives in its process, so SIGKILL
  would take it along): SIGKILL the gateway (master and workers together, the master alone,
  single workers) several times, freeze each stateful service with SIGSTOP/SIGCONT (its memory
  stays) and restart RabbitMQ once; the output says what this cannot check.

Afterwards it compares what the clients were told with what the system holds (through the
API only) and prints the counts: sent, acknowledged, lost, duplicated. Exit status 0 only with
zero lost and zero duplicated. ``--json PATH`` writes the same report for tests/chaos/test_chaos.py.

RabbitMQ is shared with whoever else uses this machine's broker, so it is restarted once,
briefly (``rabbitmqctl stop_app`` / ``start_app``), and this script makes sure it runs again,
management plugin included, whatever happens (``--no-broker-restart`` leaves it alone).
"""
import argparse
import collections
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:      # run as a file: tests/chaos/run.py
    sys.path.insert(0, ROOT)

import requests  # noqa: E402

from civicgrid import broker, config  # noqa: E402
from civicgrid.harness import Processes, drop_databases, management_url, temporary_vhost  # noqa: E402

DEMO = os.path.join(ROOT, "demo", "hebian.json")
PASSWORD = "demo1234"
SERVICES = ("grid", "petitions", "points", "notify")
# resident, the building the petition is about, the building leader of that building
LANES = (("wenxiaohua", "b28", "daiyunzhong"), ("zhangyiqin", "b28", "daiyunzhong"),
         ("huxingyou", "b27", "daijiaqian"))
# whose inboxes are read: the lanes' people and the grid's staff (who must hear only what the rules say)
WATCHED = ("wenxiaohua", "zhangyiqin", "huxingyou", "daiyunzhong", "daijiaqian", "wc-grid1", "wc-secretary")
CATEGORIES = ("streetlight", "garbage")
STEPS = (("claim", "leader", {}, "in_progress"),
         ("resolve", "leader", {"note": "已处理"}, "resolved"),
         ("rate", "resident", {"score": 5, "comment": "满意"}, "closed"))
POINTS = {"resident": 2, "leader": 10}     # README: 2 for rating, 10 to the resolver for 5 stars
STILL_RUNNING = "still being handled"      # civicgrid.idempotency_keys: the first request with the key is running
RETRY_STATUS = (500, 502, 503, 504)


def log(message):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {message}", flush=True)


class GaveUp(Exception):
    pass


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.samples = collections.defaultdict(list)

    def add(self, what, sample=None):
        with self.lock:
            self.counts[what] += 1
            if sample and len(self.samples[what]) < 5:
                self.samples[what].append(sample)


class Caller:
    """One user's HTTP client that outlives gateway restarts and broker outages: it retries.

    A command is sent with the same ``Idempotency-Key`` every time, so whatever happened to the
    earlier attempt (answered but the answer lost, still running, never arrived) it runs once.
    """

    def __init__(self, url, username, stats, patience):
        self.url = url
        self.username = username
        self.stats = stats
        self.patience = patience
        self.session = requests.Session()
        self.token = None

    def request(self, method, path, json=None, params=None, key=None, patience=None):
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        end = time.time() + (patience or self.patience)
        delay = 0.2
        while True:
            try:
                response = self.session.request(method, self.url + path, json=json, params=params,
                                                headers=headers, timeout=(3, 30))
            except requests.RequestException as err:
                self.stats.add("connection error", f"{method} {path}: {err.__class__.__name__}")
                why = err.__class__.__name__
            else:
                status = response.status_code
                message = _message(response)
                if status in RETRY_STATUS:
                    self.stats.add(f"HTTP {status}", f"{method} {path}: {message}")
                    why = f"{status} {message}"
                elif status == 409 and key and STILL_RUNNING in message:
                    self.stats.add("HTTP 409 still being handled", f"{method} {path}")
                    why = f"409 {message}"
                else:
                    return response
            if time.time() > end:
                raise GaveUp(f"{self.username} {method} {path}: no answer within {patience or self.patience:.0f}s "
                             f"(last: {why})")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.6, 2.0)

    def json(self, method, path, expect=200, **kwargs):
        response = self.request(method, path, **kwargs)
        if response.status_code != expect:
            raise AssertionError(f"{self.username} {method} {path}: {response.status_code} {_message(response)}")
        return response.json()

    def login(self):
        self.token = self.json("POST", "/api/v1/auth/token",
                               json={"username": self.username, "password": PASSWORD})["access_token"]
        return self


def _message(response):
    try:
        return str(response.json().get("message", ""))
    except ValueError:
        return response.text[:200]


def new_key():
    return "chaos-" + uuid.uuid4().hex


class Record:
    """What the clients were told about one petition."""

    def __init__(self, lane, resident, building, leader, title, category):
        self.lane, self.resident, self.building, self.leader = lane, resident, building, leader
        self.title, self.category = title, category
        self.id = None
        self.acked = []          # the actions the platform acknowledged, in order
        self.read_back = []      # actions refused with 409 on a retry whose effect a read then showed
        self.error = None
        self.warmup = False

    @property
    def closed(self):
        return "rate" in self.acked


class Run:
    def __init__(self, args):
        self.args = args
        self.mongo = bool(config.mongo_uri())
        self.stats = Stats()
        self.records = []
        self.records_lock = threading.Lock()
        self.stop_load = threading.Event()
        self.timeline = []           # (seconds since the load began, what the chaos thread did)
        self.kinds = collections.Counter()
        self.skipped = []            # chaos steps left out to stay within --max-chaos-seconds
        self.t0 = None
        self.frozen = set()
        self.anomalies = []
        self.broker_facts = {}
        self.run_id = uuid.uuid4().hex[:6]
        self.patience = 240 if self.mongo else 90

    # -- set-up ----------------------------------------------------------------------------

    def caller(self, username):
        return Caller(self.platform.url, username, self.stats, self.patience)

    def import_demo(self):
        with open(DEMO, encoding="utf-8") as f:
            demo = json.load(f)
        admin = self.caller("admin")
        admin.token = admin.json("POST", "/api/v1/auth/token",
                                 json={"username": "admin", "password": "admin"})["access_token"]
        admin.json("POST", "/api/v1/districts", expect=201, json=demo["district"], key=new_key())
        counts = admin.json("POST", "/api/v1/districts/hb/import", key=new_key(),
                            json={k: v for k, v in demo.items() if k != "district"})
        assert counts["users"] == len(demo["users"]), counts
        self.users = {name: self.caller(name).login() for name in set(WATCHED) | {"hb-admin"}}

    # -- the load --------------------------------------------------------------------------

    def walk(self, lane, n, warmup=False):
        resident, building, leader = LANES[lane]
        record = Record(lane, resident, building, leader, f"chaos {self.run_id} L{lane} #{n}",
                        CATEGORIES[n % len(CATEGORIES)])
        record.warmup = warmup
        with self.records_lock:
            self.records.append(record)
        people = {"resident": self.lane_users[lane][0], "leader": self.lane_users[lane][1]}
        try:
            response = people["resident"].request("POST", "/api/v1/petitions", key=new_key(), json={
                "category": record.category, "title": record.title, "building_id": building,
                "description": f"{building} 楼道/门口的问题 (chaos run {self.run_id})"})
            if response.status_code != 201:
                record.error = f"submit answered {response.status_code}: {_message(response)}"
                return record
            record.id = response.json()["id"]
            record.acked.append("submit")
            for action, who, body, status in STEPS:
                path = f"/api/v1/petitions/{record.id}/{action}"
                response = people[who].request("POST", path, json=body, key=new_key())
                if response.status_code == 200 and response.json().get("status") == status:
                    record.acked.append(action)
                    continue
                if response.status_code == 409:
                    # Not a replay of our own key: an earlier attempt may have landed while its key was
                    # released (a crash between the write and recording the answer). Read what happened.
                    current = people[who].json("GET", f"/api/v1/petitions/{record.id}")
                    if action in [e["action"] for e in current["timeline"]]:
                        record.acked.append(action)
                        record.read_back.append(action)
                        self.stats.add("HTTP 409 on a retry, done already (read back)", f"{record.id} {action}")
                        continue
                record.error = f"{action} answered {response.status_code}: {_message(response)}"
                return record
        except GaveUp as err:
            record.error = str(err)
        except Exception as err:  # a bug in this script or an unexpected answer: keep going, report it
            record.error = f"{err.__class__.__name__}: {err}"
        return record

    def lane(self, lane):
        n = 100
        while not self.stop_load.is_set():
            n += 1
            record = self.walk(lane, n)
            if record.error:
                log(f"lane {lane}: {record.title}: {record.error}")
            time.sleep(self.args.pace)

    # -- chaos -----------------------------------------------------------------------------

    def at(self):
        return time.time() - self.t0

    def note(self, what, kind=None):
        self.timeline.append((self.at(), what))
        if kind:
            self.kinds[kind] += 1
        log(what)

    def freeze_for(self, name, seconds, wait=False):
        def frozen():
            self.platform.freeze(name)
            self.frozen.add(name)
            try:
                time.sleep(seconds)
            finally:
                self.platform.thaw(name)
                self.frozen.discard(name)
        thread = threading.Thread(target=frozen, name=f"freeze-{name}", daemon=True)
        thread.start()
        self.note(f"SIGSTOP {name} (pid {self.platform.pid(name)}) for {seconds:g}s, then SIGCONT",
                  f"freeze {name} (SIGSTOP/SIGCONT)")
        if wait:
            thread.join()
        return thread

    def kill_gateway_group(self):
        pid = self.platform.pid("gateway")
        began = time.time()
        self.platform.kill("gateway")
        self.platform.start_one("gateway")
        self.platform.wait_up("gateway", 60)
        self.note(f"SIGKILL gateway master {pid} and its workers; restarted, serving again after "
                  f"{time.time() - began:.1f}s", "SIGKILL gateway (master and workers)")

    def kill_gateway_master(self):
        pid = self.platform.pid("gateway")
        began = time.time()
        workers = self.platform.kill_master_only("gateway", timeout=4)
        self.platform.start_one("gateway")
        self.platform.wait_up("gateway", 60)
        self.note(f"SIGKILL gateway master {pid} alone (its orphaned workers {workers} finish what they hold, "
                  f"SIGKILL after 4s); restarted, serving again after {time.time() - began:.1f}s",
                  "SIGKILL gateway master alone")

    def kill_gateway_worker(self):
        began = time.time()
        victim, replacement = self.platform.kill_worker("gateway")
        self.note(f"SIGKILL gateway worker {victim}; gunicorn started {replacement} in {time.time() - began:.1f}s",
                  "SIGKILL one gateway worker")

    def kill_service(self, name):
        pid = self.platform.pid(name)
        away = self.platform.restart(name, timeout=90)
        self.note(f"SIGKILL {name} {pid}; restarted, answering ping again after {away:.1f}s", f"SIGKILL {name}")

    def restart_broker(self):
        """Once, briefly: other people's tests use this broker too."""
        before = queues(self.vhost)
        waiting = [(q["name"], q.get("messages", 0), q.get("messages_persistent", 0)) for q in before
                   if q.get("messages")]
        # exclusive queues live as long as their consumer's connection by design: the broadcast handlers'
        # (notify's per-replica cache invalidation, reliable_delivery=False) and RPC reply queues
        kept = [q for q in before if not q.get("exclusive") and not q["name"].startswith("rpc.reply-")]
        self.broker_facts.update(
            queues_before=len(before), queues_that_must_survive=len(kept),
            messages_waiting=sum(n for _, n, _ in waiting), waiting_by_queue=waiting,
            not_durable=sorted(q["name"] for q in kept if not q.get("durable")),
            exclusive_by_design=sorted(q["name"] for q in before if q.get("exclusive")))
        began = time.time()
        try:
            rabbitmqctl("stop_app", timeout=90)
            stopped = time.time()
        finally:
            rabbitmqctl("start_app", timeout=120)
            ensure_broker(timeout=90)
        up = time.time()
        after = {q["name"]: q for q in queues(self.vhost)}
        missing = sorted(q["name"] for q in kept if q["name"] not in after)
        self.broker_facts.update(away_seconds=round(up - began, 1), stop_seconds=round(stopped - began, 1),
                                 durable_queues_missing_after=missing,
                                 messages_after=sum(q.get("messages", 0) for q in after.values()))
        self.note(f"RabbitMQ restarted (rabbitmqctl stop_app/start_app): away {up - began:.1f}s; "
                  f"{len(kept)} durable queues with {sum(n for _, n, _ in waiting)} messages waiting before "
                  f"({sum(p for _, _, p in waiting)} persistent by the management API's last sample), "
                  f"{len(missing)} of them missing after", "RabbitMQ restart")
        reconnected = {}
        for name in SERVICES:
            try:
                self.platform.wait_up(name, 90)
                reconnected[name] = round(time.time() - up, 1)
            except RuntimeError as err:
                reconnected[name] = None
                self.anomalies.append(f"{name} did not answer ping within 90s of the broker restart: {err}")
        gateway_ok = self.gateway_reconnect_check()
        # every consumer is back: the exclusive queues of the broadcast handlers are declared again
        deadline = time.time() + 30
        while time.time() < deadline:
            names = {q["name"]: q for q in queues(self.vhost)}
            absent = [n for n in self.broker_facts["exclusive_by_design"] if n not in names]
            unconsumed = sorted(q["name"] for q in kept if not names.get(q["name"], {}).get("consumers")
                                and _consumed(q))
            if not absent and not unconsumed:
                break
            time.sleep(1)
        self.broker_facts.update(reconnected=reconnected, gateway_answered_after=gateway_ok,
                                 exclusive_not_back=absent, queues_without_consumer_after=unconsumed)
        self.note(f"after the broker restart the services answered ping again within {reconnected} s; the "
                  f"gateway's RPC proxies answered "
                  f"{'after ' + format(gateway_ok, '.1f') + 's' if gateway_ok is not None else 'NEVER'}; "
                  f"queues without their consumer: {unconsumed or 'none'}")

    def gateway_reconnect_check(self, timeout=60):
        """Seconds until the gateway's /readyz (RPC proxies to every service) answers 200 again."""
        began = time.time()
        while time.time() - began < timeout:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.platform.url + "/readyz", timeout=5).status_code == 200:
                    return time.time() - began
            time.sleep(0.5)
        self.anomalies.append(f"the gateway's /readyz did not answer 200 within {timeout}s of the broker restart")
        return None

    def plan(self):
        """The chaos thread's plan: a list of (name, callable), in order."""
        kills = self.args.kills
        steps = []
        if self.mongo:
            victims = [name for _ in range(kills) for name in (*SERVICES, "gateway")]
            rng = random.Random(self.args.seed)
            for i in range(0, len(victims), len(SERVICES) + 1):       # each round kills each once
                chunk = victims[i:i + len(SERVICES) + 1]
                rng.shuffle(chunk)
                victims[i:i + len(SERVICES) + 1] = chunk
            for name in victims:
                steps.append((f"kill {name}", lambda n=name: self.kill_gateway_group() if n == "gateway"
                              else self.kill_service(n)))
            steps.insert(len(steps) // 3, ("kill gateway worker", self.kill_gateway_worker))
            steps.insert(2 * len(steps) // 3, ("kill gateway worker", self.kill_gateway_worker))
        else:
            freeze = self.args.freeze_seconds
            worker = ("kill gateway worker", self.kill_gateway_worker)
            group = ("kill gateway", self.kill_gateway_group)
            master = ("kill gateway master", self.kill_gateway_master)

            def frozen(name, wait=False):
                return (f"freeze {name}", lambda: self.freeze_for(name, freeze, wait))
            # petitions frozen on its own (the gateway's calls time out, clients retry with their keys);
            # the others frozen in the background while the gateway is killed meanwhile
            steps = [worker, frozen("petitions", wait=True), group, frozen("grid"), worker, master,
                     frozen("points"), group, frozen("notify"), worker]
            steps += [group] * max(0, kills - 2)
        if self.args.broker_restart:
            steps.insert(len(steps) // 2, ("restart RabbitMQ", self.restart_broker))
        return steps

    def chaos(self):
        time.sleep(self.args.lead_in)
        done = collections.Counter()
        for name, step in self.plan():
            if self.at() > self.args.max_chaos_seconds and done[name]:
                # a slow machine: keep within the time budget, but do each kind of step at least once
                self.skipped.append(name)
                continue
            done[name] += 1
            if name == "restart RabbitMQ":
                for thread in list(self.freezers):
                    thread.join()       # the broker restart on its own, every service awake
            try:
                result = step()
                if isinstance(result, threading.Thread):
                    self.freezers.append(result)
            except Exception as err:
                self.anomalies.append(f"chaos step '{name}' failed: {err.__class__.__name__}: {err}")
                log(f"chaos step {name} failed: {traceback.format_exc()}")
                self.recover()
            time.sleep(self.args.gap)
        for thread in self.freezers:
            thread.join()

    def recover(self):
        """After a failed step: every process running and awake, the broker up."""
        for name in list(self.frozen):
            self.platform.thaw(name)
        ensure_broker(timeout=90)
        for name in Processes.NAMES:
            if not self.platform.running(name):
                with contextlib.suppress(Exception):
                    self.platform.start_one(name)
                    self.platform.wait_up(name, 60)

    # -- the whole run ----------------------------------------------------------------------

    def execute(self):
        storage = "MongoDB at MONGO_URI" if self.mongo else "mongomock in each service process (MONGO_URI unset)"
        log(f"storage: {storage}")
        if not broker.reachable(config.amqp_uri()):
            raise SystemExit(broker.hint(config.amqp_uri()))
        self.log_dir = tempfile.mkdtemp(prefix="civicgrid-chaos-")
        prefix = "chaos_" + uuid.uuid4().hex[:8]
        env = {"MONGO_DB_PREFIX": prefix,
               # failed handlers come back soon and are parked only after a minute of failures
               "CIVICGRID_RETRY_DELAYS": "0.5,1,2,4,8,15,30",
               # a frozen service makes the gateway's calls time out (and the clients retry with their key)
               "CIVICGRID_RPC_TIMEOUT": str(self.args.rpc_timeout)}
        with temporary_vhost("civicgrid_chaos") as amqp_uri:
            self.vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_uri).path[1:])
            self.platform = Processes(amqp_uri, log_dir=self.log_dir, env=env, workers=2, threads=8)
            try:
                began = time.time()
                self.platform.start(timeout=120)
                log(f"platform up in {time.time() - began:.1f}s at {self.platform.url} "
                    f"(vhost {self.vhost}, logs in {self.log_dir})")
                self.import_demo()
                # each lane its own sessions (two lanes share a building leader)
                self.lane_users = [(self.caller(r).login(), self.caller(ldr).login()) for r, _, ldr in LANES]
                self.load_and_chaos()
                if self.mongo:
                    self.verify(final=False)
                    self.restart_everything()
                self.verify(final=True)
            finally:
                for name in list(self.frozen):
                    self.platform.thaw(name)
                self.platform.stop()
                ensure_broker(timeout=120)
                drop_databases(prefix)
        return self.report()

    def load_and_chaos(self):
        # one petition per lane first, with nothing broken: it tells what a loop's notices look like
        self.shapes = {}
        warmups = [threading.Thread(target=self.walk, args=(lane, 0, True)) for lane in range(len(LANES))]
        for thread in warmups:
            thread.start()
        for thread in warmups:
            thread.join()
        records = sorted((r for r in self.records if r.warmup), key=lambda r: r.lane)
        for record in records:
            if record.error or not record.closed:
                raise RuntimeError(f"the warm-up petition of lane {record.lane} did not close: {record.error}")
        self.shapes = self.settled_shapes(records)
        for lane, shape in self.shapes.items():
            log(f"lane {lane} ({LANES[lane][0]} → {LANES[lane][2]}): one loop notifies "
                f"{ {u: dict(c) for u, c in shape.items()} }")
        self.t0 = time.time()
        self.freezers = []
        lanes = [threading.Thread(target=self.lane, args=(i,), name=f"lane-{i}", daemon=True)
                 for i in range(len(LANES))]
        for thread in lanes:
            thread.start()
        log(f"load started: {len(LANES)} lanes; chaos plan: {[name for name, _ in self.plan()]}")
        chaos = threading.Thread(target=self.chaos, name="chaos", daemon=True)
        chaos.start()
        chaos.join()
        time.sleep(self.args.tail)
        self.stop_load.set()
        self.load_seconds = self.at()
        log("load stopping: each lane finishes the petition it is walking")
        for thread in lanes:
            thread.join(self.patience * 4 + 30)
            if thread.is_alive():
                self.anomalies.append(f"{thread.name} did not finish its last petition")
        self.walk_seconds = self.at()

    def settled_shapes(self, records, timeout=60):
        """The warm-up petitions' notices once they stop changing: lane → recipient → Counter(type)."""
        deadline = time.time() + timeout
        last, stable_since = None, None
        while time.time() < deadline:
            inboxes = {name: self.inbox(name) for name in WATCHED}
            shapes = {}
            for record in records:
                shape = {}
                for name in WATCHED:
                    counts = collections.Counter(n["type"] for n in inboxes[name] if n.get("petition_id") == record.id)
                    if counts:
                        shape[name] = counts
                shapes[record.lane] = shape
            done = all("petition_closed" in shapes[r.lane].get(r.resident, {})
                       and "points_awarded" in shapes[r.lane].get(r.leader, {}) for r in records)
            if shapes != last:
                last, stable_since = shapes, time.time()
            elif done and time.time() - stable_since >= 4:
                return shapes
            time.sleep(0.5)
        raise RuntimeError(f"the warm-up petitions' notices did not settle: {last}")

    def restart_everything(self):
        """A real MongoDB keeps the data: stop every process, start them again, check it all again."""
        began = time.time()
        for name in Processes.NAMES:
            self.platform.kill(name)
        for name in Processes.NAMES:
            self.platform.start_one(name)
        self.platform.wait_ready(120)
        self.note(f"SIGKILL every process at once and started them all again: ready after "
                  f"{time.time() - began:.1f}s", "SIGKILL every process at once, then start all")

    # -- what the system holds ----------------------------------------------------------------

    def pages(self, username, path, params=None, page_size=100):
        items, page = [], 1
        while True:
            body = self.users[username].json("GET", path, params={**(params or {}), "page": page,
                                                                 "page_size": page_size})
            items.extend(body["items"])
            if not body["items"] or len(items) >= body["total"]:
                return items
            page += 1

    def inbox(self, username):
        return self.pages(username, "/api/v1/notifications")

    def entries(self, username):
        """Every ledger entry of the user's account (``/points/me`` shows the latest 100)."""
        mine = self.users[username].json("GET", "/api/v1/points/me")
        if len(mine["entries"]) < 100:
            return mine["balance"], mine["entries"]
        items, page = [], 1
        while True:
            body = self.users[username].json("GET", "/api/v1/points/accounts/me/statement",
                                             params={"page": page, "page_size": 500})
            items.extend(body["entries"])
            if not body["entries"] or len(items) >= body["total"]:
                return mine["balance"], items
            page += 1

    def snapshot(self):
        residents = sorted({r for r, _, _ in LANES})
        petitions = {}
        for resident in residents:
            petitions[resident] = self.pages(resident, "/api/v1/petitions")
        points = {name: self.entries(name) for name in sorted({p for _, _, p in LANES} | set(residents))}
        inboxes = {name: self.inbox(name) for name in WATCHED}
        ledger = self.users["hb-admin"].json("GET", "/api/v1/districts/hb/ledger/check")
        parked = [q for q in queues(self.vhost) if q["name"].endswith(".parked") and q.get("messages", 0)]
        return {"petitions": petitions, "points": points, "inboxes": inboxes, "ledger": ledger, "parked": parked}

    def compare(self, snap):
        """Lost and duplicated, each by kind, with examples."""
        lost, dup = collections.Counter(), collections.Counter()
        examples = collections.defaultdict(list)
        notes = []

        def count(kind, bucket, n, example):
            if n:
                bucket[kind] += n
                if len(examples[kind]) < 5:
                    examples[kind].append(example)

        acked = [r for r in self.records if r.id]
        ours = f"chaos {self.run_id} "
        stored = {}
        by_title = collections.defaultdict(list)
        for resident, items in snap["petitions"].items():
            for item in items:
                stored[item["id"]] = item
                if item["title"].startswith(ours):
                    by_title[item["title"]].append(item["id"])
        for record in self.records:
            copies = by_title.get(record.title, [])
            count("petitions stored more than once for one submit", dup, max(0, len(copies) - 1),
                  f"{record.title}: {copies}")
            if not record.id and copies:
                notes.append(f"{record.title}: never acknowledged to the client, yet stored as {copies}")
        for record in acked:
            item = stored.get(record.id)
            if item is None:
                count("acknowledged petitions missing", lost, 1, record.id)
                continue
            actions = collections.Counter(e["action"] for e in item["timeline"])
            for action in record.acked:
                count("acknowledged actions missing from the timeline", lost, 1 if not actions[action] else 0,
                      f"{record.id} {action}")
            for action, n in actions.items():
                count("actions in the timeline more than once", dup, max(0, n - 1), f"{record.id} {action} ×{n}")
            if record.closed and item["status"] != "closed":
                count("acknowledged closes not closed", lost, 1, f"{record.id} is {item['status']}")

        # awards: exactly one entry per closed petition for the resident and for the resolver
        entries = {name: collections.Counter(e["petition_id"] for e in items if e.get("petition_id") and e["amount"] > 0)
                   for name, (_, items) in snap["points"].items()}
        expected_balance = collections.Counter()
        for record in acked:
            if not record.closed:
                continue
            for role, who in (("resident", record.resident), ("leader", record.leader)):
                n = entries[who][record.id]
                expected_balance[who] += POINTS[role]
                count("awards missing", lost, 1 if n == 0 else 0, f"{record.id} → {who}")
                count("awards made more than once", dup, max(0, n - 1), f"{record.id} → {who} ×{n}")
        balances = {name: balance for name, (balance, _) in snap["points"].items()}
        for name, balance in balances.items():
            if balance != expected_balance[name]:
                notes.append(f"{name}: balance {balance}, expected {expected_balance[name]}")

        # notices: per closed petition exactly what the warm-up loop of its lane produced
        received = {name: collections.Counter((n.get("petition_id"), n["type"]) for n in items)
                    for name, items in snap["inboxes"].items()}
        for record in acked:
            if not record.closed:
                continue
            shape = self.shapes[record.lane]
            for name in WATCHED:
                want = shape.get(name, collections.Counter())
                got = collections.Counter({t: n for (pid, t), n in received[name].items() if pid == record.id})
                for kind in set(want) | set(got):
                    count("notices missing", lost, max(0, want[kind] - got[kind]), f"{record.id} {kind} → {name}")
                    count("notices delivered more than once", dup, max(0, got[kind] - want[kind]),
                          f"{record.id} {kind} → {name} ×{got[kind]}")
        parked = sum(q["messages"] for q in snap["parked"])
        count("messages parked (handlers gave up)", lost, parked,
              ", ".join(f"{q['name']}: {q['messages']}" for q in snap["parked"]))
        return lost, dup, examples, balances, expected_balance, notes

    def verify(self, final, timeout=None):
        """Poll until nothing is missing (the loop is asynchronous past the gateway), then once more."""
        timeout = timeout or self.args.settle
        began = time.time()
        while True:
            snap = self.snapshot()
            lost, dup, examples, balances, expected, notes = self.compare(snap)
            if not sum(lost.values()) and balances == {k: expected[k] for k in balances} \
                    and snap["ledger"]["balanced"]:
                break
            if time.time() - began > timeout:
                break
            time.sleep(1)
        settled = time.time() - began
        if not sum(lost.values()):
            time.sleep(3)       # anything arriving late would be a duplicate: look once more
            snap = self.snapshot()
            lost, dup, examples, balances, expected, notes = self.compare(snap)
        result = {"notes": notes, "lost": lost, "dup": dup, "examples": examples, "balances": balances,
                  "expected_balances": dict(expected), "ledger": snap["ledger"], "settled_seconds": settled,
                  "snapshot": snap}
        if final:
            self.result = result
        else:
            self.before_restart = result
        log(f"{'final' if final else 'before the full restart'}: settled in {settled:.1f}s; "
            f"lost {sum(lost.values())}, duplicated {sum(dup.values())}")

    # -- the report --------------------------------------------------------------------------

    def report(self):
        result = self.result
        records = self.records
        sent = len(records)
        acknowledged = sum(1 for r in records if r.id)
        closed = sum(1 for r in records if r.closed)
        lost, dup = sum(result["lost"].values()), sum(result["dup"].values())
        ledger = result["ledger"]
        stored_ours = sum(1 for items in result["snapshot"]["petitions"].values() for i in items
                          if i["title"].startswith(f"chaos {self.run_id} "))
        kills = self.kinds

        checks = []

        def check(ok, what):
            checks.append({"ok": bool(ok), "what": what})

        by = result["lost"]
        check(not by["acknowledged petitions missing"],
              f"every petition acknowledged to a client exists ({acknowledged} acknowledged, {stored_ours} stored)")
        check(not result["dup"]["petitions stored more than once for one submit"],
              "no submit stored twice (retries carried the same Idempotency-Key)")
        check(not by["acknowledged actions missing from the timeline"] and not by["acknowledged closes not closed"]
              and not result["dup"]["actions in the timeline more than once"],
              "every acknowledged claim/resolve/rate is in the timeline exactly once; every acknowledged close is closed")
        check(not by["awards missing"] and not result["dup"]["awards made more than once"],
              f"every closed petition awarded exactly once, to its resident (+2) and its building leader (+10) "
              f"({closed} closed)")
        check(result["balances"] == {k: result["expected_balances"].get(k, 0) for k in result["balances"]},
              f"balances (GET /api/v1/points/me) are what the acknowledged closes earn: {result['balances']}")
        check(not by["notices missing"] and not result["dup"]["notices delivered more than once"],
              f"every notice delivered exactly once per recipient (GET /api/v1/notifications of {', '.join(WATCHED)})")
        check(ledger.get("balanced") and ledger.get("sum") == 0,
              f"the ledger sums to zero (GET /api/v1/districts/hb/ledger/check: sum {ledger.get('sum')}, "
              f"{ledger.get('entries')} entries, balanced {ledger.get('balanced')})")
        check(not by["messages parked (handlers gave up)"], "no message parked in a dead-letter queue")
        if self.args.broker_restart:
            facts = self.broker_facts
            check(facts.get("durable_queues_missing_after") == [] and not facts.get("not_durable"),
                  f"every queue of nameko and the kit is durable and still there after the broker restart "
                  f"({facts.get('queues_that_must_survive')} queues, {facts.get('messages_waiting')} messages "
                  f"waiting in them at the restart; exclusive by design: {len(facts.get('exclusive_by_design', []))} "
                  f"broadcast/reply queues)")
            check(facts.get("reconnected") and all(v is not None for v in facts["reconnected"].values())
                  and facts.get("gateway_answered_after") is not None
                  and not facts.get("exclusive_not_back") and not facts.get("queues_without_consumer_after"),
                  "every service and the gateway's RPC proxies reconnected after the broker restart "
                  f"(services answered ping after {facts.get('reconnected')} s)")
        if self.mongo:
            before = self.before_restart
            same = (before["balances"] == result["balances"]
                    and {k: len(v) for k, v in before["snapshot"]["petitions"].items()}
                    == {k: len(v) for k, v in result["snapshot"]["petitions"].items()}
                    and {k: len(v) for k, v in before["snapshot"]["inboxes"].items()}
                    == {k: len(v) for k, v in result["snapshot"]["inboxes"].items()})
            check(same and not sum(before["lost"].values()),
                  "after every process was SIGKILLed and started again the data is intact "
                  "(the same petitions, balances and notices)")

        not_checked = []
        if not self.mongo:
            not_checked = [
                "SIGKILL of grid, petitions, points and notify: with MONGO_URI unset each keeps its data in an "
                "in-process mongomock, so a killed process takes its districts/users, petitions, ledger or inboxes "
                "along and nothing could be compared afterwards. They were frozen instead (SIGSTOP, then SIGCONT: "
                "memory kept), which checks that work waits in the durable queues, that gateway calls that time out "
                "are retried with their Idempotency-Key and run once, but not crash recovery.",
                "recovery after a service crash: the petitions outbox relay sending what a killed process wrote but "
                "never published, redelivery to a restarted consumer of the message it was handling when killed, "
                "and an Idempotency-Key left 'pending' by a killed process (taken over after STALE = 2 minutes).",
                "data intact across a restart of the service processes: mongomock keeps nothing after its process "
                "stops (run with MONGO_URI set to check it).",
                "the only processes holding no stored state are the gateway's (JWT sessions, per-worker rate "
                "limits): those were SIGKILLed — master and workers together, the master alone, single workers.",
            ]
        if not self.args.broker_restart:
            not_checked.append("a RabbitMQ restart (--no-broker-restart)")

        gave_up = [r for r in records if r.error]
        report = {
            "storage": "mongodb" if self.mongo else "mongomock",
            "sent": sent, "acknowledged": acknowledged, "closed": closed, "lost": lost, "duplicated": dup,
            "lost_by_kind": dict(result["lost"]), "duplicated_by_kind": dict(result["dup"]),
            "examples": {k: v for k, v in result["examples"].items()},
            "incomplete": [f"{r.title} ({r.id}): {r.error}" for r in gave_up],
            "chaos": [{"at": round(t, 1), "what": w} for t, w in self.timeline], "chaos_counts": dict(kills),
            "chaos_skipped": self.skipped,
            "client_retries": dict(self.stats.counts), "client_retry_samples": dict(self.stats.samples),
            "checks": checks, "not_checked": not_checked, "anomalies": self.anomalies, "notes": result["notes"],
            "broker": self.broker_facts, "load_seconds": round(getattr(self, "load_seconds", 0), 1),
            "settled_seconds": round(result["settled_seconds"], 1), "logs": self.log_dir,
            "passed": lost == 0 and dup == 0 and all(c["ok"] for c in checks) and not gave_up,
        }
        return report


# -- RabbitMQ ---------------------------------------------------------------------------------

def rabbitmqctl(command, timeout=60):
    return subprocess.run(["rabbitmqctl", command], capture_output=True, text=True, timeout=timeout, check=True)


def management(path, timeout=10):
    parts = urllib.parse.urlsplit(management_url())
    response = requests.get(f"{parts.scheme}://{parts.hostname}:{parts.port}/api{path}",
                            auth=(parts.username, parts.password), timeout=timeout)
    response.raise_for_status()
    return response.json()


def queues(vhost):
    return management(f"/queues/{urllib.parse.quote(vhost, safe='')}"
                      "?columns=name,durable,auto_delete,exclusive,messages,messages_persistent,consumers")


def _consumed(queue):
    """Queues someone consumes from (not the retry wait queues or parked queues, which nobody reads)."""
    return not (".wait." in queue["name"] or queue["name"].endswith(".parked"))


def management_up():
    try:
        management("/overview", timeout=5)
        return True
    except Exception:
        return False


def ensure_broker(timeout=90):
    """RabbitMQ answering AMQP and its management API, whatever state the restart left it in."""
    deadline = time.time() + timeout
    tried = []
    while time.time() < deadline:
        if broker.reachable(config.amqp_uri(), timeout=3) and management_up():
            return True
        if not tried and shutil.which("rabbitmqctl"):
            tried.append("start_app")
            with contextlib.suppress(Exception):
                rabbitmqctl("start_app", timeout=120)
        elif len(tried) == 1 and time.time() > deadline - timeout / 2 and shutil.which("rabbitmq-server"):
            tried.append("rabbitmq-server -detached")
            with contextlib.suppress(Exception):
                subprocess.run(["rabbitmq-server", "-detached"], capture_output=True, timeout=30)
        time.sleep(1)
    raise RuntimeError(f"RabbitMQ (or its management API) is not answering after {timeout}s; tried {tried}")


def can_restart_broker():
    """rabbitmqctl talks to the local node (it needs the node's Erlang cookie: root or rabbitmq)."""
    if not shutil.which("rabbitmqctl"):
        return False
    try:
        rabbitmqctl("status", timeout=30)
        return True
    except Exception:
        return False


# -- output -----------------------------------------------------------------------------------

def render(report):
    lines = ["", "=" * 78, f"CivicGrid chaos run — storage: {report['storage']}", "=" * 78, "chaos (seconds after the load began):"]
    lines += [f"  +{c['at']:6.1f}s  {c['what']}" for c in report["chaos"]]
    lines.append(f"chaos totals: {report['chaos_counts']}")
    if report["chaos_skipped"]:
        lines.append(f"chaos steps skipped to stay within the time budget: {report['chaos_skipped']}")
    lines.append(f"load: {report['load_seconds']}s of chaos and load; settled {report['settled_seconds']}s after")
    lines.append(f"client retries (same Idempotency-Key): {report['client_retries'] or 'none'}")
    lines.append("")
    lines.append(f"COUNTS: sent {report['sent']}  acknowledged {report['acknowledged']}  closed {report['closed']}  "
                 f"lost {report['lost']}  duplicated {report['duplicated']}")
    if report["lost_by_kind"]:
        lines.append(f"  lost by kind: {report['lost_by_kind']}")
    if report["duplicated_by_kind"]:
        lines.append(f"  duplicated by kind: {report['duplicated_by_kind']}")
    for kind, examples in report["examples"].items():
        lines.append(f"  e.g. {kind}: {examples}")
    lines.append("checks done:")
    lines += [f"  [{'ok' if c['ok'] else 'FAIL'}] {c['what']}" for c in report["checks"]]
    if report["not_checked"]:
        lines.append(f"not checked ({'MONGO_URI unset, mongomock' if report['storage'] == 'mongomock' else 'options'}):")
        lines += [f"  - {text}" for text in report["not_checked"]]
    for title, key in (("incomplete petitions", "incomplete"), ("anomalies", "anomalies"), ("notes", "notes")):
        if report[key]:
            lines.append(f"{title}:")
            lines += [f"  ! {text}" for text in report[key]]
    lines.append(f"process logs: {report['logs']}")
    lines.append(f"RESULT: {'PASS' if report['passed'] else 'FAIL'} ({report['lost']} lost, "
                 f"{report['duplicated']} duplicated)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=3, help="how often each process is killed (default 3)")
    parser.add_argument("--freeze-seconds", type=float, default=6.0,
                        help="how long a stateful service is frozen under mongomock (default 6)")
    parser.add_argument("--rpc-timeout", type=float, default=5.0, help="the gateway's RPC timeout (default 5 s)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between chaos steps (default 1)")
    parser.add_argument("--max-chaos-seconds", type=float, default=None,
                        help="past this, steps of a kind already done are skipped (default 75; 240 with MONGO_URI)")
    parser.add_argument("--lead-in", type=float, default=3.0, help="seconds of load before the first step")
    parser.add_argument("--tail", type=float, default=4.0, help="seconds of load after the last step")
    parser.add_argument("--pace", type=float, default=0.2, help="each lane's pause between petitions (s)")
    parser.add_argument("--settle", type=float, default=90.0, help="how long the checks wait for the loop to settle")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-broker-restart", dest="broker_restart", action="store_false")
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs after a passing run")
    args = parser.parse_args(argv)
    if args.broker_restart and not can_restart_broker():
        print("chaos: cannot restart RabbitMQ here (needs rabbitmqctl and root): running without it",
              file=sys.stderr)
        args.broker_restart = False
    random.seed(args.seed)
    if args.max_chaos_seconds is None:
        args.max_chaos_seconds = 240.0 if config.mongo_uri() else 75.0

    def terminated(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminated)
    run = Run(args)
    try:
        report = run.execute()
    finally:
        if args.broker_restart:
            ensure_broker(timeout=120)
    if report["passed"] and not args.keep_logs:
        shutil.rmtree(report["logs"], ignore_errors=True)
        report["logs"] += " (removed: the run passed; --keep-logs keeps them)"
    print(render(report), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=1, default=str)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
