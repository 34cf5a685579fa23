"""Triggers and the catch-up decision, without a clock or a database (pure functions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cohort_service.app.scheduler import missed_report, previous_fire_time, report_trigger, sync_trigger
from cohort_service.errors import ConfigError

BERLIN = ZoneInfo("Europe/Berlin")


def _fires(expression: str, start: datetime, count: int) -> list[datetime]:
    trigger = report_trigger(expression, BERLIN)
    out: list[datetime] = []
    previous = None
    now = start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        out.append(fire)
        previous, now = fire, fire + timedelta(seconds=1)
    return out


def test_monday_0700_stays_0700_local_across_the_october_change() -> None:
    """Berlin leaves summer time on Sunday 27.10.2024: 07:00 local moves from 05:00 to 06:00 UTC."""
    fires = _fires("0 7 * * mon", datetime(2024, 10, 14, tzinfo=BERLIN), 4)
    assert [f.isoformat() for f in fires] == [
        "2024-10-14T07:00:00+02:00",
        "2024-10-21T07:00:00+02:00",
        "2024-10-28T07:00:00+01:00",
        "2024-11-04T07:00:00+01:00",
    ]
    assert [f.astimezone(UTC).hour for f in fires] == [5, 5, 6, 6]


def test_and_across_the_march_change() -> None:
    fires = _fires("0 7 * * mon", datetime(2025, 3, 24, 8, 0, tzinfo=BERLIN), 2)
    assert [f.isoformat() for f in fires] == ["2025-03-31T07:00:00+02:00", "2025-04-07T07:00:00+02:00"]


@pytest.mark.parametrize(
    ("expression", "weekdays"),
    [
        ("0 7 * * 1", {"Mon"}),  # standard cron: 1 = Monday (APScheduler 3 alone would say Tuesday)
        ("0 7 * * 0", {"Sun"}),
        ("0 7 * * 7", {"Sun"}),
        ("0 7 * * 1-5", {"Mon", "Tue", "Wed", "Thu", "Fri"}),
        ("0 7 * * */3", {"Sun", "Wed", "Sat"}),
        ("0 7 * * mon,thu", {"Mon", "Thu"}),
    ],
)
def test_weekdays_read_as_standard_cron(expression: str, weekdays: set[str]) -> None:
    fires = _fires(expression, datetime(2024, 10, 14, tzinfo=BERLIN), 14)
    assert {f.strftime("%a") for f in fires} == weekdays


@pytest.mark.parametrize("expression", ["0 7 * * 9", "61 7 * * mon", "0 7 * * funday"])
def test_bad_cron_is_a_config_error(expression: str) -> None:
    with pytest.raises(ConfigError, match=r"schedule.report_cron: .* is not a valid cron expression"):
        report_trigger(expression, BERLIN)


def test_interval_sync_counts_real_hours_across_the_change() -> None:
    start = datetime(2024, 10, 27, 1, 30, tzinfo=BERLIN)
    trigger = sync_trigger(timedelta(hours=1), BERLIN, start=start)
    first = trigger.get_next_fire_time(None, start)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    third = trigger.get_next_fire_time(second, second + timedelta(seconds=1))
    utc = [f.astimezone(UTC) for f in (first, second, third)]  # same-zone subtraction is wall-clock
    assert (utc[1] - utc[0], utc[2] - utc[1]) == (timedelta(hours=1), timedelta(hours=1))
    assert [f.astimezone(UTC).hour for f in (first, second, third)] == [23, 0, 1]
    assert [f.isoformat() for f in (second, third)] == [
        "2024-10-27T02:30:00+02:00",
        "2024-10-27T02:30:00+01:00",
    ]


def test_previous_fire_time() -> None:
    trigger = report_trigger("0 7 * * mon", BERLIN)
    week = timedelta(days=8)
    at_0800 = datetime(2024, 10, 28, 8, 0, tzinfo=BERLIN)
    at_0659 = datetime(2024, 10, 28, 6, 59, tzinfo=BERLIN)
    assert previous_fire_time(trigger, at_0800, lookback=week) == datetime(2024, 10, 28, 7, 0, tzinfo=BERLIN)
    assert previous_fire_time(trigger, at_0659, lookback=week) == datetime(2024, 10, 21, 7, 0, tzinfo=BERLIN)
    assert previous_fire_time(trigger, at_0659, lookback=timedelta(days=2)) is None


FIRE = datetime(2024, 10, 28, 7, 0, tzinfo=BERLIN)
GRACE = timedelta(hours=36)


@pytest.mark.parametrize(
    ("now", "last_fire", "last_sent", "expected"),
    [
        (FIRE + timedelta(hours=3), FIRE, None, date(2024, 10, 21)),  # down at 07:00, back at 10:00
        (FIRE + timedelta(hours=3), FIRE, date(2024, 10, 14), date(2024, 10, 21)),  # last sent a week before
        (FIRE + timedelta(hours=3), FIRE, date(2024, 10, 21), None),  # already sent: once only
        (FIRE + GRACE, FIRE, None, date(2024, 10, 21)),  # exactly at the end of the grace
        (FIRE + GRACE + timedelta(seconds=1), FIRE, None, None),  # too late: wait for next Monday
        (FIRE, None, None, None),  # never fired (a new schedule)
    ],
    ids=["missed", "missed-after-older-send", "already-sent", "grace-edge", "too-late", "no-fire"],
)
def test_missed_monday_decision(
    now: datetime, last_fire: datetime | None, last_sent: date | None, expected: date | None
) -> None:
    week = missed_report(last_fire=last_fire, now=now, grace=GRACE, last_sent_week=last_sent, tz=BERLIN)
    assert (week.week_start if week else None) == expected
    if week is not None:
        assert week.as_of.isoformat() == "2024-10-27T23:59:59.999999+01:00"


def test_grace_is_measured_in_real_hours_across_a_dst_change() -> None:
    """Fired Sun 27.10 01:00 CEST (23:00Z), now Mon 12:00 CET (11:00Z): 36 real hours, 35 on the wall."""
    fire = datetime(2024, 10, 27, 1, 0, tzinfo=BERLIN)
    now = datetime(2024, 10, 28, 12, 0, tzinfo=BERLIN)
    grace = timedelta(hours=35, minutes=30)
    assert missed_report(last_fire=fire, now=now, grace=grace, last_sent_week=None, tz=BERLIN) is None
    week = missed_report(last_fire=fire, now=now, grace=timedelta(hours=36), last_sent_week=None, tz=BERLIN)
    assert week is not None
    assert week.week_start == date(2024, 10, 14)  # Sunday 01:00 is inside the week of 21.10, not complete
