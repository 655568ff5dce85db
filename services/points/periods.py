"""Days and months as residents count them: China Standard Time (UTC+8, no daylight saving).

Caps per day and per month, statements and reports for a period all cut time
at local midnight; storage stays in UTC.
"""
from datetime import date, datetime, time, timedelta, timezone

LOCAL = timezone(timedelta(hours=8), "CST")


def aware(moment):
    """Stored datetimes come back naive from some drivers: they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def local_date(moment):
    return aware(moment).astimezone(LOCAL).date()


def start_of(day):
    """The UTC instant local ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=LOCAL).astimezone(timezone.utc)


def day_start(moment):
    return start_of(local_date(moment))


def month_start(moment):
    return start_of(local_date(moment).replace(day=1))


def month_key(moment):
    return local_date(moment).strftime("%Y-%m")


def months_between(first, last):
    """Month keys from local date ``first`` to ``last`` inclusive: ['2026-01', '2026-02', …]."""
    keys, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def window(first, last):
    """``[start, end)`` in UTC for the local dates ``first`` … ``last`` inclusive."""
    return start_of(first), start_of(last + timedelta(days=1))


def default_period(now, query):
    """The period a query names, by default the current year up to today (local)."""
    today = local_date(now)
    first = query.get("from") or date(today.year, 1, 1)
    last = query.get("to") or today
    return first, last
