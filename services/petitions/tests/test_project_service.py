"""Micro-project RPCs on the real broker: their events leave through the project's outbox, and resolving a
finished project's petitions publishes each petition's own ``petition_resolved``."""
import pytest
from nameko.events import event_handler
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies

from civicgrid.auth import issue_token
from civicgrid.errors import Forbidden, NotFound
from services.petitions.service import PetitionsService

from .fakes import FakeDirectory


class Listener:
    name = "project_listener"
    seen = []

    @event_handler("petitions", "project_proposed")
    def handle_project_proposed(self, payload):
        Listener.seen.append(payload)

    @event_handler("petitions", "project_supported")
    def handle_project_supported(self, payload):
        Listener.seen.append(payload)

    @event_handler("petitions", "project_done")
    def handle_project_done(self, payload):
        Listener.seen.append(payload)

    @event_handler("petitions", "petition_resolved")
    def handle_petition_resolved(self, payload):
        Listener.seen.append(payload)


def token(user, roles, scope=None, district="hb"):
    return {"auth_token": issue_token(user, district, roles, scope=scope)[0]}


RESIDENT = token("wenxiaohua", ["resident"], scope="b28")
STAFF = token("wangshuji", ["community_staff"], scope="wenchang")
ADMIN = token("hbadmin", ["district_admin"], scope="hb")
STRANGER = token("qjshuji", ["community_staff"], scope="wenchang", district="qj")


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


def call(container, method, context, *args):
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args)


def test_a_project_from_proposal_to_its_petitions_resolved(petitions, listener):
    first = call(petitions, "submit", RESIDENT, {"category": "streetlight", "title": "28栋二单元楼道灯坏了"})
    second = call(petitions, "submit", RESIDENT, {"category": "streetlight", "title": "28栋三楼楼道灯不亮"})
    with entrypoint_waiter(listener, "handle_project_proposed"):
        project = call(petitions, "create_project", STAFF, {
            "title": "28栋楼道声控灯改造", "hotspot": {"category": "streetlight", "building_id": "b28"},
            "budget": "3600.50", "sponsor": "镇城建办"})
    assert (project["id"], project["budget"], project["petition_count"]) == ("hb-p0001", "3600.50", 2)
    pid = project["id"]

    with entrypoint_waiter(listener, "handle_project_supported"):
        supported = call(petitions, "support_project", RESIDENT, pid)
    assert supported["supporters"] == 1 and supported["supported_by_me"] is True
    assert call(petitions, "support_project", RESIDENT, pid)["supporters"] == 1

    call(petitions, "move_project", ADMIN, pid, {"status": "approved"})
    call(petitions, "move_project", STAFF, pid, {"status": "in_progress"})
    with entrypoint_waiter(listener, "handle_project_done"):
        call(petitions, "move_project", STAFF, pid, {"status": "done", "note": "已全部更换"})

    def two_resolved(worker_ctx, res, exc_info):
        return len([e for e in Listener.seen if e["type"] == "petition_resolved"]) == 2

    with entrypoint_waiter(listener, "handle_petition_resolved", callback=two_resolved, timeout=10):
        answer = call(petitions, "resolve_project_petitions", STAFF, pid, {"note": "楼道灯已换为声控灯"})
    assert sorted(p["id"] for p in answer["resolved"]) == sorted([first["id"], second["id"]])
    assert answer["project"]["resolution"]["resolved"] == [first["id"], second["id"]]
    resolved = [e for e in Listener.seen if e["type"] == "petition_resolved"]
    assert {e["data"]["project_id"] for e in resolved} == {pid}
    assert all(e["data"]["resident_id"] == "wenxiaohua" and pid in e["data"]["note"] for e in resolved)
    proposed, support = (next(e for e in Listener.seen if e["type"] == t)
                         for t in ("project_proposed", "project_supported"))
    assert proposed["data"]["petition_ids"] == [first["id"], second["id"]] and proposed["data"]["budget_fen"] == 360050
    assert support["data"]["resident_id"] == "wenxiaohua" and support["data"]["supporters"] == 1

    comment = call(petitions, "comment_project", RESIDENT, pid, {"text": "灯亮了，谢谢社区！"})
    page = call(petitions, "project_comments", STAFF, pid, {})
    assert page["total"] == 1 and page["items"][0]["id"] == comment["id"]
    store = next(d for d in petitions.dependencies if d.attr_name == "db")
    actions = [e["action"] for e in store.db.audit.find({"target": pid})]
    assert {"petitions.create_project", "petitions.support_project", "petitions.move_project",
            "petitions.resolve_project_petitions"} == set(actions)
    assert store.db.audit.find_one({"target": comment["id"]})["action"] == "petitions.comment_project"


def test_errors_cross_the_broker_as_themselves(petitions):
    created = call(petitions, "submit", RESIDENT, {"category": "slope", "title": "后坡滑坡"})
    with pytest.raises(Forbidden):
        call(petitions, "create_project", RESIDENT, {"title": "我来建", "petition_ids": [created["id"]]})
    project = call(petitions, "create_project", STAFF, {"title": "后坡加固", "petition_ids": [created["id"]]})
    with pytest.raises(NotFound):
        call(petitions, "get_project", STRANGER, project["id"])
    assert call(petitions, "list_projects", STRANGER, {})["total"] == 0
