"""吹哨报到 in the service layer: help requests, time limits, follow-ups, duplicates, queues."""
from datetime import timedelta

import pytest

from civicgrid.errors import Conflict, Forbidden, Invalid
from services.petitions import usecases
from services.petitions.repository import PetitionRepository, create_indexes

from .fakes import FakeDirectory
from .test_domain import (ADMIN, COMMUNITY, DEPARTMENT, GRID_WORKER, LEADER, NEIGHBOUR, NOW, OTHER_PARTY, OWNER,
                          PARTY, PARTY2)

D = FakeDirectory()
HOUR = timedelta(hours=1)


@pytest.fixture
def repo(open_db):
    db = open_db("petitions")
    create_indexes(db)
    return PetitionRepository(db)


def submit(repo, who=OWNER, now=NOW, **fields):
    body = {"category": "streetlight", "title": "28栋路灯不亮"}
    body.update(fields)
    return usecases.submit(repo, D, who, body, now)


def events(repo, pid):
    return [e["type"] for e in repo.collection.find_one({"_id": pid})["outbox"]]


def test_help_request_goes_to_party_members_first_claim_wins(repo):
    p, _ = submit(repo, category="help_errand", title="帮忙换灯泡")
    assert (p["kind"], p["level"], p["deadline"]["kind"]) == ("help", "party", "claim")
    with pytest.raises(Forbidden):
        usecases.act(repo, D, OTHER_PARTY, p["_id"], "claim", {}, NOW)
    usecases.act(repo, D, PARTY, p["_id"], "claim", {}, NOW)
    with pytest.raises(Conflict):
        usecases.act(repo, D, PARTY2, p["_id"], "claim", {}, NOW)
    with pytest.raises(Forbidden):
        usecases.act(repo, D, PARTY2, p["_id"], "resolve", {"note": "done"}, NOW)
    done = usecases.act(repo, D, PARTY, p["_id"], "resolve", {"note": "已换好", "media": ["https://img.example/1.jpg"]}, NOW)
    assert (done["status"], done["resolved_by"], done["resolution_media"]) == ("resolved", "wcparty", ["https://img.example/1.jpg"])
    assert usecases.act(repo, D, OWNER, p["_id"], "rate", {"score": 5}, NOW)["status"] == "closed"


def test_a_stale_claim_loses_to_the_first(repo):
    """Two party members read the same version; the second write finds it changed (409)."""
    p, _ = submit(repo, category="help_errand", title="帮忙换灯泡")
    stale = repo.get("hb", p["_id"])
    usecases.act(repo, D, PARTY, p["_id"], "claim", {}, NOW)
    from services.petitions import domain
    change = domain.transition(PARTY2, stale, "claim", {})
    with pytest.raises(Conflict):
        repo.save(stale, domain.apply(stale, change, "wcparty2", NOW), [])


def test_unclaimed_help_goes_to_the_grid_once(repo):
    p, _ = submit(repo, category="help_errand", title="帮忙换灯泡")
    assert usecases.scan_overdue(repo, NOW + 23 * HOUR) == 0
    assert usecases.scan_overdue(repo, NOW + 25 * HOUR) == 1
    assert usecases.scan_overdue(repo, NOW + 26 * HOUR) == 0
    after = repo.get("hb", p["_id"])
    assert (after["status"], after["level"], after["deadline"]["kind"]) == ("submitted", "grid", "claim")
    assert after["timeline"][-1]["actor"] == "system"
    assert events(repo, p["_id"])[1:] == ["petition_overdue", "petition_escalated"]


def test_grid_deadline_whistles_up_then_community_and_department_only_warn(repo):
    p, _ = submit(repo)
    pid = p["_id"]
    assert p["deadline"]["due_at"] == NOW + 24 * HOUR
    usecases.scan_overdue(repo, NOW + 25 * HOUR)
    escalated = repo.get("hb", pid)
    assert (escalated["status"], escalated["level"]) == ("escalated", "community")
    # the community's clock starts when it was whistled to
    assert escalated["deadline"]["due_at"] == NOW + 49 * HOUR
    usecases.scan_overdue(repo, NOW + 50 * HOUR)
    waiting = repo.get("hb", pid)
    assert (waiting["status"], waiting["deadline"]["fired"]) == ("escalated", True)
    assert usecases.scan_overdue(repo, NOW + 60 * HOUR) == 0
    usecases.act(repo, D, COMMUNITY, pid, "dispatch", {}, NOW + 60 * HOUR)
    usecases.scan_overdue(repo, NOW + 85 * HOUR)
    kinds = events(repo, pid)
    assert kinds.count("petition_overdue") == 3
    overdue = [e for e in repo.collection.find_one({"_id": pid})["outbox"] if e["type"] == "petition_overdue"]
    assert [e["data"]["overdue_level"] for e in overdue] == ["grid", "community", "department"]


def test_unrated_petitions_close_by_themselves_without_points(repo):
    p, _ = submit(repo)
    usecases.act(repo, D, LEADER, p["_id"], "claim", {}, NOW)
    usecases.act(repo, D, LEADER, p["_id"], "resolve", {"note": "ok"}, NOW)
    usecases.scan_overdue(repo, NOW + 169 * HOUR)
    closed = repo.get("hb", p["_id"])
    assert (closed["status"], closed["rating"], closed["deadline"]) == ("closed", None, None)
    last = repo.collection.find_one({"_id": p["_id"]})["outbox"][-1]
    assert (last["type"], last["data"]["rating"], last["actor"]["role"]) == ("petition_closed", None, "system")


def test_district_time_limits(repo):
    assert usecases.get_limits(repo, LEADER, "hb")["grid_claim_hours"] == 24
    with pytest.raises(Forbidden):
        usecases.set_limits(repo, LEADER, "hb", {"grid_claim_hours": 2})
    with pytest.raises(Invalid) as err:
        usecases.set_limits(repo, ADMIN, "hb", {"grid_claim_hours": 0, "coffee_hours": 1})
    assert set(err.value.errors) == {"grid_claim_hours", "coffee_hours"}
    assert usecases.set_limits(repo, ADMIN, "hb", {"grid_claim_hours": 2})["grid_claim_hours"] == 2
    p, _ = submit(repo)
    assert p["deadline"]["due_at"] == NOW + 2 * HOUR


def test_low_rating_opens_a_follow_up_that_staff_record(repo):
    p, _ = submit(repo)
    pid = p["_id"]
    usecases.act(repo, D, LEADER, pid, "claim", {}, NOW)
    usecases.act(repo, D, LEADER, pid, "resolve", {"note": "ok"}, NOW)
    rated = usecases.act(repo, D, OWNER, pid, "rate", {"score": 2, "comment": "灯还是不亮"}, NOW)
    assert rated["follow_up"]["status"] == "open"
    assert events(repo, pid)[-2:] == ["petition_closed", "follow_up_opened"]
    items, total, _, counts = usecases.follow_ups(repo, COMMUNITY, {"status": "open"})
    assert (total, counts) == (1, {"open": 1, "done": 0})
    with pytest.raises(Forbidden):
        usecases.record_follow_up(repo, LEADER, pid, {"outcome": "contacted", "note": "x"})
    done = usecases.record_follow_up(repo, COMMUNITY, pid, {"outcome": "reopened", "note": "重新派人检修"}, NOW)
    linked = repo.get("hb", done["follow_up"]["linked_petition_id"])
    assert (linked["status"], linked["level"], linked["linked_from"]) == ("escalated", "community", pid)
    with pytest.raises(Conflict):
        usecases.record_follow_up(repo, COMMUNITY, pid, {"outcome": "closed", "note": "x"})
    assert usecases.follow_ups(repo, COMMUNITY, {})[3] == {"open": 0, "done": 1}


def test_duplicates_are_hinted_and_merged(repo):
    first, hints = submit(repo)
    assert hints == []
    second, hints = submit(repo, who=person_in_b28(), now=NOW + HOUR)
    assert [h["_id"] for h in hints] == [first["_id"]]
    _, hints = submit(repo, now=NOW + 8 * 24 * HOUR)
    assert hints == []  # older than seven days
    with pytest.raises(Invalid):
        usecases.act(repo, D, LEADER, second["_id"], "merge", {"into": second["_id"]}, NOW)
    merged = usecases.act(repo, D, LEADER, second["_id"], "merge", {"into": first["_id"]}, NOW)
    assert (merged["status"], merged["merged_into"]) == ("merged", first["_id"])
    original = repo.get("hb", first["_id"])
    assert original["followers"] == ["zhangyiqin"]
    usecases.act(repo, D, LEADER, first["_id"], "claim", {}, NOW)
    claimed = repo.collection.find_one({"_id": first["_id"]})["outbox"][-1]
    assert claimed["data"]["followers"] == ["zhangyiqin"]
    assert usecases.get(repo, person_in_b28(), first["_id"])["_id"] == first["_id"]


def person_in_b28():
    from .test_domain import person
    return person("zhangyiqin", "resident", scope="b28")


@pytest.mark.parametrize("fields,bad", [
    ({"attributes": {"location_type": "moon"}}, "attributes.location_type"),
    ({"attributes": {"lamp_count": "three"}}, "attributes.lamp_count"),
    ({"attributes": {"colour": "red"}}, "attributes.colour"),
    ({"category": "security", "attributes": {}}, "attributes.kinds"),
    ({"category": "security", "attributes": {"kinds": ["theft", "theft"]}}, "attributes.kinds"),
    ({"media": [f"https://img.example/{i}.jpg" for i in range(10)]}, "media"),
    ({"media": ["ftp://x/y"]}, "media"),
    ({"location": {"lat": 95, "lng": 10}}, "location"),
    ({"kind": "help"}, "kind"),
])
def test_bad_fields_are_named_and_nothing_is_written(repo, fields, bad):
    with pytest.raises(Invalid) as err:
        submit(repo, **fields)
    assert bad in err.value.errors, err.value.errors
    assert repo.collection.count_documents({}) == 0


def test_fields_media_and_location_are_kept(repo):
    p, _ = submit(repo, attributes={"location_type": "stairwell", "lamp_count": 2},
                  media=["https://img.example/a.jpg"], location={"lat": 29.0, "lng": 106.6}, address="竹林湾路28栋")
    stored = repo.get("hb", p["_id"])
    assert stored["attributes"] == {"location_type": "stairwell", "lamp_count": 2}
    assert (stored["media"], stored["location"], stored["address"]) == (
        ["https://img.example/a.jpg"], {"lat": 29.0, "lng": 106.6}, "竹林湾路28栋")


def test_work_queues(repo):
    grid_one, _ = submit(repo, title="一")
    help_one, _ = submit(repo, category="help_errand", title="求助")
    other, _ = submit(repo, who=NEIGHBOUR, category="slope", title="二", building_id="b29")
    usecases.act(repo, D, GRID_WORKER, other["_id"], "escalate", {"reason": "r"}, NOW)
    queue = lambda who, **q: [p["_id"] for p in usecases.page(repo, who, {"queue": "mine", **q}, NOW)[0]]  # noqa: E731
    assert queue(LEADER) == [grid_one["_id"]]
    assert queue(PARTY) == [help_one["_id"]]
    assert queue(COMMUNITY) == [other["_id"]]
    assert queue(DEPARTMENT) == []
    ids = lambda who, **q: [p["_id"] for p in usecases.page(repo, who, q, NOW)[0]]  # noqa: E731
    assert ids(GRID_WORKER, level="community") == [other["_id"]]
    assert ids(GRID_WORKER, building_id="b29") == [other["_id"]]
    assert set(ids(GRID_WORKER, node="wenchang-g1")) == {grid_one["_id"], help_one["_id"], other["_id"]}
    assert ids(GRID_WORKER, overdue=True) == []
    later = NOW + 30 * HOUR
    overdue = [p["_id"] for p in usecases.page(repo, GRID_WORKER, {"overdue": True}, later)[0]]
    assert sorted(overdue) == sorted([grid_one["_id"], help_one["_id"], other["_id"]])
    assert [p["_id"] for p in usecases.page(repo, GRID_WORKER, {"overdue": False}, later)[0]] == []
    assert ids(GRID_WORKER, created_from=(NOW + HOUR).isoformat()) == []
    with pytest.raises(Invalid):
        usecases.page(repo, GRID_WORKER, {"page_size": 1000})


def test_a_replica_acting_on_a_stale_reading_changes_nothing(repo):
    """What two replicas scanning at once amounts to: the second write finds the version moved."""
    p, _ = submit(repo)
    later = NOW + 25 * HOUR

    class StaleRepo(PetitionRepository):
        def due(self, now, limit=200):
            return snapshot

    snapshot = repo.due(later)
    assert usecases.scan_overdue(repo, later) == 1
    stale = StaleRepo(repo.collection.database)
    assert usecases.scan_overdue(stale, later) == 0
    assert events(repo, p["_id"]).count("petition_overdue") == 1
