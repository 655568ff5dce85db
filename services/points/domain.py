"""Points: earning rules, awards for closed petitions, statements, corrections and the ledger check.

Plain functions of a pymongo-like ``db`` and the caller's ``AuthContext``;
the nameko service only wires them to entrypoints. The shop, activities,
claims and reports live in their own modules.
"""
from civicgrid.errors import Conflict, NotFound
from civicgrid.events import derived_event_id, make_event, utcnow
from civicgrid.validation import load, schema

from . import accounts, ledger, periods, rules, shop
from .schemas import DistrictSchema, MySettingsSchema, ReversalIn, StatementQuery
from .views import entry_view, yuan

DEFAULT_RULES = rules.DEFAULT_RULES
SYSTEM_ACTOR = {"id": "system:points", "role": "system"}
STATEMENT_LIMIT = 100


def _district(district):
    return load(schema(DistrictSchema), {"district": district})["district"]


# Rules ----------------------------------------------------------------------

def rules_of(db, district):
    return rules.rules_of(db, district)


def get_rules(db, auth, district):
    district = _district(district)
    accounts.require_admin(auth, district)
    return rules.rules_of(db, district)


def set_rules(db, auth, district, changes):
    """Change some amounts or caps; entries already booked keep the amounts they had."""
    district = _district(district)
    accounts.require_admin(auth, district)
    return rules.change(db, district, changes, auth.user_id)


# Awards ---------------------------------------------------------------------

def awards_for(data, table):
    """(user_id, reason, amount) the closing of one petition earns; amounts may be zero."""
    rating = data.get("rating")
    if rating is None:
        return []
    awards = [(data["resident_id"], "petition_rated", table["reporter_rated"])]
    if data.get("handler_id"):
        amount = {5: table["handler_5_star"], 4: table["handler_4_star"]}.get(rating, 0)
        awards.append((data["handler_id"], "petition_handled", amount))
    return awards


def on_petition_closed(db, event, now=None):
    """Book the awards of a closed petition; return the ``points_awarded`` events to publish.

    Every call returns the same events for the same cause (ids derived from it),
    so a redelivery re-publishes facts consumers already know, never new points.
    """
    district, data = event["district"], event["data"]
    now = now or utcnow()
    table = rules.rules_of(db, district)
    published = []
    for user_id, reason, amount in awards_for(data, table):
        transaction_id = f"{event['event_id']}:{user_id}:{reason}"
        entry = rules.book(
            db, district, user_id, amount, ledger.issuance_account(district), transaction_id, reason, table, now,
            actor=event["actor"], source={"type": "petition", "id": data.get("petition_id")},
            community=accounts.community_of(db, district, user_id),
            petition_id=data.get("petition_id"), event_id=event["event_id"])
        if not entry:
            continue
        # the balance this award left (its chain entry's), so a redelivery repeats the very same fact
        published.append(make_event("points_awarded", district, SYSTEM_ACTOR, {
            "user_id": user_id, "amount": entry["amount"], "balance": entry["balance_after"],
            "reason": reason, "transaction_id": transaction_id,
            "petition_id": data.get("petition_id"), "title": data.get("title"),
        }, event_id=derived_event_id(event["event_id"], user_id, reason)))
    return published


def on_member_assigned(db, event, locate=None, now=None):
    """The grid announced a person: open their points account (their community, when it can be told)."""
    data, district = event["data"], event["district"]
    community = data.get("community")
    if community is None and data.get("scope"):
        if "community_staff" in data.get("roles", []):
            community = data["scope"]
        elif locate is not None:
            community = locate(district, data["scope"])
    return accounts.open_user(db, district, data["user_id"], now or utcnow(), name=data.get("name"),
                              community=community, roles=data.get("roles"))


# Queries --------------------------------------------------------------------

def my_points(db, auth, now=None):
    auth.require()
    account = accounts.touch(db, auth, now or utcnow()) or {}
    user = ledger.user_account(auth.user_id)
    balance = ledger.balance(db, auth.district, user)
    return {
        "user_id": auth.user_id, "balance": balance, "balance_yuan": yuan(balance),
        "community": account.get("community", auth.community),
        "show_on_leaderboard": account.get("show_on_leaderboard", True),
        "entries": [entry_view(entry) for entry in ledger.history(db, auth.district, user, STATEMENT_LIMIT)],
    }


def set_my_settings(db, auth, settings, now=None):
    show = load(schema(MySettingsSchema), settings)["show_on_leaderboard"]
    accounts.set_leaderboard(db, auth, show, now or utcnow())
    return my_points(db, auth, now)


def statement(db, auth, account, query, now=None, directory=None):
    """Any account's statement for a period: opening and closing balance, and every entry between."""
    auth.require()
    now = now or utcnow()
    query = load(StatementQuery(), query)
    district = auth.district or query["district"]
    if not district:
        raise NotFound("no such account", {"district": ["name the district"]})
    if account == "me":
        account = ledger.user_account(auth.user_id)
    kind, owner, community = accounts.statement_access(db, auth, district, account, directory)
    first, last = periods.default_period(now, {"from": query["from_"], "to": query["to"]})
    start, end = periods.window(first, last)
    opening = ledger.balance_before(db, district, account, start)
    credits, debits = ledger.period_totals(db, district, account, start, end)
    closing = opening + credits - debits
    entries, total = ledger.period_entries(db, district, account, start, end,
                                           (query["page"] - 1) * query["page_size"], query["page_size"])
    return {
        "account": account, "district": district, "kind": kind, "owner": owner, "community": community,
        "from": first.isoformat(), "to": last.isoformat(),
        "opening_balance": opening, "opening_yuan": yuan(opening), "credits": credits, "debits": debits,
        "closing_balance": closing, "closing_yuan": yuan(closing),
        "entries": [entry_view(e) for e in entries], "total": total,
        "page": query["page"], "page_size": query["page_size"],
    }


def reverse(db, auth, district, transaction_id, payload, now=None):
    """A correction: new entries that undo an award, never an edit. Orders are undone by cancelling them."""
    district = _district(district)
    accounts.require_admin(auth, district)
    reason = load(ReversalIn(), payload)["reason"]
    now = now or utcnow()
    original = db.entries.find_one({"district": district, "transaction_id": transaction_id,
                                    "account": {"$regex": "^user:"}}) if isinstance(transaction_id, str) else None
    if original is None:
        raise NotFound("no such transaction", {"transaction_id": [f"{transaction_id} not found"]})
    if not original.get("earning") or original["amount"] <= 0:
        raise Conflict("only awards are reversed; an order is cancelled instead",
                       {"transaction_id": [f"{transaction_id} is a {original['reason']}"]})
    user_id = ledger.user_of(original["account"])
    try:
        entry = ledger.transfer(
            db, district, user_id, -original["amount"], original["counter_account"], f"reversal:{transaction_id}",
            "reversal", now=now, actor=auth.as_actor(), source={"type": "reversal", "id": transaction_id},
            community=original.get("community"), earning=original["earning"], note=reason,
            reverses_reason=original["reason"], petition_id=original.get("petition_id"))
    except ledger.NotEnoughPoints as err:
        raise Conflict("the points were spent already",
                       {"transaction_id": [f"{user_id} holds {err.balance} points, the award was {err.needed}"]})
    return {"transaction_id": entry["transaction_id"], "reverses": transaction_id, "user_id": user_id,
            "amount": entry["amount"], "balance": ledger.balance(db, district, original["account"]),
            "reason": reason}


def check_ledger(db, auth, district):
    """Verify the whole district: entries sum to zero, chains hold, orders and stock add up."""
    district = _district(district)
    accounts.require_admin(auth, district)
    audit = ledger.audit(db, district)
    goods = shop.audit(db, district)
    balanced = (audit["sum"] == 0 and not audit["unbalanced_transactions"] and not audit["negative_accounts"]
                and not audit["chain_breaks"] and not goods["order_breaks"] and not goods["stock_breaks"])
    return {
        "district": district, "entries": audit["entries"], "sum": audit["sum"], "balanced": balanced,
        "negative_accounts": audit["negative_accounts"],
        "unbalanced_transactions": audit["unbalanced_transactions"][:100],
        "chain_breaks": audit["chain_breaks"][:100], "order_breaks": goods["order_breaks"][:100],
        "stock_breaks": goods["stock_breaks"][:100], "accounts_with_entries": audit["accounts"],
        "orders": goods["orders"], "orders_in_flight": goods["orders_in_flight"],
    }

