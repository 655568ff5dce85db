"""Sign-in with lock-out: after ``MAX_FAILURES`` wrong passwords in a row a username is locked for ``LOCK_FOR``.

Failures are counted per username whether or not the user exists, so the lock-out
tells nobody which usernames are real. A successful sign-in clears the count.
"""
from pymongo import ReturnDocument

from civicgrid.errors import Locked, Unauthorized
from civicgrid.events import utcnow

from . import domain

MAX_FAILURES = 5
LOCK_FOR_SECONDS = 15 * 60


def _locked(until, now):
    minutes = max(1, round((until - now) / 60))
    return Locked(f"too many failed sign-ins: this account is locked for {minutes} more minute(s); "
                  "try again later or ask your administrator to reset the password",
                  {"username": f"locked after {MAX_FAILURES} failed sign-ins"})


def authenticate(db, username, password, now=None):
    now = (now or utcnow()).timestamp()
    key = username if isinstance(username, str) else repr(username)
    record = db.login_failures.find_one({"_id": key})
    if record and record.get("locked_until", 0) > now:
        raise _locked(record["locked_until"], now)
    try:
        claims = domain.authenticate(db, username, password)
    except Unauthorized:
        record = db.login_failures.find_one_and_update(
            {"_id": key}, {"$inc": {"failures": 1}, "$set": {"last_failure": now}},
            upsert=True, return_document=ReturnDocument.AFTER)
        if record["failures"] >= MAX_FAILURES:
            until = now + LOCK_FOR_SECONDS
            db.login_failures.update_one({"_id": key}, {"$set": {"locked_until": until, "failures": 0}})
            raise _locked(until, now)
        raise
    if record:
        db.login_failures.delete_one({"_id": key})
    return claims
