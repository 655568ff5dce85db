"""Micro-projects in MongoDB: the projects (each write carries its events in the outbox), the links that keep a
petition in at most one open project, supports (one per resident) and comments.

No transactions (the store must also run on mongomock), so each multi-document step is ordered to be safe to
repeat: a link is claimed before the project that needs it is written and released if that write fails; a link
left behind by a crash is taken over once its project is gone or no longer open.
"""
import uuid
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from civicgrid.errors import Conflict, NotFound

from . import repository  # which also creates the indexes below: reached through the module, not its names
from .projects import OPEN_STATUSES

# a link whose project does not exist yet may belong to a create still running; after this it is a crash's
STALE_LINK = timedelta(minutes=2)
SUPPORT_EVENTS = uuid.UUID("1b3c7a4e-5d0f-4b7e-9a61-2f8d3c0e7a55")


def create_indexes(db):
    db.projects.create_index([("district", 1), ("seq", DESCENDING)])
    db.projects.create_index([("district", 1), ("community", 1), ("status", 1)])
    db.projects.create_index([("district", 1), ("buildings", 1)])
    db.projects.create_index([("district", 1), ("nodes", 1)])
    db.projects.create_index([("outbox.0", 1)], sparse=True)
    # a resident supports a project once
    db.project_supports.create_index([("project_id", 1), ("resident_id", 1)], unique=True)
    db.project_comments.create_index([("project_id", 1), ("at", DESCENDING)])
    db.project_links.create_index([("project_id", 1)])


def support_event_id(project_id, resident_id):
    """One event id per support, so a repeated announcement is the same fact to every consumer."""
    return str(uuid.uuid5(SUPPORT_EVENTS, f"{project_id}\x1f{resident_id}"))


class ProjectRepository:
    def __init__(self, db):
        self.collection = db.projects
        self.links = db.project_links
        self.supports = db.project_supports
        self.comment_docs = db.project_comments
        self.counters = db.counters
        self.petitions = repository.PetitionRepository(db)

    # -- projects ---------------------------------------------------------------

    def next_number(self, district):
        """Project numbers count per district (hb-p0007), next to the petitions' own."""
        doc = self.counters.find_one_and_update(
            {"_id": f"project:{district}"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
        return doc["seq"], f"{district}-p{doc['seq']:04d}"

    def add(self, project, events):
        self.collection.insert_one(dict(project, outbox=list(events)))

    def get(self, district, project_id):
        doc = None
        if isinstance(project_id, str):
            doc = self.collection.find_one({"_id": project_id, "district": district}, {"outbox": 0})
        if doc is None:
            raise NotFound("no such project", {"project_id": [f"{project_id} not found"]})
        return doc

    def save(self, before, after, events):
        """What changed, the new timeline entries and the events in one update, if nobody wrote first."""
        changed = {k: v for k, v in after.items()
                   if k not in ("_id", "timeline", "version", "outbox") and before.get(k) != v}
        update = {"$inc": {"version": 1},
                  "$push": {"timeline": {"$each": after["timeline"][len(before["timeline"]):]},
                            "outbox": {"$each": list(events)}}}
        if changed:
            update["$set"] = changed
        result = self.collection.update_one(
            {"_id": before["_id"], "district": before["district"], "version": before["version"]}, update)
        if result.matched_count == 0:
            raise Conflict("the project changed meanwhile: reload it and try again", {"project_id": [before["_id"]]})

    def page(self, selector, page, page_size):
        total = self.collection.count_documents(selector)
        cursor = (self.collection.find(selector, {"outbox": 0}).sort([("seq", DESCENDING)])
                  .skip((page - 1) * page_size).limit(page_size))
        return list(cursor), total

    # -- links: a petition in at most one open project -----------------------------

    def _holder(self, link, now):
        """The open project holding ``link``, or ``None`` when the link is left over."""
        project = self.collection.find_one({"_id": link["project_id"]}, {"status": 1})
        if project is None:
            return link["project_id"] if link["at"] > now - STALE_LINK else None
        return link["project_id"] if project["status"] in OPEN_STATUSES else None

    def open_links(self, district, petition_ids, now, but=None):
        """``{petition_id: project_id}`` of those petitions an open project (other than ``but``) holds."""
        held = {}
        for link in self.links.find({"_id": {"$in": [f"{district}:{p}" for p in petition_ids]}}):
            holder = self._holder(link, now)
            if holder and holder != but:
                held[link["petition_id"]] = holder
        return held

    def _claim_one(self, key, petition_id, district, project_id, now):
        """``(True, None)`` when this call linked it, ``(False, None)`` when it was ours already, else
        ``(False, holder)``: the open project that holds it."""
        link = None
        for _ in range(3):
            try:
                self.links.insert_one({"_id": key, "district": district, "petition_id": petition_id,
                                       "project_id": project_id, "at": now})
                return True, None
            except DuplicateKeyError:
                pass
            link = self.links.find_one({"_id": key})
            if link is None:  # released in between: try again
                continue
            if link["project_id"] == project_id:
                return False, None
            holder = self._holder(link, now)
            if holder:
                return False, holder
            moved = self.links.update_one({"_id": key, "project_id": link["project_id"]},
                                          {"$set": {"project_id": project_id, "at": now}})
            if moved.modified_count:
                return True, None
        return False, link["project_id"] if link else "?"

    def claim(self, district, project_id, petition_ids, now):
        """Link every petition to ``project_id``; on any conflict link none and return ``{petition_id: holder}``."""
        taken, conflicts = [], {}
        for petition_id in petition_ids:
            key = f"{district}:{petition_id}"
            linked, holder = self._claim_one(key, petition_id, district, project_id, now)
            if linked:
                taken.append(key)
            elif holder:
                conflicts[petition_id] = holder
        if conflicts:
            self.links.delete_many({"_id": {"$in": taken}, "project_id": project_id})
        return conflicts

    def release(self, project_id, district=None, petition_ids=None):
        selector = {"project_id": project_id}
        if petition_ids is not None:
            selector["_id"] = {"$in": [f"{district}:{p}" for p in petition_ids]}
        self.links.delete_many(selector)

    # -- supports -----------------------------------------------------------------

    def add_support(self, project, resident_id, building_id, now):
        """The support document, and whether this call created it."""
        doc = {"_id": str(uuid.uuid4()), "project_id": project["_id"], "district": project["district"],
               "resident_id": resident_id, "building_id": building_id, "at": now, "announced": False}
        try:
            self.supports.insert_one(doc)
            return doc, True
        except DuplicateKeyError:
            return self.supports.find_one({"project_id": project["_id"], "resident_id": resident_id}), False

    def announce_support(self, project_id, support, event):
        """Count the supporters again and put the support's event in the project's outbox, once."""
        count = self.supports.count_documents({"project_id": project_id})
        self.collection.update_one({"_id": project_id, "outbox.event_id": {"$ne": event["event_id"]}},
                                   {"$set": {"supporters": count}, "$push": {"outbox": event}})
        self.supports.update_one({"_id": support["_id"]}, {"$set": {"announced": True}})
        return count

    def supported_by(self, user_id, project_ids):
        found = self.supports.find({"project_id": {"$in": list(project_ids)}, "resident_id": user_id},
                                   {"project_id": 1})
        return {doc["project_id"] for doc in found}

    # -- comments -----------------------------------------------------------------

    def add_comment(self, comment):
        self.comment_docs.insert_one(comment)
        count = self.comment_docs.count_documents({"project_id": comment["project_id"]})
        self.collection.update_one({"_id": comment["project_id"]}, {"$set": {"comments": count}})

    def comments(self, project_id, page, page_size):
        selector = {"project_id": project_id}
        total = self.comment_docs.count_documents(selector)
        cursor = (self.comment_docs.find(selector).sort([("at", DESCENDING), ("_id", ASCENDING)])
                  .skip((page - 1) * page_size).limit(page_size))
        return list(cursor), total
