"""Notify on mongomock: who hears what, in which words, once, and their inbox."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Invalid, NotFound, Unauthorized
from services.notify import domain, rules
from services.notify.dependencies import create_indexes
from services.notify.templates import TEMPLATES, render

from .fakes import SYSTEM_ACTOR, FakeDirectory, petition_event, points_event

TITLE = "28栋路灯不亮"


def person(user_id, district="hb"):
    return AuthContext(user_id=user_id, district=district, roles=("resident",))


RESIDENT = person("wenxiaohua")


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    create_indexes(database)
    return database


@pytest.fixture
def directory():
    return FakeDirectory()


def notices(db, event):
    return {n["recipient"]: n for n in db.notifications.find({"event_id": event["event_id"]})}


@pytest.mark.parametrize("type_, extra, expected", [
    ("petition_submitted", {}, {"wenxiaohua", "daiyunzhong", "limin"}),
    ("petition_claimed", {"handler_id": "daiyunzhong"}, {"wenxiaohua"}),
    ("petition_escalated", {"reason": "需社区协调", "status": "escalated", "level": "community"},
     {"wenxiaohua", "wangshuji", "limin"}),
    ("petition_dispatched", {"department_id": "chengjian"}, {"wenxiaohua", "chengjian1", "chengjian2"}),
    ("petition_accepted", {"department_id": "chengjian"}, {"wenxiaohua"}),
    ("petition_returned", {"reason": "不属于本部门"}, {"wenxiaohua", "wangshuji", "limin"}),
    ("petition_resolved", {"note": "已更换灯泡"}, {"wenxiaohua"}),
    ("petition_closed", {"rating": 5, "handler_id": "daiyunzhong"}, {"wenxiaohua", "daiyunzhong"}),
    ("petition_closed", {"rating": None, "handler_id": None}, {"wenxiaohua"}),
    ("petition_withdrawn", {}, {"wenxiaohua"}),
    ("petition_overdue", {"deadline": "resolve", "overdue_level": "grid", "handler_id": "zhoudangyuan"},
     {"zhoudangyuan", "daiyunzhong", "limin"}),
    ("petition_merged", {"status": "merged", "merged_into": "p0"}, {"wenxiaohua"}),
    ("follow_up_opened", {"rating": 2, "follow_up_status": "open"}, {"wangshuji", "limin"}),
    ("follow_up_recorded", {"follow_up_status": "done", "outcome": "contacted"}, {"wenxiaohua"}),
])
def test_who_hears_each_petition_event(db, directory, type_, extra, expected):
    event = petition_event(type_, **extra)
    assert domain.notify(db, directory, event) == len(expected)
    written = notices(db, event)
    assert set(written) == expected
    for notice in written.values():
        assert TITLE in notice["body"]
        assert (notice["type"], notice["petition_id"], notice["district"]) == (type_, "p1", "hb")
        assert notice["read"] is False


def test_points_awarded_reaches_the_awarded_user(db, directory):
    event = points_event(user_id="daiyunzhong", amount=10, balance=25, reason="petition_handled")
    domain.notify(db, directory, event)
    notice = notices(db, event)["daiyunzhong"]
    assert notice["body"] == "您获得10积分（办理诉求获好评奖励），当前余额25分"
    assert directory.calls == []


def test_each_audience_reads_its_own_text(db, directory):
    escalated = petition_event("petition_escalated", reason="需社区协调", status="escalated", level="community")
    domain.notify(db, directory, escalated)
    written = notices(db, escalated)
    assert written["wenxiaohua"]["body"] == f"您的诉求「{TITLE}」已上报社区"
    assert written["wangshuji"]["body"] == f"网格吹哨：诉求「{TITLE}」需要社区处理，原因：需社区协调"
    closed = petition_event("petition_closed", rating=4, handler_id="daiyunzhong")
    domain.notify(db, directory, closed)
    written = notices(db, closed)
    assert written["wenxiaohua"]["body"] == f"您的诉求「{TITLE}」已办结归档"
    assert written["daiyunzhong"]["body"] == f"您办理的诉求「{TITLE}」获得4星评价"


def test_someone_in_two_audiences_hears_once_with_the_first_text(db, directory):
    # limin is both grid worker and community staff; the resident is also a building leader here.
    event = petition_event("petition_submitted", resident_id="daiyunzhong")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"daiyunzhong", "limin"}
    assert written["daiyunzhong"]["body"] == f"您的诉求「{TITLE}」已提交"
    assert written["limin"]["body"] == f"楼栋有新诉求：「{TITLE}」"


def test_the_same_event_twice_notifies_once(db, directory):
    event = petition_event("petition_submitted")
    assert domain.notify(db, directory, event) == 3
    assert domain.notify(db, directory, event) == 0
    assert db.notifications.count_documents({}) == 3


def test_a_building_the_grid_no_longer_knows_still_reaches_the_resident(db, directory):
    event = petition_event("petition_submitted", building_id="b99")
    domain.notify(db, directory, event)
    assert set(notices(db, event)) == {"wenxiaohua"}


OPEN311 = "open311:hotline:alice@example.com"


@pytest.mark.parametrize("type_, extra, staff", [
    ("petition_submitted", {}, {"daiyunzhong", "limin"}),
    ("petition_dispatched", {"department_id": "chengjian"}, {"chengjian1", "chengjian2"}),
    ("petition_resolved", {"note": "已更换灯泡"}, set()),
    ("petition_closed", {"rating": None, "handler_id": "daiyunzhong"}, {"daiyunzhong"}),
    ("petition_merged", {"merged_into": "p0", "followers": [OPEN311, "zhaoyi"]}, {"zhaoyi"}),
])
def test_an_open311_requester_is_skipped_quietly_and_staff_still_hear(db, directory, caplog, type_, extra, staff):
    # a request filed through Open311 names no platform user: no notice, no delivery, no error, no warning
    db.preferences.insert_one({"district": "hb", "user_id": OPEN311, "contacts": {"sms": "13800000000"}})
    event = petition_event(type_, resident_id=OPEN311, **extra)
    with caplog.at_level("WARNING"):
        assert domain.notify(db, directory, event) == len(staff)
    assert set(notices(db, event)) == staff
    assert db.deliveries.count_documents({"recipient": OPEN311}) == 0
    assert not caplog.records
    assert not rules.is_platform_user(OPEN311) and rules.is_platform_user("wenxiaohua")


FOLLOWERS = ["zhaoyi", "qianer"]


@pytest.mark.parametrize("type_, extra", [
    ("petition_submitted", {}),
    ("petition_submitted", {"kind": "help", "level": "party"}),
    ("petition_claimed", {"handler_id": "daiyunzhong"}),
    ("petition_escalated", {"status": "escalated", "level": "community"}),
    ("petition_escalated", {"kind": "help", "status": "submitted", "level": "grid"}),
    ("petition_dispatched", {"department_id": "chengjian"}),
    ("petition_accepted", {}),
    ("petition_returned", {"reason": "不属于本部门"}),
    ("petition_resolved", {"note": "已更换灯泡"}),
    ("petition_closed", {"rating": 5, "handler_id": "daiyunzhong"}),
    ("petition_closed", {"rating": None}),
    ("petition_withdrawn", {}),
    ("petition_merged", {"merged_into": "p0"}),
    ("follow_up_recorded", {"follow_up_status": "done", "outcome": "closed", "note": "已当面致歉"}),
])
def test_followers_read_what_the_resident_reads(db, directory, type_, extra):
    event = petition_event(type_, followers=FOLLOWERS + ["wenxiaohua"], **extra)
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert {"wenxiaohua", *FOLLOWERS} <= set(written)
    for follower in FOLLOWERS:
        assert written[follower]["body"] == written["wenxiaohua"]["body"]
        assert written[follower]["title"] == written["wenxiaohua"]["title"]
    assert db.notifications.count_documents({"event_id": event["event_id"], "recipient": "wenxiaohua"}) == 1


@pytest.mark.parametrize("type_, extra", [
    ("petition_overdue", {"deadline": "dispatch", "overdue_level": "community"}),
    ("follow_up_opened", {"rating": 1, "follow_up_status": "open"}),
])
def test_followers_hear_nothing_the_resident_does_not(db, directory, type_, extra):
    event = petition_event(type_, followers=FOLLOWERS, **extra)
    domain.notify(db, directory, event)
    assert not {"wenxiaohua", *FOLLOWERS} & set(notices(db, event))


def test_a_help_request_is_offered_to_the_party_members_not_the_grid(db, directory):
    event = petition_event("petition_submitted", kind="help", level="party", title="帮忙换灯泡")
    domain.notify(db, directory, event)
    written = notices(db, event)
    # daiyunzhong is both building leader and party member: he hears as a party member
    assert set(written) == {"wenxiaohua", "zhoudangyuan", "daiyunzhong"}
    assert written["wenxiaohua"]["body"] == "您的诉求「帮忙换灯泡」已提交"
    for member in ("zhoudangyuan", "daiyunzhong"):
        assert (written[member]["title"], written[member]["body"]) == (
            "居民吹哨", "居民吹哨：求助「帮忙换灯泡」等待党员认领")


def test_a_community_without_party_members_leaves_a_help_request_with_the_resident(db, directory):
    # b30's answer has no party_members list at all: nobody, not an error
    event = petition_event("petition_submitted", building_id="b30", kind="help", level="party")
    assert domain.notify(db, directory, event) == 1
    assert set(notices(db, event)) == {"wenxiaohua"}


def test_an_unclaimed_help_request_goes_to_the_grid(db, directory):
    event = petition_event("petition_escalated", actor=SYSTEM_ACTOR, kind="help", status="submitted",
                           level="grid", reason="党员未在时限内接单，转网格处理")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"wenxiaohua", "daiyunzhong", "limin"}
    assert written["wenxiaohua"]["body"] == f"您的求助「{TITLE}」已转网格处理"
    assert written["daiyunzhong"]["body"] == f"党员未接单：求助「{TITLE}」转网格处理"
    assert written["limin"]["body"] == f"党员未接单：求助「{TITLE}」转网格处理"


def test_a_party_member_whistling_to_the_grid_gives_the_reason(db, directory):
    event = petition_event("petition_escalated", actor={"id": "zhoudangyuan", "role": "party_member"},
                           kind="help", status="submitted", level="grid", reason="需要专业电工")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"wenxiaohua", "daiyunzhong", "limin"}
    assert written["limin"]["body"] == f"党员吹哨：求助「{TITLE}」需要网格处理，原因：需要专业电工"


def test_an_escalation_by_the_system_says_it_was_overdue(db, directory):
    event = petition_event("petition_escalated", actor=SYSTEM_ACTOR, status="escalated",
                           level="community", reason="超时未办结，系统自动上报社区")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"wenxiaohua", "wangshuji", "limin"}
    assert (written["wangshuji"]["title"], written["wangshuji"]["body"]) == (
        "超时自动上报", f"超时自动上报：诉求「{TITLE}」需要社区处理")
    assert written["wenxiaohua"]["body"] == f"您的诉求「{TITLE}」已上报社区"


@pytest.mark.parametrize("level, deadline, extra, expected", [
    ("party", "claim", {}, {"daiyunzhong", "limin"}),
    ("party", "resolve", {"handler_id": "zhoudangyuan"}, {"zhoudangyuan", "daiyunzhong", "limin"}),
    ("grid", "claim", {}, {"daiyunzhong", "limin"}),
    ("grid", "resolve", {"handler_id": "limin"}, {"daiyunzhong", "limin"}),
    ("community", "dispatch", {}, {"wangshuji", "limin", "hbadmin"}),
    ("department", "accept", {"department_id": "chengjian"},
     {"chengjian1", "chengjian2", "wangshuji", "limin"}),
    ("department", "resolve", {"department_id": "chengjian", "handler_id": "chengjian1"},
     {"chengjian1", "chengjian2", "wangshuji", "limin"}),
])
def test_an_overdue_petition_reaches_whoever_is_late_and_those_above(db, directory, level, deadline,
                                                                    extra, expected):
    event = petition_event("petition_overdue", actor=SYSTEM_ACTOR, level=level, overdue_level=level,
                           deadline=deadline, followers=FOLLOWERS, **extra)
    assert domain.notify(db, directory, event) == len(expected)
    written = notices(db, event)
    assert set(written) == expected
    assert all(TITLE in n["body"] and n["title"] == "诉求超时" for n in written.values())


@pytest.mark.parametrize("deadline, words", [
    ("claim", "认领"), ("resolve", "办结"), ("dispatch", "派单"), ("accept", "接单"), ("rate", "评价")])
def test_an_overdue_notice_names_its_time_limit(db, directory, deadline, words):
    event = petition_event("petition_overdue", actor=SYSTEM_ACTOR, overdue_level="grid",
                           deadline=deadline, handler_id="zhoudangyuan")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert written["zhoudangyuan"]["body"] == f"您办理的诉求「{TITLE}」已超过{words}时限，请尽快处理"
    assert written["limin"]["body"] == f"诉求「{TITLE}」已超过{words}时限"


def test_an_overdue_community_is_chased_by_the_district(db, directory):
    event = petition_event("petition_overdue", actor=SYSTEM_ACTOR, status="escalated", level="community",
                           overdue_level="community", deadline="dispatch")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert written["wangshuji"]["body"] == f"诉求「{TITLE}」已超过派单时限"
    assert written["hbadmin"]["body"] == f"诉求「{TITLE}」已超过派单时限，请督办"


def test_an_overdue_department_nobody_knows_still_reaches_the_community(db, directory):
    event = petition_event("petition_overdue", actor=SYSTEM_ACTOR, overdue_level="department",
                           deadline="accept", department_id="gone")
    domain.notify(db, directory, event)
    assert set(notices(db, event)) == {"wangshuji", "limin"}


def test_a_merged_duplicate_tells_its_resident(db, directory):
    event = petition_event("petition_merged", petition_id="p2", status="merged", merged_into="p1",
                           actor={"id": "limin", "role": "grid_worker"})
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"wenxiaohua"}
    assert written["wenxiaohua"]["body"] == f"您的诉求「{TITLE}」与已有诉求合并办理，后续进展将同步通知您"
    assert written["wenxiaohua"]["petition_id"] == "p2"


def test_a_low_rating_asks_the_community_for_a_follow_up(db, directory):
    event = petition_event("follow_up_opened", status="closed", rating=2, follow_up_status="open",
                           handler_id="daiyunzhong")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"wangshuji", "limin"}
    assert (written["wangshuji"]["title"], written["wangshuji"]["body"]) == (
        "差评回访", f"差评回访：诉求「{TITLE}」获得2星评价，请回访")


@pytest.mark.parametrize("outcome, words, extra", [
    ("contacted", "社区已回访", {}),
    ("reopened", "已重新立案办理", {"linked_petition_id": "p9"}),
    ("closed", "回访已完结", {}),
])
def test_a_recorded_follow_up_tells_the_resident_its_outcome(db, directory, outcome, words, extra):
    event = petition_event("follow_up_recorded", actor={"id": "wangshuji", "role": "community_staff"},
                           status="closed", rating=1, follow_up_status="done", outcome=outcome,
                           note="已电话联系居民", **extra)
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"wenxiaohua"}
    assert written["wenxiaohua"]["body"] == f"您的诉求「{TITLE}」{words}：已电话联系居民"


def test_a_petition_closed_by_the_system_unrated(db, directory):
    event = petition_event("petition_closed", actor=SYSTEM_ACTOR, status="closed", rating=None,
                           handler_id="daiyunzhong")
    domain.notify(db, directory, event)
    written = notices(db, event)
    assert set(written) == {"wenxiaohua", "daiyunzhong"}
    assert written["wenxiaohua"]["body"] == f"您的诉求「{TITLE}」超过评价时限，已自动归档"
    assert written["daiyunzhong"]["body"] == f"您办理的诉求「{TITLE}」已办结归档，居民未评价"


def test_every_event_type_has_its_texts_and_missing_fields_render_empty():
    for (type_, audience), _ in TEMPLATES.items():
        heading, body = render(type_, audience, {})
        assert (heading or type_ == "broadcast") and "{" not in heading + body
    assert render("petition_escalated", "community", {"title": "t", "reason": None})[1] == \
        "网格吹哨：诉求「t」需要社区处理，原因："
    assert set(rules.EVENT_TYPES) == {t for t, _ in TEMPLATES} - {"broadcast", "digest"}


def fill(db, user, count, district="hb"):
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for i in range(count):
        db.notifications.insert_one({
            "_id": f"n{i:02d}-{user}", "district": district, "recipient": user, "event_id": f"e{i}",
            "type": "petition_claimed", "title": "诉求已接手", "body": f"第{i}条",
            "petition_id": f"p{i}", "read": i % 2 == 1, "created_at": start + timedelta(minutes=i)})


def test_inbox_pages_newest_first_and_counts_unread(db):
    fill(db, "wenxiaohua", 25)
    fill(db, "daiyunzhong", 3)
    first = domain.inbox(db, RESIDENT, page=1, page_size=10)
    assert (first["total"], first["unread"], first["page"], first["page_size"]) == (25, 13, 1, 10)
    assert [item["body"] for item in first["items"]][:2] == ["第24条", "第23条"]
    assert {"id", "type", "title", "body", "petition_id", "read", "created_at"} <= set(first["items"][0])
    last = domain.inbox(db, RESIDENT, page=3, page_size=10)
    assert [item["body"] for item in last["items"]] == [f"第{i}条" for i in range(4, -1, -1)]
    assert domain.inbox(db, RESIDENT, page=4, page_size=10)["items"] == []
    assert domain.inbox(db, person("wenxiaohua", district="xs"))["total"] == 0


@pytest.mark.parametrize("page, page_size, field", [
    (0, 20, "page"), (1, 0, "page_size"), (1, 101, "page_size"), ("x", 20, "page")])
def test_inbox_refuses_bad_pages(db, page, page_size, field):
    with pytest.raises(Invalid) as err:
        domain.inbox(db, RESIDENT, page=page, page_size=page_size)
    assert field in err.value.errors


def test_inbox_requires_a_signed_in_user(db):
    with pytest.raises(Unauthorized):
        domain.inbox(db, AuthContext())


def test_mark_read_only_for_the_recipient(db):
    fill(db, "wenxiaohua", 2)
    fill(db, "daiyunzhong", 1)
    item = domain.mark_read(db, RESIDENT, "n00-wenxiaohua")
    assert item["read"] is True and item["id"] == "n00-wenxiaohua"
    assert domain.inbox(db, RESIDENT)["unread"] == 0
    with pytest.raises(NotFound):
        domain.mark_read(db, RESIDENT, "n00-daiyunzhong")
    with pytest.raises(NotFound):
        domain.mark_read(db, person("wenxiaohua", district="xs"), "n01-wenxiaohua")
    with pytest.raises(NotFound):
        domain.mark_read(db, RESIDENT, "nope")
    assert db.notifications.find_one({"_id": "n00-daiyunzhong"})["read"] is False
