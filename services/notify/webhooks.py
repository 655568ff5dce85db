"""Webhooks: a department's or a district's system hears its events over HTTPS, signed.

A district webhook (``department_id: null``) receives every event the notify service
handles in the district, and ``broadcast_sent`` (a bridge to the buildings' WeChat
groups, for instance); a department webhook receives the petition events that name
its department. ``events`` narrows either to a list of types. The secret is made
here, shown once (on creation and on rotation) and signs every request (signing.py).
"""
import secrets
import uuid

from civicgrid.errors import Forbidden, Invalid, NotFound
from civicgrid.events import PETITION_EVENTS, isoformat, utcnow
from civicgrid.validation import load, schema

from . import rules
from .channels import url_problem
from .schemas import WebhookInSchema

DISTRICT_EVENTS = rules.EVENT_TYPES + ("broadcast_sent",)
DEPARTMENT_EVENTS = PETITION_EVENTS


def _manager(auth, district, department_id=None):
    """District administrators (and the platform) manage every webhook; department staff their department's."""
    auth.require_district(district)
    if auth.is_system or auth.is_platform_admin or auth.has("district_admin"):
        return
    if auth.has("department_staff") and department_id is not None and auth.department == department_id:
        return
    raise Forbidden("only the district's administrators, or a department's staff for their department, "
                    "manage webhooks")


def view(doc, secret=False):
    out = {"id": doc["_id"], "district": doc["district"], "department_id": doc.get("department_id"),
           "url": doc["url"], "events": doc.get("events"), "description": doc.get("description"),
           "active": doc.get("active", True), "created_at": isoformat(doc["created_at"]),
           "created_by": doc.get("created_by")}
    if secret:
        out["secret"] = doc["secret"]
    return out


def create(db, auth, directory, district, payload, now=None):
    params = load(schema(WebhookInSchema), payload)
    department_id = params.get("department_id")
    _manager(auth, district, department_id)
    errors = {}
    problem = url_problem(params["url"])
    if problem:
        errors["url"] = [f"the URL {problem}"]
    allowed = DEPARTMENT_EVENTS if department_id else DISTRICT_EVENTS
    for i, type_ in enumerate(params.get("events") or []):
        if type_ not in allowed:
            errors[f"events[{i}]"] = [f"no {type_!r} events reach a {'department' if department_id else 'district'} "
                                      f"webhook; choose from: {', '.join(allowed)}"]
    if department_id and "department_id" not in errors:
        try:
            directory.get_department(district, department_id)
        except NotFound:
            errors["department_id"] = [f"unknown department {department_id!r} in district {district!r}"]
    if errors:
        raise Invalid(f"invalid webhook: {', '.join(sorted(errors))}", errors)
    now = now or utcnow()
    doc = {"_id": uuid.uuid4().hex, "district": district, "department_id": department_id, "url": params["url"],
           "events": params.get("events"), "description": params.get("description"),
           "active": params.get("active", True), "secret": secrets.token_hex(32),
           "created_at": now, "created_by": auth.user_id}
    db.webhooks.insert_one(doc)
    return view(doc, secret=True)


def _find(db, auth, district, webhook_id):
    auth.require_district(district)
    doc = db.webhooks.find_one({"_id": webhook_id, "district": district}) if isinstance(webhook_id, str) else None
    if doc is None:
        raise NotFound("no such webhook", {"webhook_id": "not found"})
    try:
        _manager(auth, district, doc.get("department_id"))
    except Forbidden:
        raise NotFound("no such webhook", {"webhook_id": "not found"})
    return doc


def list_(db, auth, district):
    auth.require_district(district)
    selector = {"district": district}
    if not (auth.is_system or auth.is_platform_admin or auth.has("district_admin")):
        _manager(auth, district, auth.department)
        selector["department_id"] = auth.department
    return [view(d) for d in db.webhooks.find(selector).sort("created_at", 1)]


def delete(db, auth, district, webhook_id):
    doc = _find(db, auth, district, webhook_id)
    db.webhooks.delete_one({"_id": doc["_id"]})
    return view(doc)


def rotate(db, auth, district, webhook_id):
    doc = _find(db, auth, district, webhook_id)
    secret = secrets.token_hex(32)
    db.webhooks.update_one({"_id": doc["_id"]}, {"$set": {"secret": secret}})
    return view(dict(doc, secret=secret), secret=True)


def matching(db, district, type_, department_id=None):
    """The active webhooks an event of ``type_`` (naming ``department_id``, if any) goes to."""
    owners = [None] + ([department_id] if department_id else [])
    found = []
    for hook in db.webhooks.find({"district": district, "active": True, "department_id": {"$in": owners}}):
        allowed = DEPARTMENT_EVENTS if hook.get("department_id") else DISTRICT_EVENTS
        if type_ in allowed and (not hook.get("events") or type_ in hook["events"]):
            found.append(hook)
    return found


def ensure_indexes(db):
    db.webhooks.create_index([("district", 1), ("department_id", 1)])
