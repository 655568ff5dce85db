"""Volunteer activities: capacity, check-ins that award once, caps, cancelling, repair."""
from datetime import timedelta

import eventlet
import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from services.points import activities, domain, rules
from services.points.dependencies import create_indexes

from .helpers import ADMIN, HU, NOW, QJ_RESIDENT, STAFF, WEN, YJ_STAFF, ZHANG, YieldingDb, balance

STARTS = (NOW + timedelta(days=1)).isoformat()
CLEAN_UP = {"title": "周末楼道清洁", "description": "28栋楼道大扫除", "place": "竹林湾路28栋",
            "starts_at": STARTS, "capacity": 3, "points": 5}


@pytest.fixture
def db(open_db):
    database = open_db("points")
    create_indexes(database)
    return database


def create(db, **fields):
    return activities.create(db, STAFF, "wenchang", dict(CLEAN_UP, **fields), NOW)


def test_staff_create_activities_for_their_community(db):
    made = create(db, points=None)
    assert (made["_id"], made["status"], made["points"]) == ("hb-a000001", "open", 5)  # the rule's default
    with pytest.raises(Forbidden):
        activities.create(db, WEN, "wenchang", CLEAN_UP, NOW)
    with pytest.raises(Forbidden):
        activities.create(db, YJ_STAFF, "wenchang", CLEAN_UP, NOW)


@pytest.mark.parametrize("fields, field", [
    ({"starts_at": (NOW - timedelta(hours=1)).isoformat()}, "starts_at"),
    ({"ends_at": NOW.isoformat()}, "ends_at"), ({"capacity": 0}, "capacity"), ({"points": -1}, "points"),
    ({"title": ""}, "title"), ({"place": None}, "place"), ({"starts_at": "tomorrow"}, "starts_at"),
])
def test_bad_activities_are_refused_by_name(db, fields, field):
    with pytest.raises(Invalid) as err:
        create(db, **fields)
    assert field in err.value.errors
    assert db.activities.count_documents({}) == 0


def test_signing_up_respects_capacity(db):
    made = create(db, capacity=2)
    activities.signup(db, WEN, made["_id"], NOW)
    activities.signup(db, WEN, made["_id"], NOW)  # twice is once
    activities.signup(db, ZHANG, made["_id"], NOW)
    with pytest.raises(Conflict) as err:
        activities.signup(db, HU, made["_id"], NOW)
    assert "capacity" in err.value.errors
    activities.withdraw(db, ZHANG, made["_id"], NOW)
    assert [s["user_id"] for s in activities.signup(db, HU, made["_id"], NOW)["signups"]] == ["wenxiaohua", "huxingyou"]
    with pytest.raises(NotFound):
        activities.signup(db, QJ_RESIDENT, made["_id"], NOW)
    with pytest.raises(Conflict):
        activities.signup(db, ZHANG, made["_id"], NOW + timedelta(days=2))  # it has started


def test_concurrent_sign_ups_never_exceed_capacity(db):
    made = create(db, capacity=5)
    racing = YieldingDb(db)
    people = [AuthContext(user_id=f"p{n}", district="hb", roles=("resident",), community="wenchang")
              for n in range(20)]
    outcomes = []

    def sign(who):
        try:
            activities.signup(racing, who, made["_id"], NOW)
            outcomes.append("in")
        except Conflict:
            outcomes.append("full")

    pool = eventlet.GreenPool(20)
    for who in people:
        pool.spawn(sign, who)
    pool.waitall()
    stored = db.activities.find_one({"_id": made["_id"]})
    assert outcomes.count("in") == 5 and len(stored["signups"]) == stored["signup_count"] == 5


def test_check_ins_award_once_per_person(db):
    made = create(db)
    for who in (WEN, ZHANG):
        activities.signup(db, who, made["_id"], NOW)
    results = activities.check_in(db, STAFF, made["_id"], {"user_ids": ["wenxiaohua", "zhangyiqin", "wenxiaohua"]}, NOW)
    assert [(r["user_id"], r["status"], r["points"]) for r in results] == [
        ("wenxiaohua", "checked_in", 5), ("zhangyiqin", "checked_in", 5)]
    again = activities.check_in(db, STAFF, made["_id"], {"user_id": "wenxiaohua"}, NOW)
    assert [(r["status"], r["points"]) for r in again] == [("already", 5)]
    assert balance(db, WEN) == 5 and balance(db, ZHANG) == 5
    stored = db.activities.find_one({"_id": made["_id"]})
    assert [e["type"] for e in stored["outbox"]] == ["points_awarded", "points_awarded"]
    assert stored["outbox"][0]["data"]["reason"] == "activity_attendance"
    tx = f"activity:{made['_id']}:wenxiaohua"
    entries = {e["account"]: e["amount"] for e in db.entries.find({"transaction_id": tx})}
    assert entries == {"user:wenxiaohua": 5, "community:wenchang": -5}
    assert domain.check_ledger(db, ADMIN, "hb")["balanced"]


def test_only_people_who_signed_up_are_checked_in_and_a_bad_list_writes_nothing(db):
    made = create(db)
    activities.signup(db, WEN, made["_id"], NOW)
    with pytest.raises(Invalid) as err:
        activities.check_in(db, STAFF, made["_id"], {"user_ids": ["wenxiaohua", "stranger"]}, NOW)
    assert list(err.value.errors) == ["user_ids.1"]
    assert balance(db, WEN) == 0 and db.activities.find_one({"_id": made["_id"]})["checked_in"] == []
    with pytest.raises(Invalid) as err:
        activities.check_in(db, STAFF, made["_id"], {"user_ids": []}, NOW)
    assert "user_ids" in err.value.errors
    with pytest.raises(Forbidden):
        activities.check_in(db, WEN, made["_id"], {"user_id": "wenxiaohua"}, NOW)
    with pytest.raises(Forbidden):
        activities.check_in(db, YJ_STAFF, made["_id"], {"user_id": "wenxiaohua"}, NOW)


def test_attendance_is_capped_per_day(db):
    rules.change(db, "hb", {"caps": {"activity": {"per_day": 8}}}, "hb-admin")
    first, second = create(db, points=5), create(db, points=5, title="下午场")
    for made in (first, second):
        activities.signup(db, HU, made["_id"], NOW)
        result = activities.check_in(db, STAFF, made["_id"], {"user_id": "huxingyou"}, NOW)
    assert [(r["points"], r["capped"]) for r in result] == [(3, True)]
    assert balance(db, HU) == 8


def test_cancelling_tells_everyone_signed_up_unless_someone_attended(db):
    made = create(db)
    for who in (WEN, ZHANG):
        activities.signup(db, who, made["_id"], NOW)
    with pytest.raises(Invalid):
        activities.cancel(db, STAFF, made["_id"], {}, NOW)
    cancelled = activities.cancel(db, STAFF, made["_id"], {"reason": "暴雨，改期"}, NOW)
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "暴雨，改期")
    event = db.activities.find_one({"_id": made["_id"]})["outbox"][-1]
    assert event["type"] == "activity_cancelled"
    assert event["data"]["attendees"] == ["wenxiaohua", "zhangyiqin"] and event["data"]["reason"] == "暴雨，改期"
    with pytest.raises(Conflict):
        activities.signup(db, HU, made["_id"], NOW)
    with pytest.raises(Conflict):
        activities.check_in(db, STAFF, made["_id"], {"user_id": "wenxiaohua"}, NOW)
    held = create(db)
    activities.signup(db, WEN, held["_id"], NOW)
    activities.check_in(db, STAFF, held["_id"], {"user_id": "wenxiaohua"}, NOW)
    with pytest.raises(Conflict) as err:
        activities.cancel(db, STAFF, held["_id"], {"reason": "x"}, NOW)
    assert "checked_in" in err.value.errors


def test_a_check_in_a_crash_interrupted_is_finished_by_the_sweep(db):
    made = create(db)
    activities.signup(db, WEN, made["_id"], NOW)
    db.activities.update_one({"_id": made["_id"]}, {"$push": {"checked_in": "wenxiaohua"},
                                                     "$inc": {"pending_checkins": 1}})
    assert activities.repair(db, NOW + timedelta(seconds=2)) == 0
    assert activities.repair(db, NOW + timedelta(seconds=30)) == 1
    assert activities.repair(db, NOW + timedelta(seconds=60)) == 0
    stored = db.activities.find_one({"_id": made["_id"]})
    assert stored["pending_checkins"] == 0 and [a["user_id"] for a in stored["attendance"]] == ["wenxiaohua"]
    assert balance(db, WEN) == 5


def test_residents_see_activities_staff_see_who_signed_up(db):
    made = create(db)
    activities.signup(db, WEN, made["_id"], NOW)
    items, total, _ = activities.list_for(db, ZHANG, "wenchang", {})
    assert total == 1 and items[0]["_id"] == made["_id"]
    assert activities.list_for(db, QJ_RESIDENT, "wenchang", {})[1] == 0
    with pytest.raises(NotFound):
        activities.get(db, QJ_RESIDENT, made["_id"])
    assert activities.is_staff_view(STAFF, made) and not activities.is_staff_view(WEN, made)


class GridAsCaller:
    """The grid's own rules behind the question the points service asks it (as the caller)."""

    def __init__(self, grid_db, auth):
        self.grid_db, self.auth = grid_db, auth

    def get_node(self, district, node_id):
        from services.grid import domain as grid
        return grid.get_node(self.grid_db, self.auth, district, node_id)


@pytest.fixture
def grid_db(open_db):
    from services.grid import domain as grid
    platform = AuthContext(user_id="admin", roles=("platform_admin",))
    database = open_db("grid")
    for code in ("hb", "qj"):
        grid.create_district(database, platform, code, code)
    grid.import_district(database, platform, "hb", {"nodes": [
        {"id": "hebian", "type": "street", "name": "河边镇", "parent": "hb"},
        {"id": "wenchang", "type": "community", "name": "文昌社区", "parent": "hebian"},
        {"id": "wenchang-g1", "type": "grid", "name": "一网格", "parent": "wenchang"}]})
    return database


def test_another_districts_community_is_not_found_before_any_role(db, grid_db):
    from services.points.dependencies import GridDirectory
    create(db)
    qj_staff = AuthContext(user_id="qj-secretary", district="qj", roles=("community_staff",), scope="qingshan",
                           community="qingshan")
    for who in (QJ_RESIDENT, qj_staff):   # a resident could never create one: still not found, not forbidden
        directory = GridDirectory(GridAsCaller(grid_db, who))
        with pytest.raises(NotFound):
            activities.create(db, who, "wenchang", CLEAN_UP, NOW, directory)
        with pytest.raises(NotFound):
            activities.list_for(db, who, "wenchang", {}, directory)
    with pytest.raises(NotFound):   # a grid is not a community
        activities.list_for(db, WEN, "wenchang-g1", {}, GridDirectory(GridAsCaller(grid_db, WEN)))
    assert activities.list_for(db, WEN, "wenchang", {}, GridDirectory(GridAsCaller(grid_db, WEN)))[1] == 1


def test_the_platform_reads_activities_but_signs_up_for_none(db):
    made = create(db)
    platform = AuthContext(user_id="admin", roles=("platform_admin",))
    assert activities.get(db, platform, made["_id"])["_id"] == made["_id"]
    with pytest.raises(Forbidden):
        activities.signup(db, platform, made["_id"], NOW)
    with pytest.raises(Forbidden):
        activities.withdraw(db, platform, made["_id"], NOW)
