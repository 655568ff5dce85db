"""Petition documents in MongoDB: each write carries its events in the outbox."""
from pymongo import ASCENDING, DESCENDING, ReturnDocument

from civicgrid.errors import Conflict, NotFound

from . import project_repository

SORTS = {
    "newest": [("seq", DESCENDING)],
    "oldest": [("seq", ASCENDING)],
    # overdue first, then the nearest deadline; petitions with none (closed) last
    "deadline": [("deadline.fired", DESCENDING), ("deadline.due_at", ASCENDING), ("seq", ASCENDING)],
}


def create_indexes(db):
    db.petitions.create_index([("district", 1), ("seq", DESCENDING)])
    db.petitions.create_index([("district", 1), ("resident_id", 1)])
    # a submit's Idempotency-Key, per user (usecases.submit): at most one petition per key
    db.petitions.create_index([("filed_key", 1)], unique=True, sparse=True)
    db.petitions.create_index([("district", 1), ("path", 1)])
    db.petitions.create_index([("district", 1), ("departments", 1)])
    db.petitions.create_index([("district", 1), ("category", 1), ("building_id", 1), ("created_at", 1)])
    db.petitions.create_index([("deadline.fired", 1), ("deadline.due_at", 1)])
    db.petitions.create_index([("outbox.0", 1)], sparse=True)
    project_repository.create_indexes(db)


def save_versioned(collection, before, after, events, noun):
    """Write what changed, the new timeline entries and the events (the outbox) in one update, if nobody wrote
    first: ``before`` is what the caller read, ``after`` what it decided; a stale ``before`` is a 409."""
    changed = {k: v for k, v in after.items()
               if k not in ("_id", "timeline", "version", "outbox") and before.get(k) != v}
    update = {"$inc": {"version": 1},
              "$push": {"timeline": {"$each": after["timeline"][len(before["timeline"]):]},
                        "outbox": {"$each": list(events)}}}
    if changed:
        update["$set"] = changed
    result = collection.update_one(
        {"_id": before["_id"], "district": before["district"], "version": before["version"]}, update)
    if result.matched_count == 0:
        raise Conflict(f"the {noun} changed meanwhile: reload it and try again", {f"{noun}_id": [before["_id"]]})


class PetitionRepository:
    def __init__(self, db):
        self.collection = db.petitions
        self.counters = db.counters
        self.settings = db.settings

    def next_number(self, district):
        """Petition numbers count up per district (hb-000042): easy to read out on the phone."""
        doc = self.counters.find_one_and_update(
            {"_id": f"petition:{district}"}, {"$inc": {"seq": 1}},
            upsert=True, return_document=ReturnDocument.AFTER)
        return doc["seq"], f"{district}-{doc['seq']:06d}"

    def add(self, petition, events):
        self.collection.insert_one(dict(petition, outbox=list(events)))

    def get(self, district, petition_id):
        if not isinstance(petition_id, str):
            raise NotFound("no such petition", {"petition_id": ["not found"]})
        doc = self.collection.find_one({"_id": petition_id, "district": district}, {"outbox": 0})
        if doc is None:
            raise NotFound("no such petition", {"petition_id": [f"{petition_id} not found"]})
        return doc

    def save(self, before, after, events):
        save_versioned(self.collection, before, after, events, "petition")

    def add_followers(self, petition_id, followers, entry):
        """Followers join whatever state the petition is in; the version moves so stale writers reload."""
        self.collection.update_one(
            {"_id": petition_id},
            {"$addToSet": {"followers": {"$each": followers}}, "$push": {"timeline": entry}, "$inc": {"version": 1}})

    def page(self, selector, page, page_size, sort="newest"):
        total = self.collection.count_documents(selector)
        cursor = (self.collection.find(selector, {"outbox": 0}).sort(SORTS[sort])
                  .skip((page - 1) * page_size).limit(page_size))
        return list(cursor), total

    def find(self, selector, limit=50, sort="newest", fields=None):
        """``fields`` names the only fields wanted (with ``_id``): mongomock copies every match whole before it
        applies the limit, so a narrow projection is what keeps a common selector cheap there."""
        projection = {name: 1 for name in fields} if fields else {"outbox": 0}
        return list(self.collection.find(selector, projection).sort(SORTS[sort]).limit(limit))

    def due(self, now, limit=200):
        """Petitions whose deadline has passed and not yet been acted on, oldest deadline first."""
        return self.find({"deadline.fired": False, "deadline.due_at": {"$lte": now}}, limit, "deadline")

    def count(self, selector):
        return self.collection.count_documents(selector)

    def limits(self, district):
        doc = self.settings.find_one({"_id": f"time_limits:{district}"}) or {}
        return doc.get("limits", {})

    def set_limits(self, district, limits, actor, now):
        self.settings.update_one(
            {"_id": f"time_limits:{district}"},
            {"$set": {**{f"limits.{k}": v for k, v in limits.items()}, "updated_by": actor, "updated_at": now}},
            upsert=True)
