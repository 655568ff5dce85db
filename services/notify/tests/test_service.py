"""The notify service on the real broker: events in, one notice each, the inbox over RPC."""
import pytest
from nameko.testing.services import entrypoint_hook

from civicgrid.auth import issue_token
from civicgrid.errors import Invalid, NotFound, Unauthorized

from .fakes import SYSTEM_ACTOR, petition_event, points_event


def token(user, roles, scope=None):
    return {"auth_token": issue_token(user, "hb", roles, scope=scope)[0]}


RESIDENT = token("wenxiaohua", ["resident"], scope="b28")
LEADER = token("daiyunzhong", ["building_leader"], scope="b28")
DEPARTMENT = token("chengjian1", ["department_staff"])
COMMUNITY = token("wangshuji", ["community_staff"], scope="wenchang")


def call(container, method, context, *args):
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args)


def test_a_submitted_petition_reaches_resident_and_building_once(notify, deliver, grid):
    event = petition_event("petition_submitted")
    deliver("petitions", event)
    deliver("petitions", event)
    grid["proxy"].responsible_for_building.assert_called_once_with("hb", "b28")
    mine = call(notify, "inbox", RESIDENT)
    assert (mine["total"], mine["unread"]) == (1, 1)
    assert mine["items"][0]["body"] == "您的诉求「28栋路灯不亮」已提交"
    leader = call(notify, "inbox", LEADER, 1, 20)
    assert leader["items"][0]["body"] == "楼栋有新诉求：「28栋路灯不亮」"


def test_points_awarded_from_the_points_service(notify, deliver):
    deliver("points", points_event(amount=2, balance=12))
    item = call(notify, "inbox", RESIDENT)["items"][0]
    assert item["type"] == "points_awarded"
    assert item["body"] == "您获得2积分（诉求评价奖励），当前余额12分"


def test_closed_tells_the_handler_the_rating(notify, deliver):
    deliver("petitions", petition_event("petition_closed", rating=5, handler_id="daiyunzhong"))
    assert call(notify, "inbox", LEADER)["items"][0]["body"] == "您办理的诉求「28栋路灯不亮」获得5星评价"


def test_an_overdue_department_is_told_and_so_is_the_community(notify, deliver, grid):
    deliver("petitions", petition_event(
        "petition_overdue", actor=SYSTEM_ACTOR, status="dispatched", level="department",
        department_id="chengjian", overdue_level="department", deadline="accept"))
    grid["proxy"].department_staff.assert_called_once_with("hb", "chengjian")
    for caller in (DEPARTMENT, COMMUNITY):
        item = call(notify, "inbox", caller)["items"][0]
        assert (item["type"], item["title"]) == ("petition_overdue", "诉求超时")
    assert call(notify, "inbox", DEPARTMENT)["items"][0]["body"] == "诉求「28栋路灯不亮」已超过接单时限，请尽快处理"
    assert call(notify, "inbox", COMMUNITY)["items"][0]["body"] == "诉求「28栋路灯不亮」已超过接单时限"
    assert call(notify, "inbox", RESIDENT)["total"] == 0


def test_mark_read_is_for_the_recipient_only(notify, deliver):
    deliver("petitions", petition_event("petition_claimed"))
    item = call(notify, "inbox", RESIDENT)["items"][0]
    with pytest.raises(NotFound):
        call(notify, "mark_read", LEADER, item["id"])
    read = call(notify, "mark_read", RESIDENT, item["id"])
    assert read["read"] is True and read["id"] == item["id"]
    assert call(notify, "inbox", RESIDENT)["unread"] == 0


def test_inbox_checks_its_input_and_caller(notify):
    with pytest.raises(Invalid):
        call(notify, "inbox", RESIDENT, 1, 500)
    with pytest.raises(Unauthorized):
        call(notify, "inbox", {})
    assert call(notify, "ping", {}) == "pong"
