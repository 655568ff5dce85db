"""The read model's collections: counters per (generation, district, day, node, department, category).

``analytics_counters``: one document per key, with ``c.<counter>`` counts and ``h.<measure>.<level>.<bucket>``
duration buckets, changed only by single-document ``$inc`` upserts. Each update is conditioned on the
event id not being in the document's ``applied`` list, and pushes it there in the same write: a step
applied twice (a redelivery, a retry after a crash halfway, the rebuild meeting an event the live
handlers also saw) adds once. A document only takes the events of its own day, so the list stays short;
queries never read it.

``analytics_meta``: per district, the generation queries read (``current``) and, while a rebuild runs,
the one it fills (``next``); live events go to both, so the swap loses nothing.
"""
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from .definitions import contributions

COUNTERS = "analytics_counters"
META = "analytics_meta"
FIRST_GENERATION = "g0"


def create_indexes(db):
    db[COUNTERS].create_index([("gen", ASCENDING), ("district", ASCENDING), ("node", ASCENDING), ("day", ASCENDING)])
    db[COUNTERS].create_index([("gen", ASCENDING), ("district", ASCENDING), ("kind", ASCENDING), ("up", ASCENDING),
                               ("day", ASCENDING)])


def generations(db, district):
    """The generations a live event must reach: the current one, and the one a rebuild is filling."""
    meta = db[META].find_one({"_id": district}) or {}
    gens = [meta.get("current") or FIRST_GENERATION]
    if meta.get("next"):
        gens.append(meta["next"])
    return gens


def current_generation(db, district):
    return (db[META].find_one({"_id": district}) or {}).get("current") or FIRST_GENERATION


def node_kind(step, index, node):
    if index == 0:
        return "district"
    if index == len(step.path) - 1:
        return "building"
    if node == step.community_id:
        return "community"
    if node == step.grid_id:
        return "grid"
    return "node"


def doc_id(gen, district, day, node, department, category):
    return "|".join((gen, district, day, node, department or "", category))


def apply(db, gens, step):
    """Add the step to every node on its path, in each of ``gens``; returns the documents changed."""
    changed = 0
    for part in contributions(step):
        increments = {f"c.{k}": v for k, v in part.counters.items()}
        increments.update({f"h.{k}": v for k, v in part.durations.items()})
        for gen in gens:
            for index, node in enumerate(step.path):
                changed += _add(db, gen, step, part, index, node, increments)
    return changed


def _add(db, gen, step, part, index, node, increments):
    key = doc_id(gen, step.district, part.day, node, part.department, step.category)
    try:
        db[COUNTERS].update_one(
            {"_id": key, "applied": {"$ne": step.event_id}},
            {"$inc": increments, "$push": {"applied": step.event_id},
             "$setOnInsert": {"gen": gen, "district": step.district, "day": part.day, "node": node,
                              "kind": node_kind(step, index, node), "up": list(step.path[:index + 1]),
                              "department": part.department, "category": step.category}},
            upsert=True)
    except DuplicateKeyError:
        return 0   # the document exists and already holds this event
    return 1


def counter_docs(db, gen, district, selector, days):
    """The counter documents of ``gen`` matching ``selector`` whose day is within ``days`` (first, last)."""
    query = {"gen": gen, "district": district, "day": {"$gte": days[0], "$lte": days[1]}, **selector}
    return db[COUNTERS].find(query, {"applied": 0})


def drop_generation(db, district, gen):
    db[COUNTERS].delete_many({"gen": gen, "district": district})
