"""The petitions service layer on an in-memory store: submit, act, see."""
import pytest

from civicgrid.errors import Conflict, Forbidden, Invalid, NotFound
from civicgrid.events import validate_event
from services.petitions import usecases
from services.petitions.repository import PetitionRepository, create_indexes

from .fakes import FakeDirectory
from .test_domain import COMMUNITY, DEPARTMENT, GRID_WORKER, LEADER, NEIGHBOUR, OWNER, person


@pytest.fixture
def repo(open_db):
    db = open_db("petitions")
    create_indexes(db)
    return PetitionRepository(db)


def submit(repo, **fields):
    body = {"category": "streetlight", "title": "28栋路灯不亮", "description": "楼道口路灯坏了三天"}
    body.update(fields)
    return usecases.submit(repo, FakeDirectory(), OWNER, body)[0]


def outbox(repo, petition_id):
    return repo.collection.find_one({"_id": petition_id})["outbox"]


def test_submit_defaults_to_own_building_and_records_the_event(repo):
    petition = submit(repo)
    assert (petition["building_id"], petition["status"], petition["level"]) == ("b28", "submitted", "grid")
    assert petition["suggested_department_id"] == "chengjian"
    [event] = outbox(repo, petition["_id"])
    validate_event(event)
    assert event["type"] == "petition_submitted" and event["data"]["resident_id"] == "wenxiaohua"


@pytest.mark.parametrize("fields,bad", [
    ({"category": "ufo"}, "category"), ({"building_id": "b99"}, "building_id"),
    ({"title": ""}, "title"), ({"title": None}, "title"), ({"extra": 1}, "extra"),
])
def test_submit_names_the_bad_field_and_writes_nothing(repo, fields, bad):
    with pytest.raises(Invalid) as err:
        submit(repo, **fields)
    assert bad in err.value.errors
    assert repo.collection.count_documents({}) == 0


def test_only_residents_submit(repo):
    with pytest.raises(Forbidden):
        usecases.submit(repo, FakeDirectory(), COMMUNITY, {"category": "slope", "title": "x"})


def test_department_path_keeps_timeline_and_events_in_order(repo):
    p = submit(repo)["_id"]
    d = FakeDirectory()
    usecases.act(repo, d, GRID_WORKER, p, "escalate", {"reason": "需社区协调"})
    usecases.act(repo, d, COMMUNITY, p, "dispatch", {"department_id": "zonghe"})
    usecases.act(repo, d, person("zh1", "department_staff", department="zonghe"), p, "return", {"reason": "非本部门"})
    usecases.act(repo, d, COMMUNITY, p, "dispatch", {})  # the catalogue's suggestion
    usecases.act(repo, d, DEPARTMENT, p, "accept", {})
    usecases.act(repo, d, DEPARTMENT, p, "resolve", {"note": "已更换灯泡"})
    after = usecases.act(repo, d, OWNER, p, "rate", {"score": 5, "comment": "及时"})
    assert [e["action"] for e in after["timeline"]] == [
        "submit", "escalate", "dispatch", "return", "dispatch", "accept", "resolve", "rate"]
    assert (after["status"], after["rating"], after["resolved_by"]) == ("closed", 5, "chengjian1")
    types = [e["type"] for e in outbox(repo, p)]
    assert types[0] == "petition_submitted" and types[-1] == "petition_closed" and len(types) == 8
    assert outbox(repo, p)[-1]["data"]["handler_id"] == "chengjian1"


def test_dispatch_to_an_unknown_department_is_invalid(repo):
    p = submit(repo)["_id"]
    usecases.act(repo, FakeDirectory(), LEADER, p, "escalate", {"reason": "r"})
    with pytest.raises(Invalid) as err:
        usecases.act(repo, FakeDirectory(), COMMUNITY, p, "dispatch", {"department_id": "nasa"})
    assert "department_id" in err.value.errors
    assert repo.get("hb", p)["status"] == "escalated"


def test_bad_rating_is_invalid(repo):
    p = submit(repo)["_id"]
    usecases.act(repo, FakeDirectory(), LEADER, p, "claim", {})
    usecases.act(repo, FakeDirectory(), LEADER, p, "resolve", {"note": "ok"})
    for score in (0, 6, "5", None):
        with pytest.raises(Invalid):
            usecases.act(repo, FakeDirectory(), OWNER, p, "rate", {"score": score})
    usecases.act(repo, FakeDirectory(), OWNER, p, "rate", {"score": 3})
    with pytest.raises(Conflict):
        usecases.act(repo, FakeDirectory(), OWNER, p, "rate", {"score": 5})


def test_a_stale_write_is_a_conflict(repo):
    p = submit(repo)
    usecases.act(repo, FakeDirectory(), LEADER, p["_id"], "claim", {})
    from services.petitions import domain
    change = domain.transition(GRID_WORKER, p, "claim", {})
    with pytest.raises(Conflict):
        repo.save(p, domain.apply(p, change, "limin", p["created_at"]), {"event_id": "x"})


def test_other_districts_and_strangers_do_not_see_it(repo):
    p = submit(repo)["_id"]
    with pytest.raises(NotFound):
        usecases.get(repo, person("qjres", "resident", scope="q1", district="qj"), p)
    with pytest.raises(NotFound):
        usecases.act(repo, FakeDirectory(), person("qjl", "building_leader", scope="q1", district="qj"), p, "claim", {})
    with pytest.raises(NotFound):
        usecases.get(repo, NEIGHBOUR, p)
    assert usecases.get(repo, LEADER, p)["_id"] == p


def test_another_district_is_not_found_before_any_role_is_asked(repo):
    """A resident of qj (who could never record a follow-up) learns no more than its staff would."""
    p = submit(repo)["_id"]
    for who in (person("qjres", "resident", scope="q1", district="qj"),
                person("qjcs", "community_staff", scope="qc", district="qj")):
        with pytest.raises(NotFound):
            usecases.record_follow_up(repo, who, p, {"outcome": "contacted", "note": "x"})
    with pytest.raises(Forbidden):  # hb's own resident: the role is what refuses them
        usecases.record_follow_up(repo, OWNER, p, {"outcome": "contacted", "note": "x"})
    with pytest.raises(NotFound):
        usecases.set_limits(repo, person("qjadmin", "district_admin", scope="qj", district="qj"), "hb",
                            {"grid_claim_hours": 1})
    with pytest.raises(Forbidden):
        usecases.set_limits(repo, COMMUNITY, "hb", {"grid_claim_hours": 1})
    platform = person("admin", "platform_admin", district=None)
    assert usecases.set_limits(repo, platform, "hb", {"grid_claim_hours": 30})["grid_claim_hours"] == 30


def test_lists_are_scoped_newest_first_and_paginated(repo):
    ids = [submit(repo, title=f"诉求{i}")["_id"] for i in range(5)]
    usecases.submit(repo, FakeDirectory(), NEIGHBOUR, {"category": "slope", "title": "29栋后坡滑坡", "building_id": "b29"})
    items, total, _ = usecases.page(repo, OWNER, {"page": 1, "page_size": 2})
    assert total == 5 and [i["_id"] for i in items] == ids[::-1][:2]
    _, total, _ = usecases.page(repo, GRID_WORKER, {})
    assert total == 6
    _, total, _ = usecases.page(repo, LEADER, {})
    assert total == 5
    _, total, _ = usecases.page(repo, DEPARTMENT, {})
    assert total == 0
    with pytest.raises(Invalid):
        usecases.page(repo, OWNER, {"page": 0})


def test_a_submit_run_again_with_its_key_files_nothing_new(repo):
    """A crash after the write leaves the key's record pending; the retry that takes it over runs
    the command again, and must find the petition the first run stored."""
    body = {"category": "streetlight", "title": "28栋路灯不亮", "description": "楼道口路灯坏了三天"}
    first = usecases.submit(repo, FakeDirectory(), OWNER, dict(body), idempotency_key="k-1")[0]
    again = usecases.submit(repo, FakeDirectory(), OWNER, dict(body), idempotency_key="k-1")[0]
    assert again["_id"] == first["_id"] and repo.collection.count_documents({}) == 1
    other = usecases.submit(repo, FakeDirectory(), OWNER, dict(body), idempotency_key="k-2")[0]
    assert other["_id"] != first["_id"] and repo.collection.count_documents({}) == 2
    # the same key of another resident is another request
    neighbour = usecases.submit(repo, FakeDirectory(), NEIGHBOUR, dict(body), idempotency_key="k-1")[0]
    assert neighbour["_id"] not in (first["_id"], other["_id"])
