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
    with pytest.raises(NotFound):  # another district's: as if it did not exist
        domain.get_district(hb, OTHER_RESIDENT, "hb")
    with pytest.raises(NotFound):
        domain.get_district(hb, ADMIN, "nowhere")


# -- the import --------------------------------------------------------------

def test_full_import(hb):
    counts_, events = domain.import_district(hb, HB_ADMIN, "hb", seed())
    assert counts_ == {"nodes": 6, "departments": 1, "users": 7, "categories": 2, "households": 0}
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
    (("nodes", 3, "location"), {"lat": 28.97, "lng": 106.65}, "nodes[3].location", "only a building"),
    (("nodes", 0, "location"), {"lat": 128.9, "lng": 106.65}, "nodes[0].location.lat", "between -90 and 90"),
    (("nodes", 0, "location"), {"lat": 28.9}, "nodes[0].location.lng", "Missing data"),
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
    (("users", 2, "roles"), ["party_member"], "users[2].scope", "party_member needs a building or a community"),
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
    assert domain.get_department(imported, HB_RESIDENT, "hb", "shuiwu")["categories"] == ["slope"]


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
    with pytest.raises(NotFound):  # another district's administrator: not found, not forbidden
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
        "scope": "b28", "department": None, "name": "代云中", "community": "wenchang"}
    for username, password in [("daiyunzhong", "wrong!"), ("nobody", "secret1"), (None, "x"), ("daiyunzhong", {})]:
        with pytest.raises(Unauthorized) as err:
            domain.authenticate(hb, username, password)
        assert err.value.message == "wrong username or password"


# -- questions the other services ask ----------------------------------------

def test_responsible_for_building(imported):
    assert domain.responsible_for_building(imported, SYSTEM, "hb", "b28") == {
        "district": "hb", "building_id": "b28", "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"],
        "building_leaders": ["daiyunzhong"], "grid_workers": ["liwang"],
        "community_staff": ["zhangsq"], "party_members": [], "district_admins": ["hbadmin"]}
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
    chengjian = {"id": "chengjian", "name": "城建办", "categories": ["slope", "streetlight"]}
    assert domain.get_department(imported, HB_RESIDENT, "hb", "chengjian") == chengjian
    assert domain.list_departments(imported, SYSTEM, "hb") == [chengjian]
    assert domain.department_for_category(imported, SYSTEM, "hb", "slope") == chengjian
    assert domain.department_for_category(imported, SYSTEM, "hb", "noise") is None
    assert domain.department_staff(imported, SYSTEM, "hb", "chengjian") == ["chengjian01"]
    assert domain.list_categories(imported, SYSTEM, "hb") == [
        {"category": "slope", "name": "slope", "description": "", "department_id": "chengjian",
         "department_name": "城建办", "kind": "issue", "fields": []},
        {"category": "streetlight", "name": "streetlight", "description": "", "department_id": "chengjian",
         "department_name": "城建办", "kind": "issue", "fields": []}]
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
    (domain.get_node, ("hb", "wenchang")),
])
def test_another_districts_member_is_forbidden(imported, call, args):
    with pytest.raises(NotFound):
        call(imported, OTHER_RESIDENT, *args)
    with pytest.raises(Unauthorized):
        call(imported, AuthContext(), *args)


# -- categories: full definitions ---------------------------------------------

def definitions():
    """The top-level ``categories`` section: one of each kind of field, and two help categories."""
    return [
        {"category": "streetlight", "name": "路灯/楼道灯损坏", "description": "路灯不亮",
         "department_id": "chengjian", "kind": "issue", "fields": [
             {"code": "location_type", "name": "位置", "type": "single_choice", "required": True,
              "choices": [{"key": "stairwell", "name": "楼道"}, {"key": "road", "name": "道路"}]},
             {"code": "lamp_count", "name": "不亮的灯数", "type": "number"}]},
        {"category": "garbage", "name": "楼道垃圾", "department_id": "chengjian", "fields": [
            {"code": "kinds", "name": "垃圾类型", "type": "multiple_choice", "description": "可多选",
             "choices": [{"key": "household", "name": "生活垃圾"}, {"key": "bulky", "name": "大件垃圾"}]}]},
        {"category": "help_errand", "name": "求助·生活帮办", "department_id": None, "kind": "help"},
        {"category": "help_escort", "name": "求助·陪同就医", "kind": "help",
         "fields": [{"code": "hospital", "name": "医院", "type": "string", "required": True}]},
    ]


def catalogue_seed():
    doc = seed()
    doc["categories"] = definitions()
    return doc


@pytest.fixture
def catalogued(hb):
    domain.import_district(hb, ADMIN, "hb", catalogue_seed())
    return hb


STREETLIGHT = {
    "category": "streetlight", "name": "路灯/楼道灯损坏", "description": "路灯不亮",
    "department_id": "chengjian", "department_name": "城建办", "kind": "issue", "fields": [
        {"code": "location_type", "name": "位置", "type": "single_choice", "required": True, "description": "",
         "choices": [{"key": "stairwell", "name": "楼道"}, {"key": "road", "name": "道路"}]},
        {"code": "lamp_count", "name": "不亮的灯数", "type": "number", "required": False, "description": "",
         "choices": []}]}


def test_import_with_full_category_definitions(hb):
    counts_, events = domain.import_district(hb, HB_ADMIN, "hb", catalogue_seed())
    # streetlight and slope from the department's list, garbage defined only at the top, two help categories
    assert counts_["categories"] == 5
    listed = domain.list_categories(hb, HB_RESIDENT, "hb")
    assert [c["category"] for c in listed] == ["garbage", "help_errand", "help_escort", "slope", "streetlight"]
    by_code = {c["category"]: c for c in listed}
    assert by_code["streetlight"] == STREETLIGHT
    assert by_code["slope"] == {"category": "slope", "name": "slope", "description": "", "department_id": "chengjian",
                                "department_name": "城建办", "kind": "issue", "fields": []}
    assert by_code["garbage"]["fields"][0]["choices"][1] == {"key": "bulky", "name": "大件垃圾"}
    assert by_code["help_errand"] == {"category": "help_errand", "name": "求助·生活帮办", "description": "",
                                      "department_id": None, "department_name": None, "kind": "help", "fields": []}
    assert by_code["help_escort"]["fields"][0]["required"] is True
    # a definition naming a department that does not list it still belongs to that department
    assert domain.get_department(hb, SYSTEM, "hb", "chengjian")["categories"] == ["garbage", "slope", "streetlight"]
    department = next(e for e in events if e["type"] == "department_registered")
    assert department["data"]["categories"] == ["streetlight", "slope", "garbage"]
    assert domain.department_for_category(hb, SYSTEM, "hb", "garbage")["id"] == "chengjian"
    assert domain.department_for_category(hb, SYSTEM, "hb", "help_errand") is None
    assert domain.get_category(hb, HB_RESIDENT, "hb", "streetlight") == STREETLIGHT


def _snapshot(db):
    return {name: sorted(({k: v for k, v in d.items() if k not in ("_id", "updated_at", "password_hash")}
                          for d in db[name].find()), key=repr) for name in COLLECTIONS}


def test_reimporting_the_same_document_changes_nothing(catalogued):
    before = _snapshot(catalogued)
    listed = domain.list_categories(catalogued, SYSTEM, "hb")
    domain.import_district(catalogued, ADMIN, "hb", catalogue_seed())
    assert _snapshot(catalogued) == before
    assert domain.list_categories(catalogued, SYSTEM, "hb") == listed


def test_a_department_list_does_not_reset_a_definition(catalogued):
    # the seed without its definitions names streetlight in a department's list only
    domain.import_district(catalogued, ADMIN, "hb", seed())
    assert domain.get_category(catalogued, SYSTEM, "hb", "streetlight") == STREETLIGHT
    # garbage is no longer listed nor defined: the re-imported department gives it up
    with pytest.raises(NotFound):
        domain.get_category(catalogued, SYSTEM, "hb", "garbage")
    assert domain.get_category(catalogued, SYSTEM, "hb", "help_errand")["kind"] == "help"


def _with_definitions(change):
    def build():
        doc = catalogue_seed()
        change(doc)
        return doc
    return build


def _set(path, value):
    def change(doc):
        target = doc
        for step in path[:-1]:
            target = target[step]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return change


BAD_CATEGORIES = [
    (_set(("categories", 0, "fields", 0, "choices"), []), "categories[0].fields[0].choices",
     "needs at least one choice"),
    (_set(("categories", 0, "fields", 0, "choices"), _DELETE), "categories[0].fields[0].choices",
     "needs at least one choice"),
    (_set(("categories", 1, "fields", 0, "choices", 1, "key"), "household"), "categories[1].fields[0].choices",
     "duplicate key 'household'"),
    (_set(("categories", 0, "fields", 1, "choices"), [{"key": "a", "name": "A"}]), "categories[0].fields[1].choices",
     "a number field has no choices"),
    (_set(("categories", 0, "fields", 0, "choices", 0), {"key": "x"}), "categories[0].fields[0].choices[0].name",
     "Missing data"),
    # found by schemathesis: a choice without its key was a 500
    (_set(("categories", 0, "fields", 0, "choices", 0), {"name": "x"}), "categories[0].fields[0].choices[0].key",
     "Missing data"),
    (_set(("categories", 0, "fields", 1), "not a field"), "categories[0].fields[1]._schema", "Invalid input type"),
    (_set(("categories", 0, "fields", 1, "code"), "location_type"), "categories[0].fields[1].code",
     "duplicate code 'location_type'"),
    (_set(("categories", 0, "fields", 1, "code"), "bad code"), "categories[0].fields[1].code", "must be"),
    (_set(("categories", 0, "fields", 1, "type"), "date"), "categories[0].fields[1].type", "unknown type 'date'"),
    (_set(("categories", 0, "fields", 1, "required"), "perhaps"), "categories[0].fields[1].required",
     "Not a valid boolean"),
    (_set(("categories", 0, "fields", 1, "colour"), "red"), "categories[0].fields[1].colour", "Unknown field"),
    (_set(("categories", 0, "fields"), {"a": 1}), "categories[0].fields", "Not a valid list"),
    (_set(("categories", 1, "department_id"), None), "categories[1].department_id",
     "required for an issue category"),
    (_set(("categories", 1, "department_id"), _DELETE), "categories[1].department_id",
     "required for an issue category"),
    (_set(("categories", 1, "department_id"), "ghost"), "categories[1].department_id",
     "unknown department 'ghost'"),
    (_set(("categories", 0, "department_id"), None), "categories[0].department_id",
     "required for an issue category"),
    (_set(("categories", 2, "kind"), "favour"), "categories[2].kind", "unknown kind 'favour'"),
    (_set(("categories", 2, "name"), " "), "categories[2].name", "blank"),
    (_set(("categories", 2, "category"), "help.errand"), "categories[2].category", "must be"),
    (_set(("categories", 3, "category"), "help_errand"), "categories[3].category", "duplicate category"),
    (_set(("categories", 3), "help_escort"), "categories[3]", "must be an object"),
    (_set(("categories",), {"help": 1}), "categories", "must be a list"),
]


@pytest.mark.parametrize("change, key, message", BAD_CATEGORIES, ids=[b[1] + ":" + b[2] for b in BAD_CATEGORIES])
def test_bad_category_is_named_and_nothing_is_written(hb, change, key, message):
    doc = catalogue_seed()
    change(doc)
    with pytest.raises(Invalid) as err:
        domain.import_district(hb, ADMIN, "hb", doc)
    assert message in err.value.errors.get(key, ""), err.value.errors
    assert counts(hb) == dict.fromkeys(COLLECTIONS, 0)


def test_a_category_in_both_places_must_name_the_same_department(hb):
    doc = catalogue_seed()
    doc["departments"].append({"id": "huanjing", "name": "环卫所", "categories": ["garbage"]})
    doc["categories"][2]["department_id"] = "chengjian"     # a help category listed by no department: fine
    doc["departments"][0]["categories"].append("help_escort")  # but a help category without one is not
    with pytest.raises(Invalid) as err:
        domain.import_district(hb, ADMIN, "hb", doc)
    assert set(err.value.errors) == {"categories[1].department_id", "categories[3].department_id"}
    assert "listed by department 'huanjing'" in err.value.errors["categories[1].department_id"]
    assert "listed by department 'chengjian'" in err.value.errors["categories[3].department_id"]
    assert counts(hb) == dict.fromkeys(COLLECTIONS, 0)


def test_a_definition_may_move_a_stored_category(catalogued):
    doc = {"departments": [{"id": "huanjing", "name": "环卫所", "categories": []}],
           "categories": [{**definitions()[1], "department_id": "huanjing"}]}
    domain.import_district(catalogued, ADMIN, "hb", doc)
    assert domain.department_for_category(catalogued, SYSTEM, "hb", "garbage")["id"] == "huanjing"
    assert domain.get_department(catalogued, SYSTEM, "hb", "chengjian")["categories"] == ["slope", "streetlight"]


# -- put_category -------------------------------------------------------------

NOISE = {"name": "夜间噪音", "description": "晚上十点后施工、广场舞噪音", "department_id": "chengjian",
         "fields": [{"code": "source", "name": "噪音来源", "type": "single_choice", "required": True,
                     "choices": [{"key": "construction", "name": "施工"}, {"key": "dance", "name": "广场舞"}]}]}


def test_put_category_creates_and_replaces(catalogued):
    created = domain.put_category(catalogued, HB_ADMIN, "hb", "noise", NOISE)
    assert created == {
        "category": "noise", "name": "夜间噪音", "description": "晚上十点后施工、广场舞噪音",
        "department_id": "chengjian", "department_name": "城建办", "kind": "issue",
        "fields": [{"code": "source", "name": "噪音来源", "type": "single_choice", "required": True,
                    "description": "", "choices": NOISE["fields"][0]["choices"]}]}
    assert domain.get_category(catalogued, HB_RESIDENT, "hb", "noise") == created
    assert "noise" in domain.get_department(catalogued, SYSTEM, "hb", "chengjian")["categories"]
    # replacing: the whole definition, the path's code may be repeated in the body
    help_ = domain.put_category(catalogued, ADMIN, "hb", "noise",
                                {"category": "noise", "name": "噪音求助", "kind": "help", "department_id": None})
    assert help_ == {"category": "noise", "name": "噪音求助", "description": "", "department_id": None,
                     "department_name": None, "kind": "help", "fields": []}
    assert "noise" not in domain.get_department(catalogued, SYSTEM, "hb", "chengjian")["categories"]
    assert domain.department_for_category(catalogued, SYSTEM, "hb", "noise") is None
    # an existing basic category gets a definition
    slope = domain.put_category(catalogued, HB_ADMIN, "hb", "slope", {"name": "边坡滑坡", "department_id": "chengjian"})
    assert (slope["name"], slope["kind"]) == ("边坡滑坡", "issue")
    assert catalogued.categories.count_documents({"category": "slope"}) == 1


@pytest.mark.parametrize("category, definition, key, message", [
    ("noise", {**NOISE, "fields": [{**NOISE["fields"][0], "choices": []}]}, "fields[0].choices",
     "needs at least one choice"),
    ("noise", {**NOISE, "fields": [NOISE["fields"][0], NOISE["fields"][0]]}, "fields[1].code", "duplicate code"),
    ("noise", {**NOISE, "department_id": None}, "department_id", "required for an issue category"),
    ("noise", {**NOISE, "department_id": "ghost"}, "department_id", "unknown department 'ghost'"),
    ("noise", {**NOISE, "kind": "favour"}, "kind", "unknown kind"),
    ("noise", {**NOISE, "name": ""}, "name", "blank"),
    ("noise", {**NOISE, "category": "other"}, "category", "as in the path"),
    ("noise", ["not", "an", "object"], "_schema", "must be an object"),
    ("no ise", NOISE, "category", "must be"),
    ({"$ne": None}, NOISE, "category", "Not a valid string"),
])
def test_put_category_names_each_bad_field_and_writes_nothing(catalogued, category, definition, key, message):
    before = _snapshot(catalogued)
    with pytest.raises(Invalid) as err:
        domain.put_category(catalogued, HB_ADMIN, "hb", category, definition)
    assert message in err.value.errors.get(key, ""), err.value.errors
    assert _snapshot(catalogued) == before


def test_put_category_rights(catalogued):
    domain.create_district(catalogued, ADMIN, "xs", "西山区")
    community_staff = AuthContext(user_id="zhangsq", district="hb", roles=("community_staff",), scope="wenchang")
    for who in (HB_RESIDENT, community_staff, SYSTEM):
        with pytest.raises(Forbidden):
            domain.put_category(catalogued, who, "hb", "noise", NOISE)
    with pytest.raises(NotFound):
        domain.put_category(catalogued, OTHER_ADMIN, "hb", "noise", NOISE)
    with pytest.raises(Unauthorized):
        domain.put_category(catalogued, AuthContext(), "hb", "noise", NOISE)
    with pytest.raises(NotFound):
        domain.put_category(catalogued, ADMIN, "nowhere", "noise", NOISE)
    with pytest.raises(NotFound):
        domain.get_category(catalogued, HB_RESIDENT, "hb", "noise")
    with pytest.raises(NotFound):
        domain.get_category(catalogued, OTHER_RESIDENT, "hb", "streetlight")


def test_categories_stored_before_definitions_read_as_basic(imported):
    imported.categories.update_one({"category": "slope"}, {"$unset": {"name": "", "kind": "", "fields": "",
                                                                      "description": ""}})
    assert domain.get_category(imported, SYSTEM, "hb", "slope") == {
        "category": "slope", "name": "slope", "description": "", "department_id": "chengjian",
        "department_name": "城建办", "kind": "issue", "fields": []}


# -- party members (党员报到) ----------------------------------------------------

WC_STAFF = AuthContext(user_id="zhangsq", district="hb", roles=("community_staff",), scope="wenchang")
YJ_STAFF = AuthContext(user_id="liyj", district="hb", roles=("community_staff",), scope="yanjinghe")


@pytest.fixture
def party(imported):
    """A second community with a building and a party member registered straight with it."""
    domain.import_district(imported, ADMIN, "hb", {
        "nodes": [{"id": "yanjinghe", "type": "community", "name": "盐井河村", "parent": "hebian"},
                  {"id": "yj-g1", "type": "grid", "name": "盐井河一网格", "parent": "yanjinghe"},
                  {"id": "yj-b1", "type": "building", "name": "盐井河1栋", "parent": "yj-g1"}],
        "users": [{"username": "huxingyou", "password": "secret8", "name": "胡兴友",
                   "roles": ["resident"], "scope": "b29"},
                  {"username": "wcparty1", "password": "secret9", "name": "文昌党员",
                   "roles": ["party_member", "resident"], "scope": "b29"},
                  {"username": "yjparty1", "password": "secret9", "name": "盐井河党员",
                   "roles": ["party_member"], "scope": "yanjinghe"},
                  {"username": "yjresident", "password": "secret9", "name": "盐井河居民",
                   "roles": ["resident"], "scope": "yj-b1"}]})
    return imported


def test_every_user_has_the_community_of_their_scope(party):
    stored = {u["username"]: u["community"] for u in party.users.find()}
    assert stored == {"daiyunzhong": "wenchang", "daijiaqian": "wenchang", "liwang": "wenchang",
                      "zhangsq": "wenchang", "chengjian01": None, "resident28": "wenchang", "hbadmin": None,
                      "huxingyou": "wenchang", "wcparty1": "wenchang", "yjparty1": "yanjinghe",
                      "yjresident": "yanjinghe"}
    assert domain.party_members(party, HB_RESIDENT, "hb", "wenchang") == ["wcparty1"]
    assert domain.party_members(party, SYSTEM, "hb", "yanjinghe") == ["yjparty1"]
    assert domain.responsible_for_building(party, SYSTEM, "hb", "b28")["party_members"] == ["wcparty1"]
    assert domain.responsible_for_building(party, SYSTEM, "hb", "yj-b1")["party_members"] == ["yjparty1"]


def test_authenticate_returns_the_community(party):
    assert domain.authenticate(party, "resident28", "secret6")["community"] == "wenchang"
    assert domain.authenticate(party, "yjparty1", "secret9")["community"] == "yanjinghe"
    assert domain.authenticate(party, "chengjian01", "secret5")["community"] is None
    assert domain.authenticate(party, "hbadmin", "secret7")["community"] is None
    # a user stored before communities were recorded gets theirs on the spot
    party.users.update_one({"username": "resident28"}, {"$unset": {"community": ""}})
    assert domain.authenticate(party, "resident28", "secret6")["community"] == "wenchang"


def test_community_staff_register_a_party_member_with_their_community(party):
    member, events = domain.register_party_member(party, WC_STAFF, "hb", "huxingyou")
    assert member == {"user_id": "huxingyou", "name": "胡兴友", "roles": ["resident", "party_member"],
                      "community": "wenchang"}
    assert [e["type"] for e in events] == ["member_assigned"]
    assert events[0]["district"] == "hb" and events[0]["actor"] == {"id": "zhangsq", "role": "community_staff"}
    assert events[0]["data"] == {"user_id": "huxingyou", "name": "胡兴友", "roles": ["resident", "party_member"],
                                 "scope": "b29", "department_id": None}
    # idempotent: the role once, the same answer
    assert domain.register_party_member(party, WC_STAFF, "hb", "huxingyou", "wenchang")[0] == member
    claims = domain.authenticate(party, "huxingyou", "secret8")
    assert (claims["roles"], claims["community"]) == (["resident", "party_member"], "wenchang")
    assert domain.party_members(party, SYSTEM, "hb", "wenchang") == ["huxingyou", "wcparty1"]


def test_a_party_member_answers_where_registered(party):
    # a resident of 29栋 (文昌) registered with 盐井河村 answers whistles there
    member, _ = domain.register_party_member(party, HB_ADMIN, "hb", "huxingyou", "yanjinghe")
    assert member["community"] == "yanjinghe"
    assert domain.authenticate(party, "huxingyou", "secret8")["community"] == "yanjinghe"
    assert domain.party_members(party, SYSTEM, "hb", "yanjinghe") == ["huxingyou", "yjparty1"]
    assert domain.party_members(party, SYSTEM, "hb", "wenchang") == ["wcparty1"]
    assert domain.responsible_for_building(party, SYSTEM, "hb", "b29")["party_members"] == ["wcparty1"]
    # registered again with their own community, by the staff there
    domain.register_party_member(party, WC_STAFF, "hb", "huxingyou", "wenchang")
    assert domain.party_members(party, SYSTEM, "hb", "yanjinghe") == ["yjparty1"]


def test_a_user_without_a_community_names_one(party):
    with pytest.raises(Invalid) as err:
        domain.register_party_member(party, HB_ADMIN, "hb", "chengjian01")
    assert "community" in err.value.errors
    assert "party_member" not in party.users.find_one({"username": "chengjian01"})["roles"]
    member, _ = domain.register_party_member(party, ADMIN, "hb", "chengjian01", "wenchang")
    assert member["roles"] == ["department_staff", "party_member"]
    assert domain.authenticate(party, "chengjian01", "secret5")["community"] == "wenchang"


@pytest.mark.parametrize("who, username, community, error", [
    (HB_RESIDENT, "huxingyou", None, Forbidden),
    (AuthContext(user_id="p", district="hb", roles=("party_member",), scope="wenchang"), "huxingyou", None, Forbidden),
    (YJ_STAFF, "huxingyou", None, Forbidden),              # 29栋 is in 文昌, not their community
    (WC_STAFF, "huxingyou", "yanjinghe", Forbidden),       # staff register with their own community only
    (OTHER_ADMIN, "huxingyou", None, NotFound),           # another district's: not found
    (AuthContext(), "huxingyou", None, Unauthorized),
    (HB_ADMIN, "ghost", None, NotFound),
    (WC_STAFF, "huxingyou", "wenchang-g1", Invalid),        # a grid, not a community
    (HB_ADMIN, "huxingyou", "ghost", Invalid),
    (HB_ADMIN, {"$ne": None}, None, Invalid),
    (HB_ADMIN, "huxingyou", {"$ne": None}, Invalid),
])
def test_who_may_register_a_party_member(party, who, username, community, error):
    before = _snapshot(party)
    with pytest.raises(error):
        domain.register_party_member(party, who, "hb", username, community)
    assert _snapshot(party) == before


def test_a_user_of_another_district_cannot_be_registered(party):
    domain.create_district(party, ADMIN, "xs", "西山区")
    domain.import_district(party, ADMIN, "xs", {
        "nodes": [{"id": "x-s", "type": "street", "name": "西街", "parent": "xs"},
                  {"id": "x-c", "type": "community", "name": "西社区", "parent": "x-s"}],
        "users": [{"username": "xsperson", "password": "secret", "name": "西山人",
                   "roles": ["community_staff"], "scope": "x-c"}]})
    with pytest.raises(NotFound):
        domain.register_party_member(party, ADMIN, "hb", "xsperson", "wenchang")
    with pytest.raises(Invalid):
        domain.register_party_member(party, ADMIN, "xs", "xsperson", "wenchang")
    with pytest.raises(NotFound):
        domain.party_members(party, ADMIN, "xs", "wenchang")
    with pytest.raises(NotFound):
        domain.party_members(party, OTHER_RESIDENT, "hb", "wenchang")


def test_reimporting_keeps_a_registration_made_through_the_api(party):
    domain.register_party_member(party, WC_STAFF, "hb", "huxingyou")
    domain.import_district(party, ADMIN, "hb", {"users": [
        {"username": "huxingyou", "password": "secret8", "name": "胡兴友", "roles": ["resident"], "scope": "b29"}]})
    assert domain.party_members(party, SYSTEM, "hb", "wenchang") == ["huxingyou", "wcparty1"]
    # an import-only party member left out of the roles is no longer one
    domain.import_district(party, ADMIN, "hb", {"users": [
        {"username": "wcparty1", "password": "secret9", "name": "文昌党员", "roles": ["resident"], "scope": "b29"}]})
    assert domain.party_members(party, SYSTEM, "hb", "wenchang") == ["huxingyou"]


@pytest.mark.parametrize("call, args", [
    (domain.get_category, ("hb", "slope")),
    (domain.party_members, ("hb", "wenchang")),
    (domain.register_party_member, ("hb", "resident28")),
])
def test_another_districts_member_is_forbidden_from_the_catalogue(imported, call, args):
    with pytest.raises(NotFound):
        call(imported, OTHER_RESIDENT, *args)
    with pytest.raises(Unauthorized):
        call(imported, AuthContext(), *args)


def test_a_node_is_told_to_the_districts_members(imported):
    node = domain.get_node(imported, HB_RESIDENT, "hb", "wenchang")
    assert node == {"id": "wenchang", "type": "community", "name": node["name"], "parent": "hebian",
                    "path": ["hb", "hebian", "wenchang"]}
    with pytest.raises(NotFound):
        domain.get_node(imported, HB_RESIDENT, "hb", "nowhere")
    with pytest.raises(Invalid):
        domain.get_node(imported, HB_RESIDENT, "hb", {"$ne": None})
