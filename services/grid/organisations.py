"""Organisations registered with a community (驻区单位, companies) and the people who act for them.

An organisation belongs to one community; its members are users of the district who
hold the role ``organisation_member`` and carry the organisation's id (``organisation``)
and community (``organisation_community``) on their user document, so a sign-in tells
every service which organisation a member acts for. A user acts for one organisation
at most. Community staff register organisations with their own community; the
district's administrator and the platform with any community of the district; the
district's set-up document may list them too (``organisations`` section).

Every registration or change announces ``organisation_registered`` (the points
service opens the organisation's account from it) and ``member_assigned`` for each
person whose roles changed.
"""
from marshmallow import Schema, ValidationError, fields, validate
from pymongo.errors import DuplicateKeyError

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import make_event, utcnow

from .schemas import KEY, NAME, NODE_ID, USERNAME, FlatErrors, flatten

ROLE = "organisation_member"
KINDS = ("unit", "company")  # 驻区单位, 企业
MAX_MEMBERS = 200


class OrganisationPatch(FlatErrors, Schema):
    """What ``PUT .../organisations/<id>`` may change; ``members`` replaces the list."""
    name = fields.String(validate=NAME)
    kind = fields.String(validate=validate.OneOf(KINDS, error="unknown kind {input!r}: one of {choices}"),
                         metadata={"description": "unit (驻区单位) or company (企业)"})
    members = fields.List(fields.String(validate=USERNAME),
                          validate=validate.Length(max=MAX_MEMBERS, error=f"at most {MAX_MEMBERS} members"),
                          metadata={"description": "usernames of the district's users who act for it"})


class OrganisationIn(OrganisationPatch):
    id = fields.String(required=True, validate=KEY, metadata={"description": "e.g. gxs (the points account is "
                                                                             "org:<district>:<id>)"})
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(load_default="unit", validate=validate.OneOf(
        KINDS, error="unknown kind {input!r}: one of {choices}"))
    community = fields.String(required=True, validate=NODE_ID, metadata={"description": "the community it is "
                                                                                        "registered with"})
    members = fields.List(fields.String(validate=USERNAME), load_default=list, validate=validate.Length(
        max=MAX_MEMBERS, error=f"at most {MAX_MEMBERS} members"))


class OrganisationMemberOut(Schema):
    user_id = fields.String()
    name = fields.String(allow_none=True)


class OrganisationOut(Schema):
    id = fields.String()
    district = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "unit (驻区单位) or company (企业)"})
    community = fields.String()
    account = fields.String(metadata={"description": "its points account: org:<district>:<id>"})
    members = fields.List(fields.Nested(OrganisationMemberOut))
    created_at = fields.String()
    updated_at = fields.String()


class OrganisationQuery(Schema):
    community = fields.String(load_default=None, allow_none=True, validate=NODE_ID)


def _member(auth, district):
    """Another district's organisations are not found, never forbidden."""
    auth.require()
    if not (auth.is_system or auth.is_platform_admin or auth.district == district):
        raise NotFound(f"no district {district!r}", {"district": ["not found"]})


def account_of(district, org_id):
    return f"org:{district}:{org_id}"


def _load(schema, payload):
    if not isinstance(payload, dict):
        raise Invalid("the organisation must be an object", {"_schema": ["must be an object"]})
    try:
        return schema.load(payload)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        errors = flatten(messages)
        raise Invalid(f"invalid organisation: {', '.join(sorted(errors))}", errors)


def _view(db, org):
    names = {u["username"]: u.get("name") for u in db.users.find(
        {"district": org["district"], "username": {"$in": org["members"]}}, {"username": 1, "name": 1})}
    return OrganisationOut().dump({
        "id": org["id"], "district": org["district"], "name": org["name"], "kind": org["kind"],
        "community": org["community"], "account": account_of(org["district"], org["id"]),
        "members": [{"user_id": m, "name": names.get(m)} for m in org["members"]],
        "created_at": org["created_at"].isoformat(), "updated_at": org["updated_at"].isoformat()})


def _may_register(auth, district, community):
    _member(auth, district)
    if auth.is_platform_admin or (auth.has("district_admin") and auth.district == district):
        return
    if auth.has("community_staff") and auth.scope == community:
        return
    raise Forbidden("community staff register organisations with their own community; the district's "
                    "administrator with any")


def _community(db, district, community, field="community"):
    if not db.nodes.count_documents({"district": district, "id": community, "type": "community"}, limit=1):
        raise Invalid(f"no community {community!r} in district {district!r}",
                      {field: [f"not a community of district {district!r}"]})


def _check_members(db, district, org_id, members, field="members"):
    """Every member a user of the district, acting for no other organisation."""
    members = list(dict.fromkeys(members))
    found = {u["username"]: u for u in db.users.find({"district": district, "username": {"$in": members}},
                                                      {"username": 1, "organisation": 1})}
    errors = {}
    for i, name in enumerate(members):
        user = found.get(name)
        if user is None:
            errors[f"{field}[{i}]"] = [f"no user {name!r} in district {district!r}"]
        elif user.get("organisation") not in (None, org_id):
            errors[f"{field}[{i}]"] = [f"{name!r} acts for organisation {user['organisation']!r} already"]
    if errors:
        raise Invalid("some members cannot join", errors)
    return members


def sync_members(db, district, org, now):
    """Give the members the role and the organisation, take them from whoever left; the users who changed."""
    changed = []
    for user in db.users.find({"district": district, "organisation": org["id"], "username": {"$nin": org["members"]}}):
        db.users.update_one({"_id": user["_id"]}, {"$unset": {"organisation": "", "organisation_community": ""},
                                                   "$pull": {"roles": ROLE}, "$set": {"updated_at": now}})
        changed.append(user["username"])
    for name in org["members"]:
        done = db.users.update_one(
            {"district": district, "username": name, "$or": [{"organisation": {"$ne": org["id"]}},
                                                             {"organisation_community": {"$ne": org["community"]}},
                                                             {"roles": {"$ne": ROLE}}]},
            {"$set": {"organisation": org["id"], "organisation_community": org["community"], "updated_at": now},
             "$addToSet": {"roles": ROLE}})
        if done.modified_count:
            changed.append(name)
    return changed


def events(db, district, auth, org, changed):
    return [make_event("organisation_registered", district, auth.as_actor(), {
        "organisation_id": org["id"], "name": org["name"], "kind": org["kind"], "community": org["community"],
        "members": list(org["members"])})] + member_events(db, district, auth, changed)


def member_events(db, district, auth, changed):
    """``member_assigned`` for each person whose roles changed: the points account opens, caches forget."""
    return [make_event("member_assigned", district, auth.as_actor(), {
        "user_id": user["username"], "name": user["name"], "roles": list(user.get("roles") or []),
        "scope": user.get("scope"), "department_id": user.get("department"), "community": user.get("community")})
        for user in db.users.find({"district": district, "username": {"$in": list(changed)}}).sort("username", 1)]


def register(db, auth, district, payload, now=None):
    """A new organisation; ``(organisation, events)``. An id the district has already is 409."""
    _member(auth, district)
    fields_ = _load(OrganisationIn(), payload)
    _may_register(auth, district, fields_["community"])
    _community(db, district, fields_["community"])
    members = _check_members(db, district, fields_["id"], fields_["members"])
    now = now or utcnow()
    org = dict(fields_, members=members, district=district, created_at=now, updated_at=now,
               created_by=auth.user_id)
    try:
        db.organisations.insert_one(dict(org))
    except DuplicateKeyError:
        raise Conflict(f"organisation {fields_['id']!r} exists", {"id": [f"{fields_['id']!r} is taken"]})
    changed = sync_members(db, district, org, now)
    return _view(db, org), events(db, district, auth, org, changed)


def _stored(db, district, org_id):
    org = db.organisations.find_one({"district": district, "id": org_id}) if isinstance(org_id, str) else None
    if org is None:
        raise NotFound(f"no organisation {org_id!r} in district {district!r}", {"organisation_id": ["not found"]})
    return org


def update(db, auth, district, org_id, payload, now=None):
    """Rename it, change its kind or its members (the list replaces the old one)."""
    _member(auth, district)
    org = _stored(db, district, org_id)
    changes = _load(OrganisationPatch(), payload)
    _may_register(auth, district, org["community"])
    if "members" in changes:
        changes["members"] = _check_members(db, district, org["id"], changes["members"])
    now = now or utcnow()
    db.organisations.update_one({"_id": org["_id"]}, {"$set": dict(changes, updated_at=now)})
    org = _stored(db, district, org_id)
    changed = sync_members(db, district, org, now)
    return _view(db, org), events(db, district, auth, org, changed)


def get(db, auth, district, org_id):
    _member(auth, district)
    return _view(db, _stored(db, district, org_id))


def list_(db, auth, district, query=None):
    _member(auth, district)
    try:
        query = OrganisationQuery().load(query or {})
    except ValidationError as err:
        raise Invalid("invalid query", err.messages)
    selector = {"district": district}
    if query["community"]:
        selector["community"] = query["community"]
    return [_view(db, o) for o in db.organisations.find(selector).sort([("community", 1), ("id", 1)]).limit(500)]


# -- the set-up document's ``organisations`` section -------------------------------

def check_import(entries, problems, kind_of, known_user):
    """Load each entry; ``kind_of(node)`` and ``known_user(name)`` answer from the document and the store."""
    planned, owners = [], {}
    for i, raw in enumerate(entries):
        key = f"organisations[{i}]"
        if not isinstance(raw, dict):
            problems.add(key, "must be an object")
            continue
        try:
            entry = OrganisationIn().load(raw)
        except ValidationError as err:
            problems.add_messages(key, err.messages)
            continue
        if entry["id"] in {p["id"] for p in planned}:
            problems.add(f"{key}.id", f"duplicate id {entry['id']!r}")
            continue
        if kind_of(entry["community"]) != "community":
            problems.add(f"{key}.community", f"{entry['community']!r} is not a community of the district")
        entry["members"] = list(dict.fromkeys(entry["members"]))
        for j, name in enumerate(entry["members"]):
            owner = owners.setdefault(name, entry["id"])
            if owner != entry["id"]:
                problems.add(f"{key}.members[{j}]", f"{name!r} is a member of {owner!r} in this document")
            elif not known_user(name):
                problems.add(f"{key}.members[{j}]", f"no user {name!r} in the district or this document")
        planned.append(entry)
    return planned


def apply_import(db, district, planned, now):
    """Upsert each organisation and its members; the users whose roles changed."""
    changed = []
    for entry in planned:
        db.organisations.update_one(
            {"district": district, "id": entry["id"]},
            {"$set": {"name": entry["name"], "kind": entry["kind"], "community": entry["community"],
                      "members": entry["members"], "updated_at": now},
             "$setOnInsert": {"created_at": now, "created_by": "import"}}, upsert=True)
        # whoever the document moves here leaves the organisation they acted for
        db.organisations.update_many({"district": district, "id": {"$ne": entry["id"]},
                                      "members": {"$in": entry["members"]}},
                                     {"$pull": {"members": {"$in": entry["members"]}}})
        changed += sync_members(db, district, dict(entry, district=district), now)
    return list(dict.fromkeys(changed))


def import_events(db, district, auth, planned, changed):
    out = [e for entry in planned for e in events(db, district, auth, entry, [])]
    return out + member_events(db, district, auth, changed)
