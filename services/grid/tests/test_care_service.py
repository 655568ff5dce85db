"""Care levels and visits in a real grid container on RabbitMQ: the event on the bus, the audit entry,
a retried visit logged once, errors crossing the broker as their own class."""
import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from civicgrid.auth import issue_token
from civicgrid.errors import Forbidden, Invalid, NotFound
from services.grid.service import GridService

from .test_service import ADMIN_TOKEN, DOCUMENT, HB_ADMIN_TOKEN, call

WORKER_TOKEN = issue_token("liwang", "hb", ["grid_worker"], scope="wenchang-g1", name="李网格")[0]
RESIDENT_TOKEN = issue_token("wenxiaohua", "hb", ["resident"], scope="b28")[0]
SYSTEM_TOKEN = issue_token("system:notify", None, ["system"])[0]

HOMES = {**DOCUMENT, "households": [
    {"id": "b28-0101", "building_id": "b28", "name": "28栋1单元101 陈家", "members": [{"name": "陈秀英", "relation": "户主"}],
     "care_level": "orange", "care_reason": "独居老人"},
]}


class CareListener:
    name = "grid_care_listener"

    @event_handler("grid", "care_level_changed")
    def on_care_level_changed(self, payload):
        return payload


@pytest.fixture
def grid(container_factory, service_config):
    container = container_factory(GridService, service_config)
    container.start()
    call(container, "create_district", ADMIN_TOKEN, "hb", "河边镇演示区")
    assert call(container, "import_district", HB_ADMIN_TOKEN, "hb", HOMES)["households"] == 1
    return container


def test_a_change_of_level_is_announced_and_audited(grid, container_factory, service_config):
    listener = container_factory(CareListener, service_config)
    listener.start()
    with ServiceRpcProxy("grid", service_config, context_data={"auth_token": WORKER_TOKEN}) as proxy:
        with entrypoint_waiter(listener, "on_care_level_changed", timeout=10) as waited:
            home = proxy.set_care_level("hb", "b28-0101", {"level": "red", "reason": "老人摔伤卧床"})
        assert home["care_history"][-1]["by"] == {"id": "liwang", "name": "李网格", "role": "grid_worker"}
    event = waited.get()
    assert (event["type"], event["district"], event["data"]["household_id"]) == ("care_level_changed", "hb", "b28-0101")
    assert (event["data"]["from_level"], event["data"]["to_level"]) == ("orange", "red")
    trail = call(grid, "audit_trail", HB_ADMIN_TOKEN, "hb", {"action": "grid.set_care_level"})
    (entry,) = trail["items"]
    assert (entry["target"], entry["fields"], entry["actor"]["id"]) == ("b28-0101", ["level", "reason"], "liwang")
    assert "老人摔伤卧床" not in repr(entry)  # the audit names the fields; the history keeps the reason


def test_a_visit_retried_with_its_key_is_logged_once(grid, service_config):
    context = {"auth_token": WORKER_TOKEN, "idempotency_key": "visit-2026-03-02-chen"}
    visit = {"visited_on": "2020-01-02", "notes": "血压偏高，已提醒按时服药", "needs_found": ["就医陪护"]}
    with ServiceRpcProxy("grid", service_config, context_data=context) as proxy:
        first = proxy.record_visit("hb", "b28-0101", visit)
        again = proxy.record_visit("hb", "b28-0101", visit)
        assert again == first
        with pytest.raises(Invalid) as err:
            proxy.record_visit("hb", "b28-0101", {**visit, "notes": "另一次"})
        assert "Idempotency-Key" in err.value.errors
    with ServiceRpcProxy("grid", service_config, context_data={"auth_token": WORKER_TOKEN}) as proxy:
        assert proxy.list_visits("hb", "b28-0101")["total"] == 1
        home = proxy.get_household("hb", "b28-0101")
        assert (home["last_visit_on"], home["visit_overdue"]) == ("2020-01-02", True)
        with pytest.raises(Invalid) as err:
            proxy.record_visit("hb", "b28-0101", {"visited_on": "2999-01-01"})
        assert list(err.value.errors) == ["visited_on"]
        with pytest.raises(NotFound):
            proxy.get_household("hb", "b99-0101")
    with ServiceRpcProxy("grid", service_config, context_data={"auth_token": SYSTEM_TOKEN}) as proxy:
        report = proxy.overdue_visits("hb")
    assert report["total"] == 1 and report["by_user"] == {}  # nobody of DOCUMENT answers for b28's visits
    with ServiceRpcProxy("grid", service_config, context_data={"auth_token": RESIDENT_TOKEN}) as proxy:
        with pytest.raises(Forbidden):
            proxy.list_households("hb")
        assert proxy.get_care_settings("hb") == {"red_days": 7, "orange_days": 30, "green_days": 90}
