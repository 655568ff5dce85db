"""The grid service in a real container on RabbitMQ: auth from the token, errors and events on the wire."""
import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from civicgrid.auth import issue_token
from civicgrid.errors import Forbidden, Invalid, NotFound
from services.grid.service import GridService

ADMIN_TOKEN = issue_token("admin", None, ["platform_admin"])[0]
HB_ADMIN_TOKEN = issue_token("hbadmin", "hb", ["district_admin"], scope="hb")[0]
WC_STAFF_TOKEN = issue_token("zhangsq", "hb", ["community_staff"], scope="wenchang", community="wenchang")[0]
OUTSIDER_TOKEN = issue_token("someone", "xs", ["resident"], scope="x1")[0]

DOCUMENT = {
    "nodes": [
        {"id": "b28", "type": "building", "name": "竹林湾路28栋", "parent": "wenchang-g1"},
        {"id": "wenchang-g1", "type": "grid", "name": "文昌社区第一网格", "parent": "wenchang"},
        {"id": "wenchang", "type": "community", "name": "文昌社区", "parent": "hebian"},
        {"id": "hebian", "type": "street", "name": "河边镇", "parent": "hb"},
    ],
    "departments": [{"id": "chengjian", "name": "城建办", "categories": ["streetlight", "slope"]}],
    "users": [{"username": "daiyunzhong", "password": "secret1", "name": "代云中",
               "roles": ["building_leader"], "scope": "b28"}],
}

CATEGORIES = [
    {"category": "streetlight", "name": "路灯损坏", "department_id": "chengjian", "fields": [
        {"code": "location_type", "name": "位置", "type": "single_choice", "required": True,
         "choices": [{"key": "stairwell", "name": "楼道"}, {"key": "road", "name": "道路"}]}]},
    {"category": "help_errand", "name": "求助·生活帮办", "department_id": None, "kind": "help"},
]


class MemberListener:
    name = "grid_test_listener"

    @event_handler("grid", "member_assigned")
    def on_member_assigned(self, payload):
        return payload


def call(container, method, token, *args):
    context = {"auth_token": token} if token else {}
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args)


@pytest.fixture
def grid(container_factory, service_config):
    container = container_factory(GridService, service_config)
    container.start()
    call(container, "create_district", ADMIN_TOKEN, "hb", "河边镇演示区")
    return container


def test_import_publishes_member_assigned(grid, container_factory, service_config):
    listener = container_factory(MemberListener, service_config)
    listener.start()

    def for_daiyunzhong(worker_ctx, result, exc_info):
        return result is not None and result["data"]["user_id"] == "daiyunzhong"

    with entrypoint_waiter(listener, "on_member_assigned", callback=for_daiyunzhong, timeout=10) as waited:
        counts = call(grid, "import_district", HB_ADMIN_TOKEN, "hb", DOCUMENT)
    assert counts == {"nodes": 4, "departments": 1, "users": 1, "categories": 2, "households": 0}
    event = waited.get()
    assert event["district"] == "hb" and event["actor"] == {"id": "hbadmin", "role": "district_admin"}
    assert event["data"]["scope"] == "b28"
    assert call(grid, "responsible_for_building", HB_ADMIN_TOKEN, "hb", "b28")["building_leaders"] == ["daiyunzhong"]
    assert call(grid, "authenticate", None, "daiyunzhong", "secret1")["user_id"] == "daiyunzhong"


def test_invalid_import_surfaces_as_invalid(grid):
    document = {"nodes": [{"id": "b28", "type": "building", "name": "x", "parent": "ghost"}]}
    with pytest.raises(Invalid) as err:
        call(grid, "import_district", ADMIN_TOKEN, "hb", document)
    assert err.value.errors == {"nodes[0].parent": "unknown parent 'ghost'"}
    with pytest.raises(NotFound):  # another district's member: as if hb did not exist
        call(grid, "get_district", OUTSIDER_TOKEN, "hb")


def test_errors_cross_the_broker_as_their_own_class(grid, service_config):
    assert call(grid, "ping", None) == "pong"
    document = {"users": [{"username": "x", "password": "1", "name": "", "roles": ["mayor"]}]}
    with ServiceRpcProxy("grid", service_config, context_data={"auth_token": ADMIN_TOKEN}) as proxy:
        assert proxy.get_district("hb") == {"code": "hb", "name": "河边镇演示区"}
        with pytest.raises(Invalid) as err:
            proxy.import_district("hb", document)
    assert set(err.value.errors) == {"users[0].username", "users[0].password",
                                     "users[0].name", "users[0].roles"}


def test_catalogue_and_party_members_over_the_broker(grid, container_factory, service_config):
    listener = container_factory(MemberListener, service_config)
    listener.start()
    call(grid, "import_district", ADMIN_TOKEN, "hb", {**DOCUMENT, "categories": CATEGORIES})

    def for_party_member(worker_ctx, result, exc_info):
        return result is not None and "party_member" in result["data"]["roles"]

    with ServiceRpcProxy("grid", service_config, context_data={"auth_token": WC_STAFF_TOKEN}) as proxy:
        categories = proxy.list_categories("hb")
        assert [c["category"] for c in categories] == ["help_errand", "slope", "streetlight"]
        assert categories[2]["fields"][0]["choices"] == CATEGORIES[0]["fields"][0]["choices"]
        assert categories[0]["department_id"] is None and categories[0]["kind"] == "help"
        with entrypoint_waiter(listener, "on_member_assigned", callback=for_party_member, timeout=10) as waited:
            member = proxy.register_party_member("hb", "daiyunzhong")
        assert member == {"user_id": "daiyunzhong", "name": "代云中",
                          "roles": ["building_leader", "party_member"], "community": "wenchang"}
        assert proxy.party_members("hb", "wenchang") == ["daiyunzhong"]
        with pytest.raises(Forbidden):
            proxy.put_category("hb", "noise", {"name": "噪音", "department_id": "chengjian"})
    assert waited.get()["actor"] == {"id": "zhangsq", "role": "community_staff"}
    with ServiceRpcProxy("grid", service_config, context_data={"auth_token": HB_ADMIN_TOKEN}) as proxy:
        with pytest.raises(Invalid) as err:
            proxy.put_category("hb", "noise", {"name": "噪音", "department_id": "chengjian",
                                               "fields": [{"code": "src", "name": "来源", "type": "single_choice"}]})
        assert list(err.value.errors) == ["fields[0].choices"]
        assert proxy.put_category("hb", "noise", {"name": "噪音", "department_id": "chengjian"})["kind"] == "issue"
    claims = call(grid, "authenticate", None, "daiyunzhong", "secret1")
    assert (claims["community"], claims["roles"]) == ("wenchang", ["building_leader", "party_member"])
