"""What each step of a petition adds to the read model: the three rates' exact definitions, in one place.

A *step* is one petition event (``steps.from_event``) or, when rebuilding, the same event read back
from the petition's timeline (``steps.from_petition``); both give identical steps, so both give
identical counters. ``contributions(step)`` says which counters and duration buckets the step adds
to, on which day and for which department; the store adds them to every node on the petition's path.

Days are UTC calendar days (the kit keeps no district timezone: notify's is its own setting).

- **Response** (响应率 = ``responded_in_time / had_to_respond``). Every claim time limit (a help request
  offered to party members, a grid petition) and every accept time limit (a dispatch to a department)
  is one obligation. It counts in ``had_to_respond`` once, on the day it is settled: claimed or accepted,
  whistled up or returned by a person, or its time limit passed (``petition_overdue``). It counts in
  ``responded_in_time`` when it was claimed or accepted at or before its due time. Obligations ended by
  a withdrawal or a merge count nowhere. A community's wait (resolve or dispatch) is not a response
  obligation: it counts towards resolution.
- **Resolution** (解决率 = ``resolved / due``). A petition falls due once, on the day of the first of:
  it is resolved, or any of its time limits passes unmet. ``resolved`` counts, on that same day, the
  petitions that fell due then and have been resolved since (at any time); ``resolved_in_time`` those
  resolved before any time limit of theirs passed. Withdrawn or merged before falling due: never due.
- **Satisfaction** (满意率 = ``satisfied / rated``): ratings given that day; ``satisfied`` = 4 or 5 stars.
  Petitions closed unrated count in neither.
- **Whistle rate** (``escalated / submitted``): petitions submitted that day, and of those the ones
  whistled beyond the grid (to the community) since, by anyone or by the clock.
- **Overdue**: ``petition_overdue`` events that day, also by deadline kind (``overdue_claim`` …).
- **Durations**: time to claim = from the start of the wait (the petition reached the level) to the
  claim or accept, by the level that claimed; time to resolve = from submission to resolution, by the
  level that resolved. Both in hours, bucketed (``histogram.EDGES``), on the day of the claim / resolve.
- **Department**: a figure belongs to the department the petition was with at that step (the one that
  returned it, for a return; none before a dispatch), so a department's figures are those of the
  petitions that reached it.
"""
from dataclasses import dataclass, field
from datetime import datetime

from . import histogram

RESPONSE_KINDS = ("claim", "accept")
RESPONSE_STEPS = ("petition_claimed", "petition_accepted", "petition_escalated", "petition_returned")
DEADLINE_KINDS = ("claim", "resolve", "dispatch", "accept")
COUNTERS = ("submitted", "escalated", "had_to_respond", "responded_in_time", "due", "resolved", "resolved_in_time",
            "rated", "satisfied", "overdue", *(f"overdue_{k}" for k in DEADLINE_KINDS),
            "dispatched", "returned", "withdrawn", "merged")
MEASURES = ("claim", "resolve")
# what a ranking row shows (``three_rates`` and the overdue count)
RANKED = ("responded_in_time", "had_to_respond", "resolved", "resolved_in_time", "due", "satisfied", "rated",
          "overdue")
EVENTS = ("petition_submitted", "petition_claimed", "petition_escalated", "petition_dispatched",
          "petition_accepted", "petition_returned", "petition_resolved", "petition_closed",
          "petition_withdrawn", "petition_overdue", "petition_merged")
SATISFIED = 4


@dataclass
class Step:
    event_id: str
    type: str
    at: datetime
    district: str
    petition_id: str
    path: list
    category: str
    level: str                      # the level after the step (the late level, for an overdue: ``overdue_level``)
    department_id: str | None       # the department it was with (the returning one, for a return)
    actor_role: str
    submitted_at: datetime | None
    community_id: str | None = None
    grid_id: str | None = None
    rating: int | None = None
    settled: dict | None = None     # {kind, level, since, due_at, fired}: the time limit before the step
    fell_due: dict | None = None    # {at, level, department_id}
    overdue_kind: str | None = None


@dataclass
class Contribution:
    day: str
    department: str | None
    counters: dict = field(default_factory=dict)
    durations: dict = field(default_factory=dict)   # "claim.grid.3" -> n


def day_of(moment):
    return moment.date().isoformat()


def hours_between(start, end):
    return (end - start).total_seconds() / 3600.0


class _Collector:
    def __init__(self):
        self.by_key = {}

    def add(self, moment, department, counter=None, duration=None):
        key = (day_of(moment), department)
        entry = self.by_key.setdefault(key, Contribution(*key))
        if counter:
            entry.counters[counter] = entry.counters.get(counter, 0) + 1
        if duration:
            entry.durations[duration] = entry.durations.get(duration, 0) + 1

    def result(self):
        return list(self.by_key.values())


def _response(step, out):
    settled = step.settled
    if not settled or settled["kind"] not in RESPONSE_KINDS:
        return
    department = step.department_id if settled["kind"] == "accept" else None
    if step.type == "petition_overdue":
        out.add(step.at, department, "had_to_respond")
        return
    # the clock's own whistle comes with its overdue event, which already counted the obligation
    if step.type not in RESPONSE_STEPS or step.actor_role == "system" or settled["fired"]:
        return
    out.add(step.at, department, "had_to_respond")
    if step.type in ("petition_claimed", "petition_accepted") and step.at <= settled["due_at"]:
        out.add(step.at, department, "responded_in_time")


def _resolution(step, out):
    fell = step.fell_due
    if not fell:
        return
    first_now = fell["at"] == step.at
    if step.type == "petition_overdue" and first_now:
        out.add(step.at, fell["department_id"], "due")
    elif step.type == "petition_resolved":
        # a time limit that passed a moment ago, before the clock's scan noticed, still makes it late
        late = bool(step.settled) and step.at > step.settled["due_at"]
        if first_now:
            out.add(step.at, fell["department_id"], "due")
        if first_now and not late:
            out.add(step.at, fell["department_id"], "resolved_in_time")
        out.add(fell["at"], fell["department_id"], "resolved")


def _durations(step, out):
    if step.type in ("petition_claimed", "petition_accepted") and step.settled and step.settled.get("since"):
        hours = hours_between(step.settled["since"], step.at)
        level = step.settled["level"]
        out.add(step.at, step.department_id, duration=f"claim.{level}.{histogram.bucket_of(hours)}")
    if step.type == "petition_resolved" and step.submitted_at:
        hours = hours_between(step.submitted_at, step.at)
        out.add(step.at, step.department_id, duration=f"resolve.{step.level}.{histogram.bucket_of(hours)}")


def contributions(step):
    """Every (day, department) the step adds to, with the counters and duration buckets it adds."""
    out = _Collector()
    if step.type == "petition_submitted":
        out.add(step.submitted_at or step.at, None, "submitted")
    elif step.type == "petition_escalated" and step.level == "community":
        out.add(step.submitted_at or step.at, None, "escalated")
    elif step.type == "petition_closed" and step.rating is not None:
        out.add(step.at, step.department_id, "rated")
        if step.rating >= SATISFIED:
            out.add(step.at, step.department_id, "satisfied")
    elif step.type == "petition_overdue":
        out.add(step.at, step.department_id, "overdue")
        out.add(step.at, step.department_id, f"overdue_{step.overdue_kind}")
    elif step.type in ("petition_dispatched", "petition_returned"):
        out.add(step.at, step.department_id, step.type.removeprefix("petition_"))
    elif step.type in ("petition_withdrawn", "petition_merged"):
        out.add(step.at, None, step.type.removeprefix("petition_"))
    _response(step, out)
    _resolution(step, out)
    _durations(step, out)
    return out.result()


def rate(numerator, denominator):
    return round(numerator / denominator, 4) if denominator else None


def three_rates(c):
    """The rates, with the counts behind each, from summed counters ``c``."""
    g = lambda k: c.get(k, 0)  # noqa: E731
    return {
        "response": {"rate": rate(g("responded_in_time"), g("had_to_respond")),
                     "responded_in_time": g("responded_in_time"), "had_to_respond": g("had_to_respond")},
        "resolution": {"rate": rate(g("resolved"), g("due")), "resolved": g("resolved"),
                       "resolved_in_time": g("resolved_in_time"), "due": g("due")},
        "satisfaction": {"rate": rate(g("satisfied"), g("rated")), "satisfied": g("satisfied"), "rated": g("rated")},
    }


def whistles(c):
    return {"rate": rate(c.get("escalated", 0), c.get("submitted", 0)), "escalated": c.get("escalated", 0),
            "submitted": c.get("submitted", 0)}


def overdue(c):
    return {"total": c.get("overdue", 0), **{k: c.get(f"overdue_{k}", 0) for k in DEADLINE_KINDS}}
