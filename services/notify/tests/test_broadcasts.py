"""Broadcasts: sent at once, fanned out in batches, read and confirmed lists for the sender."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from services.notify import broadcasts, domain

from .fakes import FakeDirectory

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
STAFF = AuthContext(user_id="wangshuji", district="hb", roles=("community_staff",), scope="wenchang", name="王书记")
LEADER = AuthContext(user_id="daiyunzhong", district="hb", roles=("building_leader",), scope="b28")
GRID = AuthContext(user_id="limin", district="hb", roles=("grid_worker",), scope="wenchang-g1")
OTHER_STAFF = AuthContext(user_id="yjstaff", district="hb", roles=("community_staff",), scope="yanjinghe")
ADMIN = AuthContext(user_id="hbadmin", district="hb", roles=("district_admin",), scope="hb")


def person(user_id):
    return AuthContext(user_id=user_id, district="hb", roles=("resident",), scope="b28")


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture
def db(open_db, monkeypatch):
    monkeypatch.setenv("CIVICGRID_FANOUT_BATCH", "250")
    database = open_db("notify")
    domain.create_indexes(database)
    return database


def send(db, auth=STAFF, directory=None, **payload):
    body = {"target_kind": "building", "node_id": "b28", "title": "停水通知",
            "body": "11月3日8:00-12:00停水检修，请提前储水", **payload}
    return broadcasts.create(db, auth, directory or FakeDirectory(), body, T0)


def test_a_broadcast_returns_at_once_and_fans_out_in_batches(db):
    directory = FakeDirectory(extra_residents=1000)
    sent = send(db, directory=directory, target_kind="building", node_id="b30", confirm_required=True)
    assert (sent["status"], sent["total"], sent["fanned_out"], sent["read"]) == ("sending", 1002, 0, 0)
    assert db.notifications.count_documents({}) == 0  # nothing written yet: the timer does it
    assert db.broadcast_batches.count_documents({"broadcast_id": sent["id"]}) == 5
    clock = Clock()
    assert broadcasts.fan_out(db, clock) == 1002
    done = broadcasts.get(db, STAFF, sent["id"])
    assert (done["status"], done["fanned_out"]) == ("sent", 1002)
    notice = db.notifications.find_one({"broadcast_id": sent["id"], "recipient": "r0999"})
    assert (notice["title"], notice["body"]) == ("停水通知", "11月3日8:00-12:00停水检修，请提前储水（请确认已阅）")
    assert (notice["type"], notice["category"], notice["confirm_required"], notice["recipient_name"]) == (
        "broadcast", "broadcast", True, "居民999")
    assert broadcasts.fan_out(db, clock) == 0


def test_a_batch_taken_up_again_after_a_crash_writes_nothing_twice(db):
    sent = send(db, directory=FakeDirectory(extra_residents=300), node_id="b30")
    clock = Clock()
    batch = broadcasts._claim_batch(db, clock())
    # the process wrote the batch's notices, then died before counting it in
    first = broadcasts.fan_out_batch(db, batch, clock())
    db.broadcast_batches.update_one({"_id": batch["_id"]}, {"$set": {"status": "pending"}})
    db.broadcasts.update_one({"_id": sent["id"]}, {"$inc": {"fanned_out": -len(batch["members"]),
                                                            "batches_done": -1}, "$set": {"status": "sending"}})
    clock.now += timedelta(minutes=5)  # its lease ran out
    assert broadcasts.fan_out(db, clock) == 302 - first  # only the other batch is new
    assert db.notifications.count_documents({"broadcast_id": sent["id"]}) == 302
    assert broadcasts.get(db, STAFF, sent["id"])["fanned_out"] == 302


def test_read_and_confirmed_lists_for_the_sender(db):
    sent = send(db, confirm_required=True)
    broadcasts.fan_out(db, Clock())
    inbox = domain.inbox(db, person("wenxiaohua"), filters={"type": "broadcast"})["items"]
    assert len(inbox) == 1 and inbox[0]["confirm_required"] and not inbox[0]["confirmed"]
    confirmed = domain.confirm(db, person("wenxiaohua"), inbox[0]["id"], T0)
    assert confirmed["confirmed"] and confirmed["read"]
    again = domain.confirm(db, person("wenxiaohua"), inbox[0]["id"], T0 + timedelta(hours=1))
    assert again["confirmed_at"] == confirmed["confirmed_at"]  # confirming twice changes nothing
    theirs = domain.inbox(db, person("zhangyiqin"))["items"][0]
    domain.mark_read(db, person("zhangyiqin"), theirs["id"])
    view = broadcasts.get(db, STAFF, sent["id"])
    assert (view["total"], view["read"], view["confirmed"]) == (3, 2, 1)
    everyone = broadcasts.recipients(db, STAFF, sent["id"])
    assert {r["user_id"]: (r["read"], r["confirmed"]) for r in everyone["items"]} == {
        "daiyunzhong": (False, False), "wenxiaohua": (True, True), "zhangyiqin": (True, False)}
    unconfirmed = broadcasts.recipients(db, STAFF, sent["id"], {"state": "unconfirmed"})
    assert [r["user_id"] for r in unconfirmed["items"]] == ["daiyunzhong", "zhangyiqin"]
    unread = broadcasts.recipients(db, STAFF, sent["id"], {"state": "unread"})
    assert [r["user_id"] for r in unread["items"]] == ["daiyunzhong"]
    confirmed_list = broadcasts.recipients(db, STAFF, sent["id"], {"state": "confirmed"})
    assert [(r["name"], r["confirmed_at"]) for r in confirmed_list["items"]] == [("文小华", confirmed["confirmed_at"])]
    with pytest.raises(Invalid):
        broadcasts.recipients(db, STAFF, sent["id"], {"state": "maybe"})


def test_who_gets_a_building_grid_and_community_broadcast(db):
    building = send(db)
    grid = send(db, auth=GRID, target_kind="grid", node_id="wenchang-g1")
    community = send(db, target_kind="community", node_id="wenchang")
    broadcasts.fan_out(db, Clock())

    def reached(sent):
        return {n["recipient"] for n in db.notifications.find({"broadcast_id": sent["id"]})}
    assert reached(building) == {"wenxiaohua", "zhangyiqin", "daiyunzhong"}
    # everyone living or working under the node, the sender excepted
    assert reached(grid) == {"wenxiaohua", "zhangyiqin", "daiyunzhong", "sunlouzhang", "zhoudangyuan"}
    assert reached(community) == {"wenxiaohua", "zhangyiqin", "daiyunzhong", "sunlouzhang", "zhoudangyuan", "limin"}


def test_a_building_leader_sends_to_their_building_only(db):
    assert send(db, auth=LEADER)["total"] == 2
    with pytest.raises(Forbidden):
        send(db, auth=LEADER, node_id="b30")
    with pytest.raises(Forbidden):
        send(db, auth=OTHER_STAFF)
    assert send(db, auth=ADMIN, node_id="b30")["total"] == 2


@pytest.mark.parametrize("payload, field", [
    ({"node_id": "b99"}, "node_id"),
    ({"target_kind": "grid", "node_id": "b28"}, "node_id"),
    ({"target_kind": "district"}, "target_kind"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"body": " \n "}, "body"),
    ({"body": "x" * 2001}, "body"),
    ({"confirm_required": "maybe"}, "confirm_required"),
])
def test_bad_broadcasts_are_refused(db, payload, field):
    with pytest.raises(Invalid) as err:
        send(db, **payload)
    assert field in err.value.errors
    assert db.broadcasts.count_documents({}) == 0


def test_residents_send_nothing_and_see_no_broadcast(db):
    with pytest.raises(Forbidden):
        send(db, auth=person("wenxiaohua"))
    sent = send(db)
    with pytest.raises(NotFound):
        broadcasts.get(db, person("wenxiaohua"), sent["id"])
    with pytest.raises(NotFound):
        broadcasts.recipients(db, OTHER_STAFF, sent["id"])
    assert broadcasts.get(db, GRID, sent["id"])["id"] == sent["id"]  # the grid's worker sees it
    assert broadcasts.list_(db, OTHER_STAFF)["total"] == 0
    assert broadcasts.list_(db, ADMIN)["total"] == 1


def test_confirming_a_notice_that_asks_nothing_is_a_conflict(db):
    send(db)
    broadcasts.fan_out(db, Clock())
    item = domain.inbox(db, person("wenxiaohua"))["items"][0]
    with pytest.raises(Conflict):
        domain.confirm(db, person("wenxiaohua"), item["id"])


def test_broadcasts_reach_push_channels_and_district_webhooks(db):
    domain.set_my_preferences(db, person("wenxiaohua"), {"contacts": {"wechat": "oWenXiaoHua"}})
    domain.set_my_preferences(db, person("zhangyiqin"), {"contacts": {"wechat": "oZhangYiQin"},
                                                          "channels": {"broadcast": ["inbox"]}})
    db.webhooks.insert_one({"_id": "hb-hook", "district": "hb", "department_id": None, "active": True,
                            "url": "https://hb.example/h", "secret": "s", "events": ["broadcast_sent"]})
    sent = send(db)
    broadcasts.fan_out(db, Clock())
    queued = {(d["channel"], d["recipient"]) for d in db.deliveries.find({"event_id": sent["id"]})}
    assert queued == {("wechat", "wenxiaohua"), ("webhook", "hb-hook")}
    hooked = db.deliveries.find_one({"channel": "webhook"})
    assert hooked["payload"]["event"]["type"] == "broadcast_sent"
    assert hooked["payload"]["event"]["data"]["recipients"] == 3
