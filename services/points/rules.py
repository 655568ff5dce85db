"""Earning rules per district: amounts, and caps per person per day and per month.

The table is open: each earning kind (``petition``, ``activity``, ``claim``,
``wish``) has its amounts and one cap. A cap limits what one person receives of
that kind in a local day or month; it is decided on the person's ledger chain
(see ``ledger.transfer``), so two awards at the same moment cannot both slip
under it. Changing a rule never rewrites an entry: the amount is fixed when it
is booked, and a retry of a booked transaction keeps it.
"""
import copy

from civicgrid.errors import Invalid
from civicgrid.events import utcnow
from civicgrid.validation import load, schema

from . import ledger, periods
from .schemas import RulesSchema

AMOUNTS = {
    "reporter_rated": 2, "handler_5_star": 10, "handler_4_star": 5,   # petition closed (the loop)
    "activity_attendance": 5,   # per attendee, when an activity names no points of its own
    "claim_approved": 5,        # an approved claim whose category has no amount
    "wish_fulfilled": 5,        # micro-wish (微心愿) a person adopted and fulfilled, once its resident confirms
    "wish_fulfilled_organisation": 10,  # … that an organisation (驻区单位, company) did: to its account, uncapped
}
# petition awards keep the loop's behaviour (no cap) unless a district sets one
DEFAULT_CAPS = {
    "petition": {"per_day": None, "per_month": None},
    "activity": {"per_day": 20, "per_month": 100},
    "claim": {"per_day": 10, "per_month": 50},
    "wish": {"per_day": 10, "per_month": 50},
}
DEFAULT_RULES = dict(AMOUNTS, claim_categories={}, caps=DEFAULT_CAPS)

# reason code -> earning kind (the cap it counts against)
EARNINGS = {
    "petition_rated": "petition",
    "petition_handled": "petition",
    "activity_attendance": "activity",
    "claim_approved": "claim",
    "wish_fulfilled": "wish",
}


def rules_of(db, district):
    doc = db.rules.find_one({"_id": district}) or {}
    rules = {key: int(doc.get(key, default)) for key, default in AMOUNTS.items()}
    rules["claim_categories"] = dict(doc.get("claim_categories") or {})
    caps = copy.deepcopy(DEFAULT_CAPS)
    for kind, values in (doc.get("caps") or {}).items():
        caps.setdefault(kind, {"per_day": None, "per_month": None}).update(values)
    rules["caps"] = caps
    return rules


def change(db, district, changes, actor):
    """Apply the keys ``changes`` names; returns the rules now in force."""
    changes = load(schema(RulesSchema), changes)
    merged = rules_of(db, district)["caps"]
    for kind, values in (changes.get("caps") or {}).items():
        merged[kind].update(values)
        day, month = merged[kind]["per_day"], merged[kind]["per_month"]
        if day is not None and month is not None and day > month:
            raise Invalid("a daily cap above the monthly one", {f"caps.{kind}.per_day": [
                f"{day} is more than per_month {month}"]})
    update = {k: v for k, v in changes.items() if k in AMOUNTS}
    if "claim_categories" in changes:
        update["claim_categories"] = changes["claim_categories"]
    for kind, values in (changes.get("caps") or {}).items():
        for field, value in values.items():
            update[f"caps.{kind}.{field}"] = value
    if update:
        db.rules.update_one({"_id": district},
                            {"$set": dict(update, district=district, updated_at=utcnow(), updated_by=actor)},
                            upsert=True)
    return rules_of(db, district)


def claim_amount(rules, category):
    return int(rules["claim_categories"].get(category, rules["claim_approved"])) if category \
        else rules["claim_approved"]


def cap_guard(db, district, user_id, kind, rules, now):
    """A ``ledger.transfer`` guard that lowers an award to what the person's caps still allow."""
    caps = rules["caps"].get(kind) or {}

    def guard(seq, balance, amount):
        allowed = amount
        for field, since in (("per_day", periods.day_start(now)), ("per_month", periods.month_start(now))):
            cap = caps.get(field)
            if cap is None or allowed <= 0:
                continue
            allowed = min(allowed, max(0, cap - ledger.earned_since(db, district, user_id, kind, since)))
        return allowed
    return guard


def book(db, district, user_id, amount, counter, transaction_id, reason, rules, now, **kwargs):
    """Book an earning, capped; returns the user's entry (``None`` when nothing was due), the first one on a retry."""
    kind = EARNINGS[reason]
    return ledger.transfer(db, district, user_id, amount, counter, transaction_id, reason, now=now,
                           earning=kind, guard=cap_guard(db, district, user_id, kind, rules, now), **kwargs)


def award(db, district, user_id, amount, counter, transaction_id, reason, rules, now, **kwargs):
    """Book an earning, capped; returns ``(points booked, capped?)`` — the first booking on a retry."""
    entry = book(db, district, user_id, amount, counter, transaction_id, reason, rules, now, **kwargs)
    booked = entry["amount"] if entry else 0
    return booked, booked < amount
