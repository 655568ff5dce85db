"""The inbox: filters, pagination, unread counts, mark one or all read."""
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Invalid, NotFound
from services.notify import domain

from .fakes import SYSTEM_ACTOR, FakeDirectory, petition_event, points_event

LIMIN = AuthContext(user_id="limin", district="hb", roles=("grid_worker", "community_staff"), scope="wenchang-g1")


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    domain.create_indexes(database)
    directory = FakeDirectory()
    start = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)
    for minute, event in enumerate((petition_event("petition_submitted", petition_id="p1"),
                  petition_event("petition_escalated", petition_id="p1", status="escalated", level="community",
                                 reason="需社区协调"),
                  petition_event("petition_overdue", actor=SYSTEM_ACTOR, petition_id="p2", overdue_level="grid",
                                 deadline="claim"),
                  petition_event("follow_up_opened", petition_id="p3", rating=2, follow_up_status="open"),
                  points_event(user_id="limin", amount=10, balance=10, reason="petition_handled"))):
        domain.notify(database, directory, event, now=start + timedelta(minutes=minute))
    return database


def test_filters_and_pages(db):
    everything = domain.inbox(db, LIMIN)
    assert (everything["total"], everything["unread"]) == (5, 5)
    assert [i["category"] for i in everything["items"]] == ["points", "task", "overdue", "task", "task"]
    tasks = domain.inbox(db, LIMIN, filters={"category": "task"})
    assert tasks["total"] == 3 and tasks["unread"] == 5  # unread counts the whole inbox
    assert domain.inbox(db, LIMIN, filters={"petition_id": "p1"})["total"] == 3  # the points too
    overdue = domain.inbox(db, LIMIN, filters={"type": "petition_overdue"})["items"]
    assert len(overdue) == 1 and overdue[0]["critical"] is True
    page2 = domain.inbox(db, LIMIN, page=2, page_size=2)
    assert [i["type"] for i in page2["items"]] == ["petition_overdue", "petition_escalated"]
    with pytest.raises(Invalid) as err:
        domain.inbox(db, LIMIN, filters={"category": "gossip"})
    assert "category" in err.value.errors
    with pytest.raises(Invalid):
        domain.inbox(db, LIMIN, filters={"recipient": "wangshuji"})  # no way to read someone else's


def test_unread_counts_mark_one_and_mark_all(db):
    assert domain.unread_count(db, LIMIN) == {"unread": 5, "by_category": {"task": 3, "overdue": 1, "points": 1}}
    first = domain.inbox(db, LIMIN, filters={"category": "overdue"})["items"][0]
    read = domain.mark_read(db, LIMIN, first["id"])
    assert (read["read"], read["status"]) == (True, "read") and read["read_at"]
    assert domain.get(db, LIMIN, first["id"])["read"] is True
    assert domain.inbox(db, LIMIN, filters={"read": True})["total"] == 1
    assert domain.mark_all_read(db, LIMIN, {"category": "task"}) == {"marked": 3, "unread": 1}
    assert domain.mark_all_read(db, LIMIN) == {"marked": 1, "unread": 0}
    assert domain.mark_all_read(db, LIMIN) == {"marked": 0, "unread": 0}
    with pytest.raises(NotFound):
        domain.get(db, AuthContext(user_id="wangshuji", district="hb", roles=("community_staff",)), first["id"])
    with pytest.raises(Invalid):
        domain.mark_all_read(db, LIMIN, {"read": False})
