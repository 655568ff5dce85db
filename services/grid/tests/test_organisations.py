"""Organisations registered with a community (驻区单位, companies): by import and by the API, and their members."""
import pytest
from nameko.testing.services import entrypoint_hook

from civicgrid.auth import AuthContext, issue_token
from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from services.grid import domain, organisations, signin
from services.grid.service import GridService

from .test_domain import ADMIN, HB_ADMIN, HB_RESIDENT, OTHER_ADMIN, fast_hashing, seed  # noqa: F401

STAFF = AuthContext(user_id="zhangsq", district="hb", roles=("community_staff",), scope="wenchang")
YJ_STAFF = AuthContext(user_id="yjstaff", district="hb", roles=("community_staff",), scope="yanjinghe")
GXS = {"id": "gxs", "name": "区供销社河边分社", "kind": "unit", "community": "wenchang",
       "members": ["gxs-li"]}


def document():
    doc = seed()
    doc["nodes"].append({"id": "yanjinghe", "type": "community", "name": "盐井河村", "parent": "hebian"})
    doc["users"] += [
        {"username": "gxs-li", "password": "secret8", "name": "供销社李经理", "roles": ["resident"], "scope": "b29"},
        {"username": "gxs-wang", "password": "secret9", "name": "供销社王会计", "roles": ["volunteer"]},
        {"username": "zhangsq2", "password": "secret0", "name": "另一位", "roles": ["resident"], "scope": "b27"},
    ]
    return doc


@pytest.fixture
def db(open_db):
    from services.grid.dependencies import create_indexes
    database = open_db("grid")
    create_indexes(database)
    domain.create_district(database, ADMIN, "hb", "河边镇演示区")
    domain.import_district(database, ADMIN, "hb", document())
    return database


def test_staff_register_one_with_their_community_and_its_members_act_for_it(db):
    org, events = organisations.register(db, STAFF, "hb", dict(GXS, members=["gxs-li", "gxs-wang"]))
    assert (org["account"], [m["user_id"] for m in org["members"]]) == ("org:hb:gxs", ["gxs-li", "gxs-wang"])
    assert [e["type"] for e in events] == ["organisation_registered", "member_assigned", "member_assigned"]
    assert events[0]["data"] == {"organisation_id": "gxs", "name": "区供销社河边分社", "kind": "unit",
                                 "community": "wenchang", "members": ["gxs-li", "gxs-wang"]}
    assert "organisation_member" in events[1]["data"]["roles"]
    claims = signin.authenticate(db, "gxs-wang", "secret9")
    # lives nowhere in the district: acts in the organisation's community
    assert (claims["organisation"], claims["community"], "organisation_member" in claims["roles"]) == \
        ("gxs", "wenchang", True)
    assert signin.authenticate(db, "gxs-li", "secret8")["community"] == "wenchang"
    assert [o["id"] for o in organisations.list_(db, HB_RESIDENT, "hb", {"community": "wenchang"})] == ["gxs"]


def test_changing_the_members_takes_the_role_from_whoever_left(db):
    organisations.register(db, HB_ADMIN, "hb", dict(GXS, members=["gxs-li", "gxs-wang"]))
    org, events = organisations.update(db, STAFF, "hb", "gxs", {"members": ["gxs-wang"], "name": "区供销社"})
    assert (org["name"], [m["user_id"] for m in org["members"]]) == ("区供销社", ["gxs-wang"])
    assert [e["data"]["user_id"] for e in events[1:]] == ["gxs-li"]
    left = db.users.find_one({"username": "gxs-li"})
    assert "organisation" not in left and "organisation_member" not in left["roles"]


def test_who_may_register_and_what_is_refused_by_name(db):
    with pytest.raises(Forbidden):
        organisations.register(db, YJ_STAFF, "hb", GXS)
    with pytest.raises(Forbidden):
        organisations.register(db, HB_RESIDENT, "hb", GXS)
    with pytest.raises(NotFound):   # another district's: not found, never forbidden
        organisations.register(db, OTHER_ADMIN, "hb", GXS)
    for changes, field in (({"kind": "club"}, "kind"), ({"id": "a.b"}, "id"), ({"community": "b28"}, "community"),
                           ({"members": ["nobody"]}, "members[0]"), ({"name": " "}, "name")):
        with pytest.raises(Invalid) as err:
            organisations.register(db, HB_ADMIN, "hb", dict(GXS, **changes))
        assert field in err.value.errors
    organisations.register(db, HB_ADMIN, "hb", GXS)
    with pytest.raises(Conflict):
        organisations.register(db, HB_ADMIN, "hb", dict(GXS, members=[]))
    with pytest.raises(Invalid) as err:   # one organisation per person
        organisations.register(db, HB_ADMIN, "hb", dict(GXS, id="dianli", name="电力公司", kind="company"))
    assert "members[0]" in err.value.errors
    with pytest.raises(NotFound):
        organisations.get(db, HB_ADMIN, "hb", "nope")


def test_the_set_up_document_lists_them_and_importing_again_changes_nothing(db):
    doc = document()
    doc["organisations"] = [GXS]
    counts, events = domain.import_district(db, ADMIN, "hb", doc)
    assert counts["organisations"] == 1
    assert "organisation_registered" in [e["type"] for e in events]
    user = db.users.find_one({"username": "gxs-li"})
    assert (user["organisation"], "organisation_member" in user["roles"]) == ("gxs", True)
    domain.import_district(db, ADMIN, "hb", doc)
    domain.import_district(db, ADMIN, "hb", document())  # a document that leaves them out keeps them
    assert "organisation_member" in db.users.find_one({"username": "gxs-li"})["roles"]
    bad = document()
    bad["organisations"] = [dict(GXS, community="b28", members=["gxs-li", "ghost"]), {"id": "x"}]
    with pytest.raises(Invalid) as err:
        domain.import_district(db, ADMIN, "hb", bad)
    assert {"organisations[0].community", "organisations[0].members[1]", "organisations[1].name"} <= \
        set(err.value.errors)


def test_a_document_of_organisations_alone_names_the_stored_communities_and_people(db):
    """A later document (the district set up already) registers organisations with its stored
    communities and members; another district's community is no community of this one."""
    counts, _ = domain.import_district(db, ADMIN, "hb", {"organisations": [GXS]})
    assert counts["organisations"] == 1
    assert db.users.find_one({"username": "gxs-li"})["organisation"] == "gxs"
    domain.create_district(db, ADMIN, "qj", "綦江区")
    domain.import_district(db, ADMIN, "qj", {"nodes": [
        {"id": "qingshan", "type": "community", "name": "青山社区", "parent": "qj"}]})
    with pytest.raises(Invalid) as err:
        domain.import_district(db, ADMIN, "qj", {"organisations": [dict(GXS, id="qs-x", community="wenchang",
                                                                        members=["gxs-wang"])]})
    assert set(err.value.errors) == {"organisations[0].community", "organisations[0].members[0]"}
    assert domain.import_district(db, ADMIN, "qj", {"organisations": [dict(GXS, id="qs-x", community="qingshan",
                                                                          members=[])]})[0]["organisations"] == 1


def test_over_rpc(container_factory, service_config):
    container = container_factory(GridService, service_config)
    container.start()
    admin = {"auth_token": issue_token("admin", None, ["platform_admin"])[0]}
    with entrypoint_hook(container, "create_district", context_data=admin) as create:
        create("hb", "河边镇")
    with entrypoint_hook(container, "import_district", context_data=admin) as load:
        load("hb", dict(document(), organisations=[GXS]))
    with entrypoint_hook(container, "get_organisation", context_data=admin) as get:
        assert get("hb", "gxs")["members"] == [{"user_id": "gxs-li", "name": "供销社李经理"}]
    with entrypoint_hook(container, "register_organisation", context_data=admin) as register:
        with pytest.raises(Invalid):
            register("hb", {"id": "x"})
