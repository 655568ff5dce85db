"""Care levels (红橙绿) and how often each is visited: plain rules, no storage.

北关街社区's practice: 绿色放心户 (steady income, a harmonious family), 橙色关心户 (disabled
people, 低保 households, elderly living alone, left-behind children), 红色连心户 (a major
change in the family, grave illness, a disaster). The level sets how often a grid worker
calls: by default red weekly, orange monthly, green quarterly, per district.

Dates are calendar days in China Standard Time (UTC+8, no daylight saving): a grid
worker's "today" is the one on the wall, and a visit logged at 07:00 in the morning is
not dated yesterday as UTC would have it.
"""
import heapq
from datetime import date, timedelta, timezone

LEVELS = ("green", "orange", "red")
NEEDS_REASON = ("orange", "red")
# the most urgent first: how the console lists them and the order of a level's colour legend
URGENCY = ("red", "orange", "green")
SETTINGS = ("red_days", "orange_days", "green_days")
DEFAULT_INTERVALS = {"red_days": 7, "orange_days": 30, "green_days": 90}
MAX_DAYS = 366
ZONE = timezone(timedelta(hours=8), "Asia/Shanghai")


def today(now):
    """The calendar day ``now`` falls on where the grid workers are."""
    return now.astimezone(ZONE).date()


def interval(level, settings):
    return timedelta(days=settings[f"{level}_days"])


def next_due(baseline, level, settings):
    """The day the next visit is due: the baseline (last visit, or registration) plus the level's interval."""
    return _day(baseline) + interval(level, settings)


def overdue_days(due, on):
    """Whole days past ``due`` on day ``on`` (0 while it is not overdue; the due day itself is on time)."""
    return max(0, (on - _day(due)).days)


def is_overdue(due, on):
    return on > _day(due)


def latest_baseline(level, settings, on):
    """Households of ``level`` whose baseline is before this day are overdue on day ``on``."""
    return (on - interval(level, settings)).isoformat()


def ordering_problems(settings):
    """{field: message} when a more worrying level would be visited less often than a calmer one."""
    problems = {}
    if settings["orange_days"] < settings["red_days"]:
        problems["orange_days"] = (f"must be at least red_days ({settings['red_days']}): "
                                   "a red household is visited at least as often as an orange one")
    if settings["green_days"] < settings["orange_days"]:
        problems["green_days"] = (f"must be at least orange_days ({settings['orange_days']}): "
                                  "an orange household is visited at least as often as a green one")
    return problems


def by_due(streams, settings):
    """One sequence ordered by due day (overdue first, the longest overdue first), then id.

    ``streams`` maps each level to its households sorted by baseline, then id: within a
    level the due day grows with the baseline, so merging the streams orders them all
    without computing a due day in the database.
    """
    def keyed(level, docs):
        for doc in docs:
            yield (next_due(doc["visit_baseline"], level, settings), doc["id"]), doc
    merged = heapq.merge(*(keyed(level, docs) for level, docs in streams.items()), key=lambda pair: pair[0])
    return (doc for _, doc in merged)


def _day(value):
    return value if isinstance(value, date) else date.fromisoformat(value)
