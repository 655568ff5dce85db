"""Time limits that whistle by themselves.

Every open state has one deadline (``petition["deadline"]``: kind, due_at,
fired). Entering a state sets it from the district's limits; when it passes,
``expire`` says what the system does — once, because the timer's write is
conditioned on the petition's version and on ``fired`` being false.
"""
from datetime import timedelta, timezone

from civicgrid.auth import AuthContext, SYSTEM

from . import domain

# hours; a district changes them at PUT /api/v1/districts/<code>/time-limits
DEFAULT_LIMITS = {
    "help_claim_hours": 24,         # party members claim a help request (else it goes to the grid)
    "grid_claim_hours": 24,         # building leader / grid worker claims (else whistled up)
    "grid_resolve_hours": 72,       # the grid (or the party member) resolves (else whistled up)
    "community_dispatch_hours": 24, # the community resolves or dispatches (else district admins hear)
    "department_accept_hours": 24,  # the department accepts (else the community hears)
    "department_resolve_hours": 120,
    "rate_hours": 168,              # unrated resolved petitions close by themselves
}

# (status, level) -> (deadline kind, limit)
DEADLINES = {
    ("submitted", "party"): ("claim", "help_claim_hours"),
    ("in_progress", "party"): ("resolve", "grid_resolve_hours"),
    ("submitted", "grid"): ("claim", "grid_claim_hours"),
    ("in_progress", "grid"): ("resolve", "grid_resolve_hours"),
    ("escalated", "community"): ("dispatch", "community_dispatch_hours"),
    ("in_progress", "community"): ("dispatch", "community_dispatch_hours"),
    ("dispatched", "department"): ("accept", "department_accept_hours"),
    ("in_progress", "department"): ("resolve", "department_resolve_hours"),
}

SYSTEM_ACTOR = AuthContext(user_id="system", roles=(SYSTEM,))


def deadline_for(before, after, limits, now):
    """The deadline of ``after``'s state; a community claiming keeps the clock it was escalated with."""
    if after["status"] == "resolved":
        key = ("rate", "rate_hours")
    else:
        key = DEADLINES.get((after["status"], after["level"]))
    if key is None:
        return None
    previous = before.get("deadline") if before else None
    if previous and previous["kind"] == key[0] and before["level"] == after["level"] == "community":
        return previous
    # ``since``: when this wait began, so time to claim / accept is measured against it
    return {"kind": key[0], "level": after["level"], "since": now, "due_at": now + timedelta(hours=limits[key[1]]),
            "fired": False}


def aware(moment):
    """Stored datetimes come back naive from some drivers: they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def is_overdue(petition, now):
    deadline = petition.get("deadline")
    return bool(deadline) and (deadline["fired"] or aware(deadline["due_at"]) <= now)


def expire(petition, limits, now):
    """What the system does when the petition's deadline passes: ``(after, [(event_type, extra)])``."""
    deadline = petition["deadline"]
    # the overdue event names who was handling it before any escalation clears that
    overdue = ("petition_overdue", {"deadline": deadline["kind"], "overdue_level": petition["level"],
                                    "handler_id": petition.get("handler_id")})
    after = dict(petition, deadline=dict(deadline, fired=True), updated_at=now, version=petition["version"] + 1)
    level = petition["level"]
    if petition["status"] != "resolved" and not petition.get("fell_due"):
        after["fell_due"] = domain.fell_due(petition, now)

    if petition["status"] == "resolved":
        after.update(status="closed", rating=None, deadline=None)
        return _entry(after, "close", "评价超时，系统自动归档", now), [("petition_closed", {})]
    if level in ("party", "grid"):
        # 小事不出网格, unless time runs out: the system whistles it one level up
        after.update(domain.escalation(petition))
        after["deadline"] = deadline_for(petition, after, limits, now)
        note = {("party", "claim"): "党员未在时限内认领，转网格处理",
                ("party", "resolve"): "党员未在时限内办结，转网格处理",
                ("grid", "claim"): "网格未在时限内接单，系统自动上报社区",
                ("grid", "resolve"): "网格未在时限内办结，系统自动上报社区"}[(level, deadline["kind"])]
        return _entry(after, "escalate", note, now), [overdue, ("petition_escalated", {"reason": note})]
    # a waiting community or department: the staff above hear of it (notify), the petition stays
    return _entry(after, "overdue", f"{deadline['kind']} 超时", now), [overdue]


def _entry(after, action, note, now):
    after["timeline"] = list(after["timeline"]) + [domain.timeline_entry(action, "system", SYSTEM, now, note)]
    return after
