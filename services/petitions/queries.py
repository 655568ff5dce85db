"""Work queues: what a user may see, narrowed by filters, and each role's natural queue."""
from civicgrid.validation import load, schema

from . import domain
from .schemas import FollowUpListSchema, ListSchema

FILTERS = ("status", "level", "category", "building_id")


def my_queue(auth):
    """What waits for me in each of my roles (one call for a phone's work list)."""
    clauses = [{"status": "in_progress", "handler_id": auth.user_id}]
    if auth.has(*domain.PARTY_ROLES) and auth.community:
        clauses.append({"status": "submitted", "level": "party", "path": auth.community})
    if auth.has(*domain.GRID_ROLES) and auth.scope:
        clauses.append({"status": "submitted", "level": "grid", "path": auth.scope})
    if auth.has(*domain.COMMUNITY_ROLES) and auth.scope:
        clauses.append({"status": "escalated", "level": "community", "path": auth.scope})
        clauses.append({"follow_up.status": "open", "path": auth.scope})
    if auth.has(*domain.DEPARTMENT_ROLES) and auth.department:
        clauses.append({"status": "dispatched", "department_id": auth.department})
    if auth.has(*domain.RESIDENT_ROLES):
        clauses.append({"status": "resolved", "resident_id": auth.user_id})
    return {"$or": clauses}


def _overdue(now, wanted):
    overdue = {"$or": [{"deadline.fired": True}, {"deadline.due_at": {"$lte": now}}]}
    if wanted:
        return overdue
    return {"$nor": [{"deadline.fired": True}, {"deadline.due_at": {"$lte": now}}]}


def selector(auth, query, now):
    params = load(schema(ListSchema), query)
    clauses = [domain.visibility_filter(auth)]
    clauses += [{name: params[name]} for name in FILTERS if params[name]]
    if params["node"]:
        clauses.append({"path": params["node"]})
    if params["overdue"] is not None:
        clauses.append(_overdue(now, params["overdue"]))
    created = {}
    if params["created_from"]:
        created["$gte"] = params["created_from"]
    if params["created_to"]:
        created["$lt"] = params["created_to"]
    if created:
        clauses.append({"created_at": created})
    if params["queue"] == "mine":
        clauses.append(my_queue(auth))
    sort = params["sort"] or ("deadline" if params["queue"] or params["overdue"] else "newest")
    return params, {"$and": clauses}, sort


def follow_up_selector(auth, query):
    params = load(schema(FollowUpListSchema), query)
    selector = {"$and": [domain.visibility_filter(auth), {"follow_up": {"$ne": None}}]}
    if params["status"]:
        selector["$and"].append({"follow_up.status": params["status"]})
    return params, selector
