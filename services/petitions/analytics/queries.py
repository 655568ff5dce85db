"""The dashboard's questions, answered from the counters: the cost grows with days × nodes × departments ×
categories in the answer, never with the number of petitions."""
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

    def docs(self, selector, shift_back=0):
        """Counter documents of the period (and ``shift_back`` days before it) matching ``selector``."""
        selector = dict(selector)
        if self.department:
            selector["department"] = self.department
        if self.category:
            selector["category"] = self.category
        first = (self.start - timedelta(days=shift_back)).isoformat()
        return store.counter_docs(self.db, self.gen, self.district, selector, (first, self.end.isoformat()))


def _sum(docs):
    total = defaultdict(int)
    for doc in docs:
        for key, value in (doc.get("c") or {}).items():
            total[key] += value
    return total


def totals(q):
    return _sum(q.docs({"node": q.node}))


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
    for doc in q.docs({"node": q.node}):
        for measure, levels in (doc.get("h") or {}).items():
            for level, buckets in levels.items():
                for bucket, n in buckets.items():
                    g = groups[measure]
                    for counts in (g["all"], g["level"][level], g["category"][doc["category"]],
                                   g["department"][doc["department"]]):
                        counts[int(bucket)] += n

    def rows(by):
        return sorted(({"key": key, **histogram.summary(counts)} for key, counts in by.items()),
                      key=lambda r: (-r["count"], r["key"] or ""))

    answer = {**q.scope(), "bucket_edges_hours": list(histogram.EDGES)}
    for measure, g in groups.items():
        answer[measure] = {"all": {"key": None, **histogram.summary(g["all"])}, "by_level": rows(g["level"]),
                           "by_category": rows(g["category"]), "by_department": rows(g["department"])}
    return answer


def _hot(q, kind, limit):
    now_, before = defaultdict(int), defaultdict(int)
    first_day = q.start.isoformat()
    for doc in q.docs({"kind": kind, "up": q.node}, shift_back=q.days):
        n = (doc.get("c") or {}).get("submitted", 0)
        if n:
            (now_ if doc["day"] >= first_day else before)[(doc["category"], doc["node"])] += n
    rows = [{"category": cat, "node": node, "count": n, "previous": before.get((cat, node), 0),
             "change": n - before.get((cat, node), 0)} for (cat, node), n in now_.items()]
    rows.sort(key=lambda r: (-r["count"], -r["change"], r["category"], r["node"]))
    return rows[:limit]


def hotspots(db, auth, district, raw, now):
    """Category × building and category × grid: petitions submitted, against the previous period of the same
    length."""
    q = Query(db, auth, district, raw, now)
    limit = q.params["limit"]
    return {**q.scope(), "previous_period": q.period(shift=q.days),
            "by_building": _hot(q, "building", limit), "by_grid": _hot(q, "grid", limit)}


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
    for doc in q.docs({"kind": "community", "up": q.node}):
        for k, v in (doc.get("c") or {}).items():
            communities[doc["node"]][k] += v
    for doc in q.docs({"node": q.node, "department": {"$ne": None}}):
        for k, v in (doc.get("c") or {}).items():
            departments[doc["department"]][k] += v
    by = q.params["by"]
    return {**q.scope(), "by": by, "communities": _ranked(communities, by), "departments": _ranked(departments, by)}
