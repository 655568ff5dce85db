"""How long the dashboard's figures take at 1,000 and at 20,000 petitions: the read model's promise is that
the answer time follows the days and nodes asked about, not the number of petitions.

Seeds an in-process store (mongomock, or MONGO_URI's server) by feeding synthetic petition events through the
read model's own handler function (``feed.record``, what the petitions service's event handlers call), then
times the dashboard's questions — rates, rankings, hotspots and durations for the whole district over the last
30 days — as the median of repeated runs. Prints figures and their ratio; passes or fails on nothing.

The read model keeps, per (generation, district, node, day), a document of counts, one of duration buckets and
one of submissions (hotspots), the last two also per ISO week, all read and written by ``_id`` only: for the
district's last 30 days the dashboard reads 30 count documents per question, and about ten day-or-week
documents for durations (twice that for hotspots, which compare with the previous 30 days); each event does
one guarded ``$inc`` upsert per document it adds to. On mongomock, which keeps no indexes, the lookup by
``_id`` is the kit's (``civicgrid.mongomock_lookup``, what every service's fallback store gets), so neither the
queries nor the event handling scan a collection; mongomock does copy each document it updates or returns,
so their cost follows the documents' contents (what a day brings under a node: bounded by its buildings ×
categories, not by the number of petitions). Printed per size: the hierarchy and days, the counter
documents, the time to feed the events and its cost per event, the query median, each also in CPU time.

    .venv/bin/python bench/analytics.py [--sizes 1000,20000] [--repeat 15] [--days 60]
"""
import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import mongomock  # noqa: E402

from civicgrid import mongomock_lookup  # noqa: E402
from civicgrid.auth import AuthContext  # noqa: E402
from civicgrid.events import make_event  # noqa: E402
from services.petitions.analytics import feed, queries, store  # noqa: E402

DISTRICT = "bench"
CATEGORIES = ["streetlight", "garbage", "slope", "parking", "dispute", "greening", "road", "noise"]
DEPARTMENTS = ["chengjian", "huanjing", "zongzhi", "zhujian"]
ADMIN = AuthContext(user_id="bench-admin", district=DISTRICT, roles=("district_admin",))
END = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)


def hierarchy():
    """2 streets × 3 communities × 3 grids × 5 buildings: 90 buildings."""
    places = []
    for s in range(2):
        for c in range(3):
            for g in range(3):
                for b in range(5):
                    community, grid = f"c{s}{c}", f"g{s}{c}{g}"
                    places.append(([DISTRICT, f"s{s}", community, grid, f"b{s}{c}{g}{b}"], community, grid))
    return places


def iso(moment):
    return moment.isoformat(timespec="milliseconds")


def ref(kind, level, since, hours, fired=False):
    return {"kind": kind, "level": level, "since": iso(since), "due_at": iso(since + timedelta(hours=hours)),
            "fired": fired}


def petition_events(rng, number, places, days):
    """One petition's events down one of three paths: grid, whistled up and dispatched, or left late."""
    path, community, grid = rng.choice(places)
    category = rng.choice(CATEGORIES)
    department = DEPARTMENTS[CATEGORIES.index(category) % len(DEPARTMENTS)]
    t0 = END - timedelta(days=rng.uniform(0, days))
    base = {"petition_id": f"{DISTRICT}-{number:06d}", "title": "t", "category": category, "kind": "issue",
            "building_id": path[-1], "path": path, "resident_id": f"r{number}", "handler_id": None, "rating": None,
            "due_at": None, "followers": [], "comment": None, "reason": None, "note": None,
            "submitted_at": iso(t0), "community_id": community, "grid_id": grid, "fell_due": None}
    out = []

    def event(type_, at, role="grid_worker", **data):
        # the envelope make_event builds (validated once per kind in check_shapes, not 100,000 times)
        out.append({"event_id": str(uuid.UUID(int=rng.getrandbits(128))), "type": type_, "version": 1,
                    "occurred_at": iso(at), "district": DISTRICT, "actor": {"id": "u", "role": role},
                    "data": {**base, **data}})

    event("petition_submitted", t0, "resident", status="submitted", level="grid", department_id=None, settled=None)
    path_kind = rng.random()
    if path_kind < 0.6:                                       # claimed and resolved in the grid
        t1 = t0 + timedelta(hours=rng.uniform(0.1, 30))
        event("petition_claimed", t1, status="in_progress", level="grid", department_id=None,
              settled=ref("claim", "grid", t0, 24))
        t2 = t1 + timedelta(hours=rng.uniform(1, 90))
        fell = {"at": iso(t2), "level": "grid", "department_id": None}
        event("petition_resolved", t2, status="resolved", level="grid", department_id=None,
              settled=ref("resolve", "grid", t1, 72), fell_due=fell)
        event("petition_closed", t2 + timedelta(hours=5), "resident", status="closed", level="grid",
              department_id=None, rating=rng.choice([5, 5, 4, 4, 3, 2, 1]), settled=ref("rate", "grid", t2, 168),
              fell_due=fell)
    elif path_kind < 0.9:                                     # whistled up, dispatched, accepted, resolved
        t1 = t0 + timedelta(hours=rng.uniform(0.1, 20))
        event("petition_escalated", t1, status="escalated", level="community", department_id=None,
              settled=ref("claim", "grid", t0, 24))
        t2 = t1 + timedelta(hours=rng.uniform(0.5, 20))
        event("petition_dispatched", t2, "community_staff", status="dispatched", level="department",
              department_id=department, settled=ref("dispatch", "community", t1, 24))
        t3 = t2 + timedelta(hours=rng.uniform(0.5, 30))
        event("petition_accepted", t3, "department_staff", status="in_progress", level="department",
              department_id=department, settled=ref("accept", "department", t2, 24))
        t4 = t3 + timedelta(hours=rng.uniform(2, 150))
        event("petition_resolved", t4, "department_staff", status="resolved", level="department",
              department_id=department, settled=ref("resolve", "department", t3, 120),
              fell_due={"at": iso(t4), "level": "department", "department_id": department})
    else:                                                     # nobody claims it: the clock whistles it up
        t1 = t0 + timedelta(hours=24)
        fell = {"at": iso(t1), "level": "grid", "department_id": None}
        event("petition_overdue", t1, "system", status="escalated", level="community", department_id=None,
              settled=ref("claim", "grid", t0, 24), fell_due=fell, deadline="claim", overdue_level="grid")
        event("petition_escalated", t1, "system", status="escalated", level="community", department_id=None,
              settled=ref("claim", "grid", t0, 24), fell_due=fell)
    return out


def open_store():
    if os.environ.get("MONGO_URI"):
        import pymongo
        client = pymongo.MongoClient(os.environ["MONGO_URI"], tz_aware=True)
        name = f"bench_analytics_{uuid.uuid4().hex[:8]}"
        return client[name], lambda: client.drop_database(name)
    return mongomock.MongoClient(tz_aware=True).db, lambda: None


def check_shapes():
    """Every kind of synthetic event is a valid envelope of the catalogue (what the service's handlers take)."""
    rng = random.Random(1)
    for number in range(60):
        for event in petition_events(rng, number, hierarchy(), 30):
            make_event(event["type"], event["district"], event["actor"], event["data"], event_id=event["event_id"],
                       occurred_at=datetime.fromisoformat(event["occurred_at"]))


def seed(size, days, seed_=20260630):
    db, drop = open_store()
    seed.drop = drop
    store.create_indexes(db)
    rng, places, events = random.Random(seed_), hierarchy(), 0
    for number in range(1, size + 1):
        for event in petition_events(rng, number, places, days):
            feed.record(db, event)
            events += 1
    return db, events


def dashboard(db):
    """What the console's dashboard asks: the district, the last 30 days."""
    query = {"to": END.date().isoformat()}
    queries.rates(db, ADMIN, DISTRICT, query, END)
    queries.rankings(db, ADMIN, DISTRICT, query, END)
    queries.hotspots(db, ADMIN, DISTRICT, query, END)
    queries.durations(db, ADMIN, DISTRICT, query, END)


def timed(fn, repeat):
    """Medians of the wall-clock and the CPU time of ``repeat`` runs (the CPU time minds a busy machine less)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,20000")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--days", type=int, default=60, help="the petitions spread over this many days")
    args = parser.parse_args()
    check_shapes()
    if not os.environ.get("MONGO_URI"):
        mongomock_lookup.install()
    print("store:", "MongoDB at MONGO_URI" if os.environ.get("MONGO_URI") else "mongomock (in-process, _id lookups)")
    print(f"hierarchy: {len({n for path, _c, _g in hierarchy() for n in path})} nodes ({len(hierarchy())} buildings); "
          f"petitions spread over {args.days} days; the dashboard asks about the district's last 30 days")
    figures = []
    for size in (int(s) for s in args.sizes.split(",")):
        started, cpu = time.perf_counter(), time.process_time()
        db, events = seed(size, args.days)
        seeded, seeded_cpu = time.perf_counter() - started, time.process_time() - cpu
        docs = db[store.COUNTERS].count_documents({})
        guards = db[store.APPLIED].count_documents({})
        median, median_cpu = timed(lambda: dashboard(db), args.repeat)
        per_event, per_event_cpu = seeded / events, seeded_cpu / events
        figures.append((size, median, median_cpu, per_event, per_event_cpu))
        seed.drop()
        print(f"{size:>6} petitions: {events} events fed in {seeded:.1f} s, {per_event * 1000:.2f} ms per event "
              f"(CPU {per_event_cpu * 1000:.2f} ms; {docs} counter documents, {guards} guards); dashboard query "
              f"median {median * 1000:.1f} ms (CPU {median_cpu * 1000:.1f} ms) over {args.repeat} runs")
    if len(figures) >= 2:
        (small, *low), (large, *high) = figures[0], figures[-1]
        ratio = [h / low_ for h, low_ in zip(high, low)]
        print(f"ratio {large // small}x the petitions -> {ratio[0]:.2f}x the dashboard query time (CPU {ratio[1]:.2f}x), "
              f"{ratio[2]:.2f}x the cost per event (CPU {ratio[3]:.2f}x)")


if __name__ == "__main__":
    main()
