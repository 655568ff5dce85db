"""Open311 intake on the grid: API keys per application, and which building a request lands in."""
import pytest
from nameko.testing.services import entrypoint_hook

from civicgrid.auth import AuthContext, issue_token
from civicgrid.errors import Forbidden, Invalid, NotFound, Unauthorized
from services.grid import apikeys, domain
from services.grid.dependencies import create_indexes
from services.grid.service import GridService

ADMIN = AuthContext(user_id="admin", roles=("platform_admin",))
HB_ADMIN = AuthContext(user_id="hbadmin", district="hb", roles=("district_admin",), scope="hb")
QJ_ADMIN = AuthContext(user_id="qjadmin", district="qj", roles=("district_admin",), scope="qj")
HB_STAFF = AuthContext(user_id="zhangsq", district="hb", roles=("community_staff",), scope="wenchang")
HB_OPEN311 = AuthContext(user_id="open311:hotline", district="hb", roles=("open311_client",))
QJ_OPEN311 = AuthContext(user_id="open311:hotline", district="qj", roles=("open311_client",))

HOTLINE = {"application": "hotline", "name": "河边镇12345热线", "contact": "热线中心 023-12345"}

NODES = [
    {"id": "hebian", "type": "street", "name": "河边镇", "parent": "hb"},
    {"id": "wenchang", "type": "community", "name": "文昌社区", "parent": "hebian"},
    {"id": "yanjinghe", "type": "community", "name": "盐井河村", "parent": "hebian"},
    {"id": "wenchang-g1", "type": "grid", "name": "经济适用房二期网格", "parent": "wenchang"},
    {"id": "yjh-g1", "type": "grid", "name": "盐井河一网格", "parent": "yanjinghe"},
    {"id": "b27", "type": "building", "name": "竹林湾路27栋", "parent": "wenchang-g1"},
    {"id": "b28", "type": "building", "name": "竹林湾路28栋", "parent": "wenchang-g1"},
    {"id": "b128", "type": "building", "name": "竹林湾路128栋", "parent": "wenchang-g1"},
    {"id": "wc-1", "type": "building", "name": "1栋", "parent": "wenchang-g1"},
    {"id": "yjh-1", "type": "building", "name": "1栋", "parent": "yjh-g1"},
]


@pytest.fixture
def db(open_db):
    database = open_db("grid")
    create_indexes(database)
    domain.create_district(database, ADMIN, "hb", "河边镇演示区")
    domain.create_district(database, ADMIN, "qj", "綦江区")
    domain.import_district(database, ADMIN, "hb", {"nodes": NODES})
    return database


def locate(db, building_id, lat, lng):
    """Coordinates are not part of the import document yet: recorded on the node directly."""
    db.nodes.update_one({"district": "hb", "id": building_id}, {"$set": {"location": {"lat": lat, "lng": lng}}})


# -- API keys ------------------------------------------------------------------

def test_a_key_is_shown_once_and_stored_only_as_its_hash(db):
    created = apikeys.create_api_key(db, HB_ADMIN, "hb", HOTLINE)
    key = created["key"]
    assert key.startswith("o311_") and len(key) > 40 and created["key_hint"] == key[-4:]
    assert (created["district"], created["application"], created["created_by"]) == ("hb", "hotline", "hbadmin")
    assert created["revoked_at"] is None and created["contact"] == HOTLINE["contact"]
    stored = db.api_keys.find_one({"id": created["id"]})
    assert key not in str(stored.values())
    listed = apikeys.list_api_keys(db, HB_ADMIN, "hb")
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]

    assert apikeys.check_api_key(db, key) == {"district": "hb", "application": "hotline",
                                              "name": "河边镇12345热线", "key_id": created["id"]}
    assert apikeys.list_api_keys(db, HB_ADMIN, "hb")[0]["last_used_at"] is not None


def test_revoked_unknown_and_missing_keys_are_refused_naming_why(db):
    created = apikeys.create_api_key(db, HB_ADMIN, "hb", HOTLINE)
    spare = apikeys.create_api_key(db, ADMIN, "hb", HOTLINE)  # rotation: same application, second key
    revoked = apikeys.revoke_api_key(db, HB_ADMIN, "hb", created["id"])
    assert revoked["revoked_by"] == "hbadmin" and revoked["revoked_at"]
    assert apikeys.revoke_api_key(db, HB_ADMIN, "hb", created["id"])["revoked_at"] == revoked["revoked_at"]
    with pytest.raises(Forbidden, match="revoked"):
        apikeys.check_api_key(db, created["key"])
    assert apikeys.check_api_key(db, spare["key"])["application"] == "hotline"
    with pytest.raises(Forbidden, match="invalid api_key"):
        apikeys.check_api_key(db, "o311_guessed")
    for missing in (None, "", "  ", {"$ne": None}):
        with pytest.raises(Forbidden):
            apikeys.check_api_key(db, missing)
    with pytest.raises(NotFound):
        apikeys.revoke_api_key(db, HB_ADMIN, "hb", "ak-nothing")


def test_only_the_districts_administrator_or_the_platform_manages_keys(db):
    apikeys.create_api_key(db, HB_ADMIN, "hb", HOTLINE)
    for who in (HB_STAFF, HB_OPEN311):
        with pytest.raises(Forbidden):
            apikeys.create_api_key(db, who, "hb", HOTLINE)
        with pytest.raises(Forbidden):
            apikeys.list_api_keys(db, who, "hb")
    with pytest.raises(NotFound):  # another district's administrator: as if hb did not exist
        apikeys.create_api_key(db, QJ_ADMIN, "hb", HOTLINE)
    with pytest.raises(NotFound):
        apikeys.list_api_keys(db, QJ_ADMIN, "hb")
    with pytest.raises(Unauthorized):
        apikeys.list_api_keys(db, AuthContext(), "hb")
    assert apikeys.list_api_keys(db, QJ_ADMIN, "qj") == []
    with pytest.raises(NotFound):
        apikeys.create_api_key(db, ADMIN, "zz", HOTLINE)


@pytest.mark.parametrize("application, field", [
    ({"name": "x"}, "application"), ({"application": "has space", "name": "x"}, "application"),
    ({"application": "ok", "name": "  "}, "name"),
    ({"application": "ok", "name": "x", "contact": "c" * 201}, "contact"),
    ({"application": "ok", "name": "x", "extra": 1}, "extra"),
])
def test_a_bad_key_request_is_refused_and_nothing_is_issued(db, application, field):
    with pytest.raises(Invalid) as err:
        apikeys.create_api_key(db, HB_ADMIN, "hb", application)
    assert field in err.value.errors
    assert db.api_keys.count_documents({}) == 0


# -- where a request lands -----------------------------------------------------

def test_address_id_is_a_building_id(db):
    assert apikeys.match_building(db, HB_OPEN311, "hb", address_id="b28") == {
        "building_id": "b28", "name": "竹林湾路28栋", "matched_by": "address_id"}
    with pytest.raises(Invalid) as err:
        apikeys.match_building(db, HB_OPEN311, "hb", address_id="wenchang")
    assert "address_id" in err.value.errors


@pytest.mark.parametrize("address, building_id", [
    ("竹林湾路28栋", "b28"),
    ("重庆市 河边镇 文昌社区 竹林湾路 28 栋 2单元", "b28"),
    ("竹林湾路１２８栋", "b128"),           # full-width digits; 28栋 is not inside 128栋
    ("B27", "b27"),                        # the building's id, as written on a plate
    ("盐井河村1栋", "yjh-1"),               # the community tells two buildings named 1栋 apart
    ("文昌社区经济适用房二期网格 1栋", "wc-1"),
])
def test_address_string_names_the_building(db, address, building_id):
    found = apikeys.match_building(db, HB_OPEN311, "hb", address=address)
    assert (found["building_id"], found["matched_by"]) == (building_id, "address_string")


def test_an_address_that_names_no_building_or_several_is_refused_naming_why(db):
    with pytest.raises(Invalid) as err:
        apikeys.match_building(db, HB_OPEN311, "hb", address="解放碑步行街")
    assert "names no building" in err.value.errors["address_string"]
    with pytest.raises(Invalid) as err:
        apikeys.match_building(db, HB_OPEN311, "hb", address="河边镇1栋")
    assert "several buildings" in err.value.errors["address_string"]
    with pytest.raises(Invalid) as err:
        apikeys.match_building(db, HB_OPEN311, "hb")
    assert list(err.value.errors) == ["location"]


def test_lat_long_finds_the_nearest_building_with_a_coordinate(db):
    with pytest.raises(Invalid) as err:
        apikeys.match_building(db, HB_OPEN311, "hb", lat=29.0, lng=106.6)
    assert "no building coordinates" in err.value.errors["lat/long"]
    locate(db, "b27", 29.0000, 106.6000)
    locate(db, "b28", 29.0010, 106.6000)   # ~111 m north of b27
    found = apikeys.match_building(db, HB_OPEN311, "hb", lat=29.0008, lng=106.6001)
    assert (found["building_id"], found["matched_by"]) == ("b28", "lat/long") and found["distance_m"] < 30
    with pytest.raises(Invalid) as err:
        apikeys.match_building(db, HB_OPEN311, "hb", lat=29.01, lng=106.6)   # ~1 km away
    assert "more than 300 m" in err.value.errors["lat/long"]
    # an address that names a building wins over the coordinate; one that does not falls back to it
    assert apikeys.match_building(db, HB_OPEN311, "hb", address="竹林湾路27栋", lat=29.0008,
                                  lng=106.6001)["building_id"] == "b27"
    assert apikeys.match_building(db, HB_OPEN311, "hb", address="小区门口", lat=29.0008,
                                  lng=106.6001)["building_id"] == "b28"


def test_only_members_of_the_district_ask_where_its_requests_land(db):
    with pytest.raises(NotFound):
        apikeys.match_building(db, QJ_OPEN311, "hb", address_id="b28")
    with pytest.raises(Invalid):
        apikeys.match_building(db, QJ_OPEN311, "qj", address_id="b28")  # qj's own: it has no b28


# -- over the broker -----------------------------------------------------------

def test_the_rpcs_answer_over_the_broker(container_factory, service_config):
    container = container_factory(GridService, service_config)
    container.start()
    admin = {"auth_token": issue_token("admin", None, ["platform_admin"])[0]}
    client = {"auth_token": issue_token("open311:hotline", "hb", ["open311_client"])[0]}
    with entrypoint_hook(container, "create_district", context_data=admin) as create:
        create("hb", "河边镇演示区")
    with entrypoint_hook(container, "import_district", context_data=admin) as import_:
        import_("hb", {"nodes": NODES})
    with entrypoint_hook(container, "create_api_key", context_data=admin) as create_key:
        created = create_key("hb", HOTLINE)
    with entrypoint_hook(container, "check_api_key") as check:
        assert check(created["key"])["district"] == "hb"
    with entrypoint_hook(container, "check_api_key") as check:
        with pytest.raises(Forbidden):
            check("o311_nope")
    with entrypoint_hook(container, "match_building", context_data=client) as match:
        assert match("hb", None, "竹林湾路28栋")["building_id"] == "b28"
    with entrypoint_hook(container, "list_api_keys", context_data=admin) as list_keys:
        assert [k["id"] for k in list_keys("hb")] == [created["id"]]
    with entrypoint_hook(container, "revoke_api_key", context_data=admin) as revoke:
        assert revoke("hb", created["id"])["revoked_at"]
