"""The grid service's rules as plain functions of a database and an ``AuthContext``.

Who may ask is checked here rather than in the entrypoints, so the same rules
hold whether a test, a script or an RPC calls them.
"""
import functools

from marshmallow import ValidationError
from pymongo.errors import DuplicateKeyError
from werkzeug.security import check_password_hash, generate_password_hash

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from civicgrid.events import utcnow

from . import importer
from .schemas import (CategoryOut, ClaimsOut, DepartmentOut, DistrictIn, DistrictOut, LocationOut,
                      ResponsibleOut)

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


def import_district(db, auth, code, document):
    """Returns ``(counts, events)``; the caller publishes the events once the write stands."""
    auth.require()
    if not (auth.is_platform_admin or (auth.has("district_admin") and auth.district == code)):
        raise Forbidden("only the platform administrator or this district's administrator may import")
    _district(db, code)
    plan = importer.plan(db, code, document)
    importer.apply(db, code, plan)
    return plan.counts(), importer.events(code, auth, plan)


# -- people ------------------------------------------------------------------

@functools.cache
def _decoy_hash():
    return generate_password_hash("not a password anyone has")


def authenticate(db, username, password):
    """Anyone may try; an unknown user costs as much as a wrong password, so timing tells nothing."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise Unauthorized(WRONG_CREDENTIALS)
    user = db.users.find_one({"username": username})
    if not check_password_hash(user["password_hash"] if user else _decoy_hash(), password) or not user:
        raise Unauthorized(WRONG_CREDENTIALS)
    return ClaimsOut().dump(user)


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
        "district_admins": _holders(db, district, ["district_admin"]),
    })


# -- departments and the dispatch catalogue ----------------------------------

def get_department(db, auth, district, department_id):
    found = db.departments.find_one({"district": _member(auth, district),
                                     "id": _text(department_id, "department_id")})
    if found is None:
        raise NotFound(f"no department {department_id!r} in district {district!r}",
                       {"department_id": "not found"})
    return DepartmentOut().dump(found)


def list_departments(db, auth, district):
    found = db.departments.find({"district": _member(auth, district)}).sort("id", 1)
    return DepartmentOut(many=True).dump(list(found))


def department_for_category(db, auth, district, category):
    """The department a category is dispatched to, or ``None`` when the catalogue has none."""
    mapping = db.categories.find_one({"district": _member(auth, district),
                                      "category": _text(category, "category")})
    if mapping is None:
        return None
    found = db.departments.find_one({"district": district, "id": mapping["department_id"]})
    return DepartmentOut().dump(found) if found else None


def department_staff(db, auth, district, department_id):
    query = {"district": _member(auth, district), "roles": "department_staff",
             "department": _text(department_id, "department_id")}
    return sorted(u["username"] for u in db.users.find(query, {"username": 1}))


def list_categories(db, auth, district):
    names = {d["id"]: d["name"] for d in db.departments.find({"district": _member(auth, district)})}
    mappings = db.categories.find({"district": district}).sort("category", 1)
    return CategoryOut(many=True).dump([
        {"category": m["category"], "department_id": m["department_id"],
         "department_name": names.get(m["department_id"])} for m in mappings])
