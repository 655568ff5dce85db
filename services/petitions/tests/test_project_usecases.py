"""Micro-projects (微项目) on an in-memory store: create from petitions or a hotspot, edit, move, support,
comment, and resolve the linked petitions together through the petitions' own state machine."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import validate_event
from services.petitions import project_usecases as projects, usecases
from services.petitions.project_repository import ProjectRepository
from services.petitions.repository import create_indexes

from .fakes import FakeDirectory
from .test_domain import ADMIN, COMMUNITY, DEPARTMENT, GRID_WORKER, LEADER, NEIGHBOUR, OTHER_COMMUNITY, OWNER, person

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
OTHER_DISTRICT_STAFF = person("qjshuji", "community_staff", scope="wenchang", district="qj")
YANJING_RESIDENT = person("yjmin", "resident", scope="yj-b1")


class Directory(FakeDirectory):
    """文昌社区's buildings, and one of 盐井河村 next door."""

    def locate_building(self, district, building_id):
        if district == "hb" and building_id == "yj-b1":
            path = ["hb", "hebian", "yanjinghe", "yj-g1", "yj-b1"]
            return {"building_id": building_id, "name": "盐井河1栋", "path": path, "grid": "yj-g1",
                    "community": "yanjinghe", "street": "hebian"}
        return super().locate_building(district, building_id)


@pytest.fixture
def repo(open_db):
    db = open_db("petitions")
    create_indexes(db)
    return ProjectRepository(db)


def submit(repo, who=OWNER, category="streetlight", title="楼道灯不亮", **fields):
    body = {"category": category, "title": title, **fields}
    return usecases.submit(repo.petitions, Directory(), who, body, NOW)[0]["_id"]


def create(repo, who=COMMUNITY, **body):
    body.setdefault("title", "28栋楼道声控灯改造")
    return projects.create(repo, Directory(), who, body, NOW)


def outbox(repo, collection, doc_id):
    """The types of the events waiting in a project's (``collection``) or a petition's (``petitions``) outbox."""
    store = repo.petitions.collection if collection == "petitions" else repo.collection
    return [e["type"] for e in store.find_one({"_id": doc_id})["outbox"]]


def approved(repo, **body):
    project = create(repo, budget="3600.50", sponsor="镇城建办", **body)
    return projects.move(repo, ADMIN, project["_id"], {"status": "approved"}, NOW)


# -- creating -------------------------------------------------------------------------------

def test_from_selected_petitions_derives_community_buildings_and_proposes(repo):
    first, second = submit(repo), submit(repo, NEIGHBOUR, building_id="b29")
    project = create(repo, petition_ids=[first, second, first], budget=3600.5, sponsor_department_id="chengjian")
    assert project["_id"] == "hb-p0001" and project["status"] == "proposed"
    assert (project["community"], project["path"]) == ("wenchang", ["hb", "hebian", "wenchang"])
    assert project["petition_ids"] == [first, second] and project["buildings"] == ["b28", "b29"]
    assert project["budget_fen"] == 360050 and project["sponsor"] == "chengjian"  # the department's name
    assert "wenchang-g1" in project["nodes"]
    (event,) = repo.collection.find_one({"_id": project["_id"]})["outbox"]
    validate_event(event)
    assert event["type"] == "project_proposed" and event["data"]["petition_ids"] == [first, second]
    assert event["actor"] == {"id": "wangshuji", "role": "community_staff"}


def test_from_a_hotspot_links_the_open_petitions_of_the_category_there(repo):
    ours = [submit(repo, category="slope", title=f"后坡{i}") for i in range(3)]
    submit(repo, category="streetlight")                             # another category
    submit(repo, NEIGHBOUR, category="slope", building_id="b29")     # another building
    withdrawn = submit(repo, category="slope", title="撤回的")
    usecases.act(repo.petitions, Directory(), OWNER, withdrawn, "withdraw", {}, NOW)
    project = create(repo, hotspot={"category": "slope", "building_id": "b28"})
    assert project["petition_ids"] == ours                           # oldest first, open only
    assert project["origin"]["matched"] == 3 and project["origin"]["kind"] == "hotspot"

    by_grid = create(repo, title="网格边坡治理", hotspot={"category": "slope", "grid_id": "wenchang-g1"})
    assert len(by_grid["petition_ids"]) == 1                         # the b29 one: the others are taken
    assert {s["project_id"] for s in by_grid["origin"]["skipped"]} == {project["_id"]}
    with pytest.raises(Conflict) as err:
        create(repo, hotspot={"category": "slope", "building_id": "b28"})
    assert "building_id" in err.value.errors["hotspot"]


def test_a_hotspot_period_narrows_what_it_links(repo):
    submit(repo, category="streetlight")
    later = usecases.submit(repo.petitions, Directory(), OWNER, {"category": "streetlight", "title": "又不亮了"},
                            NOW + timedelta(days=10))[0]["_id"]
    project = create(repo, hotspot={"category": "streetlight", "building_id": "b28",
                                    "created_from": (NOW + timedelta(days=1)).isoformat()})
    assert project["petition_ids"] == [later]


@pytest.mark.parametrize("body,field", [
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"budget": -1}, "budget"),
    ({"budget": "12.345"}, "budget"),
    ({"budget": "lots"}, "budget"),
    ({"budget": "NaN"}, "budget"),
    ({"sponsor_department_id": "nasa"}, "sponsor_department_id"),
    ({"buildings": ["b99"]}, "buildings"),
    ({"buildings": ["yj-b1"]}, "buildings"),
    ({"hotspot": {"category": "slope", "building_id": "b28"}}, "petition_ids"),  # both
    ({"petition_ids": None}, "petition_ids"),                                    # neither
    ({"petition_ids": []}, "petition_ids"),
    ({"petition_ids": ["hb-999999"]}, "petition_ids"),
    ({"colour": "red"}, "colour"),
])
def test_bad_bodies_name_the_field_and_write_nothing(repo, body, field):
    pid = submit(repo)
    payload = {"title": "x", "petition_ids": [pid], **body}
    if payload["petition_ids"] is None:
        del payload["petition_ids"]
    with pytest.raises(Invalid) as err:
        projects.create(repo, Directory(), COMMUNITY, payload, NOW)
    assert field in err.value.errors, err.value.errors
    assert repo.collection.count_documents({}) == 0 and repo.links.count_documents({}) == 0


@pytest.mark.parametrize("spot,field", [
    ({"category": "ufo", "building_id": "b28"}, "category"),
    ({"category": "slope"}, "building_id"),
    ({"category": "slope", "building_id": "b28", "grid_id": "wenchang-g1"}, "building_id"),
    ({"category": "slope", "building_id": "b99"}, "building_id"),
    ({"category": "slope", "grid_id": "nowhere"}, "grid_id"),
    ({"category": "slope", "building_id": "b28", "created_from": "2026-12-01T00:00:00Z",
      "created_to": "2026-11-01T00:00:00Z"}, "created_from"),
])
def test_a_bad_hotspot_names_its_field(repo, spot, field):
    submit(repo, category="slope")
    with pytest.raises(Invalid) as err:
        create(repo, hotspot=spot)
    assert field in err.value.errors["hotspot"], err.value.errors


def test_selected_petitions_must_be_open_in_one_community_and_in_scope(repo):
    pid = submit(repo)
    closed = submit(repo, title="关掉的")
    usecases.act(repo.petitions, Directory(), OWNER, closed, "withdraw", {}, NOW)
    with pytest.raises(Invalid) as err:
        create(repo, petition_ids=[pid, closed])
    assert err.value.errors == {"petition_ids": {"1": [f"{closed} is withdrawn: only open petitions join a project"]}}
    yj = submit(repo, YANJING_RESIDENT, building_id="yj-b1")
    with pytest.raises(Invalid) as err:
        create(repo, petition_ids=[pid, yj])
    assert "1" in err.value.errors["petition_ids"]                   # not in 文昌社区's staff's scope
    with pytest.raises(Invalid) as err:
        create(repo, ADMIN, petition_ids=[pid, yj])
    assert "one community" in err.value.message


def test_who_creates(repo):
    pid = submit(repo)
    for who in (OWNER, LEADER, GRID_WORKER, DEPARTMENT):
        with pytest.raises(Forbidden):
            create(repo, who, petition_ids=[pid])
    assert create(repo, ADMIN, petition_ids=[pid])["created_by"] == "hbadmin"


def test_a_petition_is_in_one_open_project_at_a_time(repo):
    first, second = submit(repo), submit(repo)
    project = create(repo, petition_ids=[first])
    with pytest.raises(Conflict) as err:
        create(repo, petition_ids=[second, first])
    assert err.value.errors == {"petition_ids": {"1": [f"{first} is in open project {project['_id']}"]}}
    assert repo.links.count_documents({"petition_id": second}) == 0    # nothing half-linked
    projects.move(repo, COMMUNITY, project["_id"], {"status": "cancelled", "note": "并入全楼改造"}, NOW)
    assert create(repo, petition_ids=[second, first])["petition_ids"] == [second, first]


def test_a_link_left_by_a_crash_is_taken_over(repo):
    pid = submit(repo)
    repo.links.insert_one({"_id": f"hb:{pid}", "district": "hb", "petition_id": pid, "project_id": "hb-p0099",
                           "at": NOW - timedelta(hours=1)})
    assert create(repo, petition_ids=[pid])["petition_ids"] == [pid]


# -- editing ----------------------------------------------------------------------------------

def test_staff_edit_buildings_and_links(repo):
    first, second, third = submit(repo), submit(repo, NEIGHBOUR, building_id="b29"), submit(repo)
    project = create(repo, petition_ids=[first, second])
    after = projects.update(repo, Directory(), COMMUNITY, project["_id"], {
        "buildings": ["b27", "b28"], "add_petition_ids": [third], "remove_petition_ids": [second],
        "description": "更换为声控LED灯"}, NOW)
    assert after["petition_ids"] == [first, third] and after["buildings"] == ["b27", "b28"]
    assert after["timeline"][-1]["action"] == "update"
    stored = repo.get("hb", project["_id"])
    assert stored["buildings"] == ["b27", "b28"] and stored["description"] == "更换为声控LED灯"
    assert create(repo, petition_ids=[second])                       # unlinked: free again
    with pytest.raises(Invalid) as err:
        projects.update(repo, Directory(), COMMUNITY, project["_id"], {"remove_petition_ids": [second]}, NOW)
    assert "remove_petition_ids" in err.value.errors
    with pytest.raises(Invalid) as err:
        projects.update(repo, Directory(), COMMUNITY, project["_id"], {}, NOW)
    assert "_schema" in err.value.errors


def test_once_approved_budget_and_sponsor_are_the_admins(repo):
    project = approved(repo, petition_ids=[submit(repo)])
    with pytest.raises(Forbidden) as err:
        projects.update(repo, Directory(), COMMUNITY, project["_id"], {"budget": "5000"}, NOW)
    assert "budget" in err.value.errors
    projects.update(repo, Directory(), COMMUNITY, project["_id"], {"title": "28栋楼道灯改造（一期）"}, NOW)
    after = projects.update(repo, Directory(), ADMIN, project["_id"], {"budget": "5000"}, NOW)
    assert after["budget_fen"] == 500000
    with pytest.raises(Forbidden):
        projects.update(repo, Directory(), OTHER_COMMUNITY, project["_id"], {"title": "别人的"}, NOW)


# -- moving -----------------------------------------------------------------------------------

def test_the_steps_and_who_takes_them(repo):
    project = create(repo, petition_ids=[submit(repo)])
    pid = project["_id"]
    with pytest.raises(Forbidden):
        projects.move(repo, COMMUNITY, pid, {"status": "approved"}, NOW)        # a district admin approves
    with pytest.raises(Conflict) as err:
        projects.move(repo, ADMIN, pid, {"status": "approved"}, NOW)            # no budget, no sponsor yet
    assert set(err.value.errors) == {"budget", "sponsor"}
    projects.update(repo, Directory(), COMMUNITY, pid, {"budget": 0, "sponsor": "县委办党支部"}, NOW)
    with pytest.raises(Conflict):
        projects.move(repo, COMMUNITY, pid, {"status": "in_progress"}, NOW)     # not approved
    projects.move(repo, ADMIN, pid, {"status": "approved", "note": "同意，驻区单位出资"}, NOW)
    with pytest.raises(Forbidden):
        projects.move(repo, OTHER_COMMUNITY, pid, {"status": "in_progress"}, NOW)
    with pytest.raises(Forbidden):
        projects.move(repo, OWNER, pid, {"status": "in_progress"}, NOW)
    projects.move(repo, COMMUNITY, pid, {"status": "in_progress"}, NOW)
    with pytest.raises(Conflict):
        projects.move(repo, COMMUNITY, pid, {"status": "cancelled", "note": "太晚了"}, NOW)
    done = projects.move(repo, COMMUNITY, pid, {"status": "done"}, NOW)
    assert [e["action"] for e in done["timeline"]] == ["propose", "update", "approve", "start", "finish"]
    assert done["done_at"] == NOW and done["budget_fen"] == 0
    assert outbox(repo, "collection", pid) == ["project_proposed", "project_approved", "project_started",
                                               "project_done"]
    with pytest.raises(Invalid) as err:
        projects.move(repo, COMMUNITY, pid, {"status": "closed"}, NOW)
    assert "status" in err.value.errors
    with pytest.raises(Invalid) as err:
        projects.move(repo, COMMUNITY, pid, {"status": "cancelled"}, NOW)
    assert "note" in err.value.errors


def test_another_districts_project_is_not_found(repo):
    pid = create(repo, petition_ids=[submit(repo)])["_id"]
    for call in (lambda: projects.get(repo, OTHER_DISTRICT_STAFF, pid),
                 lambda: projects.move(repo, OTHER_DISTRICT_STAFF, pid, {"status": "done"}, NOW),
                 lambda: projects.comments(repo, OTHER_DISTRICT_STAFF, pid, {})):
        with pytest.raises(NotFound):
            call()
    assert projects.page(repo, OTHER_DISTRICT_STAFF, {})[1] == 0


# -- support and comments ------------------------------------------------------------------------

def test_residents_of_the_affected_buildings_support_once(repo):
    pid = create(repo, petition_ids=[submit(repo)])["_id"]
    first = projects.support(repo, OWNER, pid, NOW)
    again = projects.support(repo, OWNER, pid, NOW)
    assert first["supporters"] == again["supporters"] == 1
    assert outbox(repo, "collection", pid).count("project_supported") == 1
    assert repo.supports.count_documents({"project_id": pid}) == 1
    with pytest.raises(Forbidden):
        projects.support(repo, NEIGHBOUR, pid, NOW)                  # b29 is not affected
    with pytest.raises(Forbidden):
        projects.support(repo, LEADER, pid, NOW)                     # residents only
    projects.update(repo, Directory(), COMMUNITY, pid, {"buildings": ["b28", "b29"]}, NOW)
    assert projects.support(repo, NEIGHBOUR, pid, NOW)["supporters"] == 2
    items, _, _, supported = projects.page(repo, OWNER, {"building_id": "b28"})
    assert [p["_id"] for p in items] == [pid] and supported == {pid}


def test_a_support_whose_announcement_was_lost_is_announced_on_the_next_try(repo):
    pid = create(repo, petition_ids=[submit(repo)])["_id"]
    project = repo.get("hb", pid)
    repo.add_support(project, OWNER.user_id, "b28", NOW)              # a crash right after storing it
    assert projects.support(repo, OWNER, pid, NOW)["supporters"] == 1
    assert outbox(repo, "collection", pid).count("project_supported") == 1


def test_a_done_project_takes_no_support_but_comments(repo):
    project = approved(repo, petition_ids=[submit(repo)])
    projects.move(repo, COMMUNITY, project["_id"], {"status": "in_progress"}, NOW)
    projects.move(repo, COMMUNITY, project["_id"], {"status": "done"}, NOW)
    with pytest.raises(Conflict):
        projects.support(repo, OWNER, project["_id"], NOW)
    assert projects.comment(repo, OWNER, project["_id"], {"text": "灯很亮，谢谢社区"}, NOW)["role"] == "resident"


def test_comments_newest_first_paged_and_checked(repo):
    pid = create(repo, petition_ids=[submit(repo)])["_id"]
    for i, who in enumerate((OWNER, COMMUNITY, GRID_WORKER, LEADER)):
        projects.comment(repo, who, pid, {"text": f"意见{i}"}, NOW + timedelta(minutes=i))
    items, total, _ = projects.comments(repo, NEIGHBOUR, pid, {"page_size": 3})
    assert total == 4 and [c["text"] for c in items] == ["意见3", "意见2", "意见1"]
    assert [c["role"] for c in items] == ["building_leader", "grid_worker", "community_staff"]
    assert repo.get("hb", pid)["comments"] == 4
    with pytest.raises(Forbidden):
        projects.comment(repo, NEIGHBOUR, pid, {"text": "我不住28栋"}, NOW)
    for text in ("", "  ", "长" * 501):
        with pytest.raises(Invalid) as err:
            projects.comment(repo, OWNER, pid, {"text": text}, NOW)
        assert "text" in err.value.errors
    with pytest.raises(Invalid):
        projects.comments(repo, OWNER, pid, {"page_size": 51})


# -- done: resolved together ----------------------------------------------------------------------

def test_done_resolves_each_open_petition_and_reports_the_others(repo):
    d = Directory()
    waiting = submit(repo)                                                     # submitted at grid level
    claimed = submit(repo)
    usecases.act(repo.petitions, d, LEADER, claimed, "claim", {}, NOW)         # in progress at grid level
    escalated = submit(repo)
    usecases.act(repo.petitions, d, LEADER, escalated, "escalate", {"reason": "需社区协调"}, NOW)
    dispatched = submit(repo)
    usecases.act(repo.petitions, d, LEADER, dispatched, "escalate", {"reason": "r"}, NOW)
    usecases.act(repo.petitions, d, COMMUNITY, dispatched, "dispatch", {}, NOW)
    closed = submit(repo)
    withdrawn = submit(repo)
    project = approved(repo, petition_ids=[waiting, claimed, escalated, dispatched, closed, withdrawn])
    pid = project["_id"]
    usecases.act(repo.petitions, d, LEADER, closed, "claim", {}, NOW)
    usecases.act(repo.petitions, d, LEADER, closed, "resolve", {"note": "先临时修好"}, NOW)
    usecases.act(repo.petitions, d, OWNER, closed, "rate", {"score": 4}, NOW)
    usecases.act(repo.petitions, d, OWNER, withdrawn, "withdraw", {}, NOW)
    with pytest.raises(Conflict):
        projects.resolve_petitions(repo, COMMUNITY, pid, {"note": "已更换"}, NOW)   # not done yet
    projects.move(repo, COMMUNITY, pid, {"status": "in_progress"}, NOW)
    projects.move(repo, COMMUNITY, pid, {"status": "done"}, NOW)
    with pytest.raises(Forbidden):
        projects.resolve_petitions(repo, OWNER, pid, {"note": "x"}, NOW)
    with pytest.raises(Invalid) as err:
        projects.resolve_petitions(repo, COMMUNITY, pid, {}, NOW)
    assert "note" in err.value.errors

    after, outcome = projects.resolve_petitions(repo, COMMUNITY, pid, {"note": "楼道灯已全部更换为声控灯"}, NOW)
    assert [p["id"] for p in outcome["resolved"]] == [waiting, claimed, escalated]
    assert {p["id"]: p["reason"] for p in outcome["not_resolved"]} == {
        dispatched: "at_department", closed: "closed", withdrawn: "withdrawn"}
    assert "rated 4★" in next(p["message"] for p in outcome["not_resolved"] if p["id"] == closed)
    for petition_id in (waiting, claimed, escalated):
        petition = repo.petitions.get("hb", petition_id)
        assert (petition["status"], petition["resolved_by"], petition["project_id"]) == ("resolved", "wangshuji", pid)
        assert petition["resolution"] == "楼道灯已全部更换为声控灯" and petition["deadline"]["kind"] == "rate"
        assert pid in petition["timeline"][-1]["note"] and petition["timeline"][-1]["role"] == "community_staff"
        event = repo.petitions.collection.find_one({"_id": petition_id})["outbox"][-1]
        validate_event(event)
        assert event["type"] == "petition_resolved" and event["data"]["project_id"] == pid
    assert after["resolution"]["resolved"] == [waiting, claimed, escalated]
    assert after["timeline"][-1]["action"] == "resolve_petitions"

    # the residents rate as usual; a repeat resolves nothing twice and writes nothing
    usecases.act(repo.petitions, d, OWNER, waiting, "rate", {"score": 5}, NOW)
    version = repo.get("hb", pid)["version"]
    again, repeat = projects.resolve_petitions(repo, COMMUNITY, pid, {"note": "再点一次"}, NOW)
    assert repeat["resolved"] == [] and [p["id"] for p in repeat["already_resolved"]] == [waiting, claimed, escalated]
    assert len(repeat["not_resolved"]) == 3 and again["version"] == version
    assert outbox(repo, "petitions", claimed).count("petition_resolved") == 1


def test_a_district_admin_resolves_together_too(repo):
    petition_id = submit(repo)
    project = approved(repo, petition_ids=[petition_id])
    projects.move(repo, ADMIN, project["_id"], {"status": "in_progress"}, NOW)
    projects.move(repo, ADMIN, project["_id"], {"status": "done"}, NOW)
    _, outcome = projects.resolve_petitions(repo, ADMIN, project["_id"], {"note": "区里统一安装"}, NOW)
    assert [p["id"] for p in outcome["resolved"]] == [petition_id]
    assert repo.petitions.get("hb", petition_id)["timeline"][-1]["role"] == "district_admin"


def test_the_project_shows_each_viewer_the_petitions_they_may_see(repo):
    mine, theirs = submit(repo), submit(repo, NEIGHBOUR, building_id="b29")
    pid = create(repo, petition_ids=[mine, theirs])["_id"]
    _, visible, _ = projects.get(repo, OWNER, pid)
    assert [p["_id"] for p in visible] == [mine]
    _, visible, _ = projects.get(repo, COMMUNITY, pid)
    assert [p["_id"] for p in visible] == [mine, theirs]
    items, total, _, _ = projects.page(repo, COMMUNITY, {"status": "proposed", "community": "wenchang"})
    assert total == 1 and projects.page(repo, COMMUNITY, {"node": "wenchang-g1"})[1] == 1
    assert projects.page(repo, COMMUNITY, {"status": "done"})[1] == 0
    with pytest.raises(Invalid):
        projects.page(repo, COMMUNITY, {"status": "finished"})
