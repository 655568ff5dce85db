"""Points on mongomock: awards per rating, rules per district, a ledger that always balances."""
from datetime import datetime, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Forbidden, Invalid, NotFound, Unauthorized
from civicgrid.events import derived_event_id, make_event
from services.points import domain, ledger
from services.points.dependencies import create_indexes

RESIDENT = AuthContext(user_id="wenxiaohua", district="hb", roles=("resident",), scope="b28")
HANDLER = AuthContext(user_id="daiyunzhong", district="hb", roles=("building_leader",), scope="b28")
HB_ADMIN = AuthContext(user_id="hbadmin", district="hb", roles=("district_admin",), scope="hb")
XS_ADMIN = AuthContext(user_id="xsadmin", district="xs", roles=("district_admin",), scope="xs")
PLATFORM = AuthContext(user_id="admin", roles=("platform_admin",))
ANONYMOUS = AuthContext()
EARLIER = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
LATER = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(open_db):
    database = open_db("points")
    create_indexes(database)
    return database


def closed(rating, handler_id="daiyunzhong", district="hb", petition_id="p1"):
    return make_event("petition_closed", district, {"id": "wenxiaohua", "role": "resident"}, {
        "petition_id": petition_id, "title": "28栋路灯不亮", "category": "streetlight",
        "status": "closed", "level": "grid", "building_id": "b28",
        "path": [district, "hebian", "wenchang", "wenchang-g1", "b28"],
        "resident_id": "wenxiaohua", "department_id": None, "handler_id": handler_id,
        "rating": rating, "comment": "很满意" if rating else None, "reason": None, "note": "已修复",
    })


def balance(db, user, district="hb"):
    return ledger.balance(db, district, ledger.user_account(user))


@pytest.mark.parametrize("rating, resident, handler", [(5, 2, 10), (4, 2, 5), (3, 2, 0), (1, 2, 0)])
def test_awards_follow_the_rating(db, rating, resident, handler):
    domain.on_petition_closed(db, closed(rating))
    assert balance(db, "wenxiaohua") == resident
    assert balance(db, "daiyunzhong") == handler


def test_no_rating_awards_nothing(db):
    assert domain.on_petition_closed(db, closed(None)) == []
    assert db.entries.count_documents({}) == 0


def test_no_handler_awards_the_resident_only(db):
    events = domain.on_petition_closed(db, closed(5, handler_id=None))
    assert [e["data"]["user_id"] for e in events] == ["wenxiaohua"]


def test_each_award_is_two_entries_that_cancel(db):
    event = closed(5)
    domain.on_petition_closed(db, event)
    tx = f"{event['event_id']}:daiyunzhong:petition_handled"
    entries = {e["account"]: e for e in db.entries.find({"transaction_id": tx})}
    assert entries["issuance:hb"]["amount"] == -10
    assert entries["issuance:hb"]["counter_account"] == "user:daiyunzhong"
    assert entries["user:daiyunzhong"]["amount"] == 10
    assert entries["user:daiyunzhong"]["counter_account"] == "issuance:hb"
    assert entries["user:daiyunzhong"]["reason"] == "petition_handled"
    assert entries["user:daiyunzhong"]["petition_id"] == "p1"
    assert entries["user:daiyunzhong"]["event_id"] == event["event_id"]
    assert sum(e["amount"] for e in db.entries.find({"district": "hb"})) == 0


def test_points_awarded_events_carry_a_derived_id_and_the_balance(db):
    domain.on_petition_closed(db, closed(5, petition_id="p0"))
    cause = closed(4)
    events = domain.on_petition_closed(db, cause)
    by_user = {e["data"]["user_id"]: e for e in events}
    handler = by_user["daiyunzhong"]
    assert handler["type"] == "points_awarded"
    assert handler["actor"] == {"id": "system:points", "role": "system"}
    assert handler["event_id"] == derived_event_id(cause["event_id"], "daiyunzhong", "petition_handled")
    assert handler["data"]["amount"] == 5 and handler["data"]["balance"] == 15
    assert handler["data"]["title"] == "28栋路灯不亮" and handler["data"]["petition_id"] == "p1"
    assert by_user["wenxiaohua"]["data"]["balance"] == 4


def test_the_same_event_twice_awards_once_and_repeats_the_same_facts(db):
    """No processed-event marker here: the ledger's own unique key absorbs the retry."""
    event = closed(5)
    first = domain.on_petition_closed(db, event)
    again = domain.on_petition_closed(db, event)
    assert [e["event_id"] for e in again] == [e["event_id"] for e in first]
    assert db.entries.count_documents({}) == 4
    assert balance(db, "wenxiaohua") == 2 and balance(db, "daiyunzhong") == 10


def test_a_half_written_transaction_is_completed_with_its_first_amount(db):
    """A crash between the two entries, then a rule change, then the retry: still balanced."""
    event = closed(5)
    tx = f"{event['event_id']}:daiyunzhong:petition_handled"
    domain.on_petition_closed(db, event)
    # the user's side is written first: a crash loses the counter side
    db.entries.delete_one({"transaction_id": tx, "account": "issuance:hb"})
    assert domain.check_ledger(db, HB_ADMIN, "hb")["balanced"] is False
    domain.set_rules(db, HB_ADMIN, "hb", {"handler_5_star": 50})
    domain.on_petition_closed(db, event)
    assert balance(db, "daiyunzhong") == 10
    assert domain.check_ledger(db, HB_ADMIN, "hb")["balanced"] is True


def test_the_repair_sweep_completes_a_half_written_transaction(db):
    event = closed(5)
    domain.on_petition_closed(db, event, now=EARLIER)
    tx = f"{event['event_id']}:wenxiaohua:petition_rated"
    db.entries.delete_one({"transaction_id": tx, "account": "issuance:hb"})
    assert ledger.repair_half_written(db, EARLIER) == 1
    assert ledger.repair_half_written(db, EARLIER) == 0
    assert domain.check_ledger(db, HB_ADMIN, "hb")["balanced"] is True


def test_rules_default_and_differ_per_district(db):
    assert domain.get_rules(db, HB_ADMIN, "hb") == domain.DEFAULT_RULES
    changed = domain.set_rules(db, HB_ADMIN, "hb", {"reporter_rated": 3, "handler_5_star": 20})
    assert changed == dict(domain.DEFAULT_RULES, reporter_rated=3, handler_5_star=20)
    assert domain.get_rules(db, XS_ADMIN, "xs") == domain.DEFAULT_RULES
    domain.on_petition_closed(db, closed(5))
    domain.on_petition_closed(db, closed(5, district="xs"))
    assert balance(db, "daiyunzhong") == 20
    assert balance(db, "daiyunzhong", "xs") == 10


def test_caps_and_claim_categories_change_by_key(db):
    rules = domain.set_rules(db, HB_ADMIN, "hb", {"caps": {"activity": {"per_day": 5}, "petition": {"per_month": 40}},
                                                  "claim_categories": {"助老": 8}})
    assert rules["caps"]["activity"] == {"per_day": 5, "per_month": 100}
    assert rules["caps"]["petition"] == {"per_day": None, "per_month": 40}
    assert rules["claim_categories"] == {"助老": 8} and rules["reporter_rated"] == 2
    assert domain.set_rules(db, HB_ADMIN, "hb", {"caps": {"activity": {"per_day": None}}})["caps"]["activity"] == {
        "per_day": None, "per_month": 100}


def test_a_petition_cap_limits_what_closing_petitions_earn(db):
    domain.set_rules(db, HB_ADMIN, "hb", {"caps": {"petition": {"per_day": 12}}})
    domain.on_petition_closed(db, closed(5, petition_id="p1"), now=EARLIER)
    events = domain.on_petition_closed(db, closed(5, petition_id="p2"), now=EARLIER)
    assert [(e["data"]["user_id"], e["data"]["amount"]) for e in events] == [("wenxiaohua", 2), ("daiyunzhong", 2)]
    assert balance(db, "daiyunzhong") == 12 and balance(db, "wenxiaohua") == 4  # 12 a day each


def test_changing_rules_never_rewrites_entries(db):
    domain.on_petition_closed(db, closed(5))
    domain.set_rules(db, HB_ADMIN, "hb", {"handler_5_star": 0, "reporter_rated": 0})
    assert balance(db, "daiyunzhong") == 10 and balance(db, "wenxiaohua") == 2
    assert domain.on_petition_closed(db, closed(5, petition_id="p2")) == []
    assert balance(db, "daiyunzhong") == 10


@pytest.mark.parametrize("rules, field", [
    ({"handler_5_star": 1001}, "handler_5_star"),
    ({"reporter_rated": -1}, "reporter_rated"),
    ({"reporter_rated": "5"}, "reporter_rated"),
    ({"reporter_rated": 2.5}, "reporter_rated"),
    ({"bonus": 3}, "bonus"),
    ({"caps": {"activity": {"per_day": 500}}}, "caps.activity.per_day"),  # above the monthly 100
    ({"caps": {"claim": {"per_day": 9, "per_month": 5}}}, "caps"),
    ({"caps": {"lottery": {"per_day": 1}}}, "caps"),
    ({"claim_categories": {"助老": -1}}, "claim_categories"),
])
def test_bad_rules_are_refused_by_name_and_change_nothing(db, rules, field):
    with pytest.raises(Invalid) as err:
        domain.set_rules(db, HB_ADMIN, "hb", rules)
    assert field in err.value.errors
    assert domain.get_rules(db, HB_ADMIN, "hb") == domain.DEFAULT_RULES


def test_only_that_districts_admin_or_the_platform_manage_rules_and_ledger(db):
    with pytest.raises(NotFound):  # another district's administrator: not found, not forbidden
        domain.set_rules(db, XS_ADMIN, "hb", {"reporter_rated": 1})
    with pytest.raises(Forbidden):
        domain.get_rules(db, RESIDENT, "hb")
    with pytest.raises(Forbidden):
        domain.check_ledger(db, HANDLER, "hb")
    with pytest.raises(Unauthorized):
        domain.check_ledger(db, ANONYMOUS, "hb")
    assert domain.set_rules(db, PLATFORM, "hb", {"reporter_rated": 1})["reporter_rated"] == 1
    assert domain.check_ledger(db, PLATFORM, "hb")["district"] == "hb"


def test_my_points_is_a_statement_newest_first(db):
    domain.on_petition_closed(db, closed(5, petition_id="p1"), now=EARLIER)
    domain.on_petition_closed(db, closed(4, petition_id="p2"), now=LATER)
    mine = domain.my_points(db, HANDLER)
    assert mine["balance"] == 15
    assert [(e["amount"], e["petition_id"]) for e in mine["entries"]] == [(5, "p2"), (10, "p1")]
    assert mine["entries"][0]["reason"] == "petition_handled"
    assert mine["entries"][0]["description"] == "办理诉求获好评奖励"
    assert isinstance(mine["entries"][0]["created_at"], str)
    assert domain.my_points(db, RESIDENT)["entries"][0]["description"] == "诉求评价奖励"
    with pytest.raises(Unauthorized):
        domain.my_points(db, ANONYMOUS)


def test_check_ledger_reports_totals_and_breaks(db):
    domain.on_petition_closed(db, closed(5))
    domain.on_petition_closed(db, closed(4, petition_id="p2"))
    report = domain.check_ledger(db, HB_ADMIN, "hb")
    assert {k: report[k] for k in ("district", "entries", "sum", "balanced", "negative_accounts")} == {
        "district": "hb", "entries": 8, "sum": 0, "balanced": True, "negative_accounts": []}
    assert report["chain_breaks"] == report["order_breaks"] == report["stock_breaks"] == []
    # Tampering the ledger by hand is what the check exists to catch.
    db.entries.insert_one({"district": "hb", "account": "user:mallory", "counter_account": "issuance:hb",
                           "amount": -3, "transaction_id": "forged", "reason": "forged"})
    report = domain.check_ledger(db, HB_ADMIN, "hb")
    assert report["balanced"] is False and report["sum"] == -3
    assert report["negative_accounts"] == ["user:mallory"]
    assert report["unbalanced_transactions"] == ["forged"]
    assert {b["account"] for b in report["chain_breaks"]} == {"user:mallory"}  # no chain, no running balance
