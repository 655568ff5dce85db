"""The micro-project (微项目) service layer: plain functions over a ``ProjectRepository`` and the grid directory.

A project links open petitions of one community, chosen one by one or as a hotspot (the open petitions of a
category in a building or grid). Residents of the buildings it affects support it once and comment on it;
when it is done, its petitions are resolved together, each through the petitions' own state machine
(``domain.resolve_for_project``) with its own timeline entry and events.
"""
import uuid

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import make_event, utcnow
from civicgrid.validation import load, schema

from . import deadlines, domain, projects, usecases
from .project_repository import support_event_id
from .project_schemas import (MAX_BUILDINGS, MAX_PETITIONS, CommentListSchema, CommentSchema, CreateProjectSchema,
                              ProjectListSchema, ResolvePetitionsSchema, TransitionSchema, UpdateProjectSchema)
from .project_views import linked_petition


def _event(type_, project, actor, now, note=None, resident_id=None, event_id=None):
    return make_event(type_, project["district"], actor, projects.event_data(project, note, resident_id),
                      event_id=event_id, occurred_at=now)


def _covers(auth, petition):
    return auth.has("district_admin") or (auth.scope is not None and auth.scope in petition["path"])


def _selected(repo, auth, ids, field):
    """The open petitions ``ids`` name (repeats dropped), or ``Invalid`` naming each bad one by its index."""
    petitions, errors, seen = [], {}, set()
    for index, petition_id in enumerate(ids):
        if petition_id in seen:
            continue
        seen.add(petition_id)
        try:
            petition = repo.petitions.get(auth.district, petition_id)
        except NotFound:
            errors[str(index)] = [f"no petition {petition_id!r} in this district"]
            continue
        if not _covers(auth, petition):
            errors[str(index)] = [f"{petition_id} is not in your community"]
        elif petition["status"] not in domain.OPEN_STATES:
            errors[str(index)] = [f"{petition_id} is {petition['status']}: only open petitions join a project"]
        else:
            petitions.append(petition)
    if errors:
        raise Invalid(f"invalid input: {field}", {field: errors})
    return petitions


def _community(directory, auth, petitions, field):
    """The one community the petitions belong to, and its path (the district down to the community)."""
    try:
        location = directory.locate_building(auth.district, petitions[0]["building_id"])
    except NotFound:
        raise Invalid("the petition's building is gone", {field: [f"{petitions[0]['_id']}: unknown building"]})
    community = location.get("community")
    if not community:
        raise Invalid("the petitions belong to no community", {field: ["their building is in no community"]})
    path = location["path"][:location["path"].index(community) + 1]
    elsewhere = [p["_id"] for p in petitions if community not in p["path"]]
    if elsewhere:
        raise Invalid("a project belongs to one community",
                      {field: [f"{', '.join(elsewhere)} not in community {community} like {petitions[0]['_id']}"]})
    if not auth.has("district_admin") and auth.scope not in path:
        raise Forbidden(f"your scope covers only part of community {community}")
    return community, path


def _buildings(directory, auth, ids, community, field, known=None):
    """``{building_id: path}`` of the buildings ``ids`` name, each in ``community``."""
    found, errors = {}, {}
    for index, building_id in enumerate(ids):
        if known and building_id in known:
            found[building_id] = known[building_id]
            continue
        try:
            location = directory.locate_building(auth.district, building_id)
        except NotFound:
            errors[str(index)] = [f"no building {building_id!r} in this district"]
            continue
        if community not in location["path"]:
            errors[str(index)] = [f"{building_id} is not in community {community}"]
        else:
            found[building_id] = list(location["path"])
    if errors:
        raise Invalid(f"invalid input: {field}", {field: errors})
    return found


def _sponsor(directory, auth, sponsor, department_id):
    if department_id:
        try:
            department = directory.get_department(auth.district, department_id)
        except NotFound:
            raise Invalid("unknown department",
                          {"sponsor_department_id": [f"no department {department_id!r} in this district"]})
        sponsor = sponsor or department["name"]
    return sponsor


def _hotspot(repo, directory, auth, spot, now):
    """The open petitions of the hotspot's category under its building or grid (oldest first, capped), minus
    those another open project holds, and the origin that records what was asked and found."""
    known = {c["category"] for c in directory.list_categories(auth.district)}
    if spot["category"] not in known:
        raise Invalid("unknown category", {"hotspot": {"category": [f"unknown category {spot['category']!r}"]}})
    where = "building_id" if spot["building_id"] else "grid_id"
    node = spot[where]
    if where == "building_id":
        try:
            directory.locate_building(auth.district, node)
        except NotFound:
            raise Invalid("unknown building", {"hotspot": {where: [f"no building {node!r} in this district"]}})
    clauses = [{"district": auth.district}, {"category": spot["category"]}, {"path": node},
               {"status": {"$in": list(domain.OPEN_STATES)}}]
    if not auth.has("district_admin"):
        clauses.append({"path": auth.scope})
    period = {op: spot[key] for op, key in (("$gte", "created_from"), ("$lt", "created_to")) if spot[key]}
    if period:
        clauses.append({"created_at": period})
    selector = {"$and": clauses}
    found = repo.petitions.find(selector, limit=MAX_PETITIONS, sort="oldest")
    if not found:
        raise Invalid("no open petitions there",
                      {"hotspot": {where: [f"no open {spot['category']} petitions you see under {node}"]}})
    held = repo.open_links(auth.district, [p["_id"] for p in found], now)
    free = [p for p in found if p["_id"] not in held]
    skipped = [{"petition_id": pid, "project_id": holder} for pid, holder in held.items()]
    if not free:
        raise Conflict("every open petition there is in an open project already",
                       {"hotspot": {where: [f"{s['petition_id']} is in open project {s['project_id']}"
                                            for s in skipped]}})
    origin = {"kind": "hotspot", "category": spot["category"], where: node,
              "created_from": spot["created_from"], "created_to": spot["created_to"],
              "matched": repo.petitions.count(selector), "linked": len(free), "skipped": skipped}
    return free, origin


def _claim(repo, auth, project_id, petitions, field, requested, now):
    conflicts = repo.claim(auth.district, project_id, [p["_id"] for p in petitions], now)
    if conflicts:
        index = {pid: str(i) for i, pid in reversed(list(enumerate(requested)))}
        raise Conflict("a petition belongs to one open project at a time",
                       {field: {index.get(pid, pid): [f"{pid} is in open project {holder}"]
                                for pid, holder in conflicts.items()}})


def _role(auth):
    return "district_admin" if auth.has("district_admin") else "community_staff"


def create(repo, directory, auth, payload, now=None):
    auth.require()
    projects.may_create(auth)
    now = now or utcnow()
    fields = load(schema(CreateProjectSchema), payload)
    if fields["hotspot"]:
        field, requested = "hotspot", []
        petitions, origin = _hotspot(repo, directory, auth, fields["hotspot"], now)
    else:
        field, requested = "petition_ids", fields["petition_ids"]
        petitions, origin = _selected(repo, auth, requested, field), {"kind": "petitions"}
    community, path = _community(directory, auth, petitions, field)
    building_paths = {p["building_id"]: list(p["path"]) for p in petitions}
    building_paths.update(_buildings(directory, auth, fields["buildings"], community, "buildings", building_paths))
    if len(building_paths) > MAX_BUILDINGS:
        raise Invalid("too many buildings", {"buildings": [f"a project affects at most {MAX_BUILDINGS} buildings"]})
    sponsor = _sponsor(directory, auth, fields["sponsor"], fields["sponsor_department_id"])
    seq, project_id = repo.next_number(auth.district)
    _claim(repo, auth, project_id, petitions, field, requested, now)
    role = _role(auth)
    project = projects.new_project(auth, role, project_id, seq, {
        "title": fields["title"].strip(), "description": fields["description"].strip(), "community": community,
        "path": path, "petition_ids": [p["_id"] for p in petitions], "building_paths": building_paths,
        "budget_fen": projects.to_fen(fields["budget"]), "sponsor": sponsor,
        "sponsor_department_id": fields["sponsor_department_id"], "origin": origin}, now)
    try:
        repo.add(project, [_event("project_proposed", project, auth.as_actor(role), now)])
    except Exception:
        repo.release(project_id)
        raise
    return project


def update(repo, directory, auth, project_id, payload, now=None):
    auth.require()
    now = now or utcnow()
    project = repo.get(auth.district, project_id)
    fields = load(schema(UpdateProjectSchema), payload)
    role = projects.may_edit(auth, project, fields)
    updates = {key: fields[key].strip() for key in ("title", "description") if key in fields}
    if "budget" in fields:
        updates["budget_fen"] = projects.to_fen(fields["budget"])
    if "sponsor" in fields or "sponsor_department_id" in fields:
        department_id = fields.get("sponsor_department_id", project.get("sponsor_department_id"))
        sponsor = fields["sponsor"] if "sponsor" in fields else project.get("sponsor")
        updates["sponsor"] = _sponsor(directory, auth, sponsor, department_id)
        updates["sponsor_department_id"] = department_id

    linked = list(project["petition_ids"])
    added = []
    if "add_petition_ids" in fields:
        fresh = [pid for pid in fields["add_petition_ids"] if pid not in linked]
        added = _selected(repo, auth, fresh, "add_petition_ids")
        elsewhere = [p["_id"] for p in added if project["community"] not in p["path"]]
        if elsewhere:
            raise Invalid("a project belongs to one community",
                          {"add_petition_ids": [f"{', '.join(elsewhere)} not in community {project['community']}"]})
    removed = []
    if "remove_petition_ids" in fields:
        unknown = {str(i): [f"{pid} is not linked to this project"]
                   for i, pid in enumerate(fields["remove_petition_ids"]) if pid not in linked}
        if unknown:
            raise Invalid("invalid input: remove_petition_ids", {"remove_petition_ids": unknown})
        removed = list(dict.fromkeys(fields["remove_petition_ids"]))
    petition_ids = [pid for pid in linked if pid not in removed] + [p["_id"] for p in added]
    if len(petition_ids) > MAX_PETITIONS:
        raise Invalid("too many petitions", {"add_petition_ids": [f"a project links at most {MAX_PETITIONS}"]})
    if petition_ids != linked:
        updates["petition_ids"] = petition_ids

    building_paths = dict(project["building_paths"])
    if "buildings" in fields:
        known = {**building_paths, **{p["building_id"]: p["path"] for p in added}}
        building_paths = _buildings(directory, auth, fields["buildings"], project["community"], "buildings", known)
    for petition in added:
        building_paths.setdefault(petition["building_id"], list(petition["path"]))
    if len(building_paths) > MAX_BUILDINGS:
        raise Invalid("too many buildings", {"buildings": [f"a project affects at most {MAX_BUILDINGS} buildings"]})
    if building_paths != project["building_paths"]:
        updates["building_paths"] = building_paths

    _claim(repo, auth, project_id, added, "add_petition_ids", fields.get("add_petition_ids", []), now)
    after = projects.apply(project, updates, "update", auth.user_id, role, now, note=", ".join(sorted(fields)))
    try:
        repo.save(project, after, [])
    except Conflict:
        repo.release(project_id, auth.district, [p["_id"] for p in added])
        raise
    if removed:
        repo.release(project_id, auth.district, removed)
    return after


def move(repo, auth, project_id, payload, now=None):
    auth.require()
    now = now or utcnow()
    project = repo.get(auth.district, project_id)
    fields = load(schema(TransitionSchema), payload)
    change = projects.move(auth, project, fields["status"], fields["note"])
    after = projects.apply_move(project, change, auth.user_id, now)
    repo.save(project, after, [_event(change.event_type, after, auth.as_actor(change.role), now, note=fields["note"])])
    if after["status"] not in projects.OPEN_STATUSES:
        repo.release(project_id)  # its petitions may join another project now
    return after


def support(repo, auth, project_id, now=None):
    """One support per resident: a second is answered like the first (200, same count), and announced once."""
    auth.require()
    now = now or utcnow()
    project = repo.get(auth.district, project_id)
    building_id = projects.may_support(auth, project)
    doc, _ = repo.add_support(project, auth.user_id, building_id, now)
    if not doc.get("announced"):
        count = repo.supports.count_documents({"project_id": project_id})
        event = _event("project_supported", dict(project, supporters=count), auth.as_actor("resident"), now,
                       resident_id=auth.user_id, event_id=support_event_id(project_id, auth.user_id))
        repo.announce_support(project_id, doc, event)
    return repo.get(auth.district, project_id)


def comment(repo, auth, project_id, payload, now=None):
    auth.require()
    now = now or utcnow()
    project = repo.get(auth.district, project_id)
    fields = load(schema(CommentSchema), payload)
    role = projects.may_comment(auth, project)
    doc = {"_id": uuid.uuid4().hex, "project_id": project_id, "district": project["district"],
           "author_id": auth.user_id, "author_name": auth.name, "role": role, "text": fields["text"].strip(), "at": now}
    repo.add_comment(doc)
    return doc


def comments(repo, auth, project_id, query):
    auth.require()
    repo.get(auth.district, project_id)
    params = load(schema(CommentListSchema), query)
    items, total = repo.comments(project_id, params["page"], params["page_size"])
    return items, total, params


def page(repo, auth, query):
    """Everyone of the district sees its projects (公示): residents, staff, departments."""
    auth.require()
    params = load(schema(ProjectListSchema), query)
    selector = {"district": auth.district}
    for name, key in (("status", "status"), ("community", "community"), ("building_id", "buildings"),
                      ("node", "nodes")):
        if params[name]:
            selector[key] = params[name]
    items, total = repo.page(selector, params["page"], params["page_size"])
    supported = repo.supported_by(auth.user_id, [p["_id"] for p in items])
    return items, total, params, supported


def get(repo, auth, project_id):
    """The project, the linked petitions the caller may see as they stand, whether the caller supports it."""
    auth.require()
    project = repo.get(auth.district, project_id)
    found = {p["_id"]: p for p in repo.petitions.find(
        {"district": auth.district, "_id": {"$in": project["petition_ids"]}}, limit=MAX_PETITIONS)}
    visible = [found[pid] for pid in project["petition_ids"] if pid in found and domain.can_view(auth, found[pid])]
    return project, visible, bool(repo.supported_by(auth.user_id, [project_id]))


# -- done: its petitions resolved together --------------------------------------------------

def _not_resolved(petition, reason, message):
    return dict(linked_petition(petition), reason=reason, message=message)


def _why_not(petition):
    status = petition["status"]
    if status == "closed":
        rated = f"rated {petition['rating']}★" if petition.get("rating") else "unrated"
        return _not_resolved(petition, "closed", f"already closed ({rated}) before the project resolved it")
    if status == "withdrawn":
        return _not_resolved(petition, "withdrawn", "its resident withdrew it")
    if status == "merged":
        return _not_resolved(petition, "merged", f"merged into {petition.get('merged_into')}")
    if status == "resolved":
        return _not_resolved(petition, "resolved", f"resolved by {petition.get('resolved_by')}: it waits for its "
                                                   "resident's rating")
    if petition["level"] == "department":
        return _not_resolved(petition, "at_department", f"at department {petition.get('department_id')}: the "
                                                        "department resolves it, or returns it to the community")
    return _not_resolved(petition, status, f"cannot be resolved while {status} at {petition['level']} level")


def _resolve_one(repo, auth, project, petition_id, note, limits, now):
    """``(outcome, item)``: resolved now, resolved through this project before, or not and why."""
    petition = None
    for _ in range(3):
        try:
            petition = repo.petitions.get(project["district"], petition_id)
        except NotFound:
            return "not_resolved", {"id": petition_id, "reason": "missing", "message": "no such petition any more"}
        if petition.get("project_id") == project["_id"] and petition["status"] in ("resolved", "closed"):
            return "already_resolved", linked_petition(petition)
        try:
            change = domain.resolve_for_project(auth, petition, project, note)
        except Conflict:
            return "not_resolved", _why_not(petition)
        except Forbidden as exc:
            return "not_resolved", _not_resolved(petition, "not_in_scope", exc.message)
        after = domain.apply(petition, change, auth.user_id, now)
        after["deadline"] = deadlines.deadline_for(petition, after, limits, now)
        event = make_event(change.event_type, petition["district"], auth.as_actor(change.role),
                           domain.event_data(after, change.extra), occurred_at=now)
        try:
            repo.petitions.save(petition, after, [event])
            return "resolved", linked_petition(after)
        except Conflict:
            continue  # someone acted on it meanwhile: look again
    return "not_resolved", _not_resolved(petition, "changed", "it kept changing meanwhile: try again")


def resolve_petitions(repo, auth, project_id, payload, now=None):
    """Resolve every linked petition still open at the community's level or below; report the others.

    Safe to repeat: what this project resolved before comes back as ``already_resolved`` and is not
    resolved (or announced) again; the project's record changes only when the outcome does."""
    auth.require()
    now = now or utcnow()
    project = repo.get(auth.district, project_id)
    fields = load(schema(ResolvePetitionsSchema), payload)
    role = projects.may_resolve_petitions(auth, project)
    note = fields["note"].strip()
    limits = usecases.limits(repo.petitions, project["district"])
    outcome = {"resolved": [], "already_resolved": [], "not_resolved": []}
    for petition_id in project["petition_ids"]:
        kind, item = _resolve_one(repo, auth, project, petition_id, note, limits, now)
        outcome[kind].append(item)
    report = {"note": note, "by": auth.user_id, "at": now,
              "resolved": [p["id"] for p in outcome["already_resolved"] + outcome["resolved"]],
              "not_resolved": [{"id": p["id"], "reason": p["reason"]} for p in outcome["not_resolved"]]}
    for _ in range(3):
        previous = project.get("resolution") or {}
        if not outcome["resolved"] and previous and all(previous.get(k) == report[k] for k in ("resolved", "not_resolved")):
            break
        entry = f"一并办结 {len(outcome['resolved'])} 件，未能办结 {len(outcome['not_resolved'])} 件：{note}"
        after = projects.apply(project, {"resolution": report}, "resolve_petitions", auth.user_id, role, now, entry)
        try:
            repo.save(project, after, [])
            project = after
            break
        except Conflict:
            project = repo.get(auth.district, project_id)
    return project, outcome
