"""The read model inside the running petitions service: its own events in, counters up, once per event."""
import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies

from civicgrid.auth import PLATFORM_ADMIN, issue_token
from civicgrid.errors import Forbidden, Invalid, NotFound
from civicgrid.events import make_event
from services.petitions import domain
from services.petitions.service import PetitionsService

from .fakes import FakeDirectory
from .test_service import LEADER, RESIDENT, token

ADMIN = token("hbadmin", ["district_admin"], scope="hb")
OPERATOR = {"auth_token": issue_token("operator", None, [PLATFORM_ADMIN])[0]}
ELSEWHERE = {"auth_token": issue_token("qjadmin", "qj", ["district_admin"])[0]}


@pytest.fixture
def petitions(container_factory, service_config):
    container = container_factory(PetitionsService, service_config)
    grid = replace_dependencies(container, "grid")
    fake = FakeDirectory()
    grid.locate_building.side_effect = fake.locate_building
    grid.list_categories.side_effect = fake.list_categories
    grid.get_department.side_effect = fake.get_department
    container.start()
    return container


def rates(container, context=ADMIN, query=None):
    with entrypoint_hook(container, "analytics_rates", context_data=context) as ask:
        return ask("hb", query or {})


def test_an_event_in_counts_once_however_often_it_comes(petitions, service_config):
    with entrypoint_waiter(petitions, "handle_petition_submitted"):
        with entrypoint_hook(petitions, "submit", context_data=RESIDENT) as submit:
            created = submit({"category": "streetlight", "title": "28栋路灯不亮"})
    with entrypoint_waiter(petitions, "handle_petition_claimed"):
        with entrypoint_hook(petitions, "act", context_data=LEADER) as act:
            act(created["id"], "claim", {})
    before = rates(petitions)
    assert before["whistle"]["submitted"] == 1
    assert before["response"] == {"rate": 1.0, "responded_in_time": 1, "had_to_respond": 1}

    # the broker delivers the same submitted event again (at least once): nothing new is counted
    store = next(d for d in petitions.dependencies if d.attr_name == "db")
    [entry] = [e for e in store.db.petitions.find_one({"_id": created["id"]})["timeline"] if e["action"] == "submit"]
    event_id = entry["events"][0]["event_id"]
    event = _submitted_event(store.db, created, event_id)
    dispatch = event_dispatcher(service_config)
    with entrypoint_waiter(petitions, "handle_petition_submitted"):
        dispatch("petitions", "petition_submitted", event)
    assert rates(petitions) == before


def _submitted_event(db, created, event_id):
    """The submitted event as the outbox sent it: the petition as it stood then, under the same id."""
    petition = db.petitions.find_one({"_id": created["id"]})
    petition.update(status="submitted", level="grid", handler_id=None, deadline=None)
    return make_event("petition_submitted", "hb", {"id": "wenxiaohua", "role": "resident"},
                      domain.event_data(petition), event_id=event_id, occurred_at=petition["created_at"])


def test_the_figures_ask_who_is_asking(petitions):
    with pytest.raises(Forbidden):
        rates(petitions, RESIDENT)
    with pytest.raises(NotFound):
        rates(petitions, ELSEWHERE)
    with pytest.raises(Invalid) as bad:
        rates(petitions, ADMIN, {"from": "2026-05-02", "to": "2026-05-01"})
    assert "from" in bad.value.errors


def test_the_operator_rebuilds_to_the_same_numbers(petitions):
    with entrypoint_waiter(petitions, "handle_petition_submitted"):
        with entrypoint_hook(petitions, "submit", context_data=RESIDENT) as submit:
            created = submit({"category": "slope", "title": "后坡滑坡"})
    with entrypoint_waiter(petitions, "handle_petition_escalated"):
        with entrypoint_hook(petitions, "act", context_data=LEADER) as act:
            act(created["id"], "escalate", {"reason": "需社区协调"})
    fed = rates(petitions)
    assert fed["whistle"] == {"rate": 1.0, "escalated": 1, "submitted": 1}
    with pytest.raises(Forbidden):
        with entrypoint_hook(petitions, "rebuild_analytics", context_data=LEADER) as rebuild:
            rebuild("hb")
    with entrypoint_hook(petitions, "rebuild_analytics", context_data=OPERATOR) as rebuild:
        [result] = rebuild("hb")
    assert (result["district"], result["petitions"], result["steps"]) == ("hb", 1, 2)
    assert rates(petitions) == fed
    store = next(d for d in petitions.dependencies if d.attr_name == "db")
    assert store.db.audit.find_one({"action": "petitions.rebuild_analytics"})["actor"]["id"] == "operator"
