"""Notify on mongomock: who hears what, in which words, once, and their inbox."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Invalid, NotFound, Unauthorized
from services.notify import domain
from services.notify.dependencies import create_indexes
from services.notify.templates import TEMPLATES, render

from .fakes import FakeDirectory, petition_event, points_event

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
    ("petition_escalated", {"reason": "需社区协调"}, {"wenxiaohua", "wangshuji", "limin"}),
    ("petition_dispatched", {"department_id": "chengjian"}, {"wenxiaohua", "chengjian1", "chengjian2"}),
    ("petition_accepted", {"department_id": "chengjian"}, {"wenxiaohua"}),
    ("petition_returned", {"reason": "不属于本部门"}, {"wenxiaohua", "wangshuji", "limin"}),
    ("petition_resolved", {"note": "已更换灯泡"}, {"wenxiaohua"}),
    ("petition_closed", {"rating": 5, "handler_id": "daiyunzhong"}, {"wenxiaohua", "daiyunzhong"}),
    ("petition_closed", {"rating": None, "handler_id": None}, {"wenxiaohua"}),
    ("petition_withdrawn", {}, {"wenxiaohua"}),
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
    escalated = petition_event("petition_escalated", reason="需社区协调")
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


def test_every_event_type_has_its_texts_and_missing_fields_render_empty():
    for (type_, audience), _ in TEMPLATES.items():
        heading, body = render(type_, audience, {})
        assert heading and "{" not in body
    assert render("petition_escalated", "community", {"title": "t", "reason": None})[1] == \
        "网格吹哨：诉求「t」需要社区处理，原因："
    assert set(domain.AUDIENCES) == {t for t, _ in TEMPLATES}


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
    assert set(first["items"][0]) == {"id", "type", "title", "body", "petition_id", "read", "created_at"}
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
