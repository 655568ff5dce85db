"""Deliveries on the channels that leave the platform: webhook, SMS, WeChat.

One document per (event, channel, recipient): its ``_id`` is derived from the three
(``delivery_id``, a uuid5), so the unique ``_id`` index refuses a second one and a notice
is never queued twice for the same channel, event and recipient, however often the
event arrives. Each has a status (``pending``, ``sent``, ``failed``; the inbox has its own
``sent``/``read`` in ``notifications``) and the log of its attempts.

Nothing is sent inside an event handler. A timer claims due deliveries
(``status: pending, next_attempt_at <= now``) one by one with an atomic
find-and-modify that pushes ``next_attempt_at`` a lease ahead and bumps ``claims``,
so two replicas never send the same attempt, and one that dies mid-send is
retried when its lease runs out. Each claimed delivery is sent in its own green
thread with a time limit (``Courier``), so a slow or failing receiver delays
nobody else. A failure that may pass is tried again after an exponential backoff
with jitter; after ``max_attempts`` (or a failure that will not pass, such as a
404) it is ``failed``, announced (``notification_failed``) and listed for an
operator, who may retry it.
"""
import logging
import random
import uuid
from datetime import timedelta

import eventlet
from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import BulkWriteError

from civicgrid import correlation
from civicgrid.errors import Conflict, Forbidden, NotFound
from civicgrid.events import isoformat
from civicgrid.validation import load, schema

from . import options
from .channels import DeliveryError, default_channels
from .schemas import DeliveryQuerySchema

log = logging.getLogger(__name__)

STATUSES = ("pending", "sent", "failed")
PUSH_CHANNELS = ("webhook", "sms", "wechat")


def delivery_id(event_id, channel, recipient):
    """The delivery's unique key: the same (event, channel, recipient) always gives the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicgrid:{event_id}:{channel}:{recipient}"))


def new(*, district, event_id, type_, channel, recipient, payload, now, due=None, category=None,
        critical=False, notification_id=None):
    due = due or now
    return {
        "_id": delivery_id(event_id, channel, recipient), "district": district, "event_id": event_id,
        "type": type_, "channel": channel, "recipient": recipient, "notification_id": notification_id,
        "category": category, "critical": critical, "payload": payload,
        "status": "pending", "attempts": 0, "max_attempts": options.max_attempts(), "claims": 0,
        "attempt_log": [], "next_attempt_at": due, "delayed_until": due if due > now else None,
        "created_at": now, "sent_at": None, "failed_at": None, "last_error": None, "announce": None,
        # the request that caused it: its attempts, much later and on a timer, log under it
        "correlation_id": correlation.current(),
    }


def insert_many(collection, docs):
    """Insert what is new; documents whose unique key exists already are skipped. Returns how many were new."""
    if not docs:
        return 0
    try:
        return len(collection.insert_many(docs, ordered=False).inserted_ids)
    except BulkWriteError as err:
        errors = err.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return err.details.get("nInserted", len(docs) - len(errors))


def enqueue(db, docs):
    return insert_many(db.deliveries, list(docs))


# -- the attempts ----------------------------------------------------------------

def backoff(attempt, rng=random):
    """Seconds before attempt ``attempt + 1``: exponential, capped, with "equal jitter" (half fixed, half random)."""
    exp = min(options.backoff_cap(), options.backoff_base() * 2 ** max(0, attempt - 1))
    return exp / 2 + rng.uniform(0, exp / 2)


def claim(db, now, lease=None):
    """The next due delivery, leased to the caller; ``None`` when nothing is due."""
    lease = options.delivery_lease() if lease is None else lease
    return db.deliveries.find_one_and_update(
        {"status": "pending", "next_attempt_at": {"$lte": now}},
        {"$set": {"next_attempt_at": now + timedelta(seconds=lease)}, "$inc": {"claims": 1}},
        sort=[("next_attempt_at", ASCENDING)], return_document=ReturnDocument.AFTER)


def _mine(doc):
    # only the holder of the latest claim may record its outcome
    return {"_id": doc["_id"], "status": "pending", "claims": doc["claims"]}


def record_success(db, doc, now, outcome=None, duration_ms=None):
    entry = {"at": now, "ok": True, "status_code": (outcome or {}).get("status_code"), "error": None,
             "duration_ms": duration_ms}
    return db.deliveries.update_one(_mine(doc), {
        "$set": {"status": "sent", "sent_at": now, "last_error": None, "announce": "notification_delivered",
                 "provider_id": (outcome or {}).get("provider_id")},
        "$inc": {"attempts": 1}, "$push": {"attempt_log": entry}}).modified_count == 1


def record_failure(db, doc, now, error, duration_ms=None, rng=random):
    attempts = doc["attempts"] + 1
    retryable = getattr(error, "retryable", True)
    entry = {"at": now, "ok": False, "status_code": getattr(error, "status_code", None), "error": str(error),
             "duration_ms": duration_ms}
    if retryable and attempts < doc["max_attempts"]:
        update = {"next_attempt_at": now + timedelta(seconds=backoff(attempts, rng)), "last_error": str(error)}
    else:
        update = {"status": "failed", "failed_at": now, "last_error": str(error), "announce": "notification_failed"}
    return db.deliveries.update_one(_mine(doc), {
        "$set": update, "$inc": {"attempts": 1}, "$push": {"attempt_log": entry}}).modified_count == 1


def target_of(db, doc):
    """Where a delivery goes now: the webhook's URL and secret, the user's current address."""
    if doc["channel"] == "webhook":
        hook = db.webhooks.find_one({"_id": doc["recipient"], "district": doc["district"]})
        if hook is None or not hook.get("active", True):
            raise DeliveryError("the webhook was removed or switched off", retryable=False)
        return {"url": hook["url"], "secret": hook["secret"]}
    pref = db.preferences.find_one({"district": doc["district"], "user_id": doc["recipient"]}) or {}
    address = (pref.get("contacts") or {}).get(doc["channel"])
    if not address:
        raise DeliveryError(f"the user has no {doc['channel']} address any more", retryable=False)
    return {"address": address}


def attempt(db, channels, doc, clock):
    """Send one claimed delivery and record what happened. Never raises."""
    with correlation.bound(doc.get("correlation_id")):
        _attempt(db, channels, doc, clock)


def _attempt(db, channels, doc, clock):
    started = clock()
    try:
        channel = channels[doc["channel"]]
        outcome = channel.send(doc, target_of(db, doc))
    except DeliveryError as err:
        record_failure(db, doc, clock(), err, _ms(started, clock()))
        log.info("delivery %s (%s to %s) failed: %s", doc["_id"], doc["channel"], doc["recipient"], err)
    except Exception as err:  # a bug in an adapter: recorded like any failure, logged loudly
        log.exception("delivery %s: unexpected error", doc["_id"])
        record_failure(db, doc, clock(), DeliveryError(f"internal error: {err.__class__.__name__}"),
                       _ms(started, clock()))
    else:
        record_success(db, doc, clock(), outcome, _ms(started, clock()))


def _ms(start, end):
    return int((end - start).total_seconds() * 1000)


class Courier(DependencyProvider):
    """A pool of green threads that send deliveries, each on its own, within the channels' time limits.

    The timer entrypoint only claims and hands over (``dispatch``), so it returns at
    once; a stopped container kills what is in flight, and those leases expire and
    are claimed again.
    """

    def __init__(self, channels=None):
        self.channels_factory = channels or default_channels

    def setup(self):
        self.channels = self.channels_factory()
        self.pool = GreenPool(options.delivery_concurrency())

    def stop(self):
        for thread in list(self.pool.coroutines_running):
            thread.kill()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def dispatch(self, db, clock, limit=None):
        """Claim due deliveries while threads are free; returns how many were handed over."""
        handed = 0
        limit = self.pool.free() if limit is None else min(limit, self.pool.free())
        while handed < limit:
            doc = claim(db, clock())
            if doc is None:
                break
            self.pool.spawn(attempt, db, self.channels, doc, clock)
            handed += 1
        return handed

    def wait(self, timeout=10):
        with eventlet.Timeout(timeout, False):
            self.pool.waitall()


# -- announcing outcomes (an outbox in each delivery) --------------------------

ANNOUNCED = ("notification_delivered", "notification_failed")


def pending_announcements(db, limit=100):
    return list(db.deliveries.find({"announce": {"$in": list(ANNOUNCED)}}).limit(limit))


def announcement(doc):
    return {"delivery_id": doc["_id"], "event_id": str(doc["event_id"]), "event_type": doc["type"],
            "channel": doc["channel"], "recipient": doc["recipient"], "attempts": doc["attempts"],
            "error": doc.get("last_error") if doc["status"] == "failed" else None}


def announced(db, doc):
    db.deliveries.update_one({"_id": doc["_id"], "announce": doc["announce"]}, {"$set": {"announce": None}})


# -- the operator's view -------------------------------------------------------

def _operator(auth, district):
    auth.require_district(district)
    if not (auth.is_system or auth.is_platform_admin or auth.has("district_admin")):
        raise Forbidden("only the district's administrators and the platform operate deliveries")


def view(doc):
    def when(value):
        return isoformat(value) if value else None
    return {
        "id": doc["_id"], "district": doc["district"], "event_id": str(doc["event_id"]), "type": doc["type"],
        "channel": doc["channel"], "recipient": doc["recipient"], "category": doc.get("category"),
        "critical": bool(doc.get("critical")), "status": doc["status"], "attempts": doc["attempts"],
        "max_attempts": doc["max_attempts"], "last_error": doc.get("last_error"),
        "next_attempt_at": when(doc["next_attempt_at"]) if doc["status"] == "pending" else None,
        "delayed_until": when(doc.get("delayed_until")), "created_at": when(doc["created_at"]),
        "sent_at": when(doc.get("sent_at")), "failed_at": when(doc.get("failed_at")),
        "attempt_log": [{"at": when(a["at"]), "ok": a["ok"], "status_code": a.get("status_code"),
                         "error": a.get("error"), "duration_ms": a.get("duration_ms")}
                        for a in doc.get("attempt_log") or []],
    }


def list_deliveries(db, auth, district, query=None):
    _operator(auth, district)
    params = load(schema(DeliveryQuerySchema), query or {})
    selector = {"district": district}
    for key in ("status", "channel", "type", "recipient", "event_id"):
        if params.get(key):
            selector[key] = params[key]
    page, size = params["page"], params["page_size"]
    cursor = (db.deliveries.find(selector).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
              .skip((page - 1) * size).limit(size))
    return {"items": [view(d) for d in cursor], "total": db.deliveries.count_documents(selector),
            "page": page, "page_size": size}


def retry(db, auth, district, delivery_id_, now):
    """An operator sends a failed delivery again: a new round of attempts, due now."""
    _operator(auth, district)
    if not isinstance(delivery_id_, str):
        raise NotFound("no such delivery", {"delivery_id": "not found"})
    doc = db.deliveries.find_one({"_id": delivery_id_, "district": district})
    if doc is None:
        raise NotFound("no such delivery", {"delivery_id": "not found"})
    if doc["status"] != "failed":
        raise Conflict(f"only a failed delivery can be retried; this one is {doc['status']}",
                       {"status": doc["status"]})
    db.deliveries.update_one({"_id": doc["_id"], "status": "failed"}, {"$set": {
        "status": "pending", "next_attempt_at": now, "failed_at": None,
        "max_attempts": doc["attempts"] + options.max_attempts()}})
    return view(db.deliveries.find_one({"_id": doc["_id"]}))


def ensure_indexes(db):
    # (event, channel, recipient) is unique through the _id (delivery_id); a second unique index on the
    # three would check the same again, and mongomock checks by scanning every delivery on each insert
    db.deliveries.create_index([("event_id", 1)])
    db.deliveries.create_index([("status", 1), ("next_attempt_at", 1)])
    db.deliveries.create_index([("district", 1), ("status", 1), ("created_at", DESCENDING)])
    db.deliveries.create_index([("announce", 1)], sparse=True)

