"""The recipient table: complete, consistent with the templates and the catalogue, and the points events."""
import pytest

from civicgrid.events import CATALOGUE, make_event
from services.notify import domain, preferences, rules, templates
from services.notify.service import NotifyService

from .fakes import FakeDirectory

POINTS_ACTOR = {"id": "system:points", "role": "system"}


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    domain.create_indexes(database)
    return database


def test_every_row_names_a_known_event_category_and_text_in_both_locales():
    for rule in rules.RULES:
        assert rule.event in CATALOGUE
        assert rule.category in preferences.CATEGORIES
        assert rule.practice
        assert (rule.event, rule.audience) in templates.ZH
        assert (rule.event, rule.audience) in templates.EN, f"no English text for {rule.event}/{rule.audience}"
    assert set(templates.ZH) == set(templates.EN)
    assert set(templates.ZH) == rules.AUDIENCES


def test_every_event_of_the_table_has_a_handler_in_the_service():
    for type_ in rules.EVENT_TYPES:
        handler = getattr(NotifyService, f"handle_{type_}")
        assert handler.__name__ == f"handle_{type_}"  # the idempotency key keeps its name


def test_only_dispatch_and_overdue_rows_are_critical():
    critical = {(r.event, r.audience) for r in rules.RULES if r.category in preferences.CRITICAL}
    assert critical == {("petition_dispatched", "department")} | {
        ("petition_overdue", a) for a in ("handler", "building", "department", "community", "district")}


def test_the_table_reads_as_text():
    rows = rules.table()
    assert ("petition_submitted", "level party", "party",
            "party members registered with the building's community", "task", "居民吹哨，党员报到") in rows
    assert len(rows) == len(rules.RULES)


def points_event(type_, **data):
    return make_event(type_, "hb", POINTS_ACTOR, data)


ORDER = {"order_id": "o1", "user_id": "wenxiaohua", "community": "wenchang", "item_id": "rice",
         "item_name": "大米5斤", "quantity": 1, "points": 30, "status": "reserved"}


@pytest.mark.parametrize("type_, data, who, body", [
    ("activity_cancelled", {"activity_id": "a1", "title": "河道清洁志愿活动", "community": "wenchang",
                            "starts_at": "2026-11-07T01:00:00+00:00", "attendees": ["wenxiaohua", "zhangyiqin"],
                            "reason": "暴雨预警"},
     {"wenxiaohua", "zhangyiqin"}, "您报名的活动「河道清洁志愿活动」（2026-11-07 09:00）已取消。暴雨预警"),
    ("claim_approved", {"claim_id": "c1", "user_id": "zhangyiqin", "title": "帮邻居搬运家具", "points": 5},
     {"zhangyiqin"}, "您申报的「帮邻居搬运家具」已通过审核，获得5积分"),
    ("claim_approved", {"claim_id": "c3", "user_id": "zhangyiqin", "title": "陪老人就医", "points": 0,
                        "reason": "本期自主申报积分已达上限"},
     {"zhangyiqin"}, "您申报的「陪老人就医」已通过审核，获得0积分（本期自主申报积分已达上限）"),
    ("claim_rejected", {"claim_id": "c2", "user_id": "zhangyiqin", "title": "散步", "points": 0,
                        "reason": "不属于志愿服务"},
     {"zhangyiqin"}, "您申报的「散步」未通过审核，原因：不属于志愿服务"),
    ("points_redeemed", ORDER, {"wenxiaohua"}, "您已用30积分兑换「大米5斤」×1，请到社区积分超市领取"),
    ("order_picked_up", dict(ORDER, status="picked_up"), {"wenxiaohua"}, "您兑换的「大米5斤」×1已领取"),
    ("order_cancelled", dict(ORDER, status="cancelled", reason="expired"), {"wenxiaohua"},
     "您兑换的「大米5斤」×1已取消（超时未领取），30积分已退回"),
])
def test_the_points_services_events_reach_whom_they_concern(db, type_, data, who, body):
    directory = FakeDirectory()
    event = points_event(type_, **data)
    assert domain.notify(db, directory, event) == len(who)
    written = {n["recipient"]: n for n in db.notifications.find({"event_id": event["event_id"]})}
    assert set(written) == who
    assert {n["body"] for n in written.values()} == {body}
    assert directory.calls == []  # nobody to look up: the event names them


def test_an_activity_without_attendees_notifies_nobody(db):
    event = points_event("activity_cancelled", activity_id="a2", title="空活动", community="wenchang",
                         starts_at="2026-11-07T01:00:00+00:00", attendees=[])
    assert domain.notify(db, FakeDirectory(), event) == 0
