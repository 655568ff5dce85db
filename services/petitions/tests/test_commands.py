"""Departments' commands over the bus: parsing and authority (plain Python), then the
petitions service consuming them on the real broker and answering on the department's key."""
import json
import re
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_hook, replace_dependencies

from civicgrid import integration
from civicgrid.auth import issue_token
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.provision import (
    Management, department_permissions, department_uri, provision_department, remove_department, vhost_of,
)
from services.petitions import commands
from services.petitions.service import PetitionsService

from .fakes import FakeDirectory

COMMAND_ID = "0b6f5a52-3f57-4c0e-9f0b-3c1c5c1f0a01"


# -- names ------------------------------------------------------------------------

def test_names_of_a_department():
    assert integration.department_user("hb", "chengjian") == "dept.hb.chengjian"
    assert integration.department_queue("hb", "chengjian") == "civicgrid.dept.hb.chengjian"
    assert integration.department_binding_key("hb", "chengjian") == "hb.chengjian.#"
    assert integration.command_key("hb", "chengjian", "accept") == "hb.chengjian.accept"
    assert integration.result_key("hb", "chengjian") == "hb.chengjian.command_result"
    assert integration.parse_department_user("dept.hb.chengjian") == ("hb", "chengjian")
    assert integration.parse_command_key("hb.chengjian.resolve") == ("hb", "chengjian", "resolve")


@pytest.mark.parametrize("user", [None, "", "guest", "dept.hb", "dept.hb.chengjian.x", "staff.hb.chengjian",
                                  "dept.hb.*", "dept..chengjian", 42])
def test_what_is_not_a_department_user(user):
    assert integration.parse_department_user(user) is None


@pytest.mark.parametrize("key", [None, "hb.chengjian", "hb.chengjian.accept.now", "hb.*.accept", "hb.#", ""])
def test_what_is_not_a_command_key(key):
    assert integration.parse_command_key(key) is None


@pytest.mark.parametrize("district,department", [("h.b", "chengjian"), ("hb", "#"), ("hb", "cheng jian"), ("", "x")])
def test_names_refuse_what_would_break_a_routing_key(district, department):
    with pytest.raises(Invalid):
        integration.department_user(district, department)


def test_permissions_match_exactly_the_departments_own_names():
    vhost, topic = department_permissions("hb", "chengjian")
    assert vhost == {"configure": "^$", "write": r"^civicgrid\.commands$", "read": r"^civicgrid\.dept\.hb\.chengjian$"}
    own = topic[0]["read"]
    assert topic == [
        {"exchange": "civicgrid.integration", "read": own, "write": "^$"},
        {"exchange": "civicgrid.commands", "read": "^$", "write": own},
    ]
    # Python's re agrees with RabbitMQ's PCRE on these simple patterns
    for key in ("hb.chengjian.petition_dispatched", "hb.chengjian.#", "hb.chengjian.command_result"):
        assert re.search(own, key)
    for key in ("hb.zongzhi.#", "hb.chengjian2.x", "hbxchengjian.x", "#", "hb.*.#", "x.hb.chengjian.y",
                "qj.chengjian.a"):
        assert not re.search(own, key)
    assert not re.search(vhost["read"], "civicgrid.dept.hb.chengjian2")
    wider, _ = department_permissions("hb", "chengjian", allow_bindings=True)
    assert wider["write"] == r"^(civicgrid\.dept\.hb\.chengjian|civicgrid\.commands)$"
    assert wider["read"] == r"^(civicgrid\.dept\.hb\.chengjian|civicgrid\.integration)$"


def test_vhost_and_uri_of_a_department():
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/") == "/"
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/%2F") == "/"
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672") == "/"
    assert vhost_of("amqp://guest:guest@rabbit:5672/civicgrid_e2e_1") == "civicgrid_e2e_1"
    assert department_uri("amqp://guest:guest@rabbit:5672/", "/", "dept.hb.cj") == "amqp://dept.hb.cj@rabbit:5672/%2F"
    assert department_uri("amqp://g:g@h:5673/v", "v", "dept.hb.cj", "p@ss") == "amqp://dept.hb.cj:p%40ss@h:5673/v"


def test_integration_publisher_sends_no_context_headers():
    class WorkerCtx:
        context_data = {"auth_token": "a-jwt", "call_id_stack": ["x"]}
    assert integration.IntegrationPublisher().get_message_headers(WorkerCtx()) == {}


# -- parsing ----------------------------------------------------------------------

def body(**overrides):
    command = {"command_id": COMMAND_ID, "petition_id": "hb-000001", "action": "resolve",
               "payload": {"note": "已修复"}}
    command.update(overrides)
    return {k: v for k, v in command.items() if v is not None}


def test_a_well_formed_command():
    assert commands.parse_command(body()) == {"command_id": COMMAND_ID, "petition_id": "hb-000001",
                                              "action": "resolve", "payload": {"note": "已修复"}}
    assert commands.parse_command(json.dumps(body(payload=None, action="accept")).encode())["payload"] == {}


@pytest.mark.parametrize("raw,field", [
    (body(command_id=None), "command_id"),
    (body(command_id="not-a-uuid"), "command_id"),
    (body(petition_id=None), "petition_id"),
    (body(action="dispatch"), "action"),
    (body(action="rate"), "action"),
    (body(payload="note"), "payload"),
    (body(extra=1), "extra"),
    (b"{not json", "_schema"),
    (b"\xff\xfe", "_schema"),
    ("[1, 2]", "_schema"),
    ([1, 2], "_schema"),
])
def test_a_malformed_command_names_the_problem(raw, field):
    with pytest.raises(Invalid) as caught:
        commands.parse_command(raw)
    assert field in caught.value.errors


def test_the_department_is_the_broker_user_that_published():
    auth = commands.department_from("dept.hb.chengjian", "hb.chengjian.accept")
    assert (auth.user_id, auth.district, auth.department, auth.roles) == (
        "dept:hb.chengjian", "hb", "chengjian", ("department_staff",))
    assert auth.authenticated and not auth.is_system and auth.scope is None


@pytest.mark.parametrize("user,key,error", [
    (None, "hb.chengjian.accept", Forbidden),
    ("guest", "hb.chengjian.accept", Forbidden),
    ("dept.hb.chengjian", "hb.zongzhi.accept", Forbidden),
    ("dept.hb.chengjian", "qj.chengjian.accept", Forbidden),
    ("dept.hb.chengjian", "hb.chengjian", Invalid),
    ("dept.hb.chengjian", None, Invalid),
])
def test_a_command_from_nobody_or_under_another_departments_key_is_refused(user, key, error):
    with pytest.raises(error):
        commands.department_from(user, key)


def test_routing_key_and_body_must_name_the_same_action():
    commands.check_action(commands.parse_command(body()), "hb.chengjian.resolve")
    with pytest.raises(Invalid) as caught:
        commands.check_action(commands.parse_command(body()), "hb.chengjian.accept")
    assert "action" in caught.value.errors


# -- outcomes ---------------------------------------------------------------------

def test_outcome_of_success_and_of_each_failure():
    command = commands.parse_command(body())
    ok = commands.outcome(command, petition={"id": "hb-000001", "status": "resolved"})
    assert ok == {"type": "command_result", "command_id": COMMAND_ID, "petition_id": "hb-000001",
                  "action": "resolve", "ok": True, "petition": {"id": "hb-000001", "status": "resolved"},
                  "error": None}
    refused = commands.outcome(command, error=commands.error_of(Conflict("cannot accept", {"status": ["closed"]})))
    assert refused["ok"] is False and refused["petition"] is None
    assert refused["error"] == {"code": "conflict", "status": 409, "message": "cannot accept",
                                "errors": {"status": ["closed"]}}
    crashed = commands.error_of(RuntimeError("mongo went away"))
    assert (crashed["status"], crashed["code"]) == (500, "error") and "mongo" not in crashed["message"]
    assert commands.error_of(NotFound("no such petition", {"petition_id": "x"}))["status"] == 404


def test_outcome_of_an_unparsable_command_keeps_what_ids_it_can():
    raw = json.dumps(body(action="fly")).encode()
    failed = commands.outcome(body=raw, error=commands.error_of(Invalid("bad", {"action": ["no"]})))
    assert (failed["command_id"], failed["petition_id"], failed["action"]) == (COMMAND_ID, "hb-000001", "fly")
    assert commands.outcome(body=b"{oops", error={})["command_id"] is None
    json.dumps(failed)


# -- the service on the real broker -------------------------------------------------

class DistrictDirectory(FakeDirectory):
    """文昌社区's fake directory, answering for a district code of this test's own
    (broker users are global: a unique district keeps this test off real departments' users)."""

    def __init__(self, code):
        self.code = code

    def locate_building(self, district, building_id):
        if district != self.code:
            raise NotFound("no such building")
        location = super().locate_building("hb", building_id)
        return dict(location, path=[self.code] + location["path"][1:])

    def list_categories(self, district, fresh=False):
        return super().list_categories("hb") if district == self.code else []

    def get_department(self, district, department_id):
        if district != self.code:
            raise NotFound("no such department")
        return super().get_department("hb", department_id)


@pytest.fixture
def district():
    return "t" + uuid.uuid4().hex[:7]


@pytest.fixture
def department(service_config, district):
    """chengjian provisioned in the test's vhost; its user is removed afterwards."""
    password = uuid.uuid4().hex
    result = provision_department(district, "chengjian", password=password,
                                  amqp_uri=service_config["AMQP_URI"])
    vhost = vhost_of(service_config["AMQP_URI"])
    yield dict(result, uri=department_uri(service_config["AMQP_URI"], vhost, result["user"], password))
    remove_department(district, "chengjian", vhost=vhost, api=Management())


@pytest.fixture
def petitions(container_factory, service_config, district, department):
    container = container_factory(PetitionsService, service_config)
    grid = replace_dependencies(container, "grid")
    fake = DistrictDirectory(district)
    grid.locate_building.side_effect = fake.locate_building
    grid.list_categories.side_effect = fake.list_categories
    grid.get_department.side_effect = fake.get_department
    container.start()
    return container


class Department:
    """The department's side, as its own broker user: publish commands, read its queue."""

    def __init__(self, uri, district, name="chengjian"):
        self.conn = Connection(uri, transport_options={"confirm_publish": True})
        self.prefix = f"{district}.{name}"
        self.queue = Queue(f"civicgrid.dept.{self.prefix}", no_declare=True)
        self.received = []

    def send(self, action, petition_id, payload=None, key_action=None, raw=None, content_type=None, **props):
        command_id = str(uuid.uuid4()) if raw is None else commands._peek(raw, "command_id")
        message = raw if raw is not None else {"command_id": command_id, "petition_id": petition_id,
                                               "action": action, "payload": payload or {}}
        kwargs = {"serializer": "json"} if raw is None else {"content_type": content_type,
                                                              "content_encoding": "utf-8"}
        props.setdefault("user_id", self.conn.userid)
        self.conn.Producer().publish(message, exchange="civicgrid.commands",
                                     routing_key=f"{self.prefix}.{key_action or action}",
                                     delivery_mode=2, **kwargs, **props)
        return command_id

    def take(self, predicate, timeout=15):
        """The first message (body, routing key, headers) matching ``predicate``, taken off the
        list of what was read so far."""
        deadline = time.time() + timeout
        bound = self.queue(self.conn.default_channel)
        while time.time() < deadline:
            for item in self.received:
                if predicate(item):
                    self.received.remove(item)
                    return item
            message = bound.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            self.received.append((message.payload, message.delivery_info["routing_key"], message.headers))
        raise AssertionError(f"nothing matching within {timeout}s; received {self.received!r}")

    def drain(self):
        bound = self.queue(self.conn.default_channel)
        while (message := bound.get(no_ack=True)) is not None:
            self.received.append((message.payload, message.delivery_info["routing_key"], message.headers))

    def outcome(self, command_id):
        return self.take(lambda item: item[1] == f"{self.prefix}.command_result"
                         and item[0]["command_id"] == command_id)


@pytest.fixture
def chengjian(department, district):
    dept = Department(department["uri"], district)
    yield dept
    dept.conn.release()


def tokens(district):
    def token(user, roles, scope=None):
        return {"auth_token": issue_token(user, district, roles, scope=scope)[0]}
    return {"resident": token("wenxiaohua", ["resident"], "b28"),
            "leader": token("daiyunzhong", ["building_leader"], "b28"),
            "staff": token("wc-secretary", ["community_staff"], "wenchang")}


def dispatched(container, district, department_id="chengjian", title="28栋后坡滑坡"):
    who = tokens(district)
    with entrypoint_hook(container, "submit", context_data=who["resident"]) as submit:
        created = submit({"category": "slope", "title": title})
    with entrypoint_hook(container, "act", context_data=who["leader"]) as act:
        act(created["id"], "escalate", {"reason": "需部门处理"})
    with entrypoint_hook(container, "act", context_data=who["staff"]) as act:
        petition = act(created["id"], "dispatch", {"department_id": department_id})
    assert (petition["status"], petition["department_id"]) == ("dispatched", department_id)
    return petition["id"]


def current(container, district, petition_id):
    with entrypoint_hook(container, "get", context_data=tokens(district)["staff"]) as get:
        return get(petition_id)


def test_a_department_accepts_and_resolves_over_the_bus(petitions, chengjian, district):
    pid = dispatched(petitions, district)
    event, key, _ = chengjian.take(lambda item: item[0].get("type") == "petition_dispatched")
    assert key == f"{district}.chengjian.petition_dispatched" and event["data"]["petition_id"] == pid

    accepted, key, headers = chengjian.outcome(chengjian.send("accept", pid))
    assert key == f"{district}.chengjian.command_result"
    assert accepted["ok"] is True and accepted["error"] is None and accepted["action"] == "accept"
    assert accepted["petition"]["status"] == "in_progress"
    assert accepted["petition"]["handler_id"] == f"dept:{district}.chengjian"
    assert not any(h.startswith("nameko.") for h in headers or {}), headers  # no token leaves the platform

    resolved, _, _ = chengjian.outcome(chengjian.send("resolve", pid, {"note": "已加固护坡"}))
    assert resolved["ok"] is True and resolved["petition"]["status"] == "resolved"
    assert resolved["petition"]["resolution"] == "已加固护坡"
    # the events of both changes reach the department too
    chengjian.take(lambda item: item[0].get("type") == "petition_resolved")
    petition = current(petitions, district, pid)
    assert petition["status"] == "resolved"
    assert [e["action"] for e in petition["timeline"]][-2:] == ["accept", "resolve"]


def test_every_failure_comes_back_as_an_outcome_and_changes_nothing(petitions, chengjian, district):
    pid = dispatched(petitions, district)
    before = current(petitions, district, pid)

    def refused(command_id, status, field=None):
        result, _, _ = chengjian.outcome(command_id)
        assert result["ok"] is False and result["petition"] is None, result
        assert result["error"]["status"] == status, result
        assert set(result["error"]) == {"code", "status", "message", "errors"}
        if field:
            assert field in result["error"]["errors"], result
        return result

    refused(chengjian.send("resolve", pid, {"note": "已修复"}), 409)        # not accepted yet
    refused(chengjian.send("resolve", pid, {}), 422, "note")              # the action's own schema
    refused(chengjian.send("return", pid, {"reason": ""}), 422, "reason")
    refused(chengjian.send("accept", "nope-000001"), 404)
    refused(chengjian.send("accept", pid, key_action="resolve"), 422, "action")
    raw = json.dumps({"command_id": str(uuid.uuid4()), "petition_id": pid}).encode()
    missing = refused(chengjian.send(None, None, key_action="accept", raw=raw, content_type="application/json"),
                      422, "action")
    assert missing["petition_id"] == pid
    refused(chengjian.send(None, None, key_action="accept", raw=b"{not json", content_type="application/json"),
            422, "_schema")
    refused(chengjian.send(None, None, key_action="accept", raw=b"accept it", content_type="text/plain"),
            422, "_schema")
    assert current(petitions, district, pid)["timeline"] == before["timeline"]

    # and the service is still there: a good command after all that works
    assert chengjian.outcome(chengjian.send("accept", pid))[0]["ok"] is True
    # a redelivered (or repeated) accept is answered, not applied twice
    again = refused(chengjian.send("accept", pid), 409)
    assert again["error"]["code"] == "conflict"
    assert [e["action"] for e in current(petitions, district, pid)["timeline"]].count("accept") == 1


def test_a_command_for_a_petition_dispatched_elsewhere_is_forbidden(petitions, chengjian, district):
    theirs = dispatched(petitions, district, department_id="zonghe", title="28栋楼道治安")
    result, _, _ = chengjian.outcome(chengjian.send("accept", theirs))
    assert result["ok"] is False and result["error"]["status"] == 403
    assert "department it was dispatched to" in result["error"]["message"]
    petition = current(petitions, district, theirs)
    assert (petition["status"], petition["department_id"], petition["handler_id"]) == ("dispatched", "zonghe", None)


def test_a_command_without_a_department_user_is_not_answered(petitions, chengjian, district, service_config):
    """Published by a platform user (no user_id): nobody to answer, nothing applied."""
    pid = dispatched(petitions, district)
    anonymous_id = str(uuid.uuid4())
    with Connection(service_config["AMQP_URI"]) as conn:
        conn.Producer().publish({"command_id": anonymous_id, "petition_id": pid, "action": "accept", "payload": {}},
                                exchange=Exchange("civicgrid.commands", type="topic", durable=True),
                                routing_key=f"{district}.chengjian.accept", serializer="json")
    marker = chengjian.send("resolve", pid, {"note": "x"})  # behind it in the same queue
    assert chengjian.outcome(marker)[0]["error"]["status"] == 409
    chengjian.drain()
    results = [b for b, key, _ in chengjian.received if key.endswith(".command_result")]
    assert anonymous_id not in [r["command_id"] for r in results]
    assert current(petitions, district, pid)["status"] == "dispatched"
