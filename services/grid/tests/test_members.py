"""The two read RPCs the notify service asks: who lives under a node, and one person."""
import pytest
from nameko.testing.services import entrypoint_hook

from civicgrid.auth import AuthContext, issue_token
from civicgrid.errors import Forbidden, Invalid, NotFound
from services.grid import domain
from services.grid.service import GridService

from .test_domain import ADMIN, HB_ADMIN, HB_RESIDENT, OTHER_ADMIN, SYSTEM, fast_hashing, seed  # noqa: F401

STAFF = AuthContext(user_id="zhangsq", district="hb", roles=("community_staff",), scope="wenchang")


@pytest.fixture
def imported(open_db):
    from services.grid.dependencies import create_indexes
    db = open_db("grid")
    create_indexes(db)
    domain.create_district(db, ADMIN, "hb", "河边镇演示区")
    domain.import_district(db, ADMIN, "hb", seed())
    return db


def ids(answer):
    return [m["user_id"] for m in answer["members"]]


def test_members_under_a_building_a_grid_and_a_community(imported):
    b28 = domain.members_under(imported, SYSTEM, "hb", "b28")
    assert b28["node"] == {"id": "b28", "type": "building", "name": "竹林湾路28栋",
                           "path": ["hb", "hebian", "wenchang", "wenchang-g1", "b28"]}
    assert ids(b28) == ["daiyunzhong", "resident28"]
    assert b28["members"][0] == {"user_id": "daiyunzhong", "name": "代云中",
                                 "roles": ["building_leader", "resident"]}
    grid = domain.members_under(imported, STAFF, "hb", "wenchang-g1")
    assert ids(grid) == ["daijiaqian", "daiyunzhong", "liwang", "resident28"]
    community = domain.members_under(imported, HB_ADMIN, "hb", "wenchang")
    assert ids(community) == ["daijiaqian", "daiyunzhong", "liwang", "resident28", "zhangsq"]
    assert ids(domain.members_under(imported, SYSTEM, "hb", "wenchang", ["community_staff"])) == ["zhangsq"]
    assert ids(domain.members_under(imported, SYSTEM, "hb", "b27", ["resident"])) == []


def test_members_under_refuses_strangers_residents_and_bad_input(imported):
    with pytest.raises(NotFound):
        domain.members_under(imported, SYSTEM, "hb", "nowhere")
    with pytest.raises(Forbidden):
        domain.members_under(imported, HB_RESIDENT, "hb", "b28")
    with pytest.raises(NotFound):
        domain.members_under(imported, OTHER_ADMIN, "hb", "b28")
    with pytest.raises(Invalid):
        domain.members_under(imported, SYSTEM, "hb", {"$ne": None})
    with pytest.raises(Invalid):
        domain.members_under(imported, SYSTEM, "hb", "b28", "resident")


def test_user_profile(imported):
    profile = domain.user_profile(imported, SYSTEM, "hb", "resident28")
    assert profile == {"user_id": "resident28", "name": "王居民", "roles": ["resident"], "scope": "b28",
                       "community": "wenchang", "department": None}
    assert domain.user_profile(imported, HB_RESIDENT, "hb", "resident28")["user_id"] == "resident28"
    assert domain.user_profile(imported, STAFF, "hb", "chengjian01")["department"] == "chengjian"
    with pytest.raises(NotFound):
        domain.user_profile(imported, SYSTEM, "hb", "ghost")
    with pytest.raises(NotFound):  # a resident does not look up neighbours
        domain.user_profile(imported, HB_RESIDENT, "hb", "daiyunzhong")
    with pytest.raises(NotFound):
        domain.user_profile(imported, OTHER_ADMIN, "hb", "resident28")


def test_the_rpcs_on_the_broker(container_factory, service_config):
    container = container_factory(GridService, service_config)
    container.start()
    admin = {"auth_token": issue_token("admin", None, ["platform_admin"])[0]}
    staff = {"auth_token": issue_token("zhangsq", "hb", ["community_staff"], scope="wenchang")[0]}
    with entrypoint_hook(container, "create_district", context_data=admin) as hook:
        hook("hb", "河边镇演示区")
    with entrypoint_hook(container, "import_district", context_data=admin) as hook:
        hook("hb", seed())
    with entrypoint_hook(container, "members_under", context_data=staff) as hook:
        assert ids(hook("hb", "b28", ["resident"])) == ["daiyunzhong", "resident28"]
    with entrypoint_hook(container, "user_profile", context_data=staff) as hook:
        assert hook("hb", "liwang")["roles"] == ["grid_worker"]
