"""Local-calendar arithmetic: the as-of moment, Monday weeks and their labels (DESIGN §5 edges).

All of it in the report time zone through ``zoneinfo``, so a week spanning a DST change is still
Monday 00:00 to the next Monday 00:00 local (167 or 169 hours long).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo


def local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def end_of_day(day: date, tz: ZoneInfo) -> datetime:
    """``--as-of 2022-09-26`` = up to and including 23:59:59.999999 local on that day."""
    return local_midnight(day + timedelta(days=1), tz) - timedelta(microseconds=1)


def resolve_as_of(day: date | None, tz: ZoneInfo, now: datetime) -> datetime:
    """The report moment A, aware, in the report time zone; ``now`` when no date is given."""
    if day is None:
        return now.astimezone(tz)
    return end_of_day(day, tz)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def report_weeks(as_of: datetime, weeks: int) -> list[date]:
    """The last ``weeks`` Mondays up to and including the week containing A (oldest first)."""
    last = monday(as_of.date())
    return [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def is_mature(week: date, as_of: datetime, tz: tzinfo, mature_days: float) -> bool:
    """Every lead of the week (the last one created at Sunday 24:00) is ``mature_days`` old at A;
    with 0 days: the week is complete."""
    return local_midnight(week + timedelta(days=7), tz) + timedelta(days=mature_days) <= as_of


def week_label(week: date) -> str:
    """``12.09–18.09.2022``: the seed's label; the year of the Sunday, both years when they differ."""
    sunday = week + timedelta(days=6)
    if week.year != sunday.year:
        return f"{week:%d.%m.%Y}–{sunday:%d.%m.%Y}"
    return f"{week:%d.%m}–{sunday:%d.%m.%Y}"
