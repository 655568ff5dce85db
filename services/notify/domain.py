"""Notify: who hears of an event, what they read, and their inbox.

Plain functions of a pymongo-like ``db``; the people come from a ``directory``
(the grid service in production, a fake in tests) with two methods:
``responsible_for_building(district, building_id)`` and
``department_staff(district, department_id)``.
"""
import logging
import uuid

from pymongo import DESCENDING

from civicgrid.errors import NotFound
from civicgrid.events import isoformat, utcnow
from civicgrid.idempotency import insert_once
from civicgrid.validation import load

from .schemas import MarkReadSchema, PageSchema
from .templates import render

log = logging.getLogger(__name__)


# Audiences: each returns (audience, [user ids]) for one event ----------------

def _resident(event, directory):
    return "resident", [event["data"].get("resident_id")]


def _responsible(event, directory, *roles):
    data = event["data"]
    try:
        people = directory.responsible_for_building(event["district"], data.get("building_id")) or {}
    except NotFound:
        # The building left the grid since: the resident still hears, nobody else can.
        log.warning("no building %s in %s: staff not notified", data.get("building_id"), event["district"])
        return []
    return [user for role in roles for user in people.get(role) or []]


def _building(event, directory):
    return "building", _responsible(event, directory, "building_leaders", "grid_workers")


def _community(event, directory):
    return "community", _responsible(event, directory, "community_staff")


def _department(event, directory):
    department_id = event["data"].get("department_id")
    if not department_id:
        return "department", []
    try:
        staff = directory.department_staff(event["district"], department_id) or []
    except NotFound:
        log.warning("no department %s in %s: staff not notified", department_id, event["district"])
        staff = []
    return "department", staff


def _handler(event, directory):
    data = event["data"]
    audience = "handler" if data.get("rating") is not None else "handler_unrated"
    return audience, [data.get("handler_id")]


def _awardee(event, directory):
    return "awardee", [event["data"].get("user_id")]


AUDIENCES = {
    "petition_submitted": (_resident, _building),
    "petition_claimed": (_resident,),
    "petition_escalated": (_resident, _community),
    "petition_dispatched": (_resident, _department),
    "petition_accepted": (_resident,),
    "petition_returned": (_resident, _community),
    "petition_resolved": (_resident,),
    "petition_closed": (_resident, _handler),
    "petition_withdrawn": (_resident,),
    "points_awarded": (_awardee,),
}


def recipients(event, directory):
    """[(user_id, audience)] without repeats; someone in two audiences gets the first one's text."""
    seen = {}
    for audience_of in AUDIENCES[event["type"]]:
        audience, users = audience_of(event, directory)
        for user in users:
            if user and user not in seen:
                seen[user] = audience
    return list(seen.items())


def notify(db, directory, event, now=None):
    """Write one notice per recipient of ``event``; return how many were new."""
    now = now or utcnow()
    written = 0
    for user, audience in recipients(event, directory):
        title, body = render(event["type"], audience, event["data"])
        written += insert_once(db.notifications, {
            "_id": str(uuid.uuid4()), "district": event["district"], "recipient": user,
            "event_id": event["event_id"], "type": event["type"],
            "title": title, "body": body, "petition_id": event["data"].get("petition_id"),
            "read": False, "created_at": now,
        })
    return written


# Inbox ------------------------------------------------------------------------

def _view(doc):
    return {"id": doc["_id"], "type": doc["type"], "title": doc["title"], "body": doc["body"],
            "petition_id": doc.get("petition_id"), "read": doc["read"],
            "created_at": isoformat(doc["created_at"])}


def _mine(auth):
    return {"district": auth.district, "recipient": auth.user_id}


def inbox(db, auth, page=1, page_size=20):
    auth.require()
    given = {k: v for k, v in (("page", page), ("page_size", page_size)) if v is not None}
    params = load(PageSchema(), given)
    page, page_size = params["page"], params["page_size"]
    selector = _mine(auth)
    cursor = (db.notifications.find(selector)
              .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
              .skip((page - 1) * page_size).limit(page_size))
    return {
        "items": [_view(doc) for doc in cursor],
        "unread": db.notifications.count_documents(dict(selector, read=False)),
        "total": db.notifications.count_documents(selector),
        "page": page, "page_size": page_size,
    }


def mark_read(db, auth, notification_id):
    auth.require()
    notification_id = load(MarkReadSchema(), {"notification_id": notification_id})["notification_id"]
    selector = dict(_mine(auth), _id=notification_id)
    db.notifications.update_one(selector, {"$set": {"read": True}})
    doc = db.notifications.find_one(selector)
    if doc is None:
        # Someone else's notice looks exactly like one that does not exist.
        raise NotFound("no such notification", {"notification_id": notification_id})
    return _view(doc)
