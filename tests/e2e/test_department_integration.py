"""Departments integrated by message subscription (社区吹哨，部门报到), on the real broker.

The department's system is examples/department_subscriber.py, run as a separate
process with the broker user `python -m civicgrid.provision` created; the platform
is the one `make run` starts. A district of this module's own keeps the broker user
(users are global on a RabbitMQ node) and the petitions apart from the demo's.
"""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid

import amqp
import pytest
from kombu import Connection, Exchange, Queue

from civicgrid.client import Client
from civicgrid.harness import ROOT
from civicgrid.provision import Management, department_uri, provision_department, remove_department, vhost_of

from .conftest import PASSWORD, eventually

SUBSCRIBER = os.path.join(ROOT, "examples", "department_subscriber.py")


@pytest.fixture(scope="module")
def town(admin, platform):
    """A district with one building, its grid and community, and two departments."""
    code = "it" + uuid.uuid4().hex[:6]
    admin.post("/api/v1/districts", {"code": code, "name": "集成测试镇"}, expect=201)
    street, community, grid, building = (f"{code}-{n}" for n in ("street", "wc", "g1", "b1"))
    admin.post(f"/api/v1/districts/{code}/import", {
        "nodes": [
            {"id": street, "type": "street", "name": "河边镇", "parent": code},
            {"id": community, "type": "community", "name": "文昌社区", "parent": street},
            {"id": grid, "type": "grid", "name": "一网格", "parent": community},
            {"id": building, "type": "building", "name": "28栋", "parent": grid},
        ],
        "departments": [
            {"id": "chengjian", "name": "镇城建办", "categories": ["slope"]},
            {"id": "zongzhi", "name": "镇综治办", "categories": ["security"]},
        ],
        "users": [
            {"username": f"{code}-resident", "password": PASSWORD, "name": "居民", "roles": ["resident"],
             "scope": building},
            {"username": f"{code}-grid1", "password": PASSWORD, "name": "网格员", "roles": ["grid_worker"],
             "scope": grid},
            {"username": f"{code}-secretary", "password": PASSWORD, "name": "社区书记",
             "roles": ["community_staff"], "scope": community},
        ],
    })
    anonymous = Client(platform.url)
    people = {role: anonymous.login(f"{code}-{role}", PASSWORD) for role in ("resident", "grid1", "secretary")}
    return code, people


@pytest.fixture(scope="module")
def chengjian(amqp_uri, town):
    """The department provisioned in the e2e vhost, as an operator would; its user goes afterwards."""
    code, _ = town
    password = uuid.uuid4().hex
    result = provision_department(code, "chengjian", password=password, amqp_uri=amqp_uri)
    vhost = vhost_of(amqp_uri)
    yield dict(result, password=password, uri=department_uri(amqp_uri, vhost, result["user"], password))
    remove_department(code, "chengjian", vhost=vhost, api=Management())


class Subscriber:
    """examples/department_subscriber.py as its own process, its output in a file."""

    def __init__(self, department, district, log_path, max_petitions):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, SUBSCRIBER, "--amqp-uri", department["uri"], "--district", district,
                 "--department", "chengjian", "--resolve-note", "已加固护坡", "--max-petitions", str(max_petitions)],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def finished(self, timeout=30):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the subscriber did not finish; it printed:\n{self.output()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def subscriber(chengjian, town, tmp_path):
    started = []

    def start(max_petitions):
        process = Subscriber(chengjian, town[0], str(tmp_path / f"subscriber{len(started)}.log"), max_petitions)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def dispatch(town, title, body=None, category="slope"):
    """Resident submits, the grid worker whistles, the community dispatches (to the catalogue's department)."""
    _, people = town
    pid = people["resident"].post("/api/v1/petitions", {"category": category, "title": title}, expect=201)["id"]
    people["grid1"].act(pid, "escalate", {"reason": "网格解决不了，需要部门"})
    petition = people["secretary"].act(pid, "dispatch", body or {})
    assert petition["status"] == "dispatched"
    return pid


def status_of(town, pid):
    return town[1]["resident"].get(f"/api/v1/petitions/{pid}")["status"]


def queue_depth(amqp_uri, queue):
    vhost = urllib.parse.quote(vhost_of(amqp_uri), safe="")
    return Management().request("GET", f"/queues/{vhost}/{queue}").json().get("messages", 0)


def test_the_example_subscriber_accepts_and_resolves_a_dispatched_petition(town, chengjian, subscriber):
    running = subscriber(max_petitions=1)
    pid = dispatch(town, "28栋后坡下雨后滑坡")
    eventually(lambda: status_of(town, pid) == "resolved", timeout=30)
    assert running.finished() == 0, running.output()

    petition = town[1]["resident"].get(f"/api/v1/petitions/{pid}")
    assert petition["resolution"] == "已加固护坡"
    assert petition["resolved_by"] == f"dept:{town[0]}.chengjian"
    steps = [(e["action"], e["actor"]) for e in petition["timeline"]][-2:]
    assert steps == [("accept", f"dept:{town[0]}.chengjian"), ("resolve", f"dept:{town[0]}.chengjian")]
    printed = running.output()
    assert f"petition_dispatched {pid}" in printed and f"outcome resolve {pid}: ok" in printed, printed


def test_an_offline_subscriber_receives_every_dispatch_when_it_comes_back(town, chengjian, subscriber, amqp_uri):
    first = dispatch(town, "27栋挡墙开裂")
    second = dispatch(town, "29栋边坡落石")
    # both wait in the department's durable queue (with any events left from earlier)
    eventually(lambda: queue_depth(amqp_uri, chengjian["queue"]) >= 2)
    assert (status_of(town, first), status_of(town, second)) == ("dispatched", "dispatched")

    # at least once: the same event may come twice; the subscriber handles it once
    waiting = Management().request(
        "POST", f"/queues/{urllib.parse.quote(vhost_of(amqp_uri), safe='')}/{chengjian['queue']}/get",
        {"count": 100, "ackmode": "ack_requeue_true", "encoding": "auto"}).json()
    event = next(json.loads(m["payload"]) for m in waiting
                 if m["routing_key"].endswith(".petition_dispatched") and f'"{first}"' in m["payload"])
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(event, exchange=Exchange("civicgrid.integration", type="topic", durable=True),
                                routing_key=f"{town[0]}.chengjian.petition_dispatched", serializer="json")

    running = subscriber(max_petitions=2)
    eventually(lambda: status_of(town, first) == status_of(town, second) == "resolved", timeout=30)
    assert running.finished() == 0, running.output()
    printed = running.output()
    assert f"(seen before: {event['event_id']})" in printed and printed.count(f"-> accept {first} ") == 1, printed


def take_outcome(conn, queue_name, command_id, timeout=15):
    bound = Queue(queue_name, no_declare=True)(conn.default_channel)
    deadline = time.time() + timeout
    while time.time() < deadline:
        message = bound.get()
        if message is None:
            time.sleep(0.05)
            continue
        message.ack()
        if message.delivery_info["routing_key"].endswith(".command_result") \
                and message.payload.get("command_id") == command_id:
            return message.payload
    raise AssertionError("no outcome for the command")


def test_a_command_for_a_petition_dispatched_elsewhere_is_refused_and_changes_nothing(town, chengjian):
    theirs = dispatch(town, "28栋楼道有人撬门", {"department_id": "zongzhi"}, category="security")
    before = town[1]["secretary"].get(f"/api/v1/petitions/{theirs}")
    command_id = str(uuid.uuid4())
    with Connection(chengjian["uri"], transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            {"command_id": command_id, "petition_id": theirs, "action": "accept", "payload": {}},
            exchange="civicgrid.commands", routing_key=f"{town[0]}.chengjian.accept",
            serializer="json", delivery_mode=2, user_id=chengjian["user"])
        outcome = take_outcome(conn, chengjian["queue"], command_id)
    assert outcome["ok"] is False and outcome["petition"] is None and outcome["petition_id"] == theirs
    assert outcome["error"]["status"] == 403 and outcome["error"]["code"] == "forbidden"
    assert "department it was dispatched to" in outcome["error"]["message"]
    after = town[1]["secretary"].get(f"/api/v1/petitions/{theirs}")
    assert (after["status"], after["department_id"], after["handler_id"]) == ("dispatched", "zongzhi", None)
    assert after["timeline"] == before["timeline"]


def refused(action):
    with pytest.raises(amqp.exceptions.AccessRefused) as caught:
        action()
    return str(caught.value)


def test_the_broker_holds_a_department_to_its_own_keys(town, chengjian, amqp_uri):
    code = town[0]
    own, other = f"{code}.chengjian.#", f"{code}.zongzhi.#"

    def as_department(act):
        with Connection(chengjian["uri"], transport_options={"confirm_publish": True}) as conn:
            return act(conn.default_channel)

    def bind(key):
        return lambda: as_department(lambda ch: ch.queue_bind(chengjian["queue"], "civicgrid.integration", key))

    # as provisioned: it cannot bind at all (nor declare, nor read anything but its queue) ...
    assert "ACCESS_REFUSED" in refused(bind(other))
    refused(lambda: as_department(lambda ch: ch.queue_declare("", exclusive=True)))
    refused(lambda: as_department(lambda ch: ch.basic_get("civicgrid.petitions.commands")))
    # ... nor publish commands under another department's key
    message = refused(lambda: as_department(lambda ch: ch.basic_publish(
        amqp.Message("{}", user_id=chengjian["user"]), "civicgrid.commands", f"{code}.zongzhi.accept")))
    assert f"topic '{code}.zongzhi.accept'" in message

    # allowed to manage its own bindings, the topic permissions still keep it to its own keys
    provision_department(code, "chengjian", amqp_uri=amqp_uri, allow_bindings=True)
    try:
        bind(own)()
        for key in (other, "#", f"{code}.*.#"):
            message = refused(bind(key))
            assert "ACCESS_REFUSED" in message and f"access to topic '{key}'" in message, message
    finally:
        provision_department(code, "chengjian", amqp_uri=amqp_uri)
    assert "ACCESS_REFUSED" in refused(bind(own))  # back to the minimal permissions


@pytest.fixture
def spy(amqp_uri, town, chengjian):
    """A queue of the platform's (guest) bound to everything the department would receive."""
    with Connection(amqp_uri) as conn:
        queue = Queue(exchange=Exchange("civicgrid.integration", type="topic", durable=True),
                      routing_key=f"{town[0]}.chengjian.#", exclusive=True, auto_delete=True)
        bound = queue(conn.default_channel)
        bound.declare()
        yield bound


def test_nothing_a_department_receives_carries_a_token(town, spy):
    """nameko puts the caller's context (its JWT) in message headers: nothing sent to a department may."""
    pid = dispatch(town, "28栋护坡松动")

    def dispatched():
        message = spy.get(no_ack=True)
        if message is not None and message.payload.get("data", {}).get("petition_id") == pid:
            return message
        return None

    message = eventually(dispatched)
    leaked = sorted(h for h in (message.headers or {}) if h.startswith("nameko."))
    assert not leaked, f"petition_dispatched reached the department with headers {leaked}"
