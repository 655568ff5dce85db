"""The dashboard's questions, answered from the counters: a question about a node over D days reads that node's
D day documents of one facet by ``_id`` (for durations and hotspots, one week document per whole ISO week of
the period instead of its seven days; hotspots read the previous period too) and sums them here, so its cost
follows the days asked about and what happened on them under the node, never the number of petitions."""
from collections import defaultdict
from datetime import timedelta

from civicgrid.validation import load

from . import access, definitions, histogram, store
from .schemas import AnalyticsQuery

DEFAULT_DAYS = 30


class Query:
    """A validated question: district, node, department, category and period, within the caller's reach."""

    def __init__(self, db, auth, district, raw, now):
        params = load(AnalyticsQuery(), raw or {})
        reach = access.reach_of(auth, district)
        self.db, self.district, self.params = db, district, params
        self.gen = store.current_generation(db, district)
        self.node, self.department = access.narrow(db, self.gen, district, reach, params)
        self.category = params.get("category")
        self.end = params.get("end") or now.date()
        self.start = params.get("start") or min(self.end, self.end - timedelta(days=DEFAULT_DAYS - 1))
        if params.get("start") and not params.get("end"):
            self.end = max(self.start, min(self.end, self.start + timedelta(days=DEFAULT_DAYS - 1)))

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def period(self, shift=0):
        start, end = self.start - timedelta(days=shift), self.end - timedelta(days=shift)
        return {"from": start.isoformat(), "to": end.isoformat(), "days": self.days}

    def scope(self):
        return {"district": self.district, "node": self.node, "department": self.department,
                "category": self.category, "period": self.period()}

    def spans(self, facet, shift=0):
        """The days and weeks of the period (``shift`` days earlier) in the facet's documents."""
        return store.spans(self.start - timedelta(days=shift), self.end - timedelta(days=shift), facet)

    def docs(self, facet, fields, spans=None):
        """The node's documents of one facet in the period (or ``spans``), with ``fields``."""
        spans = self.spans(facet) if spans is None else spans
        return store.node_docs(self.db, self.gen, self.district, self.node, spans, facet, fields)

    def per_department(self, name):
        """The fields to read of a ``name.<department>`` map: the asked department's only, if one is asked."""
        return [f"{name}.{store.key(self.department)}"] if self.department else [name]

    def wants(self, department, category, by_category=True):
        return (not self.department or department == self.department) and (
            not (self.category and by_category) or category == self.category)


def _summed(docs, *names):
    """The documents' maps summed key by key before anything is decoded (the same keys come back day after
    day): {name: {field: n}} for a flat map, {name: {(department key, field): n}} for ``name.<department>``."""
    sums = {name: defaultdict(int) for name in names}
    for doc in docs:
        for name in names:
            into = sums[name]
            for field, value in (doc.get(name) or {}).items():
                if isinstance(value, dict):
                    for inner, n in value.items():
                        into[(field, inner)] += n
                else:
                    into[field] += value
    return sums


def _cells(q, summed, by_category=True):
    """(department, the other parts of the key, n) of a summed ``name.<department>`` map, within the filters
    (``by_category``: the key's first part is a category the category filter applies to)."""
    for (dkey, field), n in summed.items():
        department, parts = store.unkey(dkey), store.split(field)
        if q.wants(department, parts[0], by_category=by_category):
            yield department, parts, n


def totals(q):
    total = defaultdict(int)
    if not q.department and not q.category:
        total.update(_summed(q.docs("c", ["c"]), "c")["c"])
    elif not q.category:
        for _department, (counter,), n in _cells(q, _summed(q.docs("c", q.per_department("d")), "d")["d"],
                                                  by_category=False):
            total[counter] += n
    else:
        for _department, (_category, counter), n in _cells(q, _summed(q.docs("c", q.per_department("x")), "x")["x"]):
            total[counter] += n
    return total


def rates(db, auth, district, raw, now):
    q = Query(db, auth, district, raw, now)
    c = totals(q)
    return {**q.scope(), **definitions.three_rates(c), "whistle": definitions.whistles(c),
            "overdue": definitions.overdue(c), "counts": {k: c.get(k, 0) for k in definitions.COUNTERS}}


def whistles(db, auth, district, raw, now):
    q = Query(db, auth, district, raw, now)
    return {**q.scope(), "whistle": definitions.whistles(totals(q))}


def overdue(db, auth, district, raw, now):
    q = Query(db, auth, district, raw, now)
    return {**q.scope(), "overdue": definitions.overdue(totals(q))}


def durations(db, auth, district, raw, now):
    q = Query(db, auth, district, raw, now)
    groups = {m: {"all": defaultdict(int), "level": defaultdict(lambda: defaultdict(int)),
                  "category": defaultdict(lambda: defaultdict(int)),
                  "department": defaultdict(lambda: defaultdict(int))} for m in definitions.MEASURES}
    for department, (category, measure, level, bucket), n in _cells(
            q, _summed(q.docs("h", q.per_department("h")), "h")["h"]):
        g = groups[measure]
        for counts in (g["all"], g["level"][level], g["category"][category], g["department"][department]):
            counts[int(bucket)] += n

    def rows(by):
        return sorted(({"key": key, **histogram.summary(counts)} for key, counts in by.items()),
                      key=lambda r: (-r["count"], r["key"] or ""))

    answer = {**q.scope(), "bucket_edges_hours": list(histogram.EDGES)}
    for measure, g in groups.items():
        answer[measure] = {"all": {"key": None, **histogram.summary(g["all"])}, "by_level": rows(g["level"]),
                           "by_category": rows(g["category"]), "by_department": rows(g["department"])}
    return answer


def _submitted(q, summed):
    """Submissions per (category, building) and per (category, grid) from a summed ``b`` map, within the filters."""
    buildings, grids = defaultdict(int), defaultdict(int)
    for field, n in summed.items():
        building, grid, department, category = store.split(field)
        if n and q.wants(department, category):
            buildings[(category, building)] += n
            if grid is not None:
                grids[(category, grid)] += n
    return buildings, grids


def _hot(now_, before, limit):
    """The top rows: (category, building or grid) by petitions submitted in the period."""
    rows = [{"category": cat, "node": node, "count": n, "previous": before.get((cat, node), 0),
             "change": n - before.get((cat, node), 0)} for (cat, node), n in now_.items()]
    rows.sort(key=lambda r: (-r["count"], -r["change"], r["category"], r["node"]))
    return rows[:limit]


def hotspots(db, auth, district, raw, now):
    """Category × building and category × grid: petitions submitted, against the previous period of the same
    length."""
    q = Query(db, auth, district, raw, now)
    now_spans, before_spans = q.spans("s"), q.spans("s", shift=q.days)
    docs, now_spans = list(q.docs("s", ["b"], spans=now_spans + before_spans)), set(now_spans)
    buildings, grids = _submitted(q, _summed((d for d in docs if d["day"] in now_spans), "b")["b"])
    buildings_before, grids_before = _submitted(q, _summed((d for d in docs if d["day"] not in now_spans), "b")["b"])
    limit = q.params["limit"]
    return {**q.scope(), "previous_period": q.period(shift=q.days),
            "by_building": _hot(buildings, buildings_before, limit), "by_grid": _hot(grids, grids_before, limit)}


def _ranked(groups, by):
    rows = []
    for key, c in groups.items():
        rows.append({"id": key, **definitions.three_rates(c), "overdue": c.get("overdue", 0)})
    denominator = {"response": "had_to_respond", "resolution": "due", "satisfaction": "rated"}[by]
    rows.sort(key=lambda r: (r[by]["rate"] is None, -(r[by]["rate"] or 0), -r[by][denominator], r["id"] or ""))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def rankings(db, auth, district, raw, now):
    """Communities under the node, and departments, ranked by one of the three rates (best first; none last)."""
    q = Query(db, auth, district, raw, now)
    communities, departments = defaultdict(lambda: defaultdict(int)), defaultdict(lambda: defaultdict(int))
    if not q.department and not q.category:
        sums = _summed(q.docs("c", ["kc", "d"]), "kc", "d")
        for field, n in sums["kc"].items():
            community, counter = store.split(field)
            _count(communities[community], counter, n)
        by_department = ((department, counter, n) for department, (counter,), n in
                         _cells(q, sums["d"], by_category=False))
    else:
        per_department = "x" if q.category else "d"
        sums = _summed(q.docs("c", q.per_department("k") + q.per_department(per_department)), "k", per_department)
        for _department, (community, category, counter), n in _cells(q, sums["k"], by_category=False):
            if not q.category or category == q.category:
                _count(communities[community], counter, n)
        by_department = ((department, parts[-1], n) for department, parts, n in
                         _cells(q, sums[per_department], by_category=bool(q.category)))
    for department, counter, n in by_department:
        if department is not None:
            departments[department][counter] += n
    by = q.params["by"]
    return {**q.scope(), "by": by, "communities": _ranked(communities, by), "departments": _ranked(departments, by)}


def _count(counts, counter, n):
    if counter != store.ANYTHING:    # the community had something counted: ranked, even with no rate
        counts[counter] += n
