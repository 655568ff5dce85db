"""The read model's collections: per (generation, district, node, day), three counter documents by ``_id``
(two of them per ISO week as well).

``analytics_counters``, ``_id`` = ``gen|district|node|day|facet``: whatever a question about that node on that
day needs, so a question about node N over D days reads at most D documents of one facet, by ``_id``,
whatever the number of petitions. Three facets, so that an event only rewrites what it adds to (mongomock
copies the whole document on every update), and a query only reads the maps it sums (by projection). The
durations and submissions are also kept per ISO week (``day`` = ``w`` + its Monday, ``WEEKLY``): their
questions read each whole week of the period from one document (``spans``: 30 days are some ten
documents), as hotspots read the previous period too and both carry the most keys::

    facet "c", the counts (every counting event)
      c.<counter>                              the node's totals
      d.<department>.<counter>                 by department (a department's figures, the department ranking)
      x.<department>.<category>|<counter>      by department and category (the category filter)
      kc.<community>|<counter>                 by community at or under the node (the community ranking) ...
      k.<department>.<community>|<category>|<counter>   ... and by department and category (filtered)
    facet "h", the durations (claims, accepts, resolutions)
      h.<department>.<category>|<measure>|<level>|<bucket>   bucket counts (``histogram``)
    facet "s", the submissions (hotspots)
      b.<building>|<grid>|<department>|<category>   petitions submitted, per building at or under the node,
                                               with its grid if that too is at or under the node (the grids'
                                               figures are their buildings' sums; None otherwise)
    every facet: gen, district, node, day, facet, kind, up (set on insert); pending (below)

The community maps keep only what a ranking shows (``definitions.RANKED``) and ``+``, which says that the
community had anything counted at all (it is then ranked, with no rate). Every key that comes from data
goes through ``key()`` (node ids may hold '.', and nothing stops a '$'): '%', '.', '$' and '|' are escaped
and None has a name of its own, so '|' can join the parts of a key and ``unkey()`` gives them back.
``analytics_nodes`` (``_id`` = ``gen|district|node``) keeps each node's path, for who may ask about it
(``access``). ``analytics_meta``: per district, the generation queries read (``current``) and, while a
rebuild runs, the one it fills (``next``); live events go to both.

**Exactly once, with bounded documents.** A district's documents receive every event of the district that
day, so they cannot list every event they have counted. Instead, per generation and event:

1. ``analytics_applied`` gets a guard, ``_id`` = ``gen|district|event_id``, in state ``applying`` with an
   owner and a lease (``LEASE_SECONDS``), before anything is added.
2. Each counter document is updated on the condition that it has no ``pending.<event id>`` mark, and the
   same write sets it: the ``$inc`` and its evidence are one atomic single-document write.
3. The guard turns ``done``. The marks stay until the next event that updates the document, which finds
   (one read of the marks, one of their guards) those whose guard is done and unsets them in its own write.

A crash anywhere leaves a state the redelivery completes (a killed consumer's message comes again; a
failed handler is retried, ``civicgrid.retries``): while the guard is ``applying``, every document the
dead attempt reached keeps its mark (marks go only once their guard is done), so the retry adds only to
the others; once it is ``done`` a redelivery adds nothing. A document's marks are those of the events
being applied at that moment, those whose attempt failed until their retry, and those of the last events
that wrote it: bounded by concurrency and failures, not by traffic. The lease lets one delivery at a time
apply an event: another live delivery that meets a live lease raises ``Busy`` (retried later); one whose
holder died takes over once the lease has run out (a holder stalled past its lease could still add twice:
a minute between two single-document writes). The guards grow by one small document per event and
generation, like ``processed_events``; queries never read them, and a rebuild drops them with their
generation. A guard alone cannot do it, without a transaction: written before the ``$inc``, a crash in
between loses the increment (the retry finds the guard); written after, the retry counts twice. On mongomock
every read and write here is by ``_id`` (``civicgrid.mongomock_lookup``): none scans a collection.

Generations: a guard is per generation, so the rebuild (which applies every timeline step to the new
generation) and the live handlers (which apply each new event to both generations while it runs) each
add an event once to each generation. The rebuild skips an event another delivery holds right now: that
delivery, or its retry, finishes it.
"""
import functools
import time
import urllib.parse
import uuid
from collections import defaultdict
from datetime import date, timedelta

from bson.codec_options import CodecOptions
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from .definitions import RANKED, contributions

COUNTERS = "analytics_counters"
NODES = "analytics_nodes"
APPLIED = "analytics_applied"
META = "analytics_meta"
FIRST_GENERATION = "g0"
# facets also kept per ISO week ("w" + its Monday), which a question reads for the whole weeks of its period
WEEKLY = ("h", "s")
# long enough for any live attempt to finish its writes, short against the retry delays (1, 5, 30, 120 s)
LEASE_SECONDS = 60
NONE_KEY, EMPTY_KEY = "%none", "%empty"   # '%' + non-hex: no escaped value looks like these
ANYTHING = "+"                            # in the community maps: something was counted
NO_DATES = CodecOptions(tz_aware=False)


class Busy(Exception):
    """Another delivery of this event is being applied to the generation right now: try again later."""


def key(value):
    """A field name (or ``_id`` part) for a value from the data: no '.', '$' or '|'; None has its own."""
    if value is None:
        return NONE_KEY
    value = str(value)
    if not value:
        return EMPTY_KEY
    return value.replace("%", "%25").replace(".", "%2E").replace("$", "%24").replace("|", "%7C")


def unkey(name):
    if "%" not in name:
        return name
    if name == NONE_KEY:
        return None
    if name == EMPTY_KEY:
        return ""
    return urllib.parse.unquote(name)


@functools.lru_cache(maxsize=1 << 16)
def split(name):
    """The values joined in a map's key (``<a>|<b>|...``)."""
    return tuple(unkey(part) for part in name.split("|"))


def _id(*parts):
    return "|".join(key(p) for p in parts)


def doc_id(gen, district, node, day, facet):
    return _id(gen, district, node, day, facet)


def create_indexes(db):
    # every read and update is by _id; these serve dropping a generation
    for name in (COUNTERS, NODES, APPLIED):
        db[name].create_index([("gen", ASCENDING), ("district", ASCENDING)])


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


def _part_fields(step, kinds, part):
    """What one contribution adds: [(facet, field, n, lowest, above)], for the nodes of the path whose index i
    is ``above < i <= lowest`` (a node's own figures reach every node on the path; a community's or building's
    the nodes at or above it)."""
    dept, cat, last = key(part.department), key(step.category), len(step.path) - 1
    out = []
    for counter, n in part.counters.items():
        out += [("c", f"c.{counter}", n, last, -1), ("c", f"d.{dept}.{counter}", n, last, -1),
                ("c", f"x.{dept}.{cat}|{counter}", n, last, -1)]
    for duration, n in part.durations.items():
        measure, *level, bucket = duration.split(".")
        out.append(("h", f"h.{dept}.{cat}|{measure}|{key('.'.join(level))}|{bucket}", n, last, -1))
    for j, kind in enumerate(kinds):
        if kind == "community" and part.counters:
            ranked = {c: n for c, n in part.counters.items() if c in RANKED}
            sub = key(step.path[j])
            for counter, n in {ANYTHING: 1, **ranked}.items():
                out += [("c", f"kc.{sub}|{counter}", n, j, -1), ("c", f"k.{dept}.{sub}|{cat}|{counter}", n, j, -1)]
    n = part.counters.get("submitted")
    if n and kinds[-1] == "building":
        # the building's grid, for the nodes at or above the grid: its figures are the sums of its buildings'
        building, grid = key(step.path[-1]), kinds.index("grid") if "grid" in kinds else -1
        if grid >= 0:
            out.append(("s", f"b.{building}|{key(step.path[grid])}|{dept}|{cat}", n, grid, -1))
        out.append(("s", f"b.{building}|{NONE_KEY}|{dept}|{cat}", n, last, grid))
    return out


def week_of(day):
    """The label of the ISO week (Monday to Sunday) of a day (ISO date)."""
    moment = date.fromisoformat(day)
    return "w" + (moment - timedelta(days=moment.weekday())).isoformat()


def spans(first, last, facet):
    """The labels of the documents that cover ``first`` .. ``last`` (dates) exactly once: whole ISO weeks
    from their week documents (facets in ``WEEKLY``), the other days from their own."""
    out, day = [], first
    while day <= last:
        if facet in WEEKLY and day.weekday() == 0 and day + timedelta(days=6) <= last:
            out.append(week_of(day.isoformat()))
            day += timedelta(days=7)
        else:
            out.append(day.isoformat())
            day += timedelta(days=1)
    return out


def increments(step):
    """What the step adds, by document: {(node index, day or week label, facet): {field: n}}."""
    kinds = [node_kind(step, i, n) for i, n in enumerate(step.path)]
    firsts = [i for i, n in enumerate(step.path) if n not in step.path[:i]]
    out = defaultdict(lambda: defaultdict(int))
    for part in contributions(step):
        for facet, field, n, lowest, above in _part_fields(step, kinds, part):
            spans_ = (part.day, week_of(part.day)) if facet in WEEKLY else (part.day,)
            for i in firsts:
                if above < i <= lowest:
                    for span in spans_:
                        out[(i, span, facet)][field] += n
    return out


def apply(db, gens, step, wait=True, clock=time.time):
    """Add the step to every node on its path, in each of ``gens``, once; returns the documents changed.

    ``wait``: raise ``Busy`` when another delivery holds the event (the live handlers: retried later);
    False skips it instead (the rebuild: that delivery finishes it)."""
    adds = increments(step)
    if not adds:
        return 0
    return sum(_apply_once(db, gen, step, adds, wait, clock) for gen in gens)


def _apply_once(db, gen, step, adds, wait, clock):
    guard, owner = _id(gen, step.district, step.event_id), uuid.uuid4().hex
    state = _take(db, gen, step, guard, owner, clock())
    if state == "busy":
        if wait:
            raise Busy(f"event {step.event_id} is being applied to {gen} by another delivery")
        return 0
    if state == "done":
        return 0
    targets = {doc_id(gen, step.district, step.path[i], day, facet): (i, day, facet, incs)
               for (i, day, facet), incs in adds.items()}
    finished = _finished_marks(db, gen, step, targets)
    changed = sum(_add(db, gen, step, doc, *target, finished.get(doc, ())) for doc, target in targets.items())
    _finish(db, guard, owner)   # False: our lease ran out and a retry took over; it finishes
    return changed


def _take(db, gen, step, guard, owner, now):
    """"own": this delivery applies the event; "done": it was applied; "busy": another delivery holds it."""
    for _ in range(2):
        try:
            db[APPLIED].insert_one({"_id": guard, "gen": gen, "district": step.district, "event_id": step.event_id,
                                    "state": "applying", "owner": owner, "until": now + LEASE_SECONDS})
            return "own"
        except DuplicateKeyError:
            held = db[APPLIED].find_one({"_id": guard})
        if held is None:
            continue                     # dropped with its generation a moment ago
        if held["state"] == "done":
            return "done"
        if held["until"] > now:
            return "busy"
        taken = db[APPLIED].update_one({"_id": guard, "state": "applying", "owner": held["owner"]},
                                       {"$set": {"owner": owner, "until": now + LEASE_SECONDS}})
        return "own" if taken.matched_count else "busy"
    return "busy"


def _finish(db, guard, owner):
    done = db[APPLIED].update_one({"_id": guard, "owner": owner},
                                  {"$set": {"state": "done"}, "$unset": {"owner": "", "until": ""}})
    return done.matched_count == 1


def _finished_marks(db, gen, step, targets):
    """The marks other events left on these documents whose guard is done: {document: [mark]}."""
    mine, marks = key(step.event_id), {}
    for doc in db[COUNTERS].find({"_id": {"$in": list(targets)}}, {"pending": 1}):
        marks[doc["_id"]] = [m for m in doc.get("pending") or {} if m != mine]
    guards = {_id(gen, step.district, unkey(m)): m for ms in marks.values() for m in ms}
    if not guards:
        return {}
    done = {guards[g["_id"]] for g in db[APPLIED].find({"_id": {"$in": list(guards)}, "state": "done"}, {"_id": 1})}
    return {doc: [m for m in ms if m in done] for doc, ms in marks.items()}


def _add(db, gen, step, doc, index, day, facet, incs, clear):
    """One conditional ``$inc`` upsert; 1 if it added, 0 if the document holds the event already."""
    node, mark = step.path[index], f"pending.{key(step.event_id)}"
    condition = {"_id": doc, mark: {"$exists": False}}
    update = {"$inc": dict(incs), "$set": {mark: 1},
              "$setOnInsert": {"gen": gen, "district": step.district, "node": node, "day": day, "facet": facet,
                               "kind": node_kind(step, index, node), "up": list(step.path[:index + 1])}}
    if clear:
        update["$unset"] = {f"pending.{m}": "" for m in clear}
    try:
        result = db[COUNTERS].update_one(condition, update, upsert=True)
    except DuplicateKeyError:
        # it exists: it holds this event (a retry after a crash), or another event created it a moment ago
        result = db[COUNTERS].update_one(condition, update)
        _register(db, gen, step, index)
        return result.matched_count
    if result.upserted_id is not None:
        _register(db, gen, step, index)
    return 1


def _register(db, gen, step, index):
    node = step.path[index]
    db[NODES].update_one({"_id": _id(gen, step.district, node)},
                         {"$setOnInsert": {"gen": gen, "district": step.district, "node": node,
                                           "kind": node_kind(step, index, node), "up": list(step.path[:index + 1])}},
                         upsert=True)


def node_entry(db, gen, district, node):
    """The node's path as the read model knows it (None: nothing counted for it in this generation)."""
    return db[NODES].find_one({"_id": _id(gen, district, node)}, {"up": 1, "kind": 1})


def node_docs(db, gen, district, node, spans_, facet, fields):
    """The node's documents of one facet for those days or weeks (``spans``), with only ``fields`` and ``day``
    (the day or week label)."""
    ids = [doc_id(gen, district, node, span, facet) for span in spans_]
    # counter documents hold no dates: nothing to make timezone-aware (mongomock would walk every key)
    return db[COUNTERS].with_options(codec_options=NO_DATES).find({"_id": {"$in": ids}}, {"day": 1, **{f: 1 for f in fields}})


def drop_generation(db, district, gen):
    for name in (COUNTERS, NODES, APPLIED):
        db[name].delete_many({"gen": gen, "district": district})


def drop_other_generations(db, district, keep):
    """What a crashed rebuild or a late live write left behind in generations no longer read or filled."""
    for name in (COUNTERS, NODES, APPLIED):
        db[name].delete_many({"district": district, "gen": {"$nin": list(keep)}})
