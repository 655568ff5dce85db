"""Points: earning rules, awards for closed petitions, statements and ledger checks.

Plain functions of a pymongo-like ``db`` and the caller's ``AuthContext``;
the nameko service only wires them to entrypoints.
"""
from civicgrid.events import derived_event_id, isoformat, make_event, utcnow
from civicgrid.validation import load

from . import ledger
from .schemas import DistrictSchema, RulesSchema

DEFAULT_RULES = {"reporter_rated": 2, "handler_5_star": 10, "handler_4_star": 5}
DESCRIPTIONS = {
    "petition_rated": "诉求评价奖励",
    "petition_handled": "办理诉求获好评奖励",
}
SYSTEM_ACTOR = {"id": "system:points", "role": "system"}
STATEMENT_LIMIT = 100


def _district(district):
    return load(DistrictSchema(), {"district": district})["district"]


def _require_admin(auth, district):
    auth.require("district_admin", "platform_admin")
    auth.require_district(district)


# Rules ----------------------------------------------------------------------

def rules_of(db, district):
    doc = db.rules.find_one({"_id": district}) or {}
    return {key: int(doc.get(key, default)) for key, default in DEFAULT_RULES.items()}


def get_rules(db, auth, district):
    district = _district(district)
    _require_admin(auth, district)
    return rules_of(db, district)


def set_rules(db, auth, district, rules):
    """Change some or all amounts; entries already booked keep the amounts they had."""
    district = _district(district)
    _require_admin(auth, district)
    changes = load(RulesSchema(), rules)
    if changes:
        db.rules.update_one(
            {"_id": district},
            {"$set": dict(changes, district=district, updated_at=utcnow(), updated_by=auth.user_id)},
            upsert=True)
    return rules_of(db, district)


# Awards ---------------------------------------------------------------------

def awards_for(data, rules):
    """(user_id, reason, amount) the closing of one petition earns; amounts may be zero."""
    rating = data.get("rating")
    if rating is None:
        return []
    awards = [(data["resident_id"], "petition_rated", rules["reporter_rated"])]
    if data.get("handler_id"):
        amount = {5: rules["handler_5_star"], 4: rules["handler_4_star"]}.get(rating, 0)
        awards.append((data["handler_id"], "petition_handled", amount))
    return awards


def on_petition_closed(db, event, now=None):
    """Book the awards of a closed petition; return the ``points_awarded`` events to publish.

    Every call returns the same events for the same cause (ids derived from it),
    so a redelivery re-publishes facts consumers already know, never new points.
    """
    district, data = event["district"], event["data"]
    published = []
    for user_id, reason, amount in awards_for(data, rules_of(db, district)):
        transaction_id = f"{event['event_id']}:{user_id}:{reason}"
        booked = ledger.post(db, district, user_id, amount, transaction_id, reason,
                             petition_id=data.get("petition_id"), event_id=event["event_id"],
                             actor=event["actor"], now=now)
        if not booked:
            continue
        published.append(make_event("points_awarded", district, SYSTEM_ACTOR, {
            "user_id": user_id, "amount": booked,
            "balance": ledger.balance(db, district, ledger.user_account(user_id)),
            "reason": reason, "transaction_id": transaction_id,
            "petition_id": data.get("petition_id"), "title": data.get("title"),
        }, event_id=derived_event_id(event["event_id"], user_id, reason)))
    return published


# Queries --------------------------------------------------------------------

def my_points(db, auth):
    auth.require()
    account = ledger.user_account(auth.user_id)
    return {
        "balance": ledger.balance(db, auth.district, account),
        "entries": [{
            "amount": entry["amount"], "reason": entry["reason"],
            "description": DESCRIPTIONS.get(entry["reason"], entry["reason"]),
            "petition_id": entry.get("petition_id"),
            "created_at": isoformat(entry["created_at"]),
        } for entry in ledger.history(db, auth.district, account, STATEMENT_LIMIT)],
    }


def check_ledger(db, auth, district):
    district = _district(district)
    _require_admin(auth, district)
    audit = ledger.audit(db, district)
    return {
        "district": district, "entries": audit["entries"], "sum": audit["sum"],
        "balanced": audit["sum"] == 0 and not audit["unbalanced_transactions"],
        "negative_accounts": audit["negative_accounts"],
    }
