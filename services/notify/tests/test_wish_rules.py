"""Micro-wishes (微心愿) in the rules table: who hears each event, and what they read."""
import pytest

from civicgrid.events import make_event
from services.notify import domain

from .fakes import FakeDirectory

POINTS_ACTOR = {"id": "system:points", "role": "system"}
WISH = {"wish_id": "hb-w000001", "title": "给孙子买一个新书包", "community": "wenchang", "building_id": "b28",
        "resident_id": "wenxiaohua", "status": "adopted", "wanted_by": "2026-12-01", "adopter_kind": "person",
        "adopter_id": "zhoudangyuan", "adopter_name": "周党员"}
BY_UNIT = dict(WISH, adopter_kind="organisation", adopter_id="gxs-li", adopter_name="李经理",
               organisation_id="gxs", organisation_name="区供销社河边分社")


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    domain.create_indexes(database)
    return database


@pytest.mark.parametrize("type_, data, who, body", [
    ("wish_adopted", WISH, {"wenxiaohua"}, "您的微心愿「给孙子买一个新书包」已由周党员认领，请留意联系"),
    ("wish_adopted", BY_UNIT, {"wenxiaohua"}, "您的微心愿「给孙子买一个新书包」已由区供销社河边分社认领，请留意联系"),
    ("wish_fulfilled", dict(WISH, status="fulfilled", note="书包已送到家"), {"wenxiaohua"},
     "您的微心愿「给孙子买一个新书包」已完成：书包已送到家。如已收到，请在“微心愿”中确认"),
    ("wish_confirmed", dict(WISH, status="confirmed", points=5), {"zhoudangyuan"},
     "您认领的微心愿「给孙子买一个新书包」已由居民确认，获得5积分，感谢您的爱心"),
    ("wish_confirmed", dict(BY_UNIT, status="confirmed", points=10), {"gxs-li"},
     "贵单位认领的微心愿「给孙子买一个新书包」已由居民确认，10积分已记入区供销社河边分社账户"),
    ("wish_expired", dict(WISH, status="expired", adopter_kind=None, adopter_id=None, adopter_name=None),
     {"wenxiaohua"}, "您的微心愿「给孙子买一个新书包」到期（2026-12-01）仍无人认领，可联系社区工作人员重新发布"),
    ("wish_flagged", dict(WISH, status="open", adopter_kind=None, adopter_id=None, adopter_name=None, flag_days=7),
     {"wangshuji"}, "微心愿「给孙子买一个新书包」已发布7天仍无人认领，请联系党员、志愿者或驻区单位认领"),
])
def test_each_wish_event_reaches_whom_it_concerns(db, type_, data, who, body):
    event = make_event(type_, "hb", POINTS_ACTOR, data)
    assert domain.notify(db, FakeDirectory(), event) == len(who)
    written = {n["recipient"]: n for n in db.notifications.find({"event_id": event["event_id"]})}
    assert set(written) == who
    assert {n["body"] for n in written.values()} == {body}
    assert {n["category"] for n in written.values()} == {"task" if type_ == "wish_flagged" else "wish"}
    assert {n["data"]["wish_id"] for n in written.values()} == {"hb-w000001"}
    assert domain.notify(db, FakeDirectory(), event) == 0  # the same event again: nothing new


def test_posting_or_withdrawing_a_wish_notifies_nobody(db):
    for type_ in ("wish_posted", "wish_withdrawn"):
        event = make_event(type_, "hb", POINTS_ACTOR, dict(WISH, status="open"))
        assert domain.notify(db, FakeDirectory(), event) == 0


def test_a_flagged_wish_of_a_community_the_grid_does_not_know_reaches_nobody(db):
    event = make_event("wish_flagged", "hb", POINTS_ACTOR, dict(WISH, community="gone", flag_days=7))
    assert domain.notify(db, FakeDirectory(), event) == 0
