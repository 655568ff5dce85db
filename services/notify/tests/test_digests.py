"""Morning digests: the read model kept from events, what waits for whom, once a day per district timezone."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.events import isoformat, make_event
from services.notify import digests, district_settings, domain

from .fakes import SYSTEM_ACTOR, FakeDirectory, petition_event

# 07:30 and 08:05 in Shanghai on 2 November
EARLY = datetime(2026, 11, 1, 23, 30, tzinfo=timezone.utc)
MORNING = datetime(2026, 11, 2, 0, 5, tzinfo=timezone.utc)
ADMIN = AuthContext(user_id="hbadmin", district="hb", roles=("district_admin",), scope="hb")


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    domain.create_indexes(database)
    return database


def at(event, moment):
    event["occurred_at"] = isoformat(moment)
    return event


def feed(db, *events):
    for event in events:
        digests.observe(db, event, MORNING)


def titles(notice, kind):
    return [i["title"] for i in notice["data"]["items"][kind]]


def test_the_read_model_follows_the_latest_event_whatever_the_order(db):
    t = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    submitted = at(petition_event("petition_submitted", petition_id="p1"), t)
    escalated = at(petition_event("petition_escalated", petition_id="p1", status="escalated", level="community"),
                   t + timedelta(hours=1))
    feed(db, escalated, submitted)  # out of order: the older one changes nothing
    view = db.petition_view.find_one({"_id": "hb:p1"})
    assert (view["status"], view["level"]) == ("escalated", "community")
    # an overdue warning stamped at the same instant as the escalation it caused does not undo it
    overdue = at(petition_event("petition_overdue", actor=SYSTEM_ACTOR, petition_id="p1", status="submitted",
                                level="grid", overdue_level="grid", deadline="claim"), t + timedelta(hours=1))
    feed(db, overdue)
    view = db.petition_view.find_one({"_id": "hb:p1"})
    assert (view["level"], view.get("overdue")) == ("community", None)
    feed(db, escalated)  # a redelivery changes nothing
    assert db.petition_view.count_documents({}) == 1


def test_a_follow_up_shows_whatever_the_order_of_the_petitions_events(db):
    t = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    closed = at(petition_event("petition_closed", petition_id="p1", status="closed", rating=1),
                t + timedelta(seconds=1))
    opened = at(petition_event("follow_up_opened", petition_id="p1", status="closed", rating=1,
                               follow_up_status="open"), t)
    feed(db, closed, opened)  # the follow-up was opened first but arrives last
    assert db.petition_view.find_one({"_id": "hb:p1"})["follow_up_open"] is True
    recorded = at(petition_event("follow_up_recorded", petition_id="p1", status="closed", rating=1,
                                 follow_up_status="done", outcome="contacted"), t + timedelta(hours=2))
    feed(db, recorded, opened)  # a redelivered opening does not reopen what was recorded later
    view = db.petition_view.find_one({"_id": "hb:p1"})
    assert view["follow_up_open"] is False and view["status"] == "closed"


def test_what_waits_for_whom(db):
    t = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    feed(db,
         at(petition_event("petition_submitted", petition_id="p1", title="28栋路灯不亮"), t),
         at(petition_event("petition_escalated", petition_id="p2", title="楼后滑坡", status="escalated",
                           level="community"), t),
         at(petition_event("petition_dispatched", petition_id="p3", title="井盖缺失", status="dispatched",
                           level="department", department_id="chengjian"), t),
         at(petition_event("petition_claimed", petition_id="p4", title="楼道堆物", status="in_progress",
                           handler_id="daiyunzhong"), t),
         at(petition_event("petition_overdue", actor=SYSTEM_ACTOR, petition_id="p4", title="楼道堆物",
                           status="in_progress", handler_id="daiyunzhong", overdue_level="grid",
                           deadline="resolve"), t + timedelta(hours=1)),
         at(petition_event("follow_up_opened", petition_id="p5", title="噪音扰民", status="closed", rating=1,
                           follow_up_status="open"), t),
         at(petition_event("petition_submitted", petition_id="p6", title="已撤回的", status="withdrawn"), t),
         make_event("claim_submitted", "hb", {"id": "zhangyiqin", "role": "resident"},
                    {"claim_id": "c1", "user_id": "zhangyiqin", "title": "帮邻居搬运家具", "community": "wenchang"}),
         make_event("claim_submitted", "hb", {"id": "zhangyiqin", "role": "resident"},
                    {"claim_id": "c2", "user_id": "zhangyiqin", "title": "已审核的", "community": "wenchang"}),
         make_event("claim_approved", "hb", {"id": "wangshuji", "role": "community_staff"},
                    {"claim_id": "c2", "user_id": "zhangyiqin", "title": "已审核的", "points": 5}))
    buckets = digests.build(db, FakeDirectory(), "hb")
    assert buckets["daiyunzhong"] == {
        "overdue": [{"petition_id": "p4", "title": "楼道堆物", "due_at": None}],
        "unclaimed": [{"petition_id": "p1", "title": "28栋路灯不亮", "due_at": None}],
        "follow_ups": [], "claims": [], "visits": []}
    assert [i["title"] for i in buckets["limin"]["unclaimed"]] == ["28栋路灯不亮", "楼后滑坡"]  # grid and staff
    assert [i["title"] for i in buckets["wangshuji"]["unclaimed"]] == ["楼后滑坡"]
    assert [i["title"] for i in buckets["wangshuji"]["follow_ups"]] == ["噪音扰民"]
    assert [i["title"] for i in buckets["wangshuji"]["claims"]] == ["帮邻居搬运家具"]
    assert [i["title"] for i in buckets["chengjian2"]["unclaimed"]] == ["井盖缺失"]
    assert "wenxiaohua" not in buckets  # residents get no digest


def test_digests_go_out_once_a_morning_in_the_districts_timezone(db):
    t = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
    feed(db, at(petition_event("petition_submitted", petition_id="p1", title="28栋路灯不亮"), t),
         at(petition_event("petition_dispatched", petition_id="p3", title="井盖缺失", status="dispatched",
                           level="department", department_id="chengjian"), t))
    directory = FakeDirectory()
    assert digests.run(db, directory, EARLY) == []  # 07:30 in Shanghai: not yet
    assert digests.run(db, directory, MORNING) == [("hb", "2026-11-02", 4)]
    assert digests.run(db, directory, MORNING + timedelta(hours=3)) == []  # once a day
    notice = db.notifications.find_one({"type": "digest", "recipient": "daiyunzhong"})
    assert notice["title"] == "今日待办（2026-11-02）"
    assert notice["body"] == ("待认领/待派单/待接单1件，已超时0件，待回访0件，待审核积分申报0件。"
                              "包括「28栋路灯不亮」")
    assert (notice["category"], notice["petition_id"], notice["data"]["counts"]["unclaimed"]) == ("digest", None, 1)
    assert titles(db.notifications.find_one({"type": "digest", "recipient": "chengjian1"}), "unclaimed") == [
        "井盖缺失"]
    assert digests.run(db, directory, MORNING + timedelta(days=1)) == [("hb", "2026-11-03", 4)]


def test_a_district_elsewhere_gets_its_digest_at_its_own_morning(db):
    domain.set_settings(db, ADMIN, "hb", {"timezone": "Europe/London", "digest_hour": 9})
    feed(db, petition_event("petition_submitted", petition_id="p1"))
    assert digests.run(db, FakeDirectory(), MORNING) == []  # 00:05 in London
    nine = datetime(2026, 11, 2, 9, 1, tzinfo=timezone.utc)
    assert digests.run(db, FakeDirectory(), nine) == [("hb", "2026-11-02", 2)]
    domain.set_settings(db, ADMIN, "hb", {"digest_enabled": False})
    assert digests.run(db, FakeDirectory(), nine + timedelta(days=1)) == []


def test_digests_in_english_and_nobody_with_nothing_waiting(db):
    domain.set_my_preferences(db, AuthContext(user_id="daiyunzhong", district="hb", roles=("building_leader",)),
                              {"locale": "en"})
    feed(db, petition_event("petition_submitted", petition_id="p1", title="Light out"),
         petition_event("petition_submitted", petition_id="p2", title="Bins"),
         petition_event("petition_submitted", petition_id="p3", title="Door"),
         petition_event("petition_submitted", petition_id="p4", title="Lift"))
    digests.run(db, FakeDirectory(), MORNING)
    notice = db.notifications.find_one({"type": "digest", "recipient": "daiyunzhong"})
    assert notice["title"] == "Today's work (2026-11-02)"
    assert notice["body"].startswith("4 waiting to be taken on, 0 overdue")
    assert notice["body"].endswith("Including \"Light out\", \"Bins\", \"Door\" and 4 more")
    assert db.notifications.count_documents({"type": "digest"}) == 2  # the leader and the grid worker


def test_a_run_left_running_by_a_dead_process_is_taken_over(db):
    feed(db, petition_event("petition_submitted", petition_id="p1"))
    db.digest_runs.insert_one({"_id": "hb:2026-11-02", "status": "running", "started_at": MORNING})
    assert digests.run(db, FakeDirectory(), MORNING + timedelta(minutes=5)) == []
    assert digests.run(db, FakeDirectory(), MORNING + timedelta(minutes=15)) == [("hb", "2026-11-02", 2)]


def test_district_settings_are_checked(db):
    from civicgrid.errors import Forbidden, Invalid
    with pytest.raises(Invalid) as err:
        domain.set_settings(db, ADMIN, "hb", {"timezone": "Nowhere/City", "digest_hour": 24, "locale": "fr",
                                              "digest_enabled": "yes", "colour": "red"})
    assert set(err.value.errors) == {"timezone", "digest_hour", "locale", "digest_enabled", "colour"}
    with pytest.raises(Forbidden):
        domain.set_settings(db, AuthContext(user_id="x", district="hb", roles=("resident",)), "hb", {})
    assert domain.get_settings(db, ADMIN, "hb") == district_settings.DEFAULTS


def test_overdue_household_visits_are_counted_and_the_first_few_named(db):
    """入户走访: the grid answers who should have visited whom by now; a grid worker with nothing else gets a digest."""
    feed(db, petition_event("petition_submitted", petition_id="p1", title="28栋路灯不亮"))
    directory = FakeDirectory()
    items = [{"household_id": f"h{i}", "name": name, "building_id": "b28", "care_level": "red",
              "next_visit_due": "2026-10-30", "overdue_days": 3} for i, name in enumerate(("李家", "王家", "赵家", "刘家"))]
    directory.overdue = {"hb": {"district": "hb", "total": 7, "by_user": {
        "limin": {"count": 7, "items": items}, "wangshuji": {"count": 1, "items": items[:1]}}}}
    assert digests.run(db, directory, MORNING) == [("hb", "2026-11-02", 3)]
    grid = db.notifications.find_one({"type": "digest", "recipient": "limin"})
    assert grid["data"]["counts"]["visits"] == 7 and len(grid["data"]["items"]["visits"]) == 4
    assert grid["body"] == ("待认领/待派单/待接单1件，已超时0件，待回访0件，待审核积分申报0件。"
                            "逾期未走访7户：「李家」、「王家」、「赵家」等。包括「28栋路灯不亮」")
    staff = db.notifications.find_one({"type": "digest", "recipient": "wangshuji"})  # the visits alone are reason enough
    assert staff["body"].endswith("待审核积分申报0件。逾期未走访1户：「李家」。")
    leader = db.notifications.find_one({"type": "digest", "recipient": "daiyunzhong"})
    assert leader["data"]["counts"]["visits"] == 0 and "走访" not in leader["body"]
    assert ("overdue_visits", "hb") in directory.calls
