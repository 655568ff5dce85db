"""Petitions as the outside world sees them: plain JSON, no storage details."""
from datetime import timezone

from civicgrid.events import isoformat, utcnow

from .deadlines import is_overdue


# stamped on timeline entries for the analytics rebuild (domain.stamp); not for the outside world
_READ_MODEL_KEYS = ("events", "level", "department_id", "settled")


def _time(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return isoformat(moment)


def _follow_up(follow_up):
    if not follow_up:
        return None
    return dict(follow_up, opened_at=_time(follow_up["opened_at"]), recorded_at=_time(follow_up.get("recorded_at")))


def petition_view(doc, now=None, duplicates=None):
    deadline = doc.get("deadline")
    view = {
        "id": doc["_id"],
        "district": doc["district"],
        "kind": doc.get("kind", "issue"),
        "category": doc["category"],
        "title": doc["title"],
        "description": doc["description"],
        "attributes": doc.get("attributes", {}),
        "media": doc.get("media", []),
        "location": doc.get("location"),
        "address": doc.get("address"),
        "building_id": doc["building_id"],
        "resident_id": doc["resident_id"],
        "status": doc["status"],
        "level": doc["level"],
        "department_id": doc.get("department_id"),
        "suggested_department_id": doc.get("suggested_department_id"),
        "handler_id": doc.get("handler_id"),
        "resolved_by": doc.get("resolved_by"),
        "resolution": doc.get("resolution"),
        "resolution_media": doc.get("resolution_media", []),
        "rating": doc.get("rating"),
        "comment": doc.get("comment"),
        "due_at": _time(deadline["due_at"]) if deadline else None,
        "deadline": deadline["kind"] if deadline else None,
        "overdue": is_overdue(doc, now or utcnow()),
        "followers": doc.get("followers", []),
        "merged_into": doc.get("merged_into"),
        "linked_from": doc.get("linked_from"),
        "project_id": doc.get("project_id"),
        "follow_up": _follow_up(doc.get("follow_up")),
        # Only staff read these: an Open311 submitter has no platform account to read with.
        "open311": doc.get("open311"),
        # 代办: filed by a grid worker for a household they visited (proxy_filing.py)
        "filed_by": doc.get("filed_by"),
        "household_id": doc.get("household_id"),
        # what a step told the read model (events, settled time limit) stays inside the service
        "timeline": [{**{k: v for k, v in e.items() if k not in _READ_MODEL_KEYS}, "at": _time(e["at"])}
                     for e in doc["timeline"]],
        "created_at": _time(doc["created_at"]),
        "updated_at": _time(doc["updated_at"]),
    }
    if duplicates is not None:
        view["possible_duplicates"] = [
            {"id": d["_id"], "title": d["title"], "status": d["status"], "created_at": _time(d["created_at"])}
            for d in duplicates]
    return view
