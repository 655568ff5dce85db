"""The petitions service on the real broker: RPC in, events out through the outbox."""
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.events import event_handler
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies

from civicgrid.auth import issue_token
from civicgrid.errors import Conflict, Forbidden
from services.petitions.service import PetitionsService

from .fakes import FakeDirectory


class Listener:
    name = "listener"
    seen = []

    @event_handler("petitions", "petition_submitted")
    def handle_petition_submitted(self, payload):
        Listener.seen.append(payload)

    @event_handler("petitions", "petition_escalated")
    def handle_petition_escalated(self, payload):
        Listener.seen.append(payload)

    @event_handler("petitions", "petition_overdue")
    def handle_petition_overdue(self, payload):
        Listener.seen.append(payload)


def token(user, roles, scope=None, department=None):
    return {"auth_token": issue_token(user, "hb", roles, scope=scope, department=department)[0]}


RESIDENT = token("wenxiaohua", ["resident"], scope="b28")
LEADER = token("daiyunzhong", ["building_leader"], scope="b28")


@pytest.fixture
def petitions(container_factory, service_config):
    container = container_factory(PetitionsService, service_config)
    grid = replace_dependencies(container, "grid")
    fake = FakeDirectory()
    grid.locate_building.side_effect = fake.locate_building
    grid.list_categories.side_effect = fake.list_categories
    grid.get_department.side_effect = fake.get_department
    container.start()
    return container


@pytest.fixture
def listener(container_factory, service_config):
    Listener.seen = []
    container = container_factory(Listener, service_config)
    container.start()
    return container


def test_submit_and_escalate_publish_their_events(petitions, listener):
    with entrypoint_waiter(listener, "handle_petition_submitted"):
        with entrypoint_hook(petitions, "submit", context_data=RESIDENT) as submit:
            created = submit({"category": "streetlight", "title": "28栋路灯不亮"})
    assert created["status"] == "submitted" and created["building_id"] == "b28"
    with entrypoint_waiter(listener, "handle_petition_escalated"):
        with entrypoint_hook(petitions, "act", context_data=LEADER) as act:
            escalated = act(created["id"], "escalate", {"reason": "需社区协调"})
    assert (escalated["status"], escalated["level"]) == ("escalated", "community")
    submitted, escalated_event = Listener.seen
    assert submitted["data"]["petition_id"] == created["id"]
    assert escalated_event["actor"] == {"id": "daiyunzhong", "role": "building_leader"}
    assert escalated_event["data"]["reason"] == "需社区协调"


def test_errors_cross_the_broker_as_themselves(petitions):
    with entrypoint_hook(petitions, "submit", context_data=RESIDENT) as submit:
        created = submit({"category": "slope", "title": "后坡滑坡"})
    with entrypoint_hook(petitions, "act", context_data=RESIDENT) as act:
        with pytest.raises(Forbidden):
            act(created["id"], "dispatch", {"department_id": "chengjian"})
    with entrypoint_hook(petitions, "act", context_data=RESIDENT) as act:
        act(created["id"], "withdraw", {})
    with entrypoint_hook(petitions, "act", context_data=LEADER) as act:
        with pytest.raises(Conflict):
            act(created["id"], "claim", {})


def test_relay_publishes_what_a_write_left_pending(petitions, listener):
    """A crash between the write and the publish leaves the event in the outbox; the relay sends it."""
    with entrypoint_waiter(listener, "handle_petition_submitted"):
        with entrypoint_hook(petitions, "submit", context_data=RESIDENT) as submit:
            created = submit({"category": "streetlight", "title": "路灯"})
    store = next(d for d in petitions.dependencies if d.attr_name == "db")
    pending = dict(Listener.seen[0], event_id="6f1c1bb2-4a4e-4b43-9d6e-1e1f4bd1e001")
    store.db.petitions.update_one({"_id": created["id"]}, {"$push": {"outbox": pending}})
    with entrypoint_waiter(listener, "handle_petition_submitted"):
        with entrypoint_hook(petitions, "relay_outbox") as relay:
            relay()
    assert Listener.seen[-1]["event_id"] == pending["event_id"]
    assert store.db.petitions.find_one({"_id": created["id"]})["outbox"] == []


def test_two_replicas_act_once_per_deadline(container_factory, service_config, listener):
    """Both replicas scan at the same moment; each deadline is acted on, and raised, once."""
    now = [datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)]
    fake = FakeDirectory()
    replicas = []
    for _ in range(2):
        container = container_factory(PetitionsService, service_config)
        grid, clock = replace_dependencies(container, "grid", "clock")
        grid.locate_building.side_effect = fake.locate_building
        grid.list_categories.side_effect = fake.list_categories
        clock.side_effect = lambda: now[0]
        container.start()
        replicas.append(container)
    with entrypoint_hook(replicas[0], "submit", context_data=RESIDENT) as submit:
        created = submit({"category": "streetlight", "title": "28栋路灯不亮"})
    assert created["due_at"] == "2026-11-23T08:00:00.000+00:00" and created["deadline"] == "claim"

    now[0] += timedelta(hours=25)
    with entrypoint_waiter(listener, "handle_petition_escalated", timeout=10):
        def scan(container):
            with entrypoint_hook(container, "scan_overdue") as hook:
                hook()
        threads = [eventlet.spawn(scan, c) for c in replicas]
        for thread in threads:
            thread.wait()
    eventlet.sleep(0.5)  # let any second relay of the same event arrive before counting
    overdue = {e["event_id"] for e in Listener.seen if e["type"] == "petition_overdue"}
    escalated = {e["event_id"] for e in Listener.seen if e["type"] == "petition_escalated"}
    assert len(overdue) == 1 and len(escalated) == 1
    with entrypoint_hook(replicas[1], "get", context_data=RESIDENT) as get:
        petition = get(created["id"])
    assert (petition["status"], petition["level"]) == ("escalated", "community")
    assert [e["actor"] for e in petition["timeline"]].count("system") == 1
