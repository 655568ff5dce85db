"""Broadcasts: community staff notify everyone in a building, a grid or the community (公示 / 楼栋群通知).

Sending returns at once. The RPC asks the grid once for the people under the node
(``members_under``), checks the sender's scope, and writes the recipients in
batches (``broadcast_batches``, ``CIVICGRID_FANOUT_BATCH`` each) and the broadcast
itself; no notice is written yet. A timer (``fan_out``) then claims batch after
batch (an atomic find-and-modify with a lease, so replicas share the work and a
batch whose process died is taken up again) and writes each batch's notices with
one ``insert_many`` (the unique event-and-recipient index skips any written
before a crash) and their push deliveries, then counts the batch in. The broadcast
is ``sending`` until every batch is in, then ``sent``.

The sender (and staff above the node, and district admins) see how many have read
and confirmed, and who: each recipient's notice carries ``read_at`` and, when the
broadcast asks for it (请确认), ``confirmed_at``.
"""
import logging
import uuid
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument

from civicgrid.errors import Forbidden, Invalid, NotFound
from civicgrid.events import isoformat, make_event
from civicgrid.validation import load, schema

from . import deliveries, district_settings, options, preferences, templates, webhooks
from .schemas import BroadcastInSchema, PageSchema, RecipientQuerySchema

log = logging.getLogger(__name__)

SENDERS = ("community_staff", "grid_worker", "grid_leader", "building_leader", "district_admin")
NODE_TYPES = {"building": ("building",), "grid": ("grid", "microgrid"), "community": ("community",)}
BATCH_LEASE = timedelta(seconds=120)


def create(db, auth, directory, payload, now):
    """Queue a broadcast; returns its view at once (``status: sending``)."""
    auth.require(*SENDERS)
    if not auth.district:
        raise Forbidden("broadcasts are sent by a district's staff")
    params = load(schema(BroadcastInSchema), payload)
    district, kind, node_id = auth.district, params["target_kind"], params["node_id"]
    try:
        found = directory.members_under(district, node_id)
    except NotFound:
        raise Invalid(f"no {kind} {node_id!r} in district {district!r}",
                      {"node_id": [f"no {kind} {node_id!r} in district {district!r}"]})
    node = found["node"]
    if node["type"] not in NODE_TYPES[kind]:
        raise Invalid(f"{node_id!r} is a {node['type']}, not a {kind}",
                      {"node_id": [f"{node_id!r} is a {node['type']}, not a {kind}"]})
    if not (auth.is_system or auth.has("district_admin")) and auth.scope not in node["path"]:
        raise Forbidden(f"you may only send to the people within your own scope ({auth.scope})",
                        {"node_id": ["outside your scope"]})
    members = [{"user_id": m["user_id"], "name": m.get("name")} for m in found["members"]
               if m["user_id"] != auth.user_id]
    broadcast_id = str(uuid.uuid4())
    size = options.fanout_batch()
    batches = [{"_id": f"{broadcast_id}:{i // size:05d}", "broadcast_id": broadcast_id, "district": district,
                "seq": i // size, "members": members[i:i + size], "status": "pending", "lease_until": now,
                "created_at": now}
               for i in range(0, len(members), size)]
    doc = {"_id": broadcast_id, "district": district, "sender": auth.user_id, "sender_name": auth.name,
           "sender_role": next((r for r in SENDERS if auth.has(r)), "system"),
           "target_kind": kind, "node_id": node["id"], "node_name": node.get("name"), "node_path": node["path"],
           "title": params["title"], "body": params["body"], "confirm_required": params["confirm_required"],
           "status": "sending" if batches else "sent", "total": len(members), "fanned_out": 0,
           "batches": len(batches), "batches_done": 0, "created_at": now,
           "finished_at": None if batches else now, "announce": "broadcast_sent"}
    # the batches first: a broadcast document is only ever there with all its recipients
    deliveries.insert_many(db.broadcast_batches, batches)
    db.broadcasts.insert_one(doc)
    event = announcement(doc)
    deliveries.enqueue(db, [
        deliveries.new(district=district, event_id=broadcast_id, type_="broadcast_sent", channel="webhook",
                       recipient=hook["_id"], payload={"event": event}, now=now, category="broadcast")
        for hook in webhooks.matching(db, district, "broadcast_sent")])
    return view(db, doc)


def announcement(doc):
    """The ``broadcast_sent`` event of a broadcast (for the bus and district webhooks)."""
    return make_event("broadcast_sent", doc["district"], {"id": doc["sender"], "role": doc.get("sender_role", "community_staff")}, {
        "broadcast_id": doc["_id"], "title": doc["title"], "body": doc["body"], "target_kind": doc["target_kind"],
        "node_id": doc["node_id"], "node_name": doc.get("node_name"), "confirm_required": doc["confirm_required"],
        "recipients": doc["total"], "sender": doc["sender"]}, event_id=doc["_id"], occurred_at=doc["created_at"])


def _claim_batch(db, now):
    return db.broadcast_batches.find_one_and_update(
        {"status": "pending", "lease_until": {"$lte": now}},
        {"$set": {"lease_until": now + BATCH_LEASE}},
        sort=[("created_at", ASCENDING), ("seq", ASCENDING)], return_document=ReturnDocument.AFTER)


def fan_out_batch(db, batch, now):
    """Write one batch's notices and push deliveries; count it in once. Returns notices written."""
    from .domain import notice, push_deliveries
    doc = db.broadcasts.find_one({"_id": batch["broadcast_id"]})
    if doc is None:  # the broadcast was never written (its sender's process died in between)
        db.broadcast_batches.update_one({"_id": batch["_id"]}, {"$set": {"status": "orphaned"}})
        return 0
    district = doc["district"]
    settings = district_settings.get(db, district)
    tz = district_settings.tz_of(settings)
    users = [m["user_id"] for m in batch["members"]]
    prefs = preferences.load_many(db, district, users)
    own = templates.overrides(db, district, "broadcast")
    rendered = {}
    notices, queued = [], []
    for member in batch["members"]:
        user = member["user_id"]
        pref = prefs[user]
        locale = pref.get("locale") or settings["locale"]
        if locale not in rendered:
            values = {"title": doc["title"], "body": doc["body"], "node_name": doc.get("node_name") or "",
                      "sender_name": doc.get("sender_name") or doc["sender"],
                      "confirm_text": templates.confirm_text(doc["confirm_required"], locale)}
            rendered[locale] = templates.render("broadcast", "recipient", values, locale,
                                                own.get(("recipient", locale)), {"tz": tz})
        title, body = rendered[locale]
        item = notice(event_id=doc["_id"], district=district, user=user, type_="broadcast", category="broadcast",
                      title=title, body=body, locale=locale, now=now, broadcast_id=doc["_id"],
                      confirm_required=doc["confirm_required"], recipient_name=member.get("name"))
        notices.append(item)
        queued += push_deliveries(pref, district=district, event_id=doc["_id"], type_="broadcast",
                                  category="broadcast", user=user, title=title, body=body, locale=locale, now=now,
                                  tz=tz, nid=item["_id"])
    written = deliveries.insert_many(db.notifications, notices)
    deliveries.enqueue(db, queued)
    if db.broadcast_batches.update_one({"_id": batch["_id"], "status": "pending"},
                                       {"$set": {"status": "done", "done_at": now}}).modified_count:
        after = db.broadcasts.find_one_and_update(
            {"_id": doc["_id"]}, {"$inc": {"fanned_out": len(users), "batches_done": 1}},
            return_document=ReturnDocument.AFTER)
        if after["batches_done"] >= after["batches"]:
            db.broadcasts.update_one({"_id": doc["_id"], "status": "sending"},
                                     {"$set": {"status": "sent", "finished_at": now}})
    return written


def fan_out(db, clock, budget_seconds=5.0):
    """Work through pending batches for at most ``budget_seconds``; returns notices written."""
    started = clock()
    written = 0
    while (clock() - started).total_seconds() < budget_seconds:
        batch = _claim_batch(db, clock())
        if batch is None:
            break
        written += fan_out_batch(db, batch, clock())
    return written


PENDING_ANNOUNCEMENT = {"announce": "broadcast_sent"}


def pending_announcements(db, limit=20):
    return list(db.broadcasts.find(PENDING_ANNOUNCEMENT).limit(limit))


def announced(db, doc):
    db.broadcasts.update_one({"_id": doc["_id"]}, {"$set": {"announce": None}})


# -- what the sender sees ----------------------------------------------------------

def _visible(auth):
    auth.require()
    if auth.is_platform_admin or auth.is_system:
        return {}
    selector = {"district": auth.district}
    if auth.has("district_admin"):
        return selector
    # the sender, and staff whose scope is at or above the node (community staff of its community ...)
    ors = [{"sender": auth.user_id}]
    if auth.scope and auth.has(*SENDERS):
        ors.append({"node_path": auth.scope})
    return dict(selector, **{"$or": ors})


def _find(db, auth, broadcast_id):
    if not isinstance(broadcast_id, str):
        raise NotFound("no such broadcast", {"broadcast_id": "not found"})
    doc = db.broadcasts.find_one(dict(_visible(auth), _id=broadcast_id))
    if doc is None:
        raise NotFound("no such broadcast", {"broadcast_id": "not found"})
    return doc


def view(db, doc):
    read = db.notifications.count_documents({"broadcast_id": doc["_id"], "read": True})
    confirmed = db.notifications.count_documents({"broadcast_id": doc["_id"], "confirmed_at": {"$ne": None}})
    return {"id": doc["_id"], "district": doc["district"], "sender": doc["sender"],
            "sender_name": doc.get("sender_name"), "target_kind": doc["target_kind"], "node_id": doc["node_id"],
            "node_name": doc.get("node_name"), "title": doc["title"], "body": doc["body"],
            "confirm_required": doc["confirm_required"], "status": doc["status"], "total": doc["total"],
            "fanned_out": doc["fanned_out"], "read": read, "confirmed": confirmed,
            "created_at": isoformat(doc["created_at"]),
            "finished_at": isoformat(doc["finished_at"]) if doc.get("finished_at") else None}


def get(db, auth, broadcast_id):
    return view(db, _find(db, auth, broadcast_id))


def list_(db, auth, query=None):
    params = load(schema(PageSchema), query or {})
    selector = _visible(auth)
    page, size = params["page"], params["page_size"]
    cursor = (db.broadcasts.find(selector).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
              .skip((page - 1) * size).limit(size))
    return {"items": [view(db, d) for d in cursor], "total": db.broadcasts.count_documents(selector),
            "page": page, "page_size": size}


STATES = {
    "all": {}, "read": {"read": True}, "unread": {"read": False},
    "confirmed": {"confirmed_at": {"$ne": None}}, "unconfirmed": {"confirmed_at": None},
}


def recipients(db, auth, broadcast_id, query=None):
    """Who has read and confirmed (of those written so far), by user id."""
    doc = _find(db, auth, broadcast_id)
    params = load(schema(RecipientQuerySchema), query or {})
    selector = {"broadcast_id": doc["_id"], "district": doc["district"], **STATES[params["state"]]}
    page, size = params["page"], params["page_size"]
    cursor = (db.notifications.find(selector).sort("recipient", ASCENDING).skip((page - 1) * size).limit(size))
    return {"items": [{"user_id": n["recipient"], "name": n.get("recipient_name"), "read": n["read"],
                       "read_at": isoformat(n["read_at"]) if n.get("read_at") else None,
                       "confirmed": bool(n.get("confirmed_at")),
                       "confirmed_at": isoformat(n["confirmed_at"]) if n.get("confirmed_at") else None}
                      for n in cursor],
            "total": db.notifications.count_documents(selector), "page": page, "page_size": size}


def ensure_indexes(db):
    db.broadcast_batches.create_index([("status", 1), ("lease_until", 1)])
    db.broadcasts.create_index([("district", 1), ("created_at", DESCENDING)])
    db.broadcasts.create_index([("announce", 1)], sparse=True)
    db.notifications.create_index([("broadcast_id", 1), ("read", 1)], sparse=True)
