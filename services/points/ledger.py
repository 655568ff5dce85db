"""The double-entry ledger: every movement is two immutable entries that sum to zero.

Nothing here updates or deletes an entry. A balance is always the sum of an
account's entries, so there is no stored counter that could drift from them.
"""
import uuid

from pymongo import DESCENDING

from civicgrid.events import utcnow
from civicgrid.idempotency import insert_once


def user_account(user_id):
    return f"user:{user_id}"


def issuance_account(district):
    return f"issuance:{district}"


def post(db, district, user_id, amount, transaction_id, reason,
         petition_id=None, event_id=None, actor=None, now=None):
    """Book ``amount`` from the district's issuance account to the user; return the amount booked.

    A retry of a half-written transaction reuses the amount first booked, so a
    rule changed in between cannot leave the two sides unequal.
    """
    first = db.entries.find_one({"transaction_id": transaction_id}, {"amount": 1})
    if first is not None:
        amount = abs(first["amount"])
    if amount <= 0:
        return 0
    now = now or utcnow()
    issuer, holder = issuance_account(district), user_account(user_id)
    for account, counter, signed in ((issuer, holder, -amount), (holder, issuer, amount)):
        insert_once(db.entries, {
            "_id": str(uuid.uuid4()), "district": district,
            "account": account, "counter_account": counter, "amount": signed,
            "transaction_id": transaction_id, "reason": reason,
            "petition_id": petition_id, "event_id": event_id, "actor": actor,
            "created_at": now,
        })
    return amount


def _sum(db, match, group_by=None):
    rows = db.entries.aggregate([
        {"$match": match},
        {"$group": {"_id": group_by, "total": {"$sum": "$amount"}, "count": {"$sum": 1}}},
    ])
    return list(rows)


def balance(db, district, account):
    rows = _sum(db, {"district": district, "account": account})
    return int(rows[0]["total"]) if rows else 0


def history(db, district, account, limit):
    cursor = (db.entries.find({"district": district, "account": account})
              .sort([("created_at", DESCENDING), ("transaction_id", DESCENDING)])
              .limit(limit))
    return list(cursor)


def audit(db, district):
    """Totals and the two invariants: each transaction nets to zero, no user owes points."""
    totals = _sum(db, {"district": district})
    count, total = (totals[0]["count"], totals[0]["total"]) if totals else (0, 0)
    by_transaction = _sum(db, {"district": district}, "$transaction_id")
    unbalanced = [row["_id"] for row in by_transaction if row["total"] != 0]
    by_account = _sum(db, {"district": district, "account": {"$regex": "^user:"}}, "$account")
    negative = sorted(row["_id"] for row in by_account if row["total"] < 0)
    return {"entries": int(count), "sum": int(total),
            "unbalanced_transactions": unbalanced, "negative_accounts": negative}
