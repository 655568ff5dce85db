"""Care levels (红橙绿) as plain rules: intervals, due days, overdue, the order of a work queue."""
from datetime import date, datetime, timezone

from services.grid import care_levels
from services.grid.care_levels import DEFAULT_INTERVALS


def test_red_weekly_orange_monthly_green_quarterly_by_default():
    assert DEFAULT_INTERVALS == {"red_days": 7, "orange_days": 30, "green_days": 90}
    base = date(2026, 3, 1)
    assert care_levels.next_due(base, "red", DEFAULT_INTERVALS) == date(2026, 3, 8)
    assert care_levels.next_due("2026-03-01", "orange", DEFAULT_INTERVALS) == date(2026, 3, 31)
    assert care_levels.next_due(base, "green", DEFAULT_INTERVALS) == date(2026, 5, 30)


def test_the_due_day_itself_is_on_time_the_day_after_is_overdue():
    due = date(2026, 3, 8)
    assert not care_levels.is_overdue(due, date(2026, 3, 8))
    assert care_levels.overdue_days(due, date(2026, 3, 8)) == 0
    assert care_levels.is_overdue(due, date(2026, 3, 9))
    assert care_levels.overdue_days("2026-03-08", date(2026, 3, 12)) == 4
    # a baseline before this cut is overdue today: the same rule as a query
    assert care_levels.latest_baseline("red", DEFAULT_INTERVALS, date(2026, 3, 9)) == "2026-03-02"


def test_today_is_the_day_on_the_wall_in_china():
    # 23:30 UTC on 1 March is 07:30 on 2 March in Chongqing
    assert care_levels.today(datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)) == date(2026, 3, 2)
    assert care_levels.today(datetime(2026, 3, 1, 15, 59, tzinfo=timezone.utc)) == date(2026, 3, 1)


def test_a_more_worrying_level_is_never_visited_less_often():
    assert care_levels.ordering_problems(DEFAULT_INTERVALS) == {}
    assert care_levels.ordering_problems({"red_days": 14, "orange_days": 14, "green_days": 14}) == {}
    problems = care_levels.ordering_problems({"red_days": 30, "orange_days": 7, "green_days": 5})
    assert set(problems) == {"orange_days", "green_days"}
    assert "red_days (30)" in problems["orange_days"]


def test_the_queue_is_by_due_day_across_levels_then_by_id():
    settings = {"red_days": 7, "orange_days": 30, "green_days": 90}
    streams = {  # each level sorted by baseline, as the database returns them
        "red": [{"id": "r2", "visit_baseline": "2026-03-01"}, {"id": "r1", "visit_baseline": "2026-03-20"}],
        "orange": [{"id": "o1", "visit_baseline": "2026-02-01"}, {"id": "o2", "visit_baseline": "2026-02-27"}],
        "green": [{"id": "g1", "visit_baseline": "2025-12-01"}],
    }
    # due: r2 03-08, o1 03-03, o2 03-29, r1 03-27, g1 03-01
    assert [d["id"] for d in care_levels.by_due(streams, settings)] == ["g1", "o1", "r2", "r1", "o2"]
    tie = {"red": [{"id": "b", "visit_baseline": "2026-03-01"}], "orange": [{"id": "a", "visit_baseline": "2026-02-06"}]}
    assert [d["id"] for d in care_levels.by_due(tie, settings)] == ["a", "b"]  # both due 03-08
