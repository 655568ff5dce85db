"""Petition documents in MongoDB: each write carries its events in the outbox."""
from pymongo import DESCENDING, ReturnDocument

from civicgrid.errors import Conflict, NotFound


def create_indexes(db):
    db.petitions.create_index([("district", 1), ("seq", DESCENDING)])
    db.petitions.create_index([("district", 1), ("resident_id", 1)])
    db.petitions.create_index([("district", 1), ("path", 1)])
    db.petitions.create_index([("district", 1), ("departments", 1)])
    db.petitions.create_index([("outbox.0", 1)], sparse=True)


class PetitionRepository:
    def __init__(self, db):
        self.collection = db.petitions
        self.counters = db.counters

    def next_number(self, district):
        """Petition numbers count up per district (hb-000042): easy to read out on the phone."""
        doc = self.counters.find_one_and_update(
            {"_id": f"petition:{district}"}, {"$inc": {"seq": 1}},
            upsert=True, return_document=ReturnDocument.AFTER)
        return doc["seq"], f"{district}-{doc['seq']:06d}"

    def add(self, petition, event):
        petition = dict(petition, outbox=[event])
        self.collection.insert_one(petition)

    def get(self, district, petition_id):
        doc = self.collection.find_one({"_id": petition_id, "district": district}, {"outbox": 0})
        if doc is None:
            raise NotFound("no such petition", {"petition_id": petition_id})
        return doc

    def save(self, before, after, event):
        """Write the new state, its timeline entry and its event in one update, if nobody wrote first."""
        updates = {k: v for k, v in after.items() if k not in ("_id", "timeline", "version", "outbox")}
        result = self.collection.update_one(
            {"_id": before["_id"], "district": before["district"], "version": before["version"]},
            {"$set": updates, "$inc": {"version": 1},
             "$push": {"timeline": after["timeline"][-1], "outbox": event}})
        if result.matched_count == 0:
            raise Conflict("the petition changed meanwhile: reload it and try again",
                           {"petition_id": before["_id"]})

    def page(self, selector, page, page_size):
        total = self.collection.count_documents(selector)
        cursor = (self.collection.find(selector, {"outbox": 0})
                  .sort([("seq", DESCENDING)])
                  .skip((page - 1) * page_size).limit(page_size))
        return list(cursor), total
