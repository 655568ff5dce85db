"""Volunteer activities (志愿服务活动): staff create them, residents sign up, staff check attendees in.

The activity document serialises everything that must not race: a sign-up is
one conditional update (open, places left, not signed up yet), a check-in
claims the person in ``checked_in`` before any points move (so points are
awarded once per person per activity: the award's transaction id is
``activity:<id>:<user>`` too), and cancelling requires that nobody has been
checked in. A check-in whose award a crash interrupted is finished by the
repair sweep (``pending_checkins``).
"""
import uuid
from datetime import timedelta

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import make_event
from civicgrid.validation import load

from . import accounts, ledger, rules
from .ids import next_id
from .periods import aware
from .schemas import ActivityIn, ActivityQuery, CancelActivityIn, CheckInIn
from .views import time

EVENT_NS = uuid.UUID("1e6c3d1c-7f0e-4a5b-8f55-0c2a9b7d4e21")
GRACE = timedelta(seconds=10)  # a check-in this long unrecorded lost its request


def _get(db, auth, activity_id):
    district = accounts.require_member(auth) if not (auth.is_system or auth.is_platform_admin) else None
    doc = db.activities.find_one({"_id": activity_id}, {"outbox": 0}) if isinstance(activity_id, str) else None
    if doc is None or (district and doc["district"] != district):
        raise NotFound("no such activity", {"activity_id": [f"{activity_id} not found"]})
    return doc


def _staff(auth, doc):
    if not accounts.is_staff(auth, doc["district"], doc["community"]):
        raise Forbidden(f"only staff of community {doc['community']} run its activities")


def is_staff_view(auth, doc):
    return accounts.is_staff(auth, doc["district"], doc["community"]) or accounts.is_admin(auth, doc["district"])


def create(db, auth, community, payload, now, directory=None):
    district = accounts.require_member(auth)
    accounts.require_community(directory, district, community)  # another district's: 404 before any role
    auth.require("community_staff")
    if not accounts.is_staff(auth, district, community):
        raise Forbidden(f"only staff of community {community} run its activities")
    fields = load(ActivityIn(), payload)
    if fields["starts_at"] <= now:
        raise Invalid("the activity would start in the past", {"starts_at": ["must be in the future"]})
    points = fields["points"] if fields["points"] is not None else rules.rules_of(db, district)["activity_attendance"]
    doc = dict(fields, _id=next_id(db, district, "activity"), district=district, community=community, points=points,
               status="open", cancel_reason=None, signups=[], signup_count=0, checked_in=[], attendance=[],
               pending_checkins=0, created_by=auth.user_id, created_at=now, updated_at=now, outbox=[])
    db.activities.insert_one(doc)
    doc.pop("outbox")
    return doc


def list_for(db, auth, community, query, directory=None):
    district = accounts.require_member(auth)
    accounts.require_community(directory, district, community)
    query = load(ActivityQuery(), query)
    selector = {"district": district, "community": community}
    if query["status"]:
        selector["status"] = query["status"]
    total = db.activities.count_documents(selector)
    cursor = (db.activities.find(selector, {"outbox": 0}).sort([("starts_at", -1), ("_id", -1)])
              .skip((query["page"] - 1) * query["page_size"]).limit(query["page_size"]))
    return list(cursor), total, query


def get(db, auth, activity_id):
    return _get(db, auth, activity_id)


def signup(db, auth, activity_id, now):
    """Sign myself up; capacity holds however many sign up at once. Signing up twice is harmless."""
    doc = _get(db, auth, activity_id)
    accounts.require_member(auth)  # the platform administrator reads activities but attends none
    user_id = auth.user_id
    if any(s["user_id"] == user_id for s in doc["signups"]):
        return doc
    _open_for_signup(doc, now)
    entry = {"user_id": user_id, "name": auth.name, "at": now}
    done = db.activities.update_one(
        {"_id": doc["_id"], "status": "open", "signups.user_id": {"$ne": user_id},
         "signup_count": {"$lt": doc["capacity"]}},
        {"$push": {"signups": entry}, "$inc": {"signup_count": 1}, "$set": {"updated_at": now}})
    current = db.activities.find_one({"_id": doc["_id"]}, {"outbox": 0})
    if not done.matched_count and not any(s["user_id"] == user_id for s in current["signups"]):
        _open_for_signup(current, now)
        raise Conflict("the activity is full", {"capacity": [f"all {current['capacity']} places are taken"]})
    accounts.touch(db, auth, now)
    return current


def _open_for_signup(doc, now):
    if doc["status"] != "open":
        raise Conflict(f"the activity is {doc['status']}", {"status": [doc["status"]]})
    if aware(doc["starts_at"]) <= now:
        raise Conflict("sign-up has closed: the activity has started", {"starts_at": [time(doc["starts_at"])]})


def withdraw(db, auth, activity_id, now):
    doc = _get(db, auth, activity_id)
    accounts.require_member(auth)
    user_id = auth.user_id
    if not any(s["user_id"] == user_id for s in doc["signups"]):
        raise NotFound("you have not signed up for this activity", {"activity_id": [doc["_id"]]})
    if user_id in doc["checked_in"]:
        raise Conflict("you have been checked in already", {"activity_id": [doc["_id"]]})
    done = db.activities.update_one(
        {"_id": doc["_id"], "status": "open", "signups.user_id": user_id, "checked_in": {"$ne": user_id}},
        {"$pull": {"signups": {"user_id": user_id}}, "$inc": {"signup_count": -1}, "$set": {"updated_at": now}})
    if not done.matched_count:
        raise Conflict("the activity changed meanwhile: reload it", {"activity_id": [doc["_id"]]})
    return db.activities.find_one({"_id": doc["_id"]}, {"outbox": 0})


def check_in(db, auth, activity_id, payload, now):
    """Staff check attendees in, one or a list; everyone named must have signed up (else nothing is written)."""
    fields = load(CheckInIn(), payload)
    doc = _get(db, auth, activity_id)
    _staff(auth, doc)
    if doc["status"] != "open":
        raise Conflict(f"the activity is {doc['status']}", {"status": [doc["status"]]})
    single = fields["user_id"] is not None
    names = [fields["user_id"]] if single else fields["user_ids"]
    signed = {s["user_id"] for s in doc["signups"]}
    errors = {("user_id" if single else f"user_ids.{i}"): [f"{name} has not signed up for this activity"]
              for i, name in enumerate(names) if name not in signed}
    if errors:
        raise Invalid("only people who signed up can be checked in", errors)
    table = rules.rules_of(db, doc["district"])
    actor = auth.as_actor("community_staff")
    results = []
    for user_id in dict.fromkeys(names):
        claimed = db.activities.update_one(
            {"_id": doc["_id"], "status": "open", "checked_in": {"$ne": user_id}},
            {"$push": {"checked_in": user_id}, "$inc": {"pending_checkins": 1}, "$set": {"updated_at": now}})
        if not claimed.matched_count:
            current = db.activities.find_one({"_id": doc["_id"]}, {"outbox": 0})
            if user_id not in current["checked_in"]:
                raise Conflict(f"the activity is {current['status']}", {"status": [current["status"]]})
            earlier = next((a for a in current["attendance"] if a["user_id"] == user_id), {})
            results.append({"user_id": user_id, "status": "already", "points": earlier.get("points", 0),
                            "capped": bool(earlier.get("capped"))})
            continue
        results.append(record_attendance(db, doc, user_id, table, actor, auth.user_id, now))
    return results


def record_attendance(db, doc, user_id, table, actor, by, now):
    """Award the attendee (once: the transaction id names the activity and the person) and record it."""
    tx = f"activity:{doc['_id']}:{user_id}"
    booked, capped = rules.award(db, doc["district"], user_id, doc["points"],
                                 ledger.community_account(doc["community"]), tx, "activity_attendance", table, now,
                                 actor=actor,
                                 source={"type": "activity", "id": doc["_id"]}, community=doc["community"])
    events = []
    if booked > 0:
        events.append(make_event("points_awarded", doc["district"], actor, {
            "user_id": user_id, "amount": booked,
            "balance": ledger.balance(db, doc["district"], ledger.user_account(user_id)),
            "reason": "activity_attendance", "transaction_id": tx, "petition_id": None, "title": doc["title"],
        }, occurred_at=now, event_id=uuid.uuid5(EVENT_NS, tx)))
    db.activities.update_one(
        {"_id": doc["_id"], "attendance.user_id": {"$ne": user_id}},
        {"$push": {"attendance": {"user_id": user_id, "points": booked, "capped": capped, "at": now, "by": by},
                   "outbox": {"$each": events}},
         "$inc": {"pending_checkins": -1}})
    return {"user_id": user_id, "status": "checked_in", "points": booked, "capped": capped}


def cancel(db, auth, activity_id, payload, now):
    """Cancel before anyone is checked in; everyone signed up hears of it (activity_cancelled)."""
    reason = load(CancelActivityIn(), payload)["reason"]
    doc = _get(db, auth, activity_id)
    _staff(auth, doc)
    if doc["status"] != "open":
        raise Conflict(f"the activity is {doc['status']}", {"status": [doc["status"]]})
    if doc["checked_in"]:
        raise Conflict("people have been checked in: the activity took place",
                       {"checked_in": [f"{len(doc['checked_in'])} checked in"]})
    event = make_event("activity_cancelled", doc["district"], auth.as_actor("community_staff"), {
        "activity_id": doc["_id"], "title": doc["title"], "community": doc["community"],
        "starts_at": time(doc["starts_at"]), "attendees": [s["user_id"] for s in doc["signups"]],
        "reason": reason}, occurred_at=now)
    done = db.activities.update_one(
        {"_id": doc["_id"], "status": "open", "checked_in": {"$size": 0}, "signup_count": doc["signup_count"]},
        {"$set": {"status": "cancelled", "cancel_reason": reason, "cancelled_by": auth.user_id, "cancelled_at": now,
                  "updated_at": now}, "$push": {"outbox": event}})
    if not done.matched_count:
        raise Conflict("the activity changed meanwhile: reload it", {"activity_id": [doc["_id"]]})
    return db.activities.find_one({"_id": doc["_id"]}, {"outbox": 0})


def repair(db, now, limit=100):
    """Check-ins whose award a crash interrupted: award (idempotent) and record them."""
    repaired = 0
    system = {"id": "system:points", "role": "system"}
    for doc in db.activities.find({"pending_checkins": {"$gt": 0}}, {"outbox": 0}).limit(limit):
        if now - aware(doc["updated_at"]) < GRACE:
            continue
        table = rules.rules_of(db, doc["district"])
        recorded = {a["user_id"] for a in doc["attendance"]}
        for user_id in doc["checked_in"]:
            if user_id not in recorded:
                record_attendance(db, doc, user_id, table, system, "system", now)
                repaired += 1
    return repaired
