"""Micro-projects as the outside world sees them: plain JSON, no storage details."""
from datetime import timezone

from civicgrid.events import isoformat

from .projects import yuan_text


def _time(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return isoformat(moment)


def _jsonable(value):
    """Origin and resolution hold datetimes (a hotspot's period, when it ran)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tzinfo") and hasattr(value, "isoformat"):
        return _time(value)
    return value


def linked_petition(petition):
    return {"id": petition["_id"], "title": petition["title"], "category": petition["category"],
            "building_id": petition["building_id"], "status": petition["status"], "level": petition["level"]}


def project_view(doc, petitions=None, supported_by_me=None):
    """``petitions``: the linked petitions the caller may see (single-project answers only)."""
    view = {
        "id": doc["_id"], "district": doc["district"], "community": doc["community"],
        "title": doc["title"], "description": doc["description"], "status": doc["status"],
        "budget": yuan_text(doc.get("budget_fen")), "budget_fen": doc.get("budget_fen"),
        "sponsor": doc.get("sponsor"), "sponsor_department_id": doc.get("sponsor_department_id"),
        "buildings": list(doc["buildings"]), "petition_ids": list(doc["petition_ids"]),
        "petition_count": len(doc["petition_ids"]),
        "supporters": doc.get("supporters", 0), "comment_count": doc.get("comments", 0),
        "origin": _jsonable(doc.get("origin") or {}), "resolution": _jsonable(doc.get("resolution")),
        "created_by": doc["created_by"],
        "timeline": [dict(entry, at=_time(entry["at"])) for entry in doc["timeline"]],
        **{key: _time(doc.get(key)) for key in ("created_at", "updated_at", "approved_at", "started_at", "done_at",
                                                "cancelled_at")},
    }
    if petitions is not None:
        view["petitions"] = [linked_petition(p) for p in petitions]
    if supported_by_me is not None:
        view["supported_by_me"] = supported_by_me
    return view


def comment_view(doc):
    return {"id": doc["_id"], "project_id": doc["project_id"], "author_id": doc["author_id"],
            "author_name": doc.get("author_name"), "role": doc["role"], "text": doc["text"], "at": _time(doc["at"])}
