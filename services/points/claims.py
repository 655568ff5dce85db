"""Claims (自主申报): a resident declares a good deed; the community's staff approve or reject it.

Deciding is one conditional update (``pending`` → approved / rejected). An
approval then books the points by rule (capped, transaction ``claim:<id>``, so
at most once) and records them with the ``claim_approved`` event in one write;
a crash in between leaves ``awarded: false``, which the repair sweep finishes.
"""
import uuid
from datetime import timedelta

from civicgrid.errors import Conflict, Forbidden, Invalid
from civicgrid.events import CATALOGUE, make_event
from civicgrid.validation import load

from . import accounts, ledger, rules
from .ids import next_id
from .periods import aware
from .schemas import ApproveIn, ClaimIn, ClaimQuery, RejectIn

EVENT_NS = uuid.UUID("9d2f0a4b-3c1e-4f6a-b8d7-2e5c1a0f9b33")
GRACE = timedelta(seconds=10)


def _event(type_, claim, actor, now, points, reason):
    return make_event(type_, claim["district"], actor, {
        "claim_id": claim["_id"], "user_id": claim["user_id"], "title": claim["title"],
        "points": points, "reason": reason}, occurred_at=now, event_id=uuid.uuid5(EVENT_NS, f"{claim['_id']}:{type_}"))


def submit(db, auth, payload, now):
    district = accounts.require_member(auth)
    fields = load(ClaimIn(), payload)
    if not auth.community:
        raise Invalid("you belong to no community", {"community": ["claims go to your community's staff"]})
    claim = dict(fields, _id=next_id(db, district, "claim"), district=district, community=auth.community,
                 user_id=auth.user_id, name=auth.name, status="pending", points=None, capped=False, reason=None,
                 note=None, decided_by=None, decided_at=None, awarded=None, created_at=now, updated_at=now,
                 outbox=[])
    if "claim_submitted" in CATALOGUE:  # staff hear of it when the catalogue has the event
        claim["outbox"].append(make_event("claim_submitted", district, auth.as_actor("resident"), {
            "claim_id": claim["_id"], "user_id": auth.user_id, "title": claim["title"],
            "community": claim["community"], "category": claim["category"]}, occurred_at=now))
    accounts.touch(db, auth, now)
    db.claims.insert_one(claim)
    claim.pop("outbox")
    return claim


def _claim(db, auth, claim_id):
    auth.require()
    doc = db.claims.find_one({"_id": claim_id}, {"outbox": 0}) if isinstance(claim_id, str) else None
    return accounts.visible(auth, doc, "claim")


def get(db, auth, claim_id):
    return _claim(db, auth, claim_id)


def list_for(db, auth, query):
    district = accounts.require_member(auth)
    query = load(ClaimQuery(), query)
    selector = {"district": district}
    if accounts.is_admin(auth, district):
        pass
    elif auth.has("community_staff") and auth.scope:
        selector["community"] = auth.scope
    else:
        selector["user_id"] = auth.user_id
    if query["status"]:
        selector["status"] = query["status"]
    total = db.claims.count_documents(selector)
    cursor = (db.claims.find(selector, {"outbox": 0}).sort([("created_at", -1), ("_id", -1)])
              .skip((query["page"] - 1) * query["page_size"]).limit(query["page_size"]))
    return list(cursor), total, query


def _decide(db, auth, claim_id):
    doc = _claim(db, auth, claim_id)
    if not accounts.is_staff(auth, doc["district"], doc["community"]):
        raise Forbidden(f"only staff of community {doc['community']} decide its claims")
    if doc["user_id"] == auth.user_id:
        raise Forbidden("nobody decides their own claim")
    if doc["status"] != "pending":
        raise Conflict(f"the claim is {doc['status']} already", {"status": [doc["status"]]})
    return doc


def approve(db, auth, claim_id, payload, now):
    fields = load(ApproveIn(), payload)
    doc = _decide(db, auth, claim_id)
    category = fields["category"] or doc.get("category")
    amount = rules.claim_amount(rules.rules_of(db, doc["district"]), category)
    done = db.claims.update_one(
        {"_id": doc["_id"], "status": "pending"},
        {"$set": {"status": "approved", "category": category, "note": fields["note"], "decided_by": auth.user_id,
                  "decided_at": now, "amount": amount, "awarded": False, "actor": auth.as_actor("community_staff"),
                  "updated_at": now}})
    if not done.matched_count:
        raise Conflict("the claim was decided meanwhile", {"claim_id": [doc["_id"]]})
    return award(db, db.claims.find_one({"_id": doc["_id"]}, {"outbox": 0}), now)


def award(db, claim, now):
    """Book the approved claim's points (capped; once) and record them with the event."""
    table = rules.rules_of(db, claim["district"])
    booked, capped = rules.award(db, claim["district"], claim["user_id"], claim["amount"],
                                 ledger.community_account(claim["community"]), f"claim:{claim['_id']}",
                                 "claim_approved", table, now, actor=claim["actor"],
                                 source={"type": "claim", "id": claim["_id"]}, community=claim["community"])
    reason = "本期自主申报积分已达上限" if capped else None
    event = _event("claim_approved", claim, claim["actor"], now, booked, reason)
    db.claims.update_one({"_id": claim["_id"], "awarded": False},
                         {"$set": {"awarded": True, "points": booked, "capped": capped, "reason": reason},
                          "$push": {"outbox": event}})
    return db.claims.find_one({"_id": claim["_id"]}, {"outbox": 0})


def reject(db, auth, claim_id, payload, now):
    reason = load(RejectIn(), payload)["reason"]
    doc = _decide(db, auth, claim_id)
    event = _event("claim_rejected", doc, auth.as_actor("community_staff"), now, 0, reason)
    done = db.claims.update_one(
        {"_id": doc["_id"], "status": "pending"},
        {"$set": {"status": "rejected", "reason": reason, "points": 0, "decided_by": auth.user_id,
                  "decided_at": now, "updated_at": now}, "$push": {"outbox": event}})
    if not done.matched_count:
        raise Conflict("the claim was decided meanwhile", {"claim_id": [doc["_id"]]})
    return db.claims.find_one({"_id": doc["_id"]}, {"outbox": 0})


def repair(db, now, limit=100):
    repaired = 0
    for claim in db.claims.find({"status": "approved", "awarded": False}, {"outbox": 0}).limit(limit):
        if now - aware(claim["updated_at"]) >= GRACE:
            award(db, claim, now)
            repaired += 1
    return repaired

