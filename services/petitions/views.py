"""Petitions as the outside world sees them: plain JSON, no storage details."""
from datetime import timezone

from civicgrid.events import isoformat


def _time(moment):
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return isoformat(moment)


def petition_view(doc):
    return {
        "id": doc["_id"],
        "district": doc["district"],
        "category": doc["category"],
        "title": doc["title"],
        "description": doc["description"],
        "building_id": doc["building_id"],
        "resident_id": doc["resident_id"],
        "status": doc["status"],
        "level": doc["level"],
        "department_id": doc.get("department_id"),
        "suggested_department_id": doc.get("suggested_department_id"),
        "handler_id": doc.get("handler_id"),
        "resolved_by": doc.get("resolved_by"),
        "resolution": doc.get("resolution"),
        "rating": doc.get("rating"),
        "comment": doc.get("comment"),
        "timeline": [dict(entry, at=_time(entry["at"])) for entry in doc["timeline"]],
        "created_at": _time(doc["created_at"]),
        "updated_at": _time(doc["updated_at"]),
    }
