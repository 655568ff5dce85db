"""Steps from events (the live path) and from a petition's timeline (the rebuild): the same steps either way.

Each timeline entry a step made carries what its events told the read model (``domain.stamp``): the
events' ids and types, the level and department they named, the time limit the step settled. A
petition's constant facts (path, category, submission time, rating, when it fell due) come from the
petition itself. Times are cut to milliseconds, as the events carry them.
"""
from datetime import datetime, timezone

from .definitions import EVENTS, Step


def _moment(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _settled(ref):
    if not ref:
        return None
    return {"kind": ref["kind"], "level": ref["level"], "since": _moment(ref.get("since")),
            "due_at": _moment(ref["due_at"]), "fired": bool(ref["fired"])}


def _fell_due(ref):
    if not ref:
        return None
    return {"at": _moment(ref["at"]), "level": ref["level"], "department_id": ref.get("department_id")}


def _step(type_, settled, level, **fields):
    if type_ == "petition_overdue" and settled:
        # the late level and kind are those of the time limit that passed
        fields.update(level=settled["level"], overdue_kind=settled["kind"])
    else:
        fields["level"] = level
    return Step(type=type_, settled=settled, **fields)


def from_event(event):
    """The step of one petition event, or None for events the read model does not count."""
    if event["type"] not in EVENTS:
        return None
    data = event["data"]
    return _step(event["type"], _settled(data.get("settled")), data["level"],
                 event_id=str(event["event_id"]), at=_moment(event["occurred_at"]), district=event["district"],
                 petition_id=data["petition_id"], path=list(data["path"]), category=data["category"],
                 department_id=data.get("department_id"), actor_role=event["actor"]["role"],
                 submitted_at=_moment(data.get("submitted_at")), community_id=data.get("community_id"),
                 grid_id=data.get("grid_id"), rating=data.get("rating"), fell_due=_fell_due(data.get("fell_due")))


def from_petition(petition):
    """Every counted step of a stored petition, in timeline order."""
    fell_due = _fell_due(petition.get("fell_due"))
    submitted_at = _moment(petition.get("created_at"))
    for entry in petition.get("timeline") or []:
        at = _moment(entry["at"])
        for ref in entry.get("events") or []:
            if ref["type"] not in EVENTS:
                continue
            yield _step(ref["type"], _settled(entry.get("settled")), entry["level"],
                        event_id=ref["event_id"], at=at, district=petition["district"],
                        petition_id=petition["_id"], path=list(petition["path"]), category=petition["category"],
                        department_id=entry.get("department_id"), actor_role=entry["role"],
                        submitted_at=submitted_at, community_id=petition.get("community_id"),
                        grid_id=petition.get("grid_id"),
                        rating=petition.get("rating") if ref["type"] == "petition_closed" else None,
                        fell_due=fell_due if fell_due and fell_due["at"] <= at else None)
