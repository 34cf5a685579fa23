"""Which week a ``send`` reports on, and the as-of moment that closes it.

The Monday message covers the cohorts up to the *last complete* week: as of the end of its Sunday
(23:59:59.999999 local), so Monday's send and a later ``send --as-of`` of that Sunday agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cohort_service.cohorts.weeks import end_of_day, monday


@dataclass(frozen=True)
class ReportWeek:
    week_start: date  # the Monday of the last week shown (the key in report_runs)
    as_of: datetime  # aware, in the report time zone

    @property
    def as_of_day(self) -> date:
        return self.as_of.date()


def week_of_day(day: date, tz: ZoneInfo) -> ReportWeek:
    """``--as-of DAY``: the report as of the end of DAY; its week is the one containing DAY."""
    return ReportWeek(monday(day), end_of_day(day, tz))


def last_complete_week(now: datetime, tz: ZoneInfo) -> ReportWeek:
    """The Monday–Sunday week that ended most recently before ``now`` (local)."""
    today = now.astimezone(tz).date()
    sunday = monday(today) - timedelta(days=1)
    return ReportWeek(monday(sunday), end_of_day(sunday, tz))
