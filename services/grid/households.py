"""Households, their care level (红橙绿) and the visits grid workers pay them (入户走访).

A household is a document of its own that names its building (``building_id``) and copies
the building's materialised path, not a node under it: nodes are the hierarchy people are
scoped to, and a household is nobody's scope; it carries members, a level with its history
and its visits, and a building holds dozens of them. The copied path lets "the households
in my grid" be one indexed query, as for petitions. Buildings never move (the import
refuses it), so the copy cannot go stale.

Who may do what, checked here for every caller:

- see households and their visits: building leaders (their building), grid workers and
  grid leaders (their grid), community staff (their community), the district's
  administrator, the platform; anyone else of the district is refused the list (403);
- one household, its level or its visits: first whether the caller may see it, then what
  they may do with it. Another district's household does not exist for them (404), nor one
  outside their area, nor any household for those who see none (a resident, a department's
  clerk): a family's troubles are not for them to learn of, not even that it is registered;
- change a level: grid workers, grid leaders, community staff, the district's administrator
  (a building leader reports, the community decides: 403);
- log a visit: whoever may see the household, the platform's administrator excepted (a
  visit is paid by a person of the district).

A household's next visit is due its level's interval after its baseline: its latest visit,
or the day it was registered while it has none. Raising a level does not reset it, so a
green household found in crisis and made red is overdue at once if nobody called lately.
"""
import itertools
import uuid

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import isoformat, make_event
from civicgrid.validation import load

from . import care_levels
from .care_levels import LEVELS
from .care_schemas import (CareLevelIn, CareSettingsIn, CareSettingsOut, HouseholdDetailOut, HouseholdOut,
                           HouseholdQuery, VisitEntryOut, VisitIn, VisitOut, VisitQuery)

VIEWERS = ("building_leader", "grid_worker", "grid_leader", "community_staff", "district_admin")
LEVEL_SETTERS = ("grid_worker", "grid_leader", "community_staff", "district_admin")
# who hears of overdue visits in the morning digest: the grid's workers and the community's staff
DIGEST_ROLES = ("grid_worker", "grid_leader", "community_staff")
DIGEST_ITEMS = 5
RECENT_VISITS = 5
LIST_FIELDS = {"visits": 0, "care_history": 0, "outbox": 0}


def _text(value, name):
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string", {name: ["must be a string"]})
    return value


def _scope(auth, district, roles, person=False, hidden=False):
    """The filter of what ``auth`` may reach in ``district`` acting in one of ``roles``.

    Another district is 404 before any role is asked. ``hidden``: one household is asked for, and
    for someone of none of ``roles`` it does not exist (404) rather than being refused (403)."""
    auth.require()
    _text(district, "district")
    if auth.is_system or auth.is_platform_admin:
        if person:
            raise Forbidden("a visit or a care level is recorded by a person of the district")
        return {"district": district}
    if auth.district != district:
        raise NotFound(f"no district {district!r}", {"district": ["not found"]})
    if not auth.has(*roles):
        if hidden:
            raise NotFound("no such household in your area", {"household_id": ["not found"]})
        raise Forbidden(f"requires one of the roles: {', '.join(roles)}")
    if auth.has("district_admin"):
        return {"district": district}
    if not auth.scope:
        raise Forbidden("you have no area of your own")
    return {"district": district, "path": auth.scope}


def _acting_role(auth, roles):
    return next((r for r in auth.roles if r in roles), auth.roles[0] if auth.roles else "anonymous")


def _actor(auth, roles):
    return {"id": auth.user_id, "name": auth.name, "role": _acting_role(auth, roles)}


def _find(db, selector, household_id, projection=None):
    found = db.households.find_one({**selector, "id": _text(household_id, "household_id")}, projection)
    if found is None:
        raise NotFound(f"no household {household_id!r} in your area", {"household_id": ["not found"]})
    return found


# -- settings ------------------------------------------------------------------------

def settings_of(db, district):
    stored = db.care_settings.find_one({"_id": district}) or {}
    return {**care_levels.DEFAULT_INTERVALS, **{k: stored[k] for k in care_levels.SETTINGS if k in stored}}


def _existing_district(db, auth, district):
    auth.require()
    _text(district, "district")
    if not (auth.is_system or auth.is_platform_admin) and auth.district != district:
        raise NotFound(f"no district {district!r}", {"district": ["not found"]})
    if not db.districts.count_documents({"code": district}, limit=1):
        raise NotFound(f"no district {district!r}", {"district": ["not found"]})


def get_care_settings(db, auth, district):
    """Days between visits per level; anyone of the district may read them."""
    _existing_district(db, auth, district)
    return CareSettingsOut().dump(settings_of(db, district))


def set_care_settings(db, auth, district, changes, now):
    """Change some intervals (the district's administrator, the platform); due days follow at once."""
    _existing_district(db, auth, district)
    if not (auth.is_platform_admin or auth.has("district_admin")):
        raise Forbidden("only the district's administrator or the platform sets visit intervals")
    fields = load(CareSettingsIn(), changes)
    merged = {**settings_of(db, district), **fields}
    problems = care_levels.ordering_problems(merged)
    if problems:
        raise Invalid(f"invalid visit intervals: {', '.join(sorted(problems))}",
                      {k: [v] for k, v in problems.items()})
    if fields:
        db.care_settings.update_one({"_id": district}, {"$set": {**fields, "district": district,
                                                                 "updated_by": auth.user_id, "updated_at": now}},
                                    upsert=True)
    return CareSettingsOut().dump(merged)


# -- views -----------------------------------------------------------------------------

def _names(db, district, building_ids):
    return {n["id"]: n.get("name") for n in db.nodes.find(
        {"district": district, "id": {"$in": sorted(set(building_ids))}}, {"id": 1, "name": 1})}


def _summary(doc, settings, on, names):
    level = doc["care_level"]
    due = care_levels.next_due(doc["visit_baseline"], level, settings)
    return {
        "id": doc["id"], "district": doc["district"], "building_id": doc["building_id"],
        "building_name": names.get(doc["building_id"]), "path": doc["path"], "name": doc["name"],
        "address": doc.get("address", ""), "members": doc.get("members", []),
        "care_level": level, "care_reason": doc.get("care_reason"), "care_since": isoformat(doc["care_since"]),
        "last_visit_on": doc.get("last_visit_on"), "visit_count": doc.get("visit_count", 0),
        "visit_interval_days": settings[f"{level}_days"], "next_visit_due": due.isoformat(),
        "visit_overdue": care_levels.is_overdue(due, on), "overdue_days": care_levels.overdue_days(due, on),
    }


def _visit(entry, household_id):
    return {"id": entry["id"], "household_id": household_id, "visited_on": entry["visited_on"],
            "notes": entry.get("notes", ""), "needs_found": entry.get("needs_found", []),
            "petition_id": entry.get("petition_id"), "wish_id": entry.get("wish_id"),
            "visitor": entry["visitor"], "recorded_at": isoformat(entry["recorded_at"])}


def _newest_first(visits):
    return sorted(visits, key=lambda v: (v["visited_on"], v["recorded_at"]), reverse=True)


def _detail(db, doc, now):
    settings = settings_of(db, doc["district"])
    view = _summary(doc, settings, care_levels.today(now), _names(db, doc["district"], [doc["building_id"]]))
    view["care_history"] = [dict(c, at=isoformat(c["at"])) for c in doc.get("care_history", [])]
    view["recent_visits"] = [_visit(v, doc["id"]) for v in _newest_first(doc.get("visits", []))[:RECENT_VISITS]]
    return HouseholdDetailOut().dump(view)


# -- reading ---------------------------------------------------------------------------

def list_households(db, auth, district, query, now):
    """What I may see, filtered; ``queue=mine`` (and the default order) puts the overdue first."""
    selector = _scope(auth, district, VIEWERS)
    params = load(HouseholdQuery(), query)
    clauses = [selector]
    if params["building_id"]:
        clauses.append({"building_id": params["building_id"]})
    if params["node"]:
        clauses.append({"path": params["node"]})
    settings = settings_of(db, district)
    on = care_levels.today(now)
    levels = [params["care_level"]] if params["care_level"] else list(LEVELS)

    def of_level(level, overdue=None):
        query_ = {"$and": clauses + [{"care_level": level}]}
        cut = care_levels.latest_baseline(level, settings, on)
        if overdue is True:
            query_["$and"].append({"visit_baseline": {"$lt": cut}})
        elif overdue is False:
            query_["$and"].append({"visit_baseline": {"$gte": cut}})
        return query_

    wanted = params["overdue"]
    total = sum(db.households.count_documents(of_level(level, wanted)) for level in levels)
    overdue = 0 if wanted is False else sum(db.households.count_documents(of_level(level, True)) for level in levels)
    start = (params["page"] - 1) * params["page_size"]
    end = start + params["page_size"]
    if params["sort"] == "building":
        query_ = {"$or": [of_level(level, wanted) for level in levels]}
        docs = list(db.households.find(query_, LIST_FIELDS).sort([("building_id", 1), ("address", 1), ("id", 1)])
                    .skip(start).limit(params["page_size"]))
    else:
        streams = {level: db.households.find(of_level(level, wanted), LIST_FIELDS)
                   .sort([("visit_baseline", 1), ("id", 1)]).limit(end) for level in levels}
        docs = list(itertools.islice(care_levels.by_due(streams, settings), start, end))
    names = _names(db, district, [d["building_id"] for d in docs])
    items = [_summary(d, settings, on, names) for d in docs]
    return {"items": HouseholdOut(many=True).dump(items), "total": total, "overdue": overdue,
            "page": params["page"], "page_size": params["page_size"]}


def get_household(db, auth, district, household_id, now):
    """One household with its level's history and its latest visits."""
    return _detail(db, _find(db, _scope(auth, district, VIEWERS, hidden=True), household_id), now)


def list_visits(db, auth, district, household_id, query):
    """Every visit to a household, the latest first."""
    selector = _scope(auth, district, VIEWERS, hidden=True)
    doc = _find(db, selector, household_id, {"visits": 1, "id": 1})
    params = load(VisitQuery(), query)
    visits = _newest_first(doc.get("visits", []))
    start = (params["page"] - 1) * params["page_size"]
    page = visits[start:start + params["page_size"]]
    return {"items": VisitEntryOut(many=True).dump([_visit(v, doc["id"]) for v in page]),
            "total": len(visits), "page": params["page"], "page_size": params["page_size"]}


# -- commands ----------------------------------------------------------------------------

def _event_data(doc, before, after):
    # the reason stays in the grid: it is about a family's troubles, and the bus reaches every service
    return {"household_id": doc["id"], "building_id": doc["building_id"], "path": doc["path"],
            "from_level": before, "to_level": after}


def set_care_level(db, auth, district, household_id, change, now):
    """Set a household's level with the reason for it; kept in its history. Same level and reason: nothing to do.

    The write is conditioned on the level and reason it replaces, so two people changing it at
    once cannot lose one change without anyone knowing (the second gets ``Conflict``).
    """
    doc = _find(db, _scope(auth, district, VIEWERS, hidden=True), household_id)
    _scope(auth, district, LEVEL_SETTERS, person=True)
    fields = load(CareLevelIn(), change)
    before, level, reason = doc["care_level"], fields["level"], fields["reason"].strip()
    if before == level and doc.get("care_reason") == reason:
        return _detail(db, doc, now)
    entry = {"at": now, "by": _actor(auth, LEVEL_SETTERS), "from_level": before, "to_level": level,
             "reason": reason, "source": "change"}
    updates = {"care_level": level, "care_reason": reason, "updated_at": now}
    pushes = {"care_history": entry}
    if level != before:
        updates["care_since"] = now
        pushes["outbox"] = make_event("care_level_changed", district, auth.as_actor(_acting_role(auth, LEVEL_SETTERS)),
                                      _event_data(doc, before, level), occurred_at=now)
    result = db.households.update_one({"_id": doc["_id"], "care_level": before, "care_reason": doc.get("care_reason")},
                                      {"$set": updates, "$push": pushes})
    if not result.matched_count:
        raise Conflict("the household's care level was changed meanwhile: look again and retry",
                       {"level": ["changed meanwhile"]})
    return _detail(db, db.households.find_one({"_id": doc["_id"]}), now)


def record_visit(db, auth, district, household_id, visit, now, file_petition=None):
    """Log a visit; with ``petition``, file it for the household first (代办) through ``file_petition``.

    ``file_petition(body)`` is the petitions service's ``submit_for_household``: it checks
    the petition itself, so a bad one is refused naming ``petition.<field>`` and nothing is
    written here. The visit is written after the petition stands: a crash in between leaves
    a petition filed for the household without its visit, which the worker sees in the
    household's petitions and logs again (with the same Idempotency-Key the petition is not
    filed twice).
    """
    doc = _find(db, _scope(auth, district, VIEWERS, hidden=True), household_id)
    _scope(auth, district, VIEWERS, person=True)
    fields = load(VisitIn(), visit)
    on = care_levels.today(now)
    if fields["visited_on"] > on:
        raise Invalid("a visit cannot be dated in the future",
                      {"visited_on": [f"must not be after today ({on.isoformat()})"]})
    petition_id = None
    if fields["petition"] is not None:
        petition_id = _file(doc, fields["petition"], file_petition)
    day = fields["visited_on"].isoformat()
    entry = {"id": "v-" + uuid.uuid4().hex[:16], "visited_on": day, "notes": fields["notes"].strip(),
             "needs_found": [n.strip() for n in fields["needs_found"]], "petition_id": petition_id,
             "wish_id": fields["wish_id"], "visitor": _actor(auth, VIEWERS), "recorded_at": now}
    _append_visit(db, doc, entry, now)
    stored = db.households.find_one({"_id": doc["_id"]}, LIST_FIELDS)
    settings = settings_of(db, district)
    view = _visit(entry, doc["id"])
    view["household"] = _summary(stored, settings, on, _names(db, district, [doc["building_id"]]))
    return VisitOut().dump(view)


def _append_visit(db, doc, entry, now, attempts=5):
    """Add the visit and move the baseline to the latest visit day (the first visit replaces the
    registration day, even an earlier one: a visit logged late from a paper record counts).

    Conditioned on the number of visits read, so two visits logged at once both count."""
    day = entry["visited_on"]
    for _ in range(attempts):
        current = db.households.find_one({"_id": doc["_id"]}, {"visit_count": 1, "last_visit_on": 1})
        count = current.get("visit_count", 0)
        latest = day if not count else max(current.get("last_visit_on") or day, day)
        result = db.households.update_one({"_id": doc["_id"], "visit_count": count}, {
            "$push": {"visits": entry}, "$inc": {"visit_count": 1},
            "$set": {"visit_baseline": latest, "last_visit_on": latest, "updated_at": now}})
        if result.matched_count:
            return
    raise Conflict("the household is being updated by others right now: try again", {"household_id": ["busy"]})


def _file(doc, petition, file_petition):
    accounts = [m["user_id"] for m in doc.get("members", []) if m.get("user_id")]
    resident = petition["resident_id"]
    if resident is not None and resident not in accounts:
        allowed = ", ".join(accounts) or "none: leave it out and you follow the petition yourself"
        raise Invalid("the petition's resident is not a member of this household",
                      {"petition.resident_id": [f"not a member of this household with an account; members: {allowed}"]})
    if file_petition is None:
        raise Invalid("petitions cannot be filed from here", {"petition": ["not available"]})
    body = {"category": petition["category"], "title": petition["title"], "description": petition["description"],
            "attributes": petition["attributes"], "building_id": doc["building_id"], "household_id": doc["id"],
            "resident_id": resident or (accounts[0] if accounts else None)}
    try:
        filed = file_petition(body)
    except Invalid as err:
        raise Invalid(f"the petition was refused: {err.message}",
                      {f"petition.{k}": v for k, v in (err.errors or {}).items()})
    return filed["id"]


# -- the morning digest ---------------------------------------------------------------

def overdue_visits(db, auth, district, now, per_user=DIGEST_ITEMS):
    """Overdue households of a district for each grid worker and community staff member who answers for them.

    ``{"date", "total", "by_user": {user_id: {"count", "items": [first few, the longest overdue first]}}}``,
    for the notify service's morning digest (its system identity) and the district's administrators.
    """
    auth.require()
    _text(district, "district")
    if not (auth.is_system or auth.is_platform_admin):
        if auth.district != district:
            raise NotFound(f"no district {district!r}", {"district": ["not found"]})
        if not auth.has("district_admin", "community_staff"):
            raise Forbidden("the district's administrators, community staff and the system ask this")
    settings = settings_of(db, district)
    on = care_levels.today(now)
    fields = {"id": 1, "name": 1, "building_id": 1, "path": 1, "care_level": 1, "visit_baseline": 1}
    streams = {level: db.households.find(
        {"district": district, "care_level": level,
         "visit_baseline": {"$lt": care_levels.latest_baseline(level, settings, on)}}, fields)
        .sort([("visit_baseline", 1), ("id", 1)]) for level in LEVELS}
    staff = {}
    for user in db.users.find({"district": district, "roles": {"$in": list(DIGEST_ROLES)}}, {"username": 1, "scope": 1}):
        if user.get("scope"):
            staff.setdefault(user["scope"], []).append(user["username"])
    by_user, total = {}, 0
    for doc in care_levels.by_due(streams, settings):
        total += 1
        due = care_levels.next_due(doc["visit_baseline"], doc["care_level"], settings)
        item = {"household_id": doc["id"], "name": doc["name"], "building_id": doc["building_id"],
                "care_level": doc["care_level"], "next_visit_due": due.isoformat(),
                "overdue_days": care_levels.overdue_days(due, on)}
        for node in doc["path"]:
            for user in staff.get(node, ()):
                mine = by_user.setdefault(user, {"count": 0, "items": []})
                mine["count"] += 1
                if len(mine["items"]) < per_user:
                    mine["items"].append(item)
    return {"district": district, "date": on.isoformat(), "total": total,
            "by_user": {u: by_user[u] for u in sorted(by_user)}}


def create_indexes(db):
    db.households.create_index([("district", 1), ("id", 1)], unique=True)
    db.households.create_index([("district", 1), ("care_level", 1), ("visit_baseline", 1), ("id", 1)])
    db.households.create_index([("district", 1), ("path", 1), ("care_level", 1), ("visit_baseline", 1)])
    db.households.create_index([("district", 1), ("building_id", 1)])
