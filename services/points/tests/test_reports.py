"""Reports per community and district: issued by rule, redeemed, outstanding, activities, leaderboards."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.errors import Forbidden, Invalid, NotFound
from civicgrid.events import make_event
from services.points import activities, claims, domain, reports, shop
from services.points.dependencies import create_indexes

from .helpers import (ADMIN, HU, LEADER, PLATFORM, QJ_ADMIN, STAFF, WEN, YJ_RESIDENT, YJ_STAFF, ZHANG)

OCT = datetime(2026, 10, 10, 2, 0, tzinfo=timezone.utc)
NOV = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
PERIOD = {"from": "2026-10-01", "to": "2026-11-30"}
BUILDINGS = {"b28": "wenchang", "b29": "wenchang", "yj-b1": "yanjinghe"}


def member(db, who):
    event = make_event("member_assigned", "hb", {"id": "hb-admin", "role": "district_admin"}, {
        "user_id": who.user_id, "name": who.name, "roles": list(who.roles), "scope": who.scope})
    domain.on_member_assigned(db, event, lambda district, scope: BUILDINGS.get(scope), OCT)


def closed(petition_id, resident, handler, rating):
    return make_event("petition_closed", "hb", {"id": resident, "role": "resident"}, {
        "petition_id": petition_id, "title": "路灯", "category": "streetlight", "status": "closed",
        "level": "grid", "building_id": "b28", "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"],
        "resident_id": resident, "handler_id": handler, "rating": rating})


@pytest.fixture
def db(open_db):
    database = open_db("points")
    create_indexes(database)
    for who in (WEN, ZHANG, HU, LEADER, YJ_RESIDENT, STAFF):
        member(database, who)
    # October: a clean-up in 文昌社区, two attendees
    held = activities.create(database, STAFF, "wenchang", {
        "title": "楼道清洁", "place": "28栋", "starts_at": (OCT + timedelta(days=5)).isoformat(), "capacity": 10,
        "points": 5}, OCT)
    for who in (WEN, ZHANG):
        activities.signup(database, who, held["_id"], OCT)
    activities.check_in(database, STAFF, held["_id"], {"user_ids": ["wenxiaohua", "zhangyiqin"]},
                        OCT + timedelta(days=5))
    dropped = activities.create(database, STAFF, "wenchang", {
        "title": "义诊", "place": "社区", "starts_at": (NOV + timedelta(days=2)).isoformat(), "capacity": 10}, NOV)
    activities.cancel(database, STAFF, dropped["_id"], {"reason": "医生有事"}, NOV)
    # November: a claim each side, a petition closed, a redemption, a cancelled one
    deed = claims.submit(database, HU, {"title": "帮老人买菜", "category": "elderly"}, NOV)
    claims.approve(database, STAFF, deed["_id"], {}, NOV)
    other = claims.submit(database, YJ_RESIDENT, {"title": "清理河道垃圾"}, NOV)
    claims.approve(database, YJ_STAFF, other["_id"], {}, NOV)
    claims.submit(database, ZHANG, {"title": "待审"}, NOV)
    domain.on_petition_closed(database, closed("hb-000001", "wenxiaohua", "daiyunzhong", 5), NOV)
    tissue = shop.create_item(database, STAFF, {"name": "抽纸", "price": 5, "stock": 10}, NOV)
    shop.reserve(database, WEN, {"item_id": tissue["_id"]}, NOV)
    order, _ = shop.reserve(database, ZHANG, {"item_id": tissue["_id"]}, NOV)
    shop.cancel(database, ZHANG, order["_id"], {}, NOV)
    domain.set_my_settings(database, WEN, {"show_on_leaderboard": False}, NOV)
    return database


def test_the_district_report(db):
    report = reports.report(db, ADMIN, "hb", PERIOD, NOV)
    assert (report["from"], report["to"]) == ("2026-10-01", "2026-11-30")
    assert report["registered_accounts"] == 6
    assert report["issued"] == 32 and report["issued_yuan"] == "32.00"
    assert report["issued_by_rule"] == {"activity_attendance": 10, "claim_approved": 10,
                                        "petition_rated": 2, "petition_handled": 10}
    assert (report["redeemed"], report["outstanding"], report["outstanding_yuan"]) == (5, 27, "27.00")
    assert (report["activities_held"], report["activities_cancelled"], report["attendance"]) == (1, 1, 2)
    assert report["claims"] == {"pending": 1, "approved": 2, "rejected": 0}
    assert report["orders"] == {"reserved": 1, "picked_up": 0, "cancelled": 1}
    assert [(e["user_id"], e["points"]) for e in report["top_earners"]] == [
        ("daiyunzhong", 10), ("huxingyou", 5), ("yj-resident", 5), ("zhangyiqin", 5)]  # 文小华 opted out
    assert report["monthly"] == [
        {"month": "2026-10", "issued": 10, "redeemed": 0, "activities_held": 1, "attendance": 2},
        {"month": "2026-11", "issued": 22, "redeemed": 5, "activities_held": 0, "attendance": 0}]
    by_community = {c["community"]: c for c in report["communities"]}
    assert by_community["wenchang"]["issued"] == 27 and by_community["wenchang"]["outstanding"] == 22
    assert by_community["wenchang"]["registered_accounts"] == 5
    assert (by_community["yanjinghe"]["issued"], by_community["yanjinghe"]["outstanding"]) == (5, 5)


def test_the_community_report_and_a_shorter_period(db):
    report = reports.report(db, STAFF, None, dict(PERIOD, community="wenchang"), NOV)
    assert (report["community"], report["issued"], report["redeemed"], report["outstanding"]) == ("wenchang", 27, 5, 22)
    assert report["communities"] == []
    november = reports.report(db, ADMIN, "hb", {"from": "2026-11-01", "to": "2026-11-30", "community": "wenchang"}, NOV)
    assert (november["issued"], november["activities_held"], november["outstanding"]) == (17, 0, 22)
    october = reports.report(db, ADMIN, "hb", {"from": "2026-10-01", "to": "2026-10-31"}, NOV)
    assert (october["issued"], october["outstanding"], october["registered_accounts"]) == (10, 10, 6)


def test_who_sees_reports(db):
    for who, query in ((WEN, {}), (STAFF, {}), (YJ_STAFF, {"community": "wenchang"})):
        with pytest.raises(Forbidden):
            reports.report(db, who, None, query, NOV)
    with pytest.raises(NotFound):  # another district's administrator
        reports.report(db, QJ_ADMIN, "hb", {}, NOV)
    assert reports.report(db, PLATFORM, "hb", PERIOD, NOV)["issued"] == 32
    with pytest.raises(Invalid) as err:
        reports.report(db, ADMIN, "hb", {"from": "2026-12-01", "to": "2026-11-01"}, NOV)
    assert "from" in err.value.errors


def test_leaderboards_leave_out_who_opted_out(db):
    board = reports.leaderboard(db, ZHANG, None, "wenchang", PERIOD, NOV)
    assert [(e["rank"], e["user_id"], e["name"]) for e in board["items"]] == [
        (1, "daiyunzhong", "代云中"), (2, "huxingyou", "胡兴友"), (3, "zhangyiqin", "张意琴")]
    domain.set_my_settings(db, WEN, {"show_on_leaderboard": True}, NOV)
    board = reports.leaderboard(db, ZHANG, None, "wenchang", dict(PERIOD, top=2), NOV)
    assert [e["user_id"] for e in board["items"]] == ["daiyunzhong", "wenxiaohua"]
    with pytest.raises(NotFound):
        reports.leaderboard(db, QJ_ADMIN, "hb", None, {}, NOV)


def test_my_points_shows_yuan_and_my_choice(db):
    mine = domain.my_points(db, WEN, NOV)
    assert (mine["balance"], mine["balance_yuan"], mine["community"], mine["show_on_leaderboard"]) == (
        2, "2.00", "wenchang", False)
    assert [e["reason"] for e in mine["entries"]] == ["redeem", "petition_rated", "activity_attendance"]


def test_a_correction_nets_against_the_rule_it_reverses(db):
    deed = next(c for c in db.claims.find({"user_id": HU.user_id, "status": "approved"}))
    domain.reverse(db, ADMIN, "hb", f"claim:{deed['_id']}", {"reason": "重复申报"}, NOV)
    report = reports.report(db, ADMIN, "hb", PERIOD, NOV)
    assert report["issued"] == 27 and report["outstanding"] == 22
    assert report["issued_by_rule"] == {"activity_attendance": 10, "claim_approved": 5,
                                        "petition_rated": 2, "petition_handled": 10}
    assert "huxingyou" not in [e["user_id"] for e in report["top_earners"]]
