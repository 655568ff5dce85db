"""The double-entry ledger: every movement is two immutable entries that sum to zero.

Accounts (names are unique within a district; every entry carries its district):

- ``issuance:<district>``  the district's issuance account (petition awards);
- ``community:<id>``       a community's issuance account (activities, approved claims);
- ``shop:<id>``            the community shop's redemption account (orders);
- ``user:<user id>``       a person's points;
- ``org:<district>:<id>``  an organisation's points (驻区单位, companies: micro-wishes they fulfil).

People and organisations are the chained accounts described next.

Nothing here updates or deletes an entry. A user's entries form a chain: each
carries ``seq`` (1, 2, 3 …) and ``balance_after``, and its ``_id`` is
``<district>|user:<id>|<seq>``, so two writers that read the same head cannot
both append (the second gets a duplicate key and reads the head again). That
makes every movement of a user's points a serialised, conditional write on one
document: a debit is booked only if ``balance_after`` stays at or above zero,
and a guard (earning caps, purchase limits) decides on the same snapshot. The
user's side is always written first; the counter side follows and is completed
by any retry (``complete``), so a crash in between leaves a transaction the
next attempt or the repair sweep finishes with the same amount.

A balance is the sum of the account's entries; for users it is also the
chain's last ``balance_after``, and ``audit`` checks the two agree.
"""
import uuid
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from civicgrid.errors import Conflict
from civicgrid.events import utcnow
from civicgrid.idempotency import insert_once

MAX_ATTEMPTS = 64
USER = "user:"
ORG = "org:"
CHAINED = "^(user|org):"  # accounts whose entries form a chain (seq, balance_after)


def user_account(user_id):
    return f"{USER}{user_id}"


def issuance_account(district):
    return f"issuance:{district}"


def organisation_account(district, organisation_id):
    return f"{ORG}{district}:{organisation_id}"


def community_account(community):
    return f"community:{community}"


def shop_account(community):
    return f"shop:{community}"


def kind_of(account):
    return account.split(":", 1)[0]


def user_of(account):
    return account[len(USER):] if account.startswith(USER) else None


def chain_id(district, account, seq):
    return f"{district}|{account}|{seq:09d}"


class NotEnoughPoints(Exception):
    def __init__(self, balance, needed):
        super().__init__(f"needs {needed} points, the balance is {balance}")
        self.balance = balance
        self.needed = needed


# Where this process last saw each chain end: only where to start looking. The entry there is read
# back by its ``_id`` and the chain followed to its end (chains have no gaps), so a stale hint (another
# replica appended since, a database dropped and filled again) costs a lookup or two, never a wrong head.
# It spares the sorted query, which on mongomock copies a person's whole chain to return its last entry.
_HEADS = {}
_HEAD_FIELDS = {"seq": 1, "balance_after": 1}


def _head_key(db, district, account):
    return getattr(db.entries, "full_name", None), district, account


def head(db, district, account):
    """``(seq, balance)`` of the account's chain; ``(0, 0)`` before its first entry."""
    key = _head_key(db, district, account)
    hint = _HEADS.get(key)
    doc = db.entries.find_one({"_id": chain_id(district, account, hint)}, _HEAD_FIELDS) if hint else None
    if doc is None:
        doc = db.entries.find_one({"district": district, "account": account, "seq": {"$exists": True}},
                                  _HEAD_FIELDS, sort=[("seq", DESCENDING)])
        if doc is None:
            return 0, 0
    else:
        while True:
            following = db.entries.find_one({"_id": chain_id(district, account, doc["seq"] + 1)}, _HEAD_FIELDS)
            if following is None:
                break
            doc = following
    _HEADS[key] = doc["seq"]
    return doc["seq"], doc["balance_after"]


def transfer(db, district, user_id, amount, counter, transaction_id, reason, *, now=None, actor=None,
             source=None, community=None, earning=None, guard=None, account=None, **extra):
    """Book ``amount`` to the user from ``counter`` (a negative amount goes from the user to it).

    Returns the user's entry (the one booked earlier when the transaction exists
    already: a retry books nothing new), or ``None`` when nothing was due.
    ``guard(seq, balance, amount)`` runs on the chain's snapshot before each
    attempt and returns the amount to book (a cap may lower it) or raises.
    Raises ``NotEnoughPoints`` when the user's balance would drop below zero.
    ``account`` books to another chained account instead (an organisation's).
    """
    account = account or user_account(user_id)
    now = now or utcnow()
    for _ in range(MAX_ATTEMPTS):
        # both sides in one query: on mongomock every query reads the whole collection
        sides = {e["account"]: e for e in db.entries.find(
            {"transaction_id": transaction_id, "account": {"$in": [account, counter]}})}
        mine = sides.get(account)
        if mine is not None:
            complete(db, mine)
            return mine
        seq, balance = head(db, district, account)
        # a counter side without its user side (written by an older version first): same amount
        other = sides.get(counter)
        if other is not None:
            booked = -other["amount"]
        else:
            booked = guard(seq, balance, amount) if guard else amount
        if not booked:
            return None
        if balance + booked < 0:
            raise NotEnoughPoints(balance, -booked)
        entry = {
            "_id": chain_id(district, account, seq + 1), "seq": seq + 1, "balance_after": balance + booked,
            "district": district, "account": account, "counter_account": counter, "amount": booked,
            "transaction_id": transaction_id, "reason": reason, "source": source, "community": community,
            "earning": earning, "actor": actor, "created_at": now, **extra,
        }
        try:
            db.entries.insert_one(entry)
        except DuplicateKeyError:
            continue  # another writer took this place in the chain (or booked this transaction): look again
        _HEADS[_head_key(db, district, account)] = seq + 1
        complete(db, entry)
        return entry
    raise Conflict("the account is busy: try again", {"account": [account]})


def complete(db, entry):
    """Write the counter side of a transaction whose user side is booked; harmless when it exists."""
    insert_once(db.entries, {
        "_id": str(uuid.uuid4()), "district": entry["district"], "account": entry["counter_account"],
        "counter_account": entry["account"], "amount": -entry["amount"],
        **{k: entry.get(k) for k in ("transaction_id", "reason", "source", "community", "earning", "actor",
                                     "created_at", "petition_id", "event_id", "item_id", "reverses_reason")},
    })


def user_entry(db, transaction_id, user_id):
    return db.entries.find_one({"transaction_id": transaction_id, "account": user_account(user_id)})


# -- reading -------------------------------------------------------------------

def _sum(db, match, group_by=None):
    rows = db.entries.aggregate([
        {"$match": match},
        {"$group": {"_id": group_by, "total": {"$sum": "$amount"}, "count": {"$sum": 1}}},
    ])
    return list(rows)


def balance(db, district, account):
    if account.startswith((USER, ORG)):
        return head(db, district, account)[1]
    rows = _sum(db, {"district": district, "account": account})
    return int(rows[0]["total"]) if rows else 0


def balance_before(db, district, account, moment):
    rows = _sum(db, {"district": district, "account": account, "created_at": {"$lt": moment}})
    return int(rows[0]["total"]) if rows else 0


def earned_since(db, district, user_id, earning, since):
    """Points of one earning kind the user received from ``since`` on (net of reversals)."""
    rows = _sum(db, {"district": district, "account": user_account(user_id), "earning": earning,
                     "created_at": {"$gte": since}})
    return int(rows[0]["total"]) if rows else 0


def history(db, district, account, limit):
    cursor = (db.entries.find({"district": district, "account": account})
              .sort([("created_at", DESCENDING), ("seq", DESCENDING), ("transaction_id", DESCENDING)])
              .limit(limit))
    return list(cursor)


def period_entries(db, district, account, start, end, skip=0, limit=100):
    selector = {"district": district, "account": account, "created_at": {"$gte": start, "$lt": end}}
    total = db.entries.count_documents(selector)
    cursor = (db.entries.find(selector).sort([("created_at", ASCENDING), ("seq", ASCENDING),
                                              ("transaction_id", ASCENDING)])
              .skip(skip).limit(limit))
    return list(cursor), total


def period_totals(db, district, account, start, end):
    """``(credits, debits)`` of the account in ``[start, end)``, both as positive numbers."""
    window = {"district": district, "account": account, "created_at": {"$gte": start, "$lt": end}}
    credits = _sum(db, dict(window, amount={"$gt": 0}))
    debits = _sum(db, dict(window, amount={"$lt": 0}))
    return (int(credits[0]["total"]) if credits else 0), (-int(debits[0]["total"]) if debits else 0)


# -- repair and audit --------------------------------------------------------------

def half_written(db, district=None, since=None):
    """User entries whose counter side is missing (a crash between the two writes)."""
    match = {}
    if district:
        match["district"] = district
    if since is not None:
        match["created_at"] = {"$gte": since}
    rows = db.entries.aggregate([
        {"$match": match},
        {"$group": {"_id": "$transaction_id", "total": {"$sum": "$amount"}, "count": {"$sum": 1}}},
    ])
    broken = [row["_id"] for row in rows if row["total"] != 0 or row["count"] % 2]
    found = []
    for tx in broken:
        entries = list(db.entries.find({"transaction_id": tx}))
        users = [e for e in entries if e.get("seq")]  # the chained side, written first
        if len(entries) == 1 and len(users) == 1:
            found.append(users[0])
    return found


def repair_half_written(db, now, window=timedelta(days=1)):
    """Complete the counter side of recent transactions a crash left half-written."""
    repaired = 0
    for entry in half_written(db, since=now - window):
        complete(db, entry)
        repaired += 1
    return repaired


def audit(db, district):
    """Totals and the invariants.

    Each transaction nets to zero; no user owes points; each user's chain is
    contiguous (seq 1..n), every ``balance_after`` is the running sum, and the
    last one equals the sum of the account's entries.
    """
    totals = _sum(db, {"district": district})
    count, total = (totals[0]["count"], totals[0]["total"]) if totals else (0, 0)
    by_transaction = _sum(db, {"district": district}, "$transaction_id")
    unbalanced = sorted(row["_id"] for row in by_transaction if row["total"] != 0)
    by_account = _sum(db, {"district": district, "account": {"$regex": CHAINED}}, "$account")
    negative = sorted(row["_id"] for row in by_account if row["total"] < 0)
    sums = {row["_id"]: int(row["total"]) for row in by_account}

    breaks, running, expected = [], {}, {}
    cursor = db.entries.find({"district": district, "account": {"$regex": CHAINED}},
                             {"account": 1, "seq": 1, "balance_after": 1, "amount": 1})
    for entry in sorted(cursor, key=lambda e: (e["account"], e.get("seq") or 0)):
        account = entry["account"]
        seq = expected.get(account, 1)
        if entry.get("seq") != seq:
            breaks.append({"account": account, "problem": f"entry {entry['_id']} has seq {entry.get('seq')}, "
                                                          f"expected {seq}"})
        running[account] = running.get(account, 0) + entry["amount"]
        if entry.get("balance_after") != running[account]:
            breaks.append({"account": account, "problem": f"entry {entry['_id']} says balance "
                                                          f"{entry.get('balance_after')}, "
                                                          f"the sum is {running[account]}"})
        expected[account] = seq + 1
    for account, seq in expected.items():
        chained = head(db, district, account)[1]
        if chained != sums.get(account, 0):
            breaks.append({"account": account, "problem": f"balance {chained} differs from the sum of "
                                                          f"its entries {sums.get(account, 0)}"})
    return {"entries": int(count), "sum": int(total), "unbalanced_transactions": unbalanced,
            "negative_accounts": negative, "chain_breaks": breaks, "accounts": len(sums)}
