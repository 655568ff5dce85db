"""Notify: who hears of an event, what they read, and their inbox.

Plain functions of a pymongo-like ``db``; the people come from a ``directory``
(the grid service in production, a fake in tests) with two methods:
``responsible_for_building(district, building_id)`` (building leaders, grid
workers, party members, community staff, district admins: a missing list is
nobody) and ``department_staff(district, department_id)``.
"""
import logging
import uuid

from pymongo import DESCENDING

from civicgrid.auth import SYSTEM
from civicgrid.errors import NotFound
from civicgrid.events import isoformat, utcnow
from civicgrid.idempotency import insert_once
from civicgrid.validation import load

from .schemas import MarkReadSchema, PageSchema
from .templates import render

log = logging.getLogger(__name__)


# Audiences: each returns (audience, [user ids]) for one event ----------------
# The audience names the text (templates.TEMPLATES); some audiences read a
# variant chosen by the event (who acted, the rating, the level reached).


def _by_system(event):
    return event["actor"]["role"] == SYSTEM


def _resident(event, directory):
    """The resident and the petition's followers (residents of merged duplicates) read the same text."""
    data = event["data"]
    audience = "resident"
    if event["type"] == "petition_escalated" and data.get("level") == "grid":
        audience = "resident_grid"
    elif event["type"] == "petition_closed" and data.get("rating") is None:
        audience = "resident_unrated"
    return audience, [data.get("resident_id"), *(data.get("followers") or [])]


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
    audience = "building"
    if event["type"] == "petition_escalated" and _by_system(event):
        audience = "building_unclaimed"
    return audience, _responsible(event, directory, "building_leaders", "grid_workers")


def _party(event, directory):
    # 居民吹哨，党员报到: the party members registered with the building's community
    return "party", _responsible(event, directory, "party_members")


def _community(event, directory):
    audience = "community"
    if event["type"] == "petition_escalated" and _by_system(event):
        audience = "community_overdue"
    return audience, _responsible(event, directory, "community_staff")


def _district(event, directory):
    return "district", _responsible(event, directory, "district_admins")


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
    audience = "handler"
    if event["type"] == "petition_closed" and data.get("rating") is None:
        audience = "handler_unrated"
    return audience, [data.get("handler_id")]


def _awardee(event, directory):
    return "awardee", [event["data"].get("user_id")]


def by_level(field, audiences, otherwise):
    """Audiences chosen by a level the event's data names (``level``, ``overdue_level``)."""
    def choose(event):
        return audiences.get(event["data"].get(field), otherwise)
    return choose


AUDIENCES = {
    "petition_submitted": by_level("level", {"party": (_resident, _party)}, (_resident, _building)),
    "petition_claimed": (_resident,),
    "petition_escalated": by_level("level", {"grid": (_resident, _building)}, (_resident, _community)),
    "petition_dispatched": (_resident, _department),
    "petition_accepted": (_resident,),
    "petition_returned": (_resident, _community),
    "petition_resolved": (_resident,),
    "petition_closed": (_resident, _handler),
    "petition_withdrawn": (_resident,),
    # critical, for whoever is late and those above them, never the resident;
    # a community (or a level this service does not know yet) is chased by the district
    "petition_overdue": by_level("overdue_level", {
        "party": (_handler, _building),
        "grid": (_handler, _building),
        "department": (_department, _community),
    }, (_community, _district)),
    "petition_merged": (_resident,),
    "follow_up_opened": (_community,),
    "follow_up_recorded": (_resident,),
    "points_awarded": (_awardee,),
}


def recipients(event, directory):
    """[(user_id, audience)] without repeats; someone in two audiences gets the first one's text."""
    audiences = AUDIENCES[event["type"]]
    if callable(audiences):
        audiences = audiences(event)
    seen = {}
    for audience_of in audiences:
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
