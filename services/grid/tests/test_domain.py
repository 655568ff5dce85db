"""The grid domain on an in-memory database: districts, the import, and the questions it answers."""
import copy

import pytest
from werkzeug.security import generate_password_hash

from civicgrid.auth import AuthContext
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from services.grid import domain, importer
from services.grid.dependencies import create_indexes

ADMIN = AuthContext(user_id="admin", roles=("platform_admin",))
HB_ADMIN = AuthContext(user_id="hbadmin", district="hb", roles=("district_admin",), scope="hb")
OTHER_ADMIN = AuthContext(user_id="xadmin", district="xs", roles=("district_admin",), scope="xs")
HB_RESIDENT = AuthContext(user_id="resident28", district="hb", roles=("resident",), scope="b28")
OTHER_RESIDENT = AuthContext(user_id="someone", district="xs", roles=("resident",), scope="x1")
SYSTEM = AuthContext(user_id="system:petitions", roles=("system",))
COLLECTIONS = ("nodes", "departments", "categories", "users")


def seed():
    """The demo district, children listed before their parents on purpose."""
    return {
        "nodes": [
            {"id": "b27", "type": "building", "name": "竹林湾路27栋", "parent": "wenchang-g1"},
            {"id": "b28", "type": "building", "name": "竹林湾路28栋", "parent": "wenchang-g1"},
            {"id": "b29", "type": "building", "name": "竹林湾路29栋", "parent": "wenchang-g1"},
            {"id": "wenchang-g1", "type": "grid", "name": "文昌社区第一网格", "parent": "wenchang"},
            {"id": "wenchang", "type": "community", "name": "文昌社区", "parent": "hebian"},
            {"id": "hebian", "type": "street", "name": "河边镇", "parent": "hb"},
        ],
        "departments": [
            {"id": "chengjian", "name": "城建办", "categories": ["streetlight", "slope"]},
        ],
        "users": [
            {"username": "daiyunzhong", "password": "secret1", "name": "代云中",
             "roles": ["building_leader", "resident"], "scope": "b28"},
            {"username": "daijiaqian", "password": "secret2", "name": "戴家乾",
             "roles": ["building_leader"], "scope": "b27"},
            {"username": "liwang", "password": "secret3", "name": "李网格",
             "roles": ["grid_worker"], "scope": "wenchang-g1"},
            {"username": "zhangsq", "password": "secret4", "name": "张社区",
             "roles": ["community_staff"], "scope": "wenchang"},
            {"username": "chengjian01", "password": "secret5", "name": "城建办值班",
             "roles": ["department_staff"], "scope": None, "department": "chengjian"},
            {"username": "resident28", "password": "secret6", "name": "王居民",
             "roles": ["resident"], "scope": "b28"},
            {"username": "hbadmin", "password": "secret7", "name": "区管理员",
             "roles": ["district_admin"], "scope": None},
        ],
    }


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    # The default scrypt costs ~0.1 s a user; one test below keeps it to prove the default works.
    monkeypatch.setattr(importer, "generate_password_hash",
                        lambda pw: generate_password_hash(pw, method="pbkdf2:sha256:1000"))


@pytest.fixture
def db(open_db):
    database = open_db("grid")
    create_indexes(database)
    return database


@pytest.fixture
def hb(db):
    domain.create_district(db, ADMIN, "hb", "河边镇演示区")
    return db


@pytest.fixture
def imported(hb):
    domain.import_district(hb, ADMIN, "hb", seed())
    return hb


def counts(db):
    return {name: db[name].count_documents({}) for name in COLLECTIONS}


# -- districts ---------------------------------------------------------------

def test_create_and_get_district(db):
    assert domain.create_district(db, ADMIN, "hb", "河边镇演示区") == {"code": "hb", "name": "河边镇演示区"}
    assert domain.get_district(db, HB_RESIDENT, "hb") == {"code": "hb", "name": "河边镇演示区"}
    with pytest.raises(Conflict):
        domain.create_district(db, ADMIN, "hb", "again")


@pytest.mark.parametrize("code, name, field", [
    ("HB", "x", "code"), ("h", "x", "code"), ("1hb", "x", "code"), ("hb\n", "x", "code"),
    ({"$ne": 1}, "x", "code"), ("hb", "  ", "name"), ("hb", None, "name"),
])
def test_create_district_rejects_bad_input(db, code, name, field):
    with pytest.raises(Invalid) as err:
        domain.create_district(db, ADMIN, code, name)
    assert field in err.value.errors
    assert db.districts.count_documents({}) == 0


def test_only_the_platform_creates_districts(db):
    with pytest.raises(Forbidden):
        domain.create_district(db, HB_ADMIN, "hb", "x")
    with pytest.raises(Unauthorized):
        domain.create_district(db, AuthContext(), "hb", "x")


def test_district_is_visible_to_members_only(hb):
    with pytest.raises(Forbidden):
        domain.get_district(hb, OTHER_RESIDENT, "hb")
    with pytest.raises(NotFound):
        domain.get_district(hb, ADMIN, "nowhere")


# -- the import --------------------------------------------------------------

def test_full_import(hb):
    counts_, events = domain.import_district(hb, HB_ADMIN, "hb", seed())
    assert counts_ == {"nodes": 6, "departments": 1, "users": 7, "categories": 2}
    assert hb.nodes.find_one({"id": "b28"})["path"] == ["hb", "hebian", "wenchang", "wenchang-g1", "b28"]
    admin = hb.users.find_one({"username": "hbadmin"})
    assert admin["scope"] == "hb" and admin["district"] == "hb"
    assert "secret7" not in str(admin)
    types = [e["type"] for e in events]
    assert types.count("member_assigned") == 7 and types.count("department_registered") == 1
    member = next(e for e in events if e["data"].get("user_id") == "chengjian01")
    assert member["district"] == "hb" and member["actor"] == {"id": "hbadmin", "role": "district_admin"}
    assert member["data"]["department_id"] == "chengjian"


def test_reimport_updates_instead_of_duplicating(imported):
    before = counts(imported)
    again = seed()
    again["nodes"][1]["name"] = "竹林湾路28栋（新）"
    again["users"][5]["password"] = "changed1"
    domain.import_district(imported, ADMIN, "hb", again)
    assert counts(imported) == before
    assert imported.nodes.find_one({"id": "b28"})["name"] == "竹林湾路28栋（新）"
    assert domain.authenticate(imported, "resident28", "changed1")["user_id"] == "resident28"
    with pytest.raises(Unauthorized):
        domain.authenticate(imported, "resident28", "secret6")


def test_import_may_hang_below_stored_nodes(imported):
    doc = {"nodes": [
        {"id": "wenchang-g1-m1", "type": "microgrid", "name": "微网格一", "parent": "wenchang-g1"},
        {"id": "b30", "type": "building", "name": "竹林湾路30栋", "parent": "wenchang-g1-m1"},
    ], "users": [{"username": "mgw", "password": "secret", "name": "微网格员",
                  "roles": ["grid_worker"], "scope": "wenchang-g1-m1"}]}
    assert domain.import_district(imported, HB_ADMIN, "hb", doc)[0]["nodes"] == 2
    assert domain.locate_building(imported, HB_RESIDENT, "hb", "b30") == {
        "building_id": "b30", "name": "竹林湾路30栋",
        "path": ["hb", "hebian", "wenchang", "wenchang-g1", "wenchang-g1-m1", "b30"],
        "grid": "wenchang-g1", "microgrid": "wenchang-g1-m1", "community": "wenchang", "street": "hebian"}
    assert domain.responsible_for_building(imported, SYSTEM, "hb", "b30")["grid_workers"] == ["liwang", "mgw"]


def _mutate(path, value):
    """A seed document with one entry or field replaced (``_DELETE`` removes it)."""
    def build():
        doc = seed()
        target = doc
        for step in path[:-1]:
            target = target[step]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return doc
    return build


_DELETE = object()

BAD = [
    (("nodes", 0, "parent"), "nowhere", "nodes[0].parent", "unknown parent 'nowhere'"),
    (("nodes", 0, "parent"), "wenchang", "nodes[0].parent", "cannot sit under community"),
    (("nodes", 3, "parent"), "hb", "nodes[3].parent", "cannot sit under the district"),
    (("nodes", 1, "id"), "b27", "nodes[1].id", "duplicate id 'b27'"),
    (("nodes", 2, "type"), "house", "nodes[2].type", "unknown type 'house'"),
    (("nodes", 2, "name"), _DELETE, "nodes[2].name", "Missing data"),
    (("nodes", 2, "id"), "hb", "nodes[2].id", "district code"),
    (("nodes", 2, "extra"), 1, "nodes[2].extra", "Unknown field"),
    (("nodes", 2), "b29", "nodes[2]", "must be an object"),
    (("nodes",), {"b29": 1}, "nodes", "must be a list"),
    (("departments", 0, "categories"), ["streetlight", 3], "departments[0].categories[1]", "Not a valid string"),
    (("departments", 0, "id"), "cheng.jian", "departments[0].id", "must be"),
    (("users", 0, "roles"), ["mayor", "resident"], "users[0].roles", "unknown role 'mayor'"),
    (("users", 0, "roles"), [], "users[0].roles", "at least one role"),
    (("users", 0, "username"), "a b", "users[0].username", "must be"),
    (("users", 1, "username"), "daiyunzhong", "users[1].username", "duplicate username"),
    (("users", 0, "password"), "12345", "users[0].password", "6-256"),
    (("users", 0, "name"), "", "users[0].name", "blank"),
    (("users", 5, "scope"), "wenchang-g1", "users[5].scope", "resident needs a building"),
    (("users", 2, "scope"), "b28", "users[2].scope", "grid_worker needs a grid or a microgrid"),
    (("users", 3, "scope"), None, "users[3].scope", "required for role 'community_staff'"),
    (("users", 3, "scope"), "ghost", "users[3].scope", "unknown node 'ghost'"),
    (("users", 6, "scope"), "wenchang", "users[6].scope", "district_admin needs the district"),
    (("users", 4, "department"), "ghost", "users[4].department", "unknown department 'ghost'"),
    (("users", 4, "department"), None, "users[4].department", "required for role 'department_staff'"),
    (("users", 5, "department"), "chengjian", "users[5].department", "only department_staff"),
    (("users", 5, "scope"), {"$ne": None}, "users[5].scope", "Not a valid string"),
    (("spare",), [], "spare", "unknown section"),
]


@pytest.mark.parametrize("path, value, key, message", BAD, ids=[b[2] + ":" + b[3] for b in BAD])
def test_bad_entry_is_named_and_nothing_is_written(hb, path, value, key, message):
    with pytest.raises(Invalid) as err:
        domain.import_district(hb, ADMIN, "hb", _mutate(path, value)())
    assert message in err.value.errors.get(key, ""), err.value.errors
    assert err.value.message.startswith("import rejected: ")
    assert counts(hb) == dict.fromkeys(COLLECTIONS, 0)


def test_every_problem_is_reported_at_once(hb):
    doc = seed()
    doc["nodes"][0]["parent"] = "nowhere"
    doc["departments"].append({"id": "shuiwu", "name": "水务", "categories": ["slope"]})
    doc["users"][0]["roles"] = ["mayor"]
    doc["users"][1]["password"] = "x"
    with pytest.raises(Invalid) as err:
        domain.import_district(hb, ADMIN, "hb", doc)
    assert set(err.value.errors) == {"nodes[0].parent", "departments[1].categories",
                                     "users[0].roles", "users[1].password"}
    assert err.value.message == "import rejected: 4 problems"
    assert "'slope' already belongs to department 'chengjian'" in err.value.errors["departments[1].categories"]


def test_document_must_be_an_object(hb):
    with pytest.raises(Invalid) as err:
        domain.import_district(hb, ADMIN, "hb", ["nodes"])
    assert "document" in err.value.errors


def test_stored_nodes_cannot_move_or_be_retyped(imported):
    before = counts(imported)
    doc = {"nodes": [{"id": "b28", "type": "grid", "name": "x", "parent": "wenchang"},
                     {"id": "b27", "type": "building", "name": "x", "parent": "wenchang-g2"},
                     {"id": "wenchang-g2", "type": "grid", "name": "二网格", "parent": "wenchang"}]}
    with pytest.raises(Invalid) as err:
        domain.import_district(imported, ADMIN, "hb", doc)
    assert "cannot move or retype 'b28'" in err.value.errors["nodes[0].type"]
    assert "cannot move or retype 'b27'" in err.value.errors["nodes[1].parent"]
    assert counts(imported) == before


def test_category_of_a_stored_department_cannot_be_taken(imported):
    doc = {"departments": [{"id": "shuiwu", "name": "水务站", "categories": ["slope"]}]}
    with pytest.raises(Invalid) as err:
        domain.import_district(imported, ADMIN, "hb", doc)
    assert "already belongs to department 'chengjian'" in err.value.errors["departments[0].categories"]


def test_a_reimported_department_may_give_a_category_away(imported):
    doc = {"departments": [{"id": "chengjian", "name": "城建办", "categories": ["streetlight"]},
                           {"id": "shuiwu", "name": "水务站", "categories": ["slope"]}]}
    domain.import_district(imported, ADMIN, "hb", doc)
    assert domain.department_for_category(imported, HB_RESIDENT, "hb", "slope")["id"] == "shuiwu"
    assert domain.get_department(imported, HB_RESIDENT, "hb", "chengjian")["categories"] == ["streetlight"]


def test_usernames_are_unique_across_districts(imported):
    domain.create_district(imported, ADMIN, "xs", "西山区")
    doc = {"nodes": [{"id": "x-s", "type": "street", "name": "西街", "parent": "xs"}],
           "users": [{"username": "daiyunzhong", "password": "secret", "name": "别人",
                      "roles": ["district_admin"], "scope": None}]}
    with pytest.raises(Invalid) as err:
        domain.import_district(imported, OTHER_ADMIN, "xs", doc)
    assert err.value.errors == {"users[0].username": "username taken"}
    assert imported.nodes.count_documents({"district": "xs"}) == 0


def test_import_rights(hb):
    domain.create_district(hb, ADMIN, "xs", "西山区")
    with pytest.raises(Forbidden):
        domain.import_district(hb, OTHER_ADMIN, "hb", seed())
    with pytest.raises(Forbidden):
        domain.import_district(hb, HB_RESIDENT, "hb", seed())
    with pytest.raises(Unauthorized):
        domain.import_district(hb, AuthContext(), "hb", seed())
    with pytest.raises(NotFound):
        domain.import_district(hb, ADMIN, "nowhere", seed())
    assert counts(hb) == dict.fromkeys(COLLECTIONS, 0)


# -- sign-in -----------------------------------------------------------------

def test_authenticate_with_the_default_hash(hb, monkeypatch):
    monkeypatch.setattr(importer, "generate_password_hash", generate_password_hash)
    doc = {"users": [copy.deepcopy(seed()["users"][0])], "nodes": seed()["nodes"]}
    domain.import_district(hb, ADMIN, "hb", doc)
    assert domain.authenticate(hb, "daiyunzhong", "secret1") == {
        "user_id": "daiyunzhong", "district": "hb", "roles": ["building_leader", "resident"],
        "scope": "b28", "department": None, "name": "代云中"}
    for username, password in [("daiyunzhong", "wrong!"), ("nobody", "secret1"), (None, "x"), ("daiyunzhong", {})]:
        with pytest.raises(Unauthorized) as err:
            domain.authenticate(hb, username, password)
        assert err.value.message == "wrong username or password"


# -- questions the other services ask ----------------------------------------

def test_responsible_for_building(imported):
    assert domain.responsible_for_building(imported, SYSTEM, "hb", "b28") == {
        "district": "hb", "building_id": "b28", "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"],
        "building_leaders": ["daiyunzhong"], "grid_workers": ["liwang"],
        "community_staff": ["zhangsq"], "district_admins": ["hbadmin"]}
    assert domain.responsible_for_building(imported, HB_RESIDENT, "hb", "b27")["building_leaders"] == ["daijiaqian"]
    assert domain.responsible_for_building(imported, HB_RESIDENT, "hb", "b29")["building_leaders"] == []


def test_locate_building(imported):
    assert domain.locate_building(imported, HB_RESIDENT, "hb", "b27") == {
        "building_id": "b27", "name": "竹林湾路27栋", "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b27"],
        "grid": "wenchang-g1", "microgrid": None, "community": "wenchang", "street": "hebian"}
    for not_a_building in ("wenchang-g1", "ghost"):
        with pytest.raises(NotFound):
            domain.locate_building(imported, HB_RESIDENT, "hb", not_a_building)
    with pytest.raises(Invalid):
        domain.locate_building(imported, ADMIN, "hb", {"$ne": None})


def test_departments_and_catalogue(imported):
    chengjian = {"id": "chengjian", "name": "城建办", "categories": ["streetlight", "slope"]}
    assert domain.get_department(imported, HB_RESIDENT, "hb", "chengjian") == chengjian
    assert domain.list_departments(imported, SYSTEM, "hb") == [chengjian]
    assert domain.department_for_category(imported, SYSTEM, "hb", "slope") == chengjian
    assert domain.department_for_category(imported, SYSTEM, "hb", "noise") is None
    assert domain.department_staff(imported, SYSTEM, "hb", "chengjian") == ["chengjian01"]
    assert domain.list_categories(imported, SYSTEM, "hb") == [
        {"category": "slope", "department_id": "chengjian", "department_name": "城建办"},
        {"category": "streetlight", "department_id": "chengjian", "department_name": "城建办"}]
    with pytest.raises(NotFound):
        domain.get_department(imported, SYSTEM, "hb", "ghost")


@pytest.mark.parametrize("call, args", [
    (domain.locate_building, ("hb", "b28")),
    (domain.responsible_for_building, ("hb", "b28")),
    (domain.get_department, ("hb", "chengjian")),
    (domain.list_departments, ("hb",)),
    (domain.department_for_category, ("hb", "slope")),
    (domain.department_staff, ("hb", "chengjian")),
    (domain.list_categories, ("hb",)),
])
def test_another_districts_member_is_forbidden(imported, call, args):
    with pytest.raises(Forbidden):
        call(imported, OTHER_RESIDENT, *args)
    with pytest.raises(Unauthorized):
        call(imported, AuthContext(), *args)
