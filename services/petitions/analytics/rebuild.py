"""Recompute a district's read model from its petitions' timelines, then swap it in.

The new generation is announced first (``analytics_meta.next``), so live events handled meanwhile go
to it as well as to the current one; each step carries its event's id (``domain.stamp``), so whatever
the rebuild and the live handlers both apply counts once (the guards of ``store``, per generation). Then ``current`` points at the new generation
and the old one is dropped. Only single-document writes: it works the same on mongomock and MongoDB.
"""
import uuid
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from civicgrid.errors import Conflict, Forbidden

from . import steps, store

# a rebuild that has not finished after this long is taken to have died; another may take over
STALE = timedelta(hours=1)


def _claim(db, district, gen, now):
    try:
        db[store.META].update_one(
            {"_id": district, "$or": [{"next": None}, {"next_started": {"$lt": now - STALE}}]},
            {"$set": {"next": gen, "next_started": now}}, upsert=True)
    except DuplicateKeyError:
        raise Conflict(f"a rebuild of {district!r} is running", {"district": [district]})


def rebuild_district(db, district, now):
    gen = "g" + uuid.uuid4().hex[:12]
    _claim(db, district, gen, now)
    current = store.current_generation(db, district)
    store.drop_other_generations(db, district, keep=(current, gen))
    petitions = applied = 0
    for petition in db.petitions.find({"district": district}, {"outbox": 0}):
        petitions += 1
        for step in steps.from_petition(petition):
            store.apply(db, [gen], step, wait=False)
            applied += 1
    db[store.META].update_one({"_id": district, "next": gen},
                              {"$set": {"current": gen, "next": None, "rebuilt_at": now}})
    store.drop_generation(db, district, current)
    return {"district": district, "generation": gen, "petitions": petitions, "steps": applied}


def rebuild(db, auth, district, now):
    """One district (``district``), or every district with petitions (None); for the platform's operator
    or the district's administrators."""
    auth.require()
    if not (auth.is_system or auth.is_platform_admin):
        if district is not None:
            auth.require_district(district)   # another district's figures do not exist for this caller (404)
        if district is None or not auth.has("district_admin"):
            raise Forbidden("rebuilding the figures is for the operator or the district's administrators")
    districts = [district] if district else sorted(db.petitions.distinct("district"))
    return [rebuild_district(db, d, now) for d in districts]
