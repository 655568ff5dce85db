"""The ledger's chain: conditional debits, caps decided on one snapshot, statements, corrections."""
from datetime import date, timedelta

import eventlet
import pytest

from civicgrid.errors import Conflict, Invalid, NotFound
from services.points import domain, ledger, rules
from services.points.dependencies import create_indexes

from .helpers import ADMIN, HU, LEADER, NOW, QJ_ADMIN, STAFF, WEN, YJ_STAFF, ZHANG, YieldingDb, balance, fund


@pytest.fixture
def db(open_db):
    database = open_db("points")
    create_indexes(database)
    return database


def chain(db, who):
    return [(e["seq"], e["amount"], e["balance_after"])
            for e in db.entries.find({"account": ledger.user_account(who.user_id)}).sort("seq", 1)]


def test_a_users_entries_form_a_chain_of_running_balances(db):
    fund(db, WEN, 10)
    fund(db, WEN, 5)
    ledger.transfer(db, "hb", WEN.user_id, -12, ledger.shop_account("wenchang"), "t-spend", "redeem", now=NOW)
    assert chain(db, WEN) == [(1, 10, 10), (2, 5, 15), (3, -12, 3)]
    assert balance(db, WEN) == 3
    spend = {e["account"]: e["amount"] for e in db.entries.find({"transaction_id": "t-spend"})}
    assert spend == {"user:wenxiaohua": -12, "shop:wenchang": 12}


def test_a_debit_beyond_the_balance_is_refused_and_writes_nothing(db):
    fund(db, WEN, 10)
    with pytest.raises(ledger.NotEnoughPoints) as err:
        ledger.transfer(db, "hb", WEN.user_id, -11, ledger.shop_account("wenchang"), "t-big", "redeem", now=NOW)
    assert (err.value.balance, err.value.needed) == (10, 11)
    assert db.entries.count_documents({"transaction_id": "t-big"}) == 0


def test_a_transaction_is_booked_once_however_often_it_is_tried(db):
    fund(db, WEN, 10)
    first = ledger.transfer(db, "hb", WEN.user_id, -4, "shop:wenchang", "t-once", "redeem", now=NOW)
    again = ledger.transfer(db, "hb", WEN.user_id, -4, "shop:wenchang", "t-once", "redeem", now=NOW)
    assert first["_id"] == again["_id"]
    assert db.entries.count_documents({"transaction_id": "t-once"}) == 2 and balance(db, WEN) == 6


def test_a_writer_that_lost_its_place_in_the_chain_reads_again(db):
    """Between reading the head and appending, someone else appends: the loser retries on the new head."""
    fund(db, WEN, 10)
    raced = []

    def guard(seq, bal, amount):
        if not raced:
            raced.append(seq)
            ledger.transfer(db, "hb", WEN.user_id, -7, "shop:wenchang", "t-racer", "redeem", now=NOW)
        return amount

    with pytest.raises(ledger.NotEnoughPoints):
        ledger.transfer(db, "hb", WEN.user_id, -5, "shop:wenchang", "t-late", "redeem", now=NOW, guard=guard)
    assert balance(db, WEN) == 3 and chain(db, WEN) == [(1, 10, 10), (2, -7, 3)]


def test_concurrent_debits_never_overdraw(db):
    """Twenty green threads spend 10 each from 100 through a database that yields between calls."""
    fund(db, WEN, 100)
    racing = YieldingDb(db)
    outcomes = []

    def spend(n):
        try:
            ledger.transfer(racing, "hb", WEN.user_id, -10, "shop:wenchang", f"t-{n}", "redeem", now=NOW)
            outcomes.append("ok")
        except ledger.NotEnoughPoints:
            outcomes.append("refused")

    pool = eventlet.GreenPool(20)
    for n in range(20):
        pool.spawn(spend, n)
    pool.waitall()
    assert outcomes.count("ok") == 10 and balance(db, WEN) == 0
    audit = ledger.audit(db, "hb")
    assert audit["chain_breaks"] == [] and audit["sum"] == 0 and audit["unbalanced_transactions"] == []


def test_caps_per_day_and_month_lower_awards(db):
    table = rules.rules_of(db, "hb")
    table["caps"]["activity"] = {"per_day": 20, "per_month": 30}

    def attend(n, when):
        return rules.award(db, "hb", WEN.user_id, 15, "community:wenchang", f"activity:a{n}:wen",
                           "activity_attendance", table, when)

    assert attend(1, NOW) == (15, False)
    assert attend(2, NOW) == (5, True)      # 20 a day
    assert attend(3, NOW) == (0, True)
    assert attend(4, NOW + timedelta(days=1)) == (10, True)  # 30 a month
    assert attend(5, NOW + timedelta(days=5)) == (0, True)
    assert balance(db, WEN) == 30
    assert db.entries.count_documents({"transaction_id": {"$in": ["activity:a3:wen", "activity:a5:wen"]}}) == 0


def test_concurrent_awards_cannot_slip_under_a_cap_together(db):
    table = rules.rules_of(db, "hb")
    table["caps"]["claim"] = {"per_day": 20, "per_month": None}
    racing = YieldingDb(db, seed=3)
    pool = eventlet.GreenPool(10)
    for n in range(10):
        pool.spawn(rules.award, racing, "hb", ZHANG.user_id, 5, "community:wenchang", f"claim:c{n}",
                   "claim_approved", table, NOW)
    pool.waitall()
    assert balance(db, ZHANG) == 20


def test_a_statement_has_opening_and_closing_balances_for_its_period(db):
    fund(db, WEN, 10, now=NOW - timedelta(days=40))
    fund(db, WEN, 6, now=NOW)
    ledger.transfer(db, "hb", WEN.user_id, -4, "shop:wenchang", "t-s", "redeem", now=NOW + timedelta(minutes=1))
    period = {"from": (NOW - timedelta(days=1)).date().isoformat(), "to": NOW.date().isoformat()}
    mine = domain.statement(db, WEN, "me", period, NOW)
    assert (mine["opening_balance"], mine["credits"], mine["debits"], mine["closing_balance"]) == (10, 6, 4, 12)
    assert mine["closing_yuan"] == "12.00" and mine["kind"] == "user"
    assert [(e["amount"], e["balance_after"]) for e in mine["entries"]] == [(6, 16), (-4, 12)]
    shop_side = domain.statement(db, STAFF, "shop:wenchang", period, NOW)
    assert (shop_side["closing_balance"], shop_side["entries"][0]["counter_account"]) == (4, "user:wenxiaohua")
    assert domain.statement(db, ADMIN, "user:wenxiaohua", period, NOW)["closing_balance"] == 12


def test_statements_are_for_their_owner_staff_and_admins_only(db):
    fund(db, WEN, 10)
    for who, account in ((ZHANG, "user:wenxiaohua"), (YJ_STAFF, "shop:wenchang"), (LEADER, "issuance:hb"),
                         (QJ_ADMIN, "user:wenxiaohua"), (STAFF, "issuance:hb")):
        with pytest.raises(NotFound):
            domain.statement(db, who, account, {}, NOW)
    with pytest.raises(Invalid) as err:
        domain.statement(db, WEN, "me", {"from": "2026-11-30", "to": "2026-11-01"}, NOW)
    assert "from" in err.value.errors


def test_a_correction_is_a_reversing_transaction_never_an_edit(db):
    table = rules.rules_of(db, "hb")
    rules.award(db, "hb", HU.user_id, 5, "community:wenchang", "claim:c9", "claim_approved", table, NOW)
    answer = domain.reverse(db, ADMIN, "hb", "claim:c9", {"reason": "重复申报"}, NOW)
    assert (answer["amount"], answer["balance"], answer["transaction_id"]) == (-5, 0, "reversal:claim:c9")
    assert domain.reverse(db, ADMIN, "hb", "claim:c9", {"reason": "again"}, NOW)["balance"] == 0
    assert db.entries.count_documents({"transaction_id": "claim:c9"}) == 2  # the original stands
    assert db.entries.count_documents({"transaction_id": "reversal:claim:c9"}) == 2
    assert domain.check_ledger(db, ADMIN, "hb")["balanced"] is True
    assert ledger.earned_since(db, "hb", HU.user_id, "claim", NOW - timedelta(days=1)) == 0


def test_spent_points_and_orders_are_not_reversed(db):
    table = rules.rules_of(db, "hb")
    rules.award(db, "hb", HU.user_id, 5, "community:wenchang", "claim:c1", "claim_approved", table, NOW)
    ledger.transfer(db, "hb", HU.user_id, -3, "shop:wenchang", "order:o1", "redeem", now=NOW)
    with pytest.raises(Conflict) as err:
        domain.reverse(db, ADMIN, "hb", "claim:c1", {"reason": "x"}, NOW)
    assert "transaction_id" in err.value.errors
    with pytest.raises(Conflict):
        domain.reverse(db, ADMIN, "hb", "order:o1", {"reason": "x"}, NOW)
    with pytest.raises(NotFound):
        domain.reverse(db, ADMIN, "hb", "nothing", {"reason": "x"}, NOW)
    with pytest.raises(Invalid):
        domain.reverse(db, ADMIN, "hb", "claim:c1", {}, NOW)


def test_the_check_catches_a_tampered_running_balance(db):
    fund(db, WEN, 10)
    fund(db, WEN, 5)
    db.entries.update_one({"account": "user:wenxiaohua", "seq": 2}, {"$set": {"balance_after": 50}})
    report = domain.check_ledger(db, ADMIN, "hb")
    assert report["balanced"] is False and report["chain_breaks"]
    assert all(b["account"] == "user:wenxiaohua" for b in report["chain_breaks"])


def test_local_periods_cut_at_midnight_in_china():
    from services.points import periods
    late = NOW.replace(hour=16, minute=30)  # 00:30 the next day in 河边镇
    assert periods.local_date(late) == date(2026, 11, 23)
    assert periods.day_start(late).isoformat() == "2026-11-22T16:00:00+00:00"
    assert periods.month_start(NOW).isoformat() == "2026-10-31T16:00:00+00:00"
    assert periods.months_between(date(2025, 11, 3), date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_the_rule_table_is_open_for_micro_wishes(db):
    """微心愿 comes in a later issue: its amount and cap are in the table, and an award books under them."""
    domain.set_rules(db, ADMIN, "hb", {"wish_fulfilled": 7, "caps": {"wish": {"per_day": 10}}})
    table = rules.rules_of(db, "hb")
    first = rules.award(db, "hb", WEN.user_id, table["wish_fulfilled"], "community:wenchang", "wish:w1",
                        "wish_fulfilled", table, NOW)
    second = rules.award(db, "hb", WEN.user_id, table["wish_fulfilled"], "community:wenchang", "wish:w2",
                         "wish_fulfilled", table, NOW)
    assert (first, second) == ((7, False), (3, True))
    assert ledger.earned_since(db, "hb", WEN.user_id, "wish", NOW - timedelta(days=1)) == 10
    assert domain.statement(db, WEN, "me", {}, NOW)["entries"][0]["description"] == "微心愿认领完成"


def test_the_check_command_names_every_break(db):
    """What ``python -m services.points.check`` prints for the check's answer (as the gateway returns it)."""
    from services.points.check import render
    from services.points.schemas import LedgerCheckSchema
    fund(db, WEN, 10)
    lines, balanced = render(LedgerCheckSchema().dump(domain.check_ledger(db, ADMIN, "hb")))
    assert balanced and lines[-1] == "balanced" and lines[0].startswith("district hb: 2 entries, sum 0,")
    ledger.transfer(db, "hb", WEN.user_id, -4, "shop:wenchang", "t-x", "redeem", now=NOW)
    db.entries.delete_one({"transaction_id": "t-x", "account": "shop:wenchang"})  # a counter side lost
    db.entries.update_one({"account": "user:wenxiaohua", "seq": 1}, {"$set": {"amount": 3}})  # an edited entry
    lines, balanced = render(LedgerCheckSchema().dump(domain.check_ledger(db, ADMIN, "hb")))
    assert not balanced and lines[-1].startswith("NOT balanced")
    breaks = [line for line in lines if line.startswith("  BREAK")]
    assert "  BREAK transaction does not net to zero: t-x" in breaks
    assert any("user:wenxiaohua" in line and "balance" in line for line in breaks)
    assert lines[-1] == f"NOT balanced: {len(breaks)} problem(s)"


def test_the_head_is_found_whatever_this_process_remembers_of_it(db):
    """The remembered end of a chain is only where to start: stale, missing or beyond the end, same head."""
    fund(db, WEN, 10)
    fund(db, WEN, 5)
    fund(db, WEN, 1)
    key = ledger._head_key(db, "hb", ledger.user_account(WEN.user_id))
    for hint in (None, 1, 2, 3, 99):
        ledger._HEADS.pop(key, None)
        if hint:
            ledger._HEADS[key] = hint
        assert ledger.head(db, "hb", ledger.user_account(WEN.user_id)) == (3, 16)
    db.entries.delete_many({})  # a database emptied under a process that remembers its chains
    assert ledger.head(db, "hb", ledger.user_account(WEN.user_id)) == (0, 0)
    fund(db, WEN, 4)
    assert chain(db, WEN) == [(1, 4, 4)]


def test_a_chain_another_replica_extended_is_followed_to_its_end(db):
    fund(db, WEN, 10)
    account = ledger.user_account(WEN.user_id)
    assert ledger.head(db, "hb", account) == (1, 10)
    for seq, total in ((2, 15), (3, 18)):   # written elsewhere: this process's memory still says 1
        db.entries.insert_one({"_id": ledger.chain_id("hb", account, seq), "seq": seq, "balance_after": total,
                               "district": "hb", "account": account, "amount": total - (10 if seq == 2 else 15),
                               "transaction_id": f"elsewhere-{seq}"})
    ledger._HEADS[ledger._head_key(db, "hb", account)] = 1
    assert ledger.head(db, "hb", account) == (3, 18)
    fund(db, WEN, 2)
    assert chain(db, WEN)[-1] == (4, 2, 20)
