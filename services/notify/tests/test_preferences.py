"""Preferences: channels per category, critical notices that stay on, quiet hours, locale, contacts."""
from datetime import datetime, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Forbidden, Invalid, NotFound
from services.notify import domain, preferences
from services.notify.district_settings import zone

from .fakes import SYSTEM_ACTOR, FakeDirectory, petition_event

RESIDENT = AuthContext(user_id="wenxiaohua", district="hb", roles=("resident",), scope="b28")
CLERK = AuthContext(user_id="chengjian1", district="hb", roles=("department_staff",), department="chengjian")
STAFF = AuthContext(user_id="wangshuji", district="hb", roles=("community_staff",), scope="wenchang")
OTHER_STAFF = AuthContext(user_id="x", district="hb", roles=("community_staff",), scope="yanjinghe")
SHANGHAI = zone("Asia/Shanghai")
# 23:30 in Shanghai
NIGHT = datetime(2026, 11, 2, 15, 30, tzinfo=timezone.utc)
# 10:00 in Shanghai
DAY = datetime(2026, 11, 3, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    domain.create_indexes(database)
    return database


@pytest.mark.parametrize("changes, field, words", [
    ({"channels": {"progress": ["inbox", "fax"]}}, "channels.progress", "unknown channel 'fax'"),
    ({"channels": {"progress": ["webhook"]}}, "channels.progress", "per department or district"),
    ({"channels": {"dispatch": ["inbox"]}}, "channels.dispatch", "critical"),
    ({"channels": {"overdue": []}}, "channels.overdue", "cannot be switched off"),
    ({"channels": {"gossip": ["inbox"]}}, "channels.gossip", "unknown category"),
    ({"channels": {"progress": "wechat"}}, "channels.progress", "list of channels"),
    ({"locale": "fr"}, "locale", "unsupported locale 'fr'"),
    ({"timezone": "Mars/Olympus"}, "timezone", "unknown timezone"),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start", "HH:MM"),
    ({"quiet_hours": {"start": "22:00"}}, "quiet_hours", "start"),
    ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours", "differ"),
    ({"contacts": {"sms": "call me"}}, "contacts.sms", "phone number"),
    ({"contacts": {"fax": "123456"}}, "contacts.fax", "unknown channel 'fax'"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_bad_preferences_are_refused_naming_the_field(db, changes, field, words):
    with pytest.raises(Invalid) as err:
        domain.set_my_preferences(db, RESIDENT, changes)
    assert field in err.value.errors and words in err.value.errors[field][0], err.value.errors
    assert db.preferences.count_documents({}) == 0


def test_my_preferences_default_and_change(db):
    mine = domain.my_preferences(db, RESIDENT)
    assert mine["locale"] == "zh-CN" and mine["quiet_hours"] is None
    progress = next(c for c in mine["categories"] if c["category"] == "progress")
    assert progress == {"category": "progress", "description": "my petitions' progress", "critical": False,
                        "channels": ["inbox", "wechat"], "default": True}
    changed = domain.set_my_preferences(db, RESIDENT, {
        "locale": "en", "contacts": {"sms": "+8613800000000"}, "quiet_hours": {"start": "22:00", "end": "07:00"},
        "channels": {"progress": ["sms"], "broadcast": []}})
    by = {c["category"]: c for c in changed["categories"]}
    assert by["progress"]["channels"] == ["inbox", "sms"]  # the inbox is always on
    assert by["broadcast"]["channels"] == ["inbox"] and not by["broadcast"]["default"]
    assert by["dispatch"]["critical"] and by["dispatch"]["channels"] == ["inbox", "sms", "wechat"]
    assert changed["contacts"] == {"sms": "+8613800000000", "wechat": None}
    again = domain.set_my_preferences(db, RESIDENT, {"contacts": {"wechat": "oAbCdEf123"}})
    assert again["contacts"] == {"sms": "+8613800000000", "wechat": "oAbCdEf123"}
    assert again["locale"] == "en"  # keys left out stay


def test_channels_for_a_notice():
    pref = {"contacts": {"sms": "13800000000"}, "channels": {"progress": ["inbox", "sms"], "task": ["inbox"]}}
    assert preferences.channels_for(pref, "progress") == ["sms"]
    assert preferences.channels_for(pref, "task") == []
    assert preferences.channels_for(pref, "points") == []  # default inbox + wechat, and no openid
    assert preferences.channels_for(dict(pref, channels={"dispatch": []}), "dispatch") == ["sms"]
    assert preferences.channels_for({"contacts": {"wechat": "oAbCdEf123"}}, "points") == ["wechat"]


@pytest.mark.parametrize("quiet, now, expected", [
    ({"start": "22:00", "end": "07:00"}, NIGHT, datetime(2026, 11, 2, 23, 0, tzinfo=timezone.utc)),  # 07:00 +08
    ({"start": "22:00", "end": "07:00"}, DAY, DAY),
    ({"start": "00:30", "end": "06:00"}, datetime(2026, 11, 2, 17, 0, tzinfo=timezone.utc),  # 01:00 +08
     datetime(2026, 11, 2, 22, 0, tzinfo=timezone.utc)),
    ({"start": "12:00", "end": "14:00"}, datetime(2026, 11, 3, 4, 30, tzinfo=timezone.utc),  # 12:30 +08
     datetime(2026, 11, 3, 6, 0, tzinfo=timezone.utc)),
    (None, NIGHT, NIGHT),
])
def test_quiet_hours_delay_to_their_end(quiet, now, expected):
    assert preferences.release_time({"quiet_hours": quiet}, "progress", now, SHANGHAI) == expected


def test_quiet_hours_in_the_users_own_timezone_and_never_for_critical_notices():
    pref = {"quiet_hours": {"start": "22:00", "end": "07:00"}, "timezone": "Europe/London"}
    # 23:30 in Shanghai is 15:30 in London: not quiet there
    assert preferences.release_time(pref, "progress", NIGHT, SHANGHAI) == NIGHT
    assert preferences.release_time({"quiet_hours": pref["quiet_hours"]}, "overdue", NIGHT, SHANGHAI) == NIGHT


def test_a_notice_queues_push_deliveries_as_preferences_say(db):
    domain.set_my_preferences(db, RESIDENT, {"contacts": {"wechat": "oWenXiaoHua", "sms": "13800000001"},
                                             "quiet_hours": {"start": "22:00", "end": "07:00"}})
    domain.set_my_preferences(db, CLERK, {"contacts": {"sms": "13800000002"},
                                          "channels": {"progress": ["inbox"]}})
    event = petition_event("petition_dispatched", department_id="chengjian", status="dispatched",
                           level="department")
    domain.notify(db, FakeDirectory(), event, now=NIGHT)
    queued = {(d["recipient"], d["channel"]): d for d in db.deliveries.find({"event_id": event["event_id"]})}
    # the resident: wechat only (sms is not on by default), held back until 07:00 in Shanghai
    assert set(queued) == {("wenxiaohua", "wechat"), ("chengjian1", "sms")}
    resident = queued[("wenxiaohua", "wechat")]
    assert resident["status"] == "pending" and resident["next_attempt_at"] == datetime(
        2026, 11, 2, 23, 0, tzinfo=timezone.utc)
    assert resident["payload"]["body"] == "您的诉求「28栋路灯不亮」已派单至镇城建办"
    # the clerk: a critical dispatch, on every channel with an address, at once, whatever they chose
    clerk = queued[("chengjian1", "sms")]
    assert clerk["critical"] and clerk["next_attempt_at"] == NIGHT and clerk["delayed_until"] is None
    # the same event again queues nothing more
    domain.notify(db, FakeDirectory(), event, now=NIGHT)
    assert db.deliveries.count_documents({"event_id": event["event_id"]}) == 2


def test_a_user_reads_notices_in_their_locale(db):
    domain.set_my_preferences(db, RESIDENT, {"locale": "en"})
    event = petition_event("petition_overdue", actor=SYSTEM_ACTOR, overdue_level="grid", deadline="claim",
                           handler_id="wenxiaohua")
    domain.notify(db, FakeDirectory(), event)
    mine = db.notifications.find_one({"event_id": event["event_id"], "recipient": "wenxiaohua"})
    assert (mine["title"], mine["locale"], mine["category"], mine["critical"]) == (
        "Overdue", "en", "overdue", True)
    assert mine["body"] == "\"28栋路灯不亮\", which you handle, passed its claim time limit: please act now"


def test_staff_look_after_a_persons_preferences(db):
    directory = FakeDirectory()
    answer = domain.set_user_preferences(db, STAFF, directory, "hb", "zhangyiqin", {"contacts": {"sms": "13900000000"}})
    assert answer["user_id"] == "zhangyiqin" and answer["contacts"]["sms"] == "13900000000"
    assert domain.user_preferences(db, STAFF, directory, "hb", "zhangyiqin")["contacts"]["sms"] == "13900000000"
    with pytest.raises(NotFound):
        domain.user_preferences(db, STAFF, directory, "hb", "nobody")
    with pytest.raises(Forbidden):
        domain.user_preferences(db, RESIDENT, directory, "hb", "zhangyiqin")
    with pytest.raises(Forbidden):
        domain.user_preferences(db, OTHER_STAFF, directory, "hb", "zhangyiqin")
    with pytest.raises(NotFound):  # another district: not found, not forbidden
        domain.user_preferences(db, STAFF, directory, "xs", "zhangyiqin")
