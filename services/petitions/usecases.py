"""The petitions service layer: plain functions over a repository and a directory.

``directory`` answers questions the grid service owns (where is a building,
which categories and departments exist); tests pass a fake, the service a
thin adapter over its RPC proxy. ``now`` comes from the service's clock, so
tests move time instead of sleeping.
"""
from datetime import timedelta

from pymongo.errors import DuplicateKeyError

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import make_event, utcnow
from civicgrid.validation import load, schema

from . import attributes, deadlines, domain, queries
from .schemas import ACTION_SCHEMAS, FollowUpRecordSchema, SubmitSchema, TimeLimitsSchema

DUPLICATE_WINDOW = timedelta(days=7)
DUPLICATE_FIELDS = ("title", "status", "created_at", "seq")  # what petition_view shows of a possible duplicate


def limits(repo, district):
    return {**deadlines.DEFAULT_LIMITS, **repo.limits(district)}


def _event(type_, petition, actor, now, extra=None):
    return make_event(type_, petition["district"], actor, domain.event_data(petition, extra), occurred_at=now)


def submit(repo, directory, auth, payload, now=None, idempotency_key=None):
    """File a petition; returns it with the open petitions that look like the same problem.

    With an ``Idempotency-Key`` the petition itself carries it under a unique index, so a retry
    that runs the command again after a crash (the key's record left pending) finds the petition
    the first run stored instead of filing a second one."""
    auth.require("resident")
    now = now or utcnow()
    fields = load(schema(SubmitSchema), payload)
    building_id = fields["building_id"] or auth.scope
    if not building_id:
        raise Invalid("building_id is required", {"building_id": ["required: you have no home building"]})
    try:
        location = directory.locate_building(auth.district, building_id)
    except NotFound:
        raise Invalid("unknown building", {"building_id": [f"no building {building_id!r} in this district"]})
    catalogue = {c["category"]: c for c in directory.list_categories(auth.district)}
    category = catalogue.get(fields["category"])
    if category is None:  # perhaps defined a moment ago: the directory's answer may be a few seconds old
        catalogue = {c["category"]: c for c in directory.list_categories(auth.district, fresh=True)}
        category = catalogue.get(fields["category"])
    if category is None:
        known = ", ".join(sorted(catalogue)) or "none yet"
        raise Invalid("unknown category", {"category": [f"unknown category {fields['category']!r}; known: {known}"]})
    if fields["kind"] and fields["kind"] != category.get("kind", "issue"):
        raise Invalid("kind does not match the category",
                      {"kind": [f"category {category['category']!r} is of kind {category.get('kind', 'issue')!r}"]})
    fields["attributes"] = attributes.validate(category, fields["attributes"])

    duplicates = repo.find({
        "district": auth.district, "category": fields["category"], "building_id": location["building_id"],
        "status": {"$in": list(domain.OPEN_STATES)}, "created_at": {"$gte": now - DUPLICATE_WINDOW}},
        limit=5, fields=DUPLICATE_FIELDS)
    filed_key = f"{auth.user_id}\x1f{idempotency_key}" if idempotency_key else None
    if filed_key:
        earlier = repo.find({"district": auth.district, "filed_key": filed_key}, limit=1)
        if earlier:
            return earlier[0], duplicates
    seq, petition_id = repo.next_number(auth.district)
    petition = domain.new_petition(auth, petition_id, fields, location, category, now)
    petition["seq"] = seq
    petition["deadline"] = deadlines.deadline_for(None, petition, limits(repo, auth.district), now)
    if filed_key:
        petition["filed_key"] = filed_key
    events = [_event("petition_submitted", petition, auth.as_actor("resident"), now)]
    domain.stamp(petition, None, events)
    try:
        repo.add(petition, events)
    except DuplicateKeyError:
        if not filed_key:
            raise
        return repo.find({"district": auth.district, "filed_key": filed_key}, limit=1)[0], duplicates
    return petition, duplicates


def _department_for(directory, auth, petition, department_id):
    department_id = department_id or petition.get("suggested_department_id")
    if not department_id:
        raise Invalid("department_id is required", {"department_id": ["required: the catalogue suggests none"]})
    try:
        directory.get_department(auth.district, department_id)
    except NotFound:
        raise Invalid("unknown department", {"department_id": [f"no department {department_id!r} in this district"]})
    return department_id


def _original_for_merge(repo, auth, duplicate, original_id):
    if original_id == duplicate["_id"]:
        raise Invalid("a petition cannot be merged into itself", {"into": ["must be another petition"]})
    try:
        original = repo.get(auth.district, original_id)
    except NotFound:
        raise Invalid("unknown petition", {"into": [f"no petition {original_id!r} in this district"]})
    if not domain.can_view(auth, original) or original["status"] not in domain.OPEN_STATES + ("resolved",):
        raise Invalid("cannot merge into that petition", {"into": [f"{original_id} is not an open petition you handle"]})
    return original


def act(repo, directory, auth, petition_id, action, payload, now=None):
    if action not in ACTION_SCHEMAS:
        raise NotFound(f"unknown action {action!r}", {"action": [f"one of {', '.join(sorted(ACTION_SCHEMAS))}"]})
    auth.require()
    now = now or utcnow()
    petition = repo.get(auth.district, petition_id)
    fields = load(ACTION_SCHEMAS[action](), payload)
    change = domain.transition(auth, petition, action, fields)
    original = None
    if action == "dispatch":
        fields["department_id"] = _department_for(directory, auth, petition, fields["department_id"])
        change = domain.transition(auth, petition, action, fields)
    elif action == "merge":
        original = _original_for_merge(repo, auth, petition, fields["into"])
    after = domain.apply(petition, change, auth.user_id, now)
    after["deadline"] = deadlines.deadline_for(petition, after, limits(repo, petition["district"]), now)
    if change.action == "resolve" and not petition.get("fell_due"):
        after["fell_due"] = domain.fell_due(petition, now)
    actor = auth.as_actor(change.role)
    settled = {"settled": domain.deadline_ref(petition.get("deadline"))}
    events = [_event(change.event_type, after, actor, now, {**change.extra, **settled})]
    if domain.opens_follow_up(change):
        after["follow_up"] = {"status": "open", "opened_at": now, "outcome": None, "note": None,
                              "recorded_by": None, "recorded_at": None, "linked_petition_id": None}
        events.append(_event("follow_up_opened", after, actor, now, {"follow_up_status": "open", **settled}))
    domain.stamp(after, petition.get("deadline"), events)
    repo.save(petition, after, events)
    if original is not None:
        _join(repo, original, after, auth, now)
    return after


def _join(repo, original, duplicate, auth, now):
    """The duplicate's resident (and followers) now follow the original; its timeline says so."""
    followers = sorted(set(original.get("followers", [])) | {duplicate["resident_id"]} | set(duplicate.get("followers", []))
                       - {original["resident_id"]})
    entry = domain.timeline_entry("merge", auth.user_id, "staff", now, f"合并 {duplicate['_id']}")
    repo.add_followers(original["_id"], followers, entry)


def get(repo, auth, petition_id):
    auth.require()
    petition = repo.get(auth.district, petition_id)
    if not domain.can_view(auth, petition):
        raise NotFound("no such petition", {"petition_id": [f"{petition_id} not found"]})
    return petition


def page(repo, auth, query, now=None):
    auth.require()
    params, selector, sort = queries.selector(auth, query, now or utcnow())
    items, total = repo.page(selector, params["page"], params["page_size"], sort)
    return items, total, params


# -- time limits -------------------------------------------------------------

def get_limits(repo, auth, district):
    auth.require_district(district)
    return limits(repo, district)


def set_limits(repo, auth, district, changes, now=None):
    # the platform administrator sets a district up (its catalogue, rules, keys) and may set these too
    auth.require_in_district(district, "district_admin", "platform_admin")
    changes = load(schema(TimeLimitsSchema), changes)
    repo.set_limits(district, changes, auth.user_id, now or utcnow())
    return limits(repo, district)


def scan_overdue(repo, now=None):
    """Act on every passed deadline once; another replica's write or a user's wins a race harmlessly."""
    now = now or utcnow()
    acted, cached = 0, {}
    for petition in repo.due(now):
        district = petition["district"]
        if district not in cached:
            cached[district] = limits(repo, district)
        after, happenings = deadlines.expire(petition, cached[district], now)
        actor = {"id": "system", "role": "system"}
        settled = {"settled": domain.deadline_ref(petition["deadline"])}
        events = [_event(type_, after, actor, now, {**extra, **settled}) for type_, extra in happenings]
        domain.stamp(after, petition["deadline"], events)
        try:
            repo.save(petition, after, events)
            acted += 1
        except Conflict:
            continue
    return acted


# -- follow-up visits (回访) ---------------------------------------------------

def follow_ups(repo, auth, query):
    auth.require()
    params, selector = queries.follow_up_selector(auth, query)
    items, total = repo.page(selector, params["page"], params["page_size"], "newest")
    base = queries.follow_up_selector(auth, {})[1]
    counts = {status: repo.count({**base, "follow_up.status": status}) for status in ("open", "done")}
    return items, total, params, counts


def record_follow_up(repo, auth, petition_id, payload, now=None):
    """Community staff record the visit: contacted, reopened as a new linked petition, or closed."""
    auth.require()
    now = now or utcnow()
    petition = repo.get(auth.district, petition_id)  # another district's: not found, whatever the role
    auth.require("community_staff")
    fields = load(schema(FollowUpRecordSchema), payload)
    if not (auth.has("community_staff") and auth.scope in petition["path"]):
        raise Forbidden("only staff of this petition's community record its follow-up")
    follow_up = petition.get("follow_up")
    if not follow_up or follow_up["status"] != "open":
        raise Conflict("this petition has no open follow-up", {"follow_up": ["none open"]})
    linked_id = seq = None
    if fields["outcome"] == "reopened":
        seq, linked_id = repo.next_number(petition["district"])
    after = dict(petition, updated_at=now, version=petition["version"] + 1,
                 follow_up=dict(follow_up, status="done", outcome=fields["outcome"], note=fields["note"],
                                recorded_by=auth.user_id, recorded_at=now, linked_petition_id=linked_id,
                                linked_seq=seq))
    after["timeline"] = petition["timeline"] + [
        domain.timeline_entry("follow_up", auth.user_id, "community_staff", now, f"{fields['outcome']}: {fields['note']}")]
    events = [_event("follow_up_recorded", after, auth.as_actor("community_staff"), now, {
        "follow_up_status": "done", "outcome": fields["outcome"], "note": fields["note"],
        "linked_petition_id": linked_id})]
    domain.stamp(after, petition.get("deadline"), events)
    repo.save(petition, after, events)
    if linked_id:
        reopen(repo, after, now)
    return after


def reopen(repo, original, now):
    """Create the linked petition a reopened follow-up promised; safe to call again."""
    follow_up = original["follow_up"]
    petition = {k: original[k] for k in ("district", "kind", "category", "description", "attributes", "media",
                                         "location", "address", "building_id", "path", "resident_id",
                                         "suggested_department_id")}
    petition.update({k: original.get(k) for k in ("community_id", "grid_id")})
    petition.update({
        "_id": follow_up["linked_petition_id"], "seq": follow_up["linked_seq"], "title": original["title"],
        "status": "escalated", "level": "community", "department_id": None, "departments": [],
        "handler_id": None, "resolved_by": None, "resolution": None, "resolution_media": [], "rating": None,
        "comment": None, "followers": list(original.get("followers", [])), "merged_into": None,
        "follow_up": None, "linked_from": original["_id"], "fell_due": None,
        "timeline": [domain.timeline_entry("reopen", follow_up["recorded_by"], "community_staff", now,
                                           f"回访重办：{original['_id']}")],
        "created_at": now, "updated_at": now, "version": 1,
    })
    petition["deadline"] = deadlines.deadline_for(None, petition, limits(repo, petition["district"]), now)
    actor = {"id": follow_up["recorded_by"], "role": "community_staff"}
    events = [_event("petition_submitted", petition, actor, now)]
    domain.stamp(petition, None, events)
    try:
        repo.add(petition, events)
    except DuplicateKeyError:
        pass
    return petition
