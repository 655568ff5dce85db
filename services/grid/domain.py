"""The grid service's rules as plain functions of a database and an ``AuthContext``.

Who may ask is checked here rather than in the entrypoints, so the same rules
hold whether a test, a script or an RPC calls them.
"""
import functools

from marshmallow import ValidationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from werkzeug.security import check_password_hash, generate_password_hash

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from civicgrid.events import make_event, utcnow

from . import importer, organisations
from .schemas import (CategoryIn, CategoryOut, ClaimsOut, DepartmentOut, DistrictIn, DistrictOut, LocationOut,
                      NodeOut, PartyMemberOut, ResponsibleOut, flatten)

WRONG_CREDENTIALS = "wrong username or password"


def _text(value, name):
    # Ids reach Mongo filters: a dict such as {"$ne": null} would match anything.
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string", {name: "must be a string"})
    return value


def _member(auth, district):
    auth.require_district(_text(district, "district"))
    return district


# -- districts ---------------------------------------------------------------

def create_district(db, auth, code, name):
    auth.require()
    if not auth.is_platform_admin:
        raise Forbidden("only the platform administrator creates districts")
    try:
        fields = DistrictIn().load({"code": code, "name": name})
    except ValidationError as err:
        raise Invalid("invalid district", {k: "; ".join(v) for k, v in err.messages.items()})
    if db.districts.count_documents({"code": fields["code"]}, limit=1):
        raise Conflict(f"district {code!r} exists", {"code": "exists"})
    now = utcnow()
    try:
        db.districts.insert_one({**fields, "created_at": now, "updated_at": now})
    except DuplicateKeyError:
        raise Conflict(f"district {code!r} exists", {"code": "exists"})
    return DistrictOut().dump(fields)


def _district(db, code):
    found = db.districts.find_one({"code": code}) if isinstance(code, str) else None
    if found is None:
        raise NotFound(f"no district {code!r}", {"code": "not found"})
    return found


def get_district(db, auth, code):
    _member(auth, code)
    return DistrictOut().dump(_district(db, code))


def _require_district_admin(auth, code, what):
    auth.require_district(code)  # another district is not found, whoever asks
    if not (auth.is_platform_admin or auth.has("district_admin")):
        raise Forbidden(f"only the platform administrator or this district's administrator may {what}")


def import_district(db, auth, code, document, now=None):
    """Returns ``(counts, events)``; the caller publishes the events once the write stands."""
    _require_district_admin(auth, code, "import")
    _district(db, code)
    plan = importer.plan(db, code, document)
    importer.apply(db, code, plan, now, {"id": auth.user_id, "name": auth.name, "role": auth.as_actor()["role"]})
    return plan.counts(), (importer.events(code, auth, plan)
                           + organisations.import_events(db, code, auth, plan.organisations, plan.changed_members))


# -- people ------------------------------------------------------------------

@functools.cache
def _decoy_hash():
    return generate_password_hash("not a password anyone has")


def _community_of(db, district, scope):
    """The community node among ``scope`` and its ancestors, or ``None``."""
    node = db.nodes.find_one({"district": district, "id": scope}) if isinstance(scope, str) else None
    if node is None:
        return None
    found = db.nodes.find_one({"district": district, "id": {"$in": node["path"]}, "type": "community"},
                              {"id": 1})
    return found["id"] if found else None


def _own_community(db, user):
    # Users stored before communities were recorded get theirs worked out on the spot.
    if "community" in user:
        return user["community"]
    return _community_of(db, user["district"], user.get("scope"))


def _effective_community(db, user):
    """A party member answers in the community they registered with; anyone else in their own, and
    an organisation's member who lives nowhere in the district in their organisation's."""
    if "party_member" in (user.get("roles") or ()) and user.get("party_community"):
        return user["party_community"]
    return _own_community(db, user) or user.get("organisation_community")


def authenticate(db, username, password):
    """Anyone may try; an unknown user costs as much as a wrong password, so timing tells nothing."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise Unauthorized(WRONG_CREDENTIALS)
    user = db.users.find_one({"username": username})
    if not check_password_hash(user["password_hash"] if user else _decoy_hash(), password) or not user:
        raise Unauthorized(WRONG_CREDENTIALS)
    return ClaimsOut().dump({**user, "community": _effective_community(db, user)})


# -- party members (党员报到) ----------------------------------------------------

def _community_node(db, district, community):
    found = db.nodes.find_one({"district": district, "id": community, "type": "community"})
    if found is None:
        raise Invalid(f"no community {community!r} in district {district!r}",
                      {"community": f"not a community of district {district!r}"})
    return found


def register_party_member(db, auth, district, username, community=None):
    """党员报到: a user of the district registers as a party member with a community.

    Returns ``(member, events)``. Community staff register people with their own
    community; the district's administrator and the platform with any of the district.
    """
    _member(auth, district)
    _text(username, "username")
    if community is not None:
        _text(community, "community")
    may_any = auth.is_platform_admin or auth.has("district_admin")
    if not (may_any or auth.has("community_staff")):
        raise Forbidden("only community staff, the district's administrator or the platform "
                        "may register party members")
    _district(db, district)
    user = db.users.find_one({"username": username, "district": district})
    if user is None:
        raise NotFound(f"no user {username!r} in district {district!r}", {"username": "not found"})
    if community is not None:
        _community_node(db, district, community)
    else:
        community = _own_community(db, user)
        if community is None:
            raise Invalid(f"{username!r} belongs to no community: name the community to register with",
                          {"community": "required: the user belongs to no community"})
    if not may_any and auth.scope != community:
        raise Forbidden("community staff register party members with their own community only")
    updated = db.users.find_one_and_update(
        {"username": username, "district": district},
        {"$addToSet": {"roles": "party_member"},
         "$set": {"party_community": community, "updated_at": utcnow()}},
        return_document=ReturnDocument.AFTER)
    if updated is None:  # removed meanwhile
        raise NotFound(f"no user {username!r} in district {district!r}", {"username": "not found"})
    member = {"user_id": updated["username"], "name": updated["name"], "roles": updated["roles"],
              "community": community}
    event = make_event("member_assigned", district, auth.as_actor(),
                       {"user_id": updated["username"], "name": updated["name"], "roles": updated["roles"],
                        "scope": updated.get("scope"), "department_id": updated.get("department")})
    return PartyMemberOut().dump(member), [event]


def _party_query(district, communities):
    communities = [c for c in communities if c]
    return {"district": district, "roles": "party_member",
            "$or": [{"party_community": {"$in": communities}},
                    {"party_community": None, "community": {"$in": communities}}]}


def party_members(db, auth, district, community):
    """The party members registered with a community, by user id."""
    _member(auth, district)
    found = db.nodes.find_one({"district": district, "id": _text(community, "community"), "type": "community"})
    if found is None:
        raise NotFound(f"no community {community!r} in district {district!r}", {"community": "not found"})
    return sorted(u["username"] for u in db.users.find(_party_query(district, [community]), {"username": 1}))


# -- people under a node and one person (read by the notify service) -----------

_STAFF = ("community_staff", "grid_worker", "grid_leader", "building_leader", "district_admin")


def members_under(db, auth, district, node_id, roles=None):
    """Everyone whose scope is ``node_id`` or a node below it (楼栋群 / 网格 / 社区 notices).

    ``{"node": {id, type, name, path}, "members": [{user_id, name, roles}]}`` sorted by user id,
    only those holding one of ``roles`` when given. Staff of the district and the system ask.
    """
    _member(auth, district)
    if not (auth.is_system or auth.is_platform_admin):
        auth.require(*_STAFF)
    node = db.nodes.find_one({"district": district, "id": _text(node_id, "node_id")})
    if node is None:
        raise NotFound(f"no node {node_id!r} in district {district!r}", {"node_id": "not found"})
    if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)):
        raise Invalid("roles must be a list of role names", {"roles": "must be a list of strings"})
    scopes = [n["id"] for n in db.nodes.find({"district": district, "path": node["id"]}, {"id": 1})]
    query = {"district": district, "scope": {"$in": scopes}}
    if roles is not None:
        query["roles"] = {"$in": roles}
    found = db.users.find(query, {"username": 1, "name": 1, "roles": 1}).sort("username", 1)
    return {"node": {"id": node["id"], "type": node["type"], "name": node.get("name"), "path": node["path"]},
            "members": [{"user_id": u["username"], "name": u.get("name"), "roles": list(u.get("roles") or [])}
                        for u in found]}


def user_profile(db, auth, district, user_id):
    """One person of the district: ``{user_id, name, roles, scope, community, department}``.

    The person themselves, staff of the district and the system ask; ``NotFound`` otherwise too.
    """
    _member(auth, district)
    _text(user_id, "user_id")
    if not (auth.is_system or auth.is_platform_admin or auth.user_id == user_id or auth.has(*_STAFF)):
        raise NotFound(f"no user {user_id!r} in district {district!r}", {"user_id": "not found"})
    user = db.users.find_one({"district": district, "username": user_id})
    if user is None:
        raise NotFound(f"no user {user_id!r} in district {district!r}", {"user_id": "not found"})
    return {"user_id": user["username"], "name": user.get("name"), "roles": list(user.get("roles") or []),
            "scope": user.get("scope"), "community": _effective_community(db, user),
            "department": user.get("department")}


# -- the hierarchy -----------------------------------------------------------

def _building(db, district, building_id):
    building = db.nodes.find_one({"district": district, "id": _text(building_id, "building_id"),
                                  "type": "building"})
    if building is None:
        raise NotFound(f"no building {building_id!r} in district {district!r}",
                       {"building_id": "not found"})
    return building


def _ancestors(db, district, building):
    """Node type -> id of each level above the building (the nearest one wins)."""
    levels = {}
    for node in db.nodes.find({"district": district, "id": {"$in": building["path"][1:-1]}}):
        levels[node["type"]] = node["id"]
    return levels


def get_node(db, auth, district, node_id):
    """One node of the district's hierarchy (``{id, type, name, parent, path}``), for its members;
    another district's, or none, is ``NotFound``."""
    node = db.nodes.find_one({"district": _member(auth, district), "id": _text(node_id, "node_id")})
    if node is None:
        raise NotFound(f"no node {node_id!r} in district {district!r}", {"node_id": "not found"})
    return NodeOut().dump(node)


def locate_building(db, auth, district, building_id):
    building = _building(db, _member(auth, district), building_id)
    levels = _ancestors(db, district, building)
    return LocationOut().dump({
        "building_id": building["id"], "name": building["name"], "path": building["path"],
        "grid": levels.get("grid"), "microgrid": levels.get("microgrid"),
        "community": levels.get("community"), "street": levels.get("street")})


def _holders(db, district, roles, scopes=None):
    query = {"district": district, "roles": {"$in": list(roles)}}
    if scopes is not None:
        query["scope"] = {"$in": [s for s in scopes if s]}
    return sorted(u["username"] for u in db.users.find(query, {"username": 1}))


def responsible_for_building(db, auth, district, building_id):
    """Who answers for a building at each level, from its leader up to the district."""
    building = _building(db, _member(auth, district), building_id)
    levels = _ancestors(db, district, building)
    return ResponsibleOut().dump({
        "district": district, "building_id": building["id"], "path": building["path"],
        "building_leaders": _holders(db, district, ["building_leader"], [building["id"]]),
        "grid_workers": _holders(db, district, ["grid_worker", "grid_leader"],
                                 [levels.get("grid"), levels.get("microgrid")]),
        "community_staff": _holders(db, district, ["community_staff"], [levels.get("community")]),
        "party_members": sorted(u["username"] for u in db.users.find(
            _party_query(district, [levels.get("community")]), {"username": 1})),
        "district_admins": _holders(db, district, ["district_admin"]),
    })


# -- departments and the dispatch catalogue ----------------------------------

def _with_categories(db, district, departments):
    """Departments as returned: each with the categories the catalogue sends it, by code."""
    departments = list(departments)
    owned = {}
    for c in db.categories.find({"district": district,
                                 "department_id": {"$in": [d["id"] for d in departments]}},
                                {"category": 1, "department_id": 1}):
        owned.setdefault(c["department_id"], []).append(c["category"])
    return DepartmentOut(many=True).dump([
        {"id": d["id"], "name": d["name"], "categories": sorted(owned.get(d["id"], []))}
        for d in departments])


def get_department(db, auth, district, department_id):
    found = db.departments.find_one({"district": _member(auth, district),
                                     "id": _text(department_id, "department_id")})
    if found is None:
        raise NotFound(f"no department {department_id!r} in district {district!r}",
                       {"department_id": "not found"})
    return _with_categories(db, district, [found])[0]


def list_departments(db, auth, district):
    found = db.departments.find({"district": _member(auth, district)}).sort("id", 1)
    return _with_categories(db, district, found)


def department_for_category(db, auth, district, category):
    """The department a category is dispatched to, or ``None`` when the catalogue has none
    (or the category is a help category without one)."""
    mapping = db.categories.find_one({"district": _member(auth, district),
                                      "category": _text(category, "category")})
    if mapping is None or mapping.get("department_id") is None:
        return None
    found = db.departments.find_one({"district": district, "id": mapping["department_id"]})
    return _with_categories(db, district, [found])[0] if found else None


def department_staff(db, auth, district, department_id):
    query = {"district": _member(auth, district), "roles": "department_staff",
             "department": _text(department_id, "department_id")}
    return sorted(u["username"] for u in db.users.find(query, {"username": 1}))


# -- categories: the catalogue's service definitions -------------------------

def _definition(stored, names):
    """A stored category as returned; one stored before definitions existed reads as basic."""
    basic = importer.basic_definition(stored["category"])
    return {"category": stored["category"],
            "name": stored.get("name", basic["name"]),
            "description": stored.get("description", basic["description"]),
            "department_id": stored.get("department_id"),
            "department_name": names.get(stored.get("department_id")),
            "kind": stored.get("kind", basic["kind"]),
            "fields": stored.get("fields", basic["fields"])}


def _department_names(db, district):
    return {d["id"]: d["name"] for d in db.departments.find({"district": district}, {"id": 1, "name": 1})}


def list_categories(db, auth, district):
    """Every category of the district with its full definition, by code."""
    names = _department_names(db, _member(auth, district))
    found = db.categories.find({"district": district}).sort("category", 1)
    return CategoryOut(many=True).dump([_definition(c, names) for c in found])


def get_category(db, auth, district, category):
    found = db.categories.find_one({"district": _member(auth, district),
                                    "category": _text(category, "category")})
    if found is None:
        raise NotFound(f"no category {category!r} in district {district!r}", {"category": "not found"})
    return CategoryOut().dump(_definition(found, _department_names(db, district)))


def put_category(db, auth, district, category, definition):
    """Create or replace one category's definition (the district's administrator, the platform)."""
    _require_district_admin(auth, _text(district, "district"), "change the catalogue")
    _district(db, district)
    if not isinstance(definition, dict):
        raise Invalid("the definition must be an object", {"_schema": "must be an object"})
    if "category" in definition and definition["category"] != category:
        raise Invalid("the definition names another category",
                      {"category": f"must be {category!r} as in the path, or left out"})
    try:
        loaded = CategoryIn().load({**definition, "category": category})
    except ValidationError as err:
        errors = flatten(err.messages) if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise Invalid(f"invalid category: {', '.join(sorted(errors))}",
                      {k: "; ".join(str(m) for m in v) for k, v in errors.items()})
    dept_id = loaded["department_id"]
    if dept_id is not None and not db.departments.count_documents({"district": district, "id": dept_id}, limit=1):
        raise Invalid(f"unknown department {dept_id!r}", {"department_id": f"unknown department {dept_id!r}"})
    now = utcnow()
    db.categories.update_one(
        {"district": district, "category": category},
        {"$set": {**importer.stored_definition(loaded), "updated_at": now},
         "$setOnInsert": {"created_at": now}}, upsert=True)
    return get_category(db, auth, district, category)
