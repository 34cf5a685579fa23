"""Which week a send reports on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cohort_service.app.weeks import last_complete_week, week_of_day

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("now_utc", "monday"),
    [
        (datetime(2024, 10, 28, 6, 0, tzinfo=UTC), date(2024, 10, 21)),  # Mon 07:00 Berlin (CET)
        (datetime(2024, 10, 27, 22, 59, tzinfo=UTC), date(2024, 10, 14)),  # Sun 23:59 Berlin: week not over
        (datetime(2024, 10, 27, 23, 0, tzinfo=UTC), date(2024, 10, 21)),  # Mon 00:00 Berlin
        (datetime(2024, 11, 3, 12, 0, tzinfo=UTC), date(2024, 10, 21)),  # the following Sunday
    ],
)
def test_last_complete_week_in_local_time(now_utc: datetime, monday: date) -> None:
    week = last_complete_week(now_utc, BERLIN)
    assert week.week_start == monday
    assert week.as_of.date() == monday + timedelta(days=6)


def test_as_of_is_the_last_microsecond_of_sunday_across_dst() -> None:
    """27.10.2024 is the autumn change in Berlin: the Sunday ends at 23:59:59.999999 CET (+01:00)."""
    week = last_complete_week(datetime(2024, 10, 28, 6, 0, tzinfo=UTC), BERLIN)
    assert week.as_of.isoformat() == "2024-10-27T23:59:59.999999+01:00"
    assert week.as_of.astimezone(UTC) == datetime(2024, 10, 27, 22, 59, 59, 999999, tzinfo=UTC)


def test_week_of_an_explicit_day() -> None:
    week = week_of_day(date(2022, 9, 21), MOSCOW)  # a Wednesday
    assert week.week_start == date(2022, 9, 19)
    assert week.as_of.isoformat() == "2022-09-21T23:59:59.999999+03:00"
