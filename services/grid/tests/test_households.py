"""Households on an in-memory database: the import, care levels with their history, visits, the work queue."""
import json
import os
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.security import generate_password_hash

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import validate_event
from civicgrid.harness import ROOT
from services.grid import domain, households, importer
from services.grid.dependencies import create_indexes

from .test_domain import ADMIN, HB_ADMIN, seed

# 10:00 on 2 March 2026 in Chongqing
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
WORKER = AuthContext(user_id="liwang", district="hb", roles=("grid_worker",), scope="wenchang-g1", name="李网格")
STAFF = AuthContext(user_id="zhangsq", district="hb", roles=("community_staff",), scope="wenchang", name="张社区")
LEADER27 = AuthContext(user_id="daijiaqian", district="hb", roles=("building_leader",), scope="b27", name="戴家乾")
RESIDENT = AuthContext(user_id="resident28", district="hb", roles=("resident",), scope="b28")
CLERK = AuthContext(user_id="chengjian01", district="hb", roles=("department_staff",), department="chengjian")
OUTSIDER = AuthContext(user_id="xadmin", district="xs", roles=("district_admin",), scope="xs")
OTHER_GRID = AuthContext(user_id="g2", district="hb", roles=("grid_worker",), scope="wenchang-g2")
SYSTEM = AuthContext(user_id="system:notify", roles=("system",))


def homes():
    return [
        {"id": "b27-0101", "building_id": "b27", "name": "27栋1单元101 李家", "address": "1单元101",
         "members": [{"name": "李桂芳", "relation": "户主", "phone": "023-6666 1234"}, {"name": "李小明", "relation": "孙子"}],
         "care_level": "red", "care_reason": "家庭重大变故，独自抚养孙子"},
        {"id": "b28-0201", "building_id": "b28", "name": "28栋2单元201 王家",
         "members": [{"name": "王居民", "relation": "户主", "user_id": "resident28"}]},
        {"id": "b28-0302", "building_id": "b28", "name": "28栋3单元302 陈家", "members": [{"name": "陈秀英"}],
         "care_level": "orange", "care_reason": "独居老人"},
        {"id": "b29-0101", "building_id": "b29", "name": "29栋1单元101 赵家", "care_level": "orange",
         "care_reason": "残疾人家庭"},
    ]


def document():
    return {**seed(), "households": homes()}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    monkeypatch.setattr(importer, "generate_password_hash",
                        lambda pw: generate_password_hash(pw, method="pbkdf2:sha256:1000"))


@pytest.fixture
def db(open_db):
    database = open_db("grid")
    create_indexes(database)
    domain.create_district(database, ADMIN, "hb", "河边镇演示区")
    return database


@pytest.fixture
def hb(db):
    counts, _ = domain.import_district(db, HB_ADMIN, "hb", document(), T0)
    assert counts["households"] == 4
    # another grid of the same community, with a household of its own
    domain.import_district(db, HB_ADMIN, "hb", {
        "nodes": [{"id": "wenchang-g2", "type": "grid", "name": "二网格", "parent": "wenchang"},
                  {"id": "b40", "type": "building", "name": "40栋", "parent": "wenchang-g2"}],
        "households": [{"id": "b40-0101", "building_id": "b40", "name": "40栋 周家", "care_level": "red",
                        "care_reason": "重大疾病"}]}, T0)
    return db


def ids(page):
    return [h["id"] for h in page["items"]]


def invalid(call, *args):
    with pytest.raises(Invalid) as err:
        call(*args)
    return err.value.errors


# -- the import --------------------------------------------------------------

def test_households_are_imported_with_their_level_and_building_path(hb):
    red = households.get_household(hb, WORKER, "hb", "b27-0101", T0)
    assert red["path"] == ["hb", "hebian", "wenchang", "wenchang-g1", "b27"]
    assert (red["care_level"], red["care_reason"], red["building_name"]) == ("red", "家庭重大变故，独自抚养孙子", "竹林湾路27栋")
    assert red["members"][0] == {"name": "李桂芳", "relation": "户主", "phone": "023-6666 1234", "user_id": None}
    assert red["care_history"] == [{"at": "2026-03-02T02:00:00.000+00:00", "by": {"id": "hbadmin", "name": None,
                                                                                 "role": "district_admin"},
                                    "from_level": None, "to_level": "red", "reason": "家庭重大变故，独自抚养孙子",
                                    "source": "import"}]
    assert (red["next_visit_due"], red["visit_overdue"], red["visit_count"]) == ("2026-03-09", False, 0)
    green = households.get_household(hb, WORKER, "hb", "b28-0201", T0)
    assert (green["care_level"], green["care_reason"], green["next_visit_due"]) == ("green", None, "2026-05-31")


def test_every_bad_household_is_named_and_nothing_is_written(db):
    bad = homes() + [
        {"id": "b27-0101", "building_id": "b27", "name": "重复"},
        {"id": "x1", "building_id": "ghost", "name": "无此楼"},
        {"id": "x2", "building_id": "wenchang-g1", "name": "网格不是楼"},
        {"id": "x3", "building_id": "b29", "name": "缺理由", "care_level": "red"},
        {"id": "x4", "building_id": "b29", "name": "无此人", "members": [{"name": "某", "user_id": "nobody"}]},
        {"id": "x5", "building_id": "b29", "name": "坏号码", "care_level": "purple",
         "members": [{"name": "某", "phone": "call me"}]},
    ]
    errors = invalid(domain.import_district, db, HB_ADMIN, "hb", {**seed(), "households": bad}, T0)
    assert set(errors) == {"households[4].id", "households[5].building_id", "households[6].building_id",
                           "households[7].care_reason", "households[8].members[0].user_id",
                           "households[9].care_level", "households[9].members[0].phone"}
    assert "'wenchang-g1' is a grid, not a building" in errors["households[6].building_id"]
    assert db.households.count_documents({}) == 0 and db.nodes.count_documents({}) == 0


def test_a_reimport_updates_members_but_never_the_level_nor_moves_a_household(hb):
    households.set_care_level(hb, WORKER, "hb", "b28-0201", {"level": "orange", "reason": "户主突发重病"}, T0)
    again = document()
    again["households"][1]["members"].append({"name": "王小妹", "relation": "女儿"})
    domain.import_district(hb, HB_ADMIN, "hb", again, T0 + timedelta(days=1))
    home = households.get_household(hb, WORKER, "hb", "b28-0201", T0)
    assert home["care_level"] == "orange" and len(home["care_history"]) == 2  # the worker's judgement stands
    assert [m["name"] for m in home["members"]] == ["王居民", "王小妹"]
    moved = document()
    moved["households"][0]["building_id"] = "b29"
    errors = invalid(domain.import_district, hb, HB_ADMIN, "hb", moved, T0)
    assert errors == {"households[0].building_id": "cannot move household 'b27-0101': it is in building 'b27'"}


# -- who sees what -----------------------------------------------------------

def test_each_sees_the_households_of_their_own_area(hb):
    assert ids(households.list_households(hb, LEADER27, "hb", {}, T0)) == ["b27-0101"]
    assert set(ids(households.list_households(hb, WORKER, "hb", {}, T0))) == {"b27-0101", "b28-0201", "b28-0302",
                                                                             "b29-0101"}
    assert households.list_households(hb, STAFF, "hb", {}, T0)["total"] == 5
    assert households.list_households(hb, HB_ADMIN, "hb", {}, T0)["total"] == 5
    with pytest.raises(NotFound):  # another grid's household does not exist for this worker
        households.get_household(hb, WORKER, "hb", "b40-0101", T0)
    with pytest.raises(NotFound):
        households.get_household(hb, OTHER_GRID, "hb", "b27-0101", T0)
    for outsider in (RESIDENT, CLERK):
        with pytest.raises(Forbidden):
            households.list_households(hb, outsider, "hb", {}, T0)
        with pytest.raises(NotFound):  # not even their own household is there for them to learn of
            households.get_household(hb, outsider, "hb", "b28-0201", T0)
    with pytest.raises(NotFound):  # another district's: 404, not 403
        households.get_household(hb, OUTSIDER, "hb", "b27-0101", T0)


def test_one_household_is_found_before_any_role_is_asked(hb):
    """Another district's household, one outside the caller's area, and every household for someone who
    sees none: the same 404 as a made-up id, whatever the command would have needed; nothing written."""
    before = list(hb.households.find({}, {"_id": 1, "care_level": 1, "care_reason": 1, "visit_count": 1}))
    level = {"level": "green", "reason": "好转"}
    visit = {"visited_on": "2026-03-01"}
    commands = [
        lambda who, h: households.get_household(hb, who, "hb", h, T0),
        lambda who, h: households.list_visits(hb, who, "hb", h, {}),
        lambda who, h: households.set_care_level(hb, who, "hb", h, level, T0),
        lambda who, h: households.record_visit(hb, who, "hb", h, visit, T0),
    ]
    xs_leader = AuthContext(user_id="xs-leader", district="xs", roles=("building_leader",), scope="xs-b1")
    for command in commands:
        for who, household in [(RESIDENT, "b28-0201"), (CLERK, "b27-0101"), (LEADER27, "b28-0201"),
                               (RESIDENT, "no-such-home"), (LEADER27, "no-such-home")]:
            with pytest.raises(NotFound) as found:
                command(who, household)
            assert found.value.errors == {"household_id": ["not found"]}
        for who in (OUTSIDER, xs_leader):   # the district first: a role that could not act learns no more
            with pytest.raises(NotFound) as found:
                command(who, "b27-0101")
            assert found.value.errors == {"district": ["not found"]}
    # found, then refused for what the role may not do: a building leader reports, the grid decides
    with pytest.raises(Forbidden):
        households.set_care_level(hb, LEADER27, "hb", "b27-0101", level, T0)
    assert list(hb.households.find({}, {"_id": 1, "care_level": 1, "care_reason": 1, "visit_count": 1})) == before


def test_the_queue_puts_the_overdue_first_then_the_next_due(hb):
    ten_days = T0 + timedelta(days=10)
    page = households.list_households(hb, WORKER, "hb", {"queue": "mine"}, ten_days)
    assert ids(page) == ["b27-0101", "b28-0302", "b29-0101", "b28-0201"]
    assert (page["total"], page["overdue"]) == (4, 1)
    first = page["items"][0]
    assert (first["visit_overdue"], first["overdue_days"], first["visit_interval_days"]) == (True, 3, 7)
    assert ids(households.list_households(hb, WORKER, "hb", {"overdue": True}, ten_days)) == ["b27-0101"]
    assert ids(households.list_households(hb, WORKER, "hb", {"overdue": "false", "page_size": 2}, ten_days)) == [
        "b28-0302", "b29-0101"]
    assert ids(households.list_households(hb, WORKER, "hb", {"page": 2, "page_size": 3}, ten_days)) == ["b28-0201"]
    assert ids(households.list_households(hb, WORKER, "hb", {"care_level": "orange"}, ten_days)) == [
        "b28-0302", "b29-0101"]
    assert ids(households.list_households(hb, WORKER, "hb", {"building_id": "b28", "sort": "building"}, T0)) == [
        "b28-0201", "b28-0302"]
    assert ids(households.list_households(hb, STAFF, "hb", {"node": "wenchang-g2"}, T0)) == ["b40-0101"]
    errors = invalid(households.list_households, hb, WORKER, "hb", {"care_level": "blue", "page_size": 500,
                                                                    "sort": "name"}, T0)
    assert set(errors) == {"care_level", "page_size", "sort"}


# -- care levels -------------------------------------------------------------

def test_a_change_of_level_is_kept_with_who_when_why_and_announced(hb):
    later = T0 + timedelta(days=3)
    home = households.set_care_level(hb, WORKER, "hb", "b28-0201", {"level": "red", "reason": "户主确诊重病"}, later)
    assert (home["care_level"], home["care_reason"], home["care_since"]) == ("red", "户主确诊重病",
                                                                           "2026-03-05T02:00:00.000+00:00")
    change = home["care_history"][-1]
    assert change == {"at": "2026-03-05T02:00:00.000+00:00", "by": {"id": "liwang", "name": "李网格", "role": "grid_worker"},
                      "from_level": "green", "to_level": "red", "reason": "户主确诊重病", "source": "change"}
    assert home["next_visit_due"] == "2026-03-09"  # counted from its registration, not from the change
    (event,) = hb.households.find_one({"id": "b28-0201"})["outbox"]
    validate_event(event)
    assert (event["type"], event["actor"], event["data"]["from_level"], event["data"]["to_level"]) == (
        "care_level_changed", {"id": "liwang", "role": "grid_worker"}, "green", "red")
    assert "reason" not in event["data"]
    # the same level and reason again changes nothing; a new reason at the same level is kept, unannounced
    households.set_care_level(hb, WORKER, "hb", "b28-0201", {"level": "red", "reason": "户主确诊重病"}, later)
    again = households.set_care_level(hb, STAFF, "hb", "b28-0201", {"level": "red", "reason": "已住院治疗"}, later)
    assert len(again["care_history"]) == 3 and len(hb.households.find_one({"id": "b28-0201"})["outbox"]) == 1


def test_a_level_needs_a_known_level_a_reason_and_the_right_person(hb):
    assert set(invalid(households.set_care_level, hb, WORKER, "hb", "b28-0201", {"level": "amber"}, T0)) == {
        "level", "reason"}
    assert set(invalid(households.set_care_level, hb, WORKER, "hb", "b28-0201",
                       {"level": "green", "reason": "  "}, T0)) == {"reason"}
    with pytest.raises(Forbidden):  # a building leader reports; the grid and the community decide
        households.set_care_level(hb, LEADER27, "hb", "b27-0101", {"level": "green", "reason": "好转"}, T0)
    with pytest.raises(Forbidden):
        households.set_care_level(hb, SYSTEM, "hb", "b27-0101", {"level": "green", "reason": "好转"}, T0)
    with pytest.raises(NotFound):
        households.set_care_level(hb, WORKER, "hb", "b40-0101", {"level": "green", "reason": "好转"}, T0)
    assert households.get_household(hb, WORKER, "hb", "b27-0101", T0)["care_level"] == "red"


def test_a_change_made_meanwhile_is_not_overwritten(hb, monkeypatch):
    original = households._find

    def stale(db, selector, household_id, projection=None):
        found = original(db, selector, household_id, projection)
        db.households.update_one({"_id": found["_id"]}, {"$set": {"care_level": "orange", "care_reason": "别人改的"}})
        return found

    monkeypatch.setattr(households, "_find", stale)
    with pytest.raises(Conflict):
        households.set_care_level(hb, WORKER, "hb", "b28-0201", {"level": "red", "reason": "户主重病"}, T0)


# -- visits ------------------------------------------------------------------

def test_a_visit_moves_the_next_due_day_and_is_kept_in_the_history(hb):
    on = T0 + timedelta(days=9)  # 11 March: the red household is overdue
    assert households.get_household(hb, WORKER, "hb", "b27-0101", on)["visit_overdue"] is True
    visit = households.record_visit(hb, WORKER, "hb", "b27-0101", {
        "visited_on": "2026-03-11", "notes": "老人精神好多了", "needs_found": ["助餐", " 孙子课后辅导 "],
        "wish_id": "wish-7"}, on)
    assert (visit["visited_on"], visit["needs_found"], visit["wish_id"], visit["petition_id"]) == (
        "2026-03-11", ["助餐", "孙子课后辅导"], "wish-7", None)
    assert visit["visitor"] == {"id": "liwang", "name": "李网格", "role": "grid_worker"}
    assert visit["household"]["next_visit_due"] == "2026-03-18" and visit["household"]["visit_overdue"] is False
    households.record_visit(hb, LEADER27, "hb", "b27-0101", {"visited_on": "2026-03-05", "notes": "补记"}, on)
    home = households.get_household(hb, STAFF, "hb", "b27-0101", on)
    assert (home["last_visit_on"], home["visit_count"], home["next_visit_due"]) == ("2026-03-11", 2, "2026-03-18")
    history = households.list_visits(hb, WORKER, "hb", "b27-0101", {})
    assert [v["visited_on"] for v in history["items"]] == ["2026-03-11", "2026-03-05"] and history["total"] == 2
    assert [v["visited_on"] for v in home["recent_visits"]] == ["2026-03-11", "2026-03-05"]
    assert households.list_visits(hb, WORKER, "hb", "b27-0101", {"page": 2, "page_size": 1})["items"][0][
        "notes"] == "补记"


def test_a_first_visit_logged_late_from_paper_counts_from_its_own_day(hb):
    on = T0 + timedelta(days=1)
    households.record_visit(hb, WORKER, "hb", "b28-0302", {"visited_on": "2026-01-20"}, on)
    home = households.get_household(hb, WORKER, "hb", "b28-0302", on)
    assert (home["next_visit_due"], home["visit_overdue"], home["overdue_days"]) == ("2026-02-19", True, 12)


def test_a_bad_visit_names_the_field_and_writes_nothing(hb):
    on = T0
    assert invalid(households.record_visit, hb, WORKER, "hb", "b27-0101", {"visited_on": "2026-03-03"}, on) == {
        "visited_on": ["must not be after today (2026-03-02)"]}
    errors = invalid(households.record_visit, hb, WORKER, "hb", "b27-0101",
                     {"visited_on": "yesterday", "needs_found": ["", "x" * 51], "notes": 5,
                      "petition": {"title": ""}}, on)
    assert set(errors) == {"visited_on", "needs_found[0]", "needs_found[1]", "notes", "petition.category",
                           "petition.title"}
    with pytest.raises(NotFound):  # a resident sees no household, not even their own
        households.record_visit(hb, RESIDENT, "hb", "b28-0201", {"visited_on": "2026-03-01"}, on)
    with pytest.raises(Forbidden):
        households.record_visit(hb, ADMIN, "hb", "b28-0201", {"visited_on": "2026-03-01"}, on)
    with pytest.raises(NotFound):
        households.record_visit(hb, LEADER27, "hb", "b28-0201", {"visited_on": "2026-03-01"}, on)
    assert hb.households.count_documents({"visit_count": {"$gt": 0}}) == 0


class Petitions:
    """What the petitions service's submit_for_household does at its edge: answer, or refuse naming a field."""

    def __init__(self, refuse=None):
        self.filed, self.refuse = [], refuse

    def __call__(self, body):
        if self.refuse:
            raise Invalid("invalid input", self.refuse)
        self.filed.append(body)
        return {"id": f"hb-{len(self.filed):06d}", "status": "submitted"}


def test_a_petition_found_on_a_visit_is_filed_for_the_household(hb):
    petitions = Petitions()
    visit = households.record_visit(hb, WORKER, "hb", "b28-0201", {
        "visited_on": "2026-03-02", "needs_found": ["楼道灯坏"],
        "petition": {"category": "streetlight", "title": "28栋2单元楼道灯不亮", "attributes": {"location_type": "stairwell"}}},
        T0, file_petition=petitions)
    assert visit["petition_id"] == "hb-000001"
    assert petitions.filed == [{"category": "streetlight", "title": "28栋2单元楼道灯不亮", "description": "",
                                "attributes": {"location_type": "stairwell"}, "building_id": "b28",
                                "household_id": "b28-0201", "resident_id": "resident28"}]
    households.record_visit(hb, WORKER, "hb", "b28-0302", {
        "visited_on": "2026-03-02", "petition": {"category": "slope", "title": "门口台阶塌了"}}, T0, file_petition=petitions)
    assert petitions.filed[1]["resident_id"] is None  # no account in the household: the visitor follows it


def test_a_refused_petition_refuses_the_visit(hb):
    errors = invalid(households.record_visit, hb, WORKER, "hb", "b28-0201", {
        "visited_on": "2026-03-02", "petition": {"category": "noise", "title": "噪音"}}, T0,
        Petitions(refuse={"category": ["unknown category 'noise'"]}))
    assert errors == {"petition.category": ["unknown category 'noise'"]}
    errors = invalid(households.record_visit, hb, WORKER, "hb", "b28-0201", {
        "visited_on": "2026-03-02", "petition": {"category": "slope", "title": "x", "resident_id": "daiyunzhong"}},
        T0, Petitions())
    assert list(errors) == ["petition.resident_id"] and "resident28" in errors["petition.resident_id"][0]
    assert households.get_household(hb, WORKER, "hb", "b28-0201", T0)["visit_count"] == 0


# -- settings and the digest -------------------------------------------------

def test_intervals_per_district_change_every_due_day(hb):
    assert households.get_care_settings(hb, RESIDENT, "hb") == {"red_days": 7, "orange_days": 30, "green_days": 90}
    changed = households.set_care_settings(hb, HB_ADMIN, "hb", {"red_days": 3}, T0)
    assert changed == {"red_days": 3, "orange_days": 30, "green_days": 90}
    assert households.get_household(hb, WORKER, "hb", "b27-0101", T0)["next_visit_due"] == "2026-03-05"
    errors = invalid(households.set_care_settings, hb, HB_ADMIN, "hb", {"orange_days": 2}, T0)
    assert list(errors) == ["orange_days"]
    assert set(invalid(households.set_care_settings, hb, HB_ADMIN, "hb",
                       {"red_days": 0, "green_days": "90", "blue_days": 1}, T0)) == {"red_days", "green_days", "blue_days"}
    with pytest.raises(Forbidden):
        households.set_care_settings(hb, STAFF, "hb", {"red_days": 5}, T0)
    with pytest.raises(NotFound):
        households.get_care_settings(hb, OUTSIDER, "hb")
    assert households.get_care_settings(hb, ADMIN, "hb")["red_days"] == 3


def test_overdue_visits_for_each_grid_worker_and_community_staff(hb):
    hb.users.insert_one({"username": "g2", "district": "hb", "roles": ["grid_worker"], "scope": "wenchang-g2"})
    on = T0 + timedelta(days=40)  # both reds and both oranges overdue; the green not yet
    report = households.overdue_visits(hb, SYSTEM, "hb", on)
    assert (report["date"], report["total"]) == ("2026-04-11", 4)
    assert set(report["by_user"]) == {"liwang", "zhangsq", "g2"}
    mine = report["by_user"]["liwang"]
    assert mine["count"] == 3
    assert [i["household_id"] for i in mine["items"]] == ["b27-0101", "b28-0302", "b29-0101"]
    assert mine["items"][0] == {"household_id": "b27-0101", "name": "27栋1单元101 李家", "building_id": "b27",
                                "care_level": "red", "next_visit_due": "2026-03-09", "overdue_days": 33}
    assert report["by_user"]["zhangsq"]["count"] == 4 and report["by_user"]["g2"]["count"] == 1
    small = households.overdue_visits(hb, SYSTEM, "hb", on, per_user=2)
    assert len(small["by_user"]["zhangsq"]["items"]) == 2 and small["by_user"]["zhangsq"]["count"] == 4
    with pytest.raises(Forbidden):
        households.overdue_visits(hb, WORKER, "hb", on)
    with pytest.raises(NotFound):
        households.overdue_visits(hb, OUTSIDER, "hb", on)


def test_the_demo_district_has_households_of_every_level_in_buildings_27_to_29(db):
    with open(os.path.join(ROOT, "demo", "hebian.json"), encoding="utf-8") as f:
        demo = json.load(f)
    demo.pop("district")
    counts, _ = domain.import_district(db, HB_ADMIN, "hb", demo, T0)
    assert counts["households"] == len(demo["households"])
    page = households.list_households(db, HB_ADMIN, "hb", {"page_size": 100}, T0)
    assert {h["care_level"] for h in page["items"]} == {"green", "orange", "red"}
    assert {h["building_id"] for h in page["items"]} == {"b27", "b28", "b29"}
    assert all(h["care_reason"] for h in page["items"] if h["care_level"] != "green")
