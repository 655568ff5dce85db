"""Notify: turn an event into notices, and everything a user does with their inbox.

Plain functions of a pymongo-like ``db``; the people come from a ``directory``
(the grid service through ``directory.Directory`` in production, a fake in tests)
answering ``responsible_for_building``, ``department_staff`` and ``get_department``
(a missing list is nobody; ``NotFound`` is nobody too).

``notify`` writes, for every recipient the rules name (rules.py), one inbox notice
in their locale (unique on event and recipient), queues one delivery per push
channel their preferences allow (unique on event, channel and recipient; sent by
the delivery timer, never here), one per matching webhook, and updates the small
read model the morning digest is built from (digests.py).
"""
import logging
import uuid

from pymongo import DESCENDING

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import isoformat, utcnow
from civicgrid.idempotency import insert_once
from civicgrid.validation import load, schema

from . import deliveries, digests, district_settings, preferences, rules, templates, webhooks
from .schemas import InboxFilterSchema, InboxQuerySchema, MarkReadSchema, TemplateInSchema, TemplateQuerySchema

log = logging.getLogger(__name__)


def notice_id(event_id, user_id):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicgrid:notice:{event_id}:{user_id}"))


def recipients(event, directory):
    """[(user_id, audience)] of an event, as the rules table decides."""
    return [(user, rule.audience) for user, rule in rules.recipients(event, directory)]


def _department_name(directory, district, department_id):
    memo = {}

    def name():
        if "name" not in memo:
            memo["name"] = department_id
            if department_id and hasattr(directory, "get_department"):
                try:
                    memo["name"] = (directory.get_department(district, department_id) or {}).get("name") \
                        or department_id
                except NotFound:
                    pass
        return memo["name"]
    return name


def notice(*, event_id, district, user, type_, category, title, body, locale, now, petition_id=None,
           broadcast_id=None, confirm_required=False, recipient_name=None, data=None):
    return {
        "_id": notice_id(event_id, user), "district": district, "recipient": user, "recipient_name": recipient_name,
        "event_id": event_id, "type": type_, "category": category,
        "critical": category in preferences.CRITICAL, "title": title, "body": body, "locale": locale,
        "petition_id": petition_id, "broadcast_id": broadcast_id, "confirm_required": confirm_required,
        "confirmed_at": None, "read": False, "read_at": None, "status": "sent", "data": data, "created_at": now,
    }


def push_deliveries(pref, *, district, event_id, type_, category, user, title, body, locale, now, tz, nid):
    """The deliveries one notice makes on a user's push channels (SMS, WeChat), quiet hours applied."""
    due = preferences.release_time(pref, category, now, tz)
    return [deliveries.new(district=district, event_id=event_id, type_=type_, channel=channel, recipient=user,
                           payload={"title": title, "body": body, "locale": locale}, now=now, due=due,
                           category=category, critical=category in preferences.CRITICAL, notification_id=nid)
            for channel in preferences.channels_for(pref, category)]


def notify(db, directory, event, now=None):
    """Write one notice per recipient of ``event`` and queue its deliveries; return how many notices were new."""
    now = now or utcnow()
    district, data, type_, event_id = event["district"], event["data"], event["type"], event["event_id"]
    people = rules.recipients(event, directory)
    settings = district_settings.get(db, district)
    tz = district_settings.tz_of(settings)
    prefs = preferences.load_many(db, district, [user for user, _ in people])
    own = templates.overrides(db, district, type_) if people else {}
    context = {"tz": tz, "department_name": _department_name(directory, district, data.get("department_id"))}
    written, queued = 0, []
    for user, rule in people:
        pref = prefs[user]
        locale = pref.get("locale") or settings["locale"]
        title, body = templates.render(type_, rule.audience, data, locale, own.get((rule.audience, locale)), context)
        doc = notice(event_id=event_id, district=district, user=user, type_=type_, category=rule.category,
                     title=title, body=body, locale=locale, now=now, petition_id=data.get("petition_id"),
                     data={"wish_id": data["wish_id"]} if data.get("wish_id") else None)  # the console links it
        written += insert_once(db.notifications, doc)
        queued += push_deliveries(pref, district=district, event_id=event_id, type_=type_, category=rule.category,
                                  user=user, title=title, body=body, locale=locale, now=now, tz=tz, nid=doc["_id"])
    for hook in webhooks.matching(db, district, type_, data.get("department_id")):
        queued.append(deliveries.new(district=district, event_id=event_id, type_=type_, channel="webhook",
                                     recipient=hook["_id"], payload={"event": event}, now=now))
    deliveries.enqueue(db, queued)
    digests.observe(db, event, now)
    return written


# -- the inbox ---------------------------------------------------------------------

def _when(value):
    return isoformat(value) if value else None


def view(doc):
    return {"id": doc["_id"], "type": doc["type"], "category": doc.get("category"),
            "critical": bool(doc.get("critical")), "title": doc["title"], "body": doc["body"],
            "locale": doc.get("locale"), "petition_id": doc.get("petition_id"),
            "broadcast_id": doc.get("broadcast_id"), "read": doc["read"],
            "status": "read" if doc["read"] else "sent", "read_at": _when(doc.get("read_at")),
            "confirm_required": bool(doc.get("confirm_required")), "confirmed": bool(doc.get("confirmed_at")),
            "confirmed_at": _when(doc.get("confirmed_at")), "data": doc.get("data"),
            "created_at": isoformat(doc["created_at"])}


def _mine(auth):
    auth.require()
    return {"district": auth.district, "recipient": auth.user_id}


def _filtered(auth, params):
    selector = _mine(auth)
    for key in ("category", "type", "petition_id", "broadcast_id", "read"):
        if key in params:
            selector[key] = params[key]
    if "confirm_required" in params:
        selector["confirm_required"] = params["confirm_required"]
    return selector


def inbox(db, auth, page=1, page_size=20, filters=None):
    auth.require()
    given = {k: v for k, v in (("page", page), ("page_size", page_size)) if v is not None}
    if filters is not None and not isinstance(filters, dict):
        raise Invalid("filters must be an object", {"filters": ["must be an object"]})
    params = load(schema(InboxQuerySchema), {**(filters or {}), **given})
    page, page_size = params["page"], params["page_size"]
    selector = _filtered(auth, params)
    cursor = (db.notifications.find(selector)
              .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
              .skip((page - 1) * page_size).limit(page_size))
    return {
        "items": [view(doc) for doc in cursor],
        "unread": db.notifications.count_documents(dict(_mine(auth), read=False)),
        "total": db.notifications.count_documents(selector),
        "page": page, "page_size": page_size,
    }


def unread_count(db, auth):
    selector = dict(_mine(auth), read=False)
    by_category = {row["_id"] or "other": row["n"] for row in db.notifications.aggregate(
        [{"$match": selector}, {"$group": {"_id": "$category", "n": {"$sum": 1}}}])}
    return {"unread": sum(by_category.values()), "by_category": by_category}


def _one(db, auth, notification_id):
    notification_id = load(schema(MarkReadSchema), {"notification_id": notification_id})["notification_id"]
    selector = dict(_mine(auth), _id=notification_id)
    doc = db.notifications.find_one(selector)
    if doc is None:
        # Someone else's notice looks exactly like one that does not exist.
        raise NotFound("no such notification", {"notification_id": notification_id})
    return selector, doc


def get(db, auth, notification_id):
    return view(_one(db, auth, notification_id)[1])


def mark_read(db, auth, notification_id, now=None):
    selector, _ = _one(db, auth, notification_id)
    db.notifications.update_one(dict(selector, read=False),
                                {"$set": {"read": True, "read_at": now or utcnow(), "status": "read"}})
    return view(db.notifications.find_one(selector))


def mark_all_read(db, auth, filters=None, now=None):
    if filters is not None and not isinstance(filters, dict):
        raise Invalid("filters must be an object", {"filters": ["must be an object"]})
    params = load(schema(InboxFilterSchema), filters or {})
    selector = dict(_filtered(auth, params), read=False)
    marked = db.notifications.update_many(
        selector, {"$set": {"read": True, "read_at": now or utcnow(), "status": "read"}}).modified_count
    return {"marked": marked, "unread": db.notifications.count_documents(dict(_mine(auth), read=False))}


def confirm(db, auth, notification_id, now=None):
    """The recipient confirms a broadcast that asked for it (请确认); confirming also reads it. Idempotent."""
    selector, doc = _one(db, auth, notification_id)
    if not doc.get("confirm_required"):
        raise Conflict("this notice asks for no confirmation", {"notification_id": "no confirmation asked"})
    now = now or utcnow()
    db.notifications.update_one(dict(selector, confirmed_at=None), {"$set": {"confirmed_at": now}})
    db.notifications.update_one(dict(selector, read=False), {"$set": {"read": True, "read_at": now, "status": "read"}})
    return view(db.notifications.find_one(selector))


# -- preferences -------------------------------------------------------------------

def _preferences_view(db, district, user_id):
    settings = district_settings.get(db, district)
    return dict(preferences.view(preferences.load(db, district, user_id), settings["locale"]), user_id=user_id)


def my_preferences(db, auth):
    auth.require()
    return _preferences_view(db, auth.district, auth.user_id)


def set_my_preferences(db, auth, changes, now=None):
    auth.require()
    if auth.district is None:
        raise Forbidden("preferences belong to the people of a district")
    preferences.save(db, auth.district, auth.user_id, changes, now)
    return _preferences_view(db, auth.district, auth.user_id)


def _person(auth, directory, district, user_id):
    """Staff look after a person's preferences (an elderly resident's phone, registered at the desk)."""
    auth.require_district(district)
    if not isinstance(user_id, str) or not user_id:
        raise NotFound("no such user", {"user_id": "not found"})
    may_any = auth.is_system or auth.is_platform_admin or auth.has("district_admin")
    if not (may_any or auth.has("community_staff")):
        raise Forbidden("only community staff and the district's administrators manage others' preferences")
    profile = directory.user_profile(district, user_id)  # NotFound for a user not in the district
    if not may_any and profile.get("community") != auth.scope:
        raise Forbidden("community staff manage the preferences of their own community's people")
    return profile


def user_preferences(db, auth, directory, district, user_id):
    _person(auth, directory, district, user_id)
    return _preferences_view(db, district, user_id)


def set_user_preferences(db, auth, directory, district, user_id, changes, now=None):
    _person(auth, directory, district, user_id)
    preferences.save(db, district, user_id, changes, now)
    return _preferences_view(db, district, user_id)


# -- a district's templates and settings -------------------------------------------

def _district_admin(auth, district, what):
    auth.require_district(district)
    if not (auth.is_system or auth.is_platform_admin or auth.has("district_admin")):
        raise Forbidden(f"only the district's administrators may {what}")


def _check_locale(locale):
    if locale not in templates.LOCALES:
        raise Invalid(f"unsupported locale {locale!r}",
                      {"locale": [f"unsupported locale {locale!r}; supported: {', '.join(templates.LOCALES)}"]})


def _template_view(entry, locale, own):
    t, a = entry["type"], entry["audience"]
    stored = own.get((t, a, locale))
    title, body = stored or templates.default(t, a, locale)
    return {"type": t, "audience": a, "locale": locale, "category": entry["category"], "title": title,
            "body": body, "source": "district" if stored else "default", "fields": entry["fields"]}


def list_templates(db, auth, district, query=None):
    auth.require_district(district)
    params = load(schema(TemplateQuerySchema), query or {})
    if "locale" in params:
        _check_locale(params["locale"])
    entries = templates.catalogue()
    if "type" in params:
        entries = [e for e in entries if e["type"] == params["type"]]
        if not entries:
            raise Invalid(f"no notices of type {params['type']!r}", {"type": [f"unknown type {params['type']!r}"]})
    own = {(t["type"], t["audience"], t["locale"]): (t["title"], t["body"])
           for t in db.templates.find({"district": district})}
    locales = [params["locale"]] if "locale" in params else templates.LOCALES
    return [_template_view(e, loc, own) for e in entries for loc in locales]


def _entry(type_, audience):
    if not isinstance(type_, str) or not isinstance(audience, str) or not templates.known(type_, audience):
        raise NotFound(f"no notice {type_}/{audience}: GET the district's notification-templates for the list",
                       {"template": "unknown type and audience"})
    return next(e for e in templates.catalogue() if (e["type"], e["audience"]) == (type_, audience))


def put_template(db, auth, district, type_, audience, locale, template, now=None):
    """A district's own text for one notice in one locale; refused, naming the problem, unless it renders."""
    _district_admin(auth, district, "change notification templates")
    _check_locale(locale)
    entry = _entry(type_, audience)
    given = load(schema(TemplateInSchema), template)
    errors = templates.check(type_, given["title"], given["body"])
    if errors:
        raise Invalid(f"malformed template: {', '.join(sorted(errors))}", errors)
    now = now or utcnow()
    db.templates.update_one(
        {"district": district, "type": type_, "audience": audience, "locale": locale},
        {"$set": {"title": given["title"], "body": given["body"], "updated_at": now, "updated_by": auth.user_id},
         "$setOnInsert": {"created_at": now}}, upsert=True)
    return _template_view(entry, locale, {(type_, audience, locale): (given["title"], given["body"])})


def delete_template(db, auth, district, type_, audience, locale):
    """Back to the default text."""
    _district_admin(auth, district, "change notification templates")
    _check_locale(locale)
    entry = _entry(type_, audience)
    db.templates.delete_one({"district": district, "type": type_, "audience": audience, "locale": locale})
    return _template_view(entry, locale, {})


def get_settings(db, auth, district):
    auth.require_district(district)
    return district_settings.get(db, district)


def set_settings(db, auth, district, changes, now=None):
    _district_admin(auth, district, "change notification settings")
    return district_settings.save(db, district, changes, now)


def create_indexes(db):
    # One notice per event and recipient, however often the event is delivered: the notice's _id is
    # derived from the two (notice_id), so the _id index is that unique index. A second unique index on
    # the same pair would only double the check (and mongomock checks it by scanning the collection,
    # which made every insert cost as much as the whole inbox of the district).
    db.notifications.create_index([("district", 1), ("recipient", 1), ("created_at", DESCENDING)])
    db.notifications.create_index([("district", 1), ("recipient", 1), ("read", 1)])
    # a petition's notices for one person (the console's petition page, anyone polling for one)
    db.notifications.create_index([("district", 1), ("recipient", 1), ("petition_id", 1), ("created_at", DESCENDING)])
    db.notifications.create_index([("broadcast_id", 1), ("recipient", 1)], sparse=True)
    db.preferences.create_index([("district", 1), ("user_id", 1)], unique=True)
    db.templates.create_index([("district", 1), ("type", 1), ("audience", 1), ("locale", 1)], unique=True)
    db.district_settings.create_index("district", unique=True)
    deliveries.ensure_indexes(db)
    webhooks.ensure_indexes(db)
    digests.ensure_indexes(db)
    from . import broadcasts
    broadcasts.ensure_indexes(db)
