"""The read model (services/petitions/analytics): definitions, percentiles, and a rebuild that gives exactly
the numbers the events gave."""
import itertools
import time
from datetime import date, timedelta

import pytest

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from services.petitions.analytics import feed, histogram, queries, rebuild, steps, store
from services.petitions.analytics.definitions import contributions

from .analytics_world import START, World, mixed_workload, most_marks, snapshot, unfinished
from .test_domain import ADMIN, COMMUNITY, DEPARTMENT, GRID_WORKER, OTHER_COMMUNITY, OWNER, PARTY, person

SYSTEM = person("system:test", "system", district=None)
PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def world(open_db):
    w = World(open_db("petitions"))
    w.ids = mixed_workload(w)
    return w


def ask(world, what, auth=ADMIN, **query):
    return getattr(queries, what)(world.db, auth, "hb", {**PERIOD, **query}, world.now)


# -- percentiles from buckets ---------------------------------------------------------------------

def test_buckets_and_interpolated_percentiles():
    assert [histogram.bucket_of(h) for h in (0, 0.2, 0.25, 23.9, 24, 719, 720, 5000, -1)] == [
        0, 0, 1, 7, 8, 13, 14, 14, 0]
    # ten durations in [24, 48): the median is half way, p90 nine tenths of the way
    assert histogram.summary({8: 10}) == {"count": 10, "p50_hours": 36.0, "p90_hours": 45.6}
    # one quick, one slow: the median sits at the top of the quick one's bucket
    assert histogram.percentile({0: 1, 10: 1}, 0.5) == 0.25
    assert histogram.percentile({14: 3}, 0.9) == 720.0   # the open bucket reports its lower edge
    assert histogram.summary({}) == {"count": 0, "p50_hours": None, "p90_hours": None}


def test_a_period_reads_its_whole_weeks_from_week_documents():
    wednesday, thursday = date(2026, 3, 4), date(2026, 4, 2)
    days = [(wednesday + timedelta(days=i)).isoformat() for i in range(30)]
    assert store.spans(wednesday, thursday, "c") == days
    assert store.spans(wednesday, thursday, "s") == (
        days[:5] + ["w2026-03-09", "w2026-03-16", "w2026-03-23"] + days[26:])
    assert store.spans(date(2026, 3, 9), date(2026, 3, 15), "h") == ["w2026-03-09"]
    assert store.week_of("2026-03-15") == "w2026-03-09" and store.week_of("2026-03-16") == "w2026-03-16"


# -- the events and the timelines say the same ------------------------------------------------------

def test_the_timeline_gives_the_steps_the_events_gave(world):
    from_events = sorted((s for s in map(steps.from_event, world.events) if s), key=lambda s: s.event_id)
    from_petitions = sorted(itertools.chain.from_iterable(
        steps.from_petition(p) for p in world.db.petitions.find({})), key=lambda s: s.event_id)
    assert len(from_events) > 30
    assert from_events == from_petitions


def test_rebuilding_gives_exactly_the_numbers_the_events_gave(world):
    world.feed()
    fed = snapshot(world.db)
    assert fed
    [result] = rebuild.rebuild(world.db, SYSTEM, "hb", world.now)
    assert result["petitions"] == 7 and result["generation"] != "g0"
    assert snapshot(world.db) == fed
    # after the swap, live events go to the new generation; the old one is gone
    assert world.db[store.COUNTERS].count_documents({"gen": "g0"}) == 0
    assert store.generations(world.db, "hb") == [result["generation"]]


def test_redelivery_order_and_a_crash_halfway_change_nothing(open_db, world):
    world.feed(seed=1, twice=0)
    once = snapshot(world.db)
    assert unfinished(world.db) == []
    other = World(open_db("petitions2"))
    other.events = world.events
    # a handler that died after two of the path's five updates (its lease has run out since) ...
    first, second = steps.from_event(world.events[0]), steps.from_event(world.events[1])
    store._take(other.db, "g0", first, store._id("g0", "hb", first.event_id), "dead", time.time() - 61)
    for (index, day, facet), incs in list(store.increments(first).items())[:2]:
        doc = store.doc_id("g0", "hb", first.path[index], day, facet)
        assert store._add(other.db, "g0", first, doc, index, day, facet, incs, ()) == 1
    # ... and one that died after marking its event done, before clearing the documents' marks
    guard = store._id("g0", "hb", second.event_id)
    store._take(other.db, "g0", second, guard, "dying", time.time())
    for (index, day, facet), incs in store.increments(second).items():
        doc = store.doc_id("g0", "hb", second.path[index], day, facet)
        store._add(other.db, "g0", second, doc, index, day, facet, incs, ())
    assert store._finish(other.db, guard, "dying")
    assert unfinished(other.db)
    # then their retries, and many redeliveries of everything
    other.feed(seed=99, twice=1.0)
    assert snapshot(other.db) == once
    assert unfinished(other.db) == []
    # a document of the district's day took most events, yet keeps the marks of its last writers only
    district_day = other.db[store.COUNTERS].find_one({"_id": store.doc_id("g0", "hb", "hb", "2026-03-02", "c")})
    assert district_day["c"]["submitted"] >= 5 and most_marks(other.db) <= 2


def test_a_delivery_holding_an_event_keeps_the_others_out_until_its_lease_runs_out(open_db, world):
    db = World(open_db("petitions3")).db
    event = world.events[0]
    step = steps.from_event(event)
    store._take(db, "g0", step, store._id("g0", "hb", step.event_id), "another", time.time())
    with pytest.raises(store.Busy):
        feed.record(db, event)                                  # live: retried later
    assert store.apply(db, ["g0"], step, wait=False) == 0       # the rebuild leaves it to the holder
    assert db[store.COUNTERS].count_documents({}) == 0
    later = time.time() + store.LEASE_SECONDS + 1
    assert store.apply(db, ["g0"], step, clock=lambda: later) == len(store.increments(step))  # it died: take over
    assert feed.record(db, event) == 0
    assert unfinished(db) == []


def test_keys_from_the_data_are_safe_field_names(open_db):
    """Node ids may hold '.', and nothing in the read model lets a '$' or '|' through as a field or id part."""
    db = World(open_db("petitions4")).db
    path = ["hb", "s.1", "c.1", "g|1", "b.1"]
    data = {"petition_id": "p1", "path": path, "category": "$lamp", "level": "grid", "department_id": None,
            "submitted_at": "2026-03-02T08:00:00.000+00:00", "community_id": "c.1", "grid_id": "g|1"}
    event = {"event_id": "e1", "type": "petition_submitted", "occurred_at": data["submitted_at"], "district": "hb",
             "actor": {"id": "r1", "role": "resident"}, "data": data}
    assert feed.record(db, event) == 15                # five nodes: their counts, their day's and week's submissions
    doc = db[store.COUNTERS].find_one({"_id": store.doc_id("g0", "hb", "hb", "2026-03-02", "s")})
    assert doc["b"] == {"b%2E1|g%7C1|%none|%24lamp": 1}
    query = {"from": "2026-03-02", "to": "2026-03-02"}
    hot = queries.hotspots(db, ADMIN, "hb", query, START)
    assert [(r["category"], r["node"], r["count"]) for r in hot["by_building"]] == [("$lamp", "b.1", 1)]
    assert [r["id"] for r in queries.rankings(db, ADMIN, "hb", query, START)["communities"]] == ["c.1"]
    assert queries.rates(db, person("cs1", "community_staff", scope="c.1"), "hb", {**query, "node": "b.1", "category": "$lamp"},
                         START)["whistle"]["submitted"] == 1
    assert [store.unkey(store.key(v)) for v in (None, "", "a.b", "$x", "%2E", "a|b")] == [
        None, "", "a.b", "$x", "%2E", "a|b"]


def test_live_events_during_a_rebuild_reach_the_new_generation(world):
    """Events handled while a rebuild runs go to both generations; what both apply counts once."""
    half = len(world.events) // 2
    for event in world.events[:half]:
        feed.record(world.db, event)
    rebuild._claim(world.db, "hb", "gnext", world.now)
    with pytest.raises(Conflict):
        rebuild._claim(world.db, "hb", "gother", world.now)   # one rebuild at a time
    assert store.generations(world.db, "hb") == ["g0", "gnext"]
    for event in world.events[half - 3:]:                       # a few redelivered across the start
        feed.record(world.db, event)
    live_only = world.db[store.COUNTERS].count_documents({"gen": "gnext"})
    assert live_only > 0
    world.db[store.META].update_one({"_id": "hb"}, {"$set": {"next": None}})  # as if it had died
    [result] = rebuild.rebuild(world.db, SYSTEM, "hb", world.now)
    assert snapshot(world.db) == _fed_alone(world)


def _fed_alone(world):
    import mongomock
    db = mongomock.MongoClient(tz_aware=True).db
    for event in world.events:
        feed.record(db, event)
    return snapshot(db)


# -- the three rates of the mixed workload, by hand ---------------------------------------------------

def test_the_three_rates_and_their_counts(world):
    world.feed()
    r = ask(world, "rates")
    # claim/accept limits: quick (claimed in 2 h), slope at grid (whistled up unclaimed), slope at zonghe
    # (returned unaccepted), slope at chengjian (accept limit passed), help at party (passed), help at grid
    # (claimed 4 h after it arrived), theft at grid (passed; the clock whistled it up)
    assert r["response"] == {"rate": round(2 / 7, 4), "responded_in_time": 2, "had_to_respond": 7}
    # fell due: quick and reopened (resolved in time), slope and help (a limit passed first; resolved later),
    # theft (a limit passed; open)
    assert r["resolution"] == {"rate": 0.8, "resolved": 4, "resolved_in_time": 2, "due": 5}
    assert r["satisfaction"] == {"rate": 0.5, "satisfied": 1, "rated": 2}
    # six submitted by residents, one reopened by the community; slope and theft went beyond the grid
    assert r["whistle"] == {"rate": round(2 / 7, 4), "escalated": 2, "submitted": 7}
    assert r["overdue"] == {"total": 4, "claim": 2, "resolve": 0, "dispatch": 1, "accept": 1}
    assert (r["counts"]["withdrawn"], r["counts"]["merged"], r["counts"]["dispatched"], r["counts"]["returned"]) == (
        1, 1, 2, 1)
    assert r["period"] == {"from": "2026-03-01", "to": "2026-03-31", "days": 31}


def test_a_department_sees_what_reached_it(world):
    world.feed()
    mine = ask(world, "rates", auth=DEPARTMENT)
    assert mine["department"] == "chengjian"
    assert mine["response"] == {"rate": 0.0, "responded_in_time": 0, "had_to_respond": 1}
    assert mine["satisfaction"] == {"rate": 0.0, "satisfied": 0, "rated": 1}
    ranked = ask(world, "rankings", by="response")
    assert [(d["id"], d["response"]["had_to_respond"]) for d in ranked["departments"]] == [
        ("chengjian", 1), ("zonghe", 1)]
    assert [c["id"] for c in ranked["communities"]] == ["wenchang"]
    with pytest.raises(Forbidden):
        ask(world, "rates", auth=DEPARTMENT, department="zonghe")


def test_durations_by_level_category_and_department(world):
    world.feed()
    d = ask(world, "durations")
    claim = {row["key"]: row["count"] for row in d["claim"]["by_level"]}
    # quick (grid, 2 h), slope (community, 0 h; department, 34 h), help (grid, from its move at 26 h),
    # reopened (community)
    assert claim == {"grid": 2, "community": 2, "department": 1}
    resolve = {row["key"]: row["count"] for row in d["resolve"]["by_level"]}
    assert resolve == {"grid": 2, "department": 1, "community": 1}
    assert d["resolve"]["all"]["count"] == 4 and d["resolve"]["all"]["p50_hours"] is not None
    assert {row["key"] for row in d["resolve"]["by_department"]} == {None, "chengjian"}
    assert d["bucket_edges_hours"][:3] == [0.25, 0.5, 1.0]


def test_hotspots_with_the_previous_period(world):
    world.feed()
    h = ask(world, "hotspots", **{"from": "2026-03-02", "to": "2026-03-02"})
    assert h["previous_period"] == {"from": "2026-03-01", "to": "2026-03-01", "days": 1}
    top = h["by_building"][0]
    assert (top["category"], top["node"], top["count"], top["previous"], top["change"]) == ("streetlight", "b28", 3, 0, 3)
    assert {(r["category"], r["node"]) for r in h["by_grid"]} == {
        ("streetlight", "wenchang-g1"), ("slope", "wenchang-g1"), ("help_errand", "wenchang-g1"),
        ("security", "wenchang-g1")}
    # the reopened petition (4 March) against the slope it came from (2 March), two days against two
    later = ask(world, "hotspots", **{"from": "2026-03-03", "to": "2026-03-04"})
    assert later["by_building"] == [{"category": "slope", "node": "b29", "count": 1, "previous": 1, "change": 0}]
    assert ask(world, "hotspots", **{"from": "2026-03-05", "to": "2026-03-05"})["by_building"] == []


# -- who may ask, and what --------------------------------------------------------------------------

def test_reach_by_role_and_district(world):
    world.feed()
    assert ask(world, "rates", auth=COMMUNITY)["node"] == "wenchang"
    assert ask(world, "rates", auth=GRID_WORKER, node="b28")["node"] == "b28"
    with pytest.raises(Forbidden):
        ask(world, "rates", auth=GRID_WORKER, node="wenchang")
    with pytest.raises(Forbidden):
        ask(world, "rates", auth=OTHER_COMMUNITY, node="wenchang")
    for nobody in (OWNER, PARTY):
        with pytest.raises(Forbidden):
            ask(world, "rates", auth=nobody)
    with pytest.raises(NotFound):
        queries.rates(world.db, person("x", "district_admin", district="qj"), "hb", {}, world.now)


@pytest.mark.parametrize("query,field", [
    ({"from": "2026-03-10", "to": "2026-03-01"}, "from"),
    ({"from": "2025-01-01", "to": "2026-03-01"}, "from"),
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-01"}, "to"), ({"node": ""}, "node"),
    ({"by": "speed"}, "by"), ({"limit": 0}, "limit"), ({"colour": "red"}, "colour"),
])
def test_a_bad_query_names_its_field(world, query, field):
    with pytest.raises(Invalid) as err:
        queries.rates(world.db, ADMIN, "hb", query, world.now)
    assert field in err.value.errors


def test_the_default_period_is_the_last_thirty_days(world):
    r = queries.rates(world.db, ADMIN, "hb", {}, world.now)
    assert r["period"] == {"from": (world.now.date() - timedelta(days=29)).isoformat(),
                           "to": world.now.date().isoformat(), "days": 30}
    assert world.now.date() > START.date() and isinstance(world.now.date(), date)


def test_another_districts_rebuild_is_404_even_to_a_role_that_could_not_rebuild_anyway(world):
    for auth in (person("qjadmin", "district_admin", scope="qj", district="qj"),
                 person("qjres", "resident", scope="qs-b1", district="qj")):
        with pytest.raises(NotFound):
            rebuild.rebuild(world.db, auth, "hb", world.now)
    with pytest.raises(Forbidden):
        rebuild.rebuild(world.db, OWNER, "hb", world.now)
