"""Where a full read of history starts: a 1938 lead or a 0 sentinel must not cost ~1,000 windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from cohort_service.sync.bookmarks import (
    EARLIEST_PLAUSIBLE,
    ISOLATION_GAP,
    EventsPlan,
    HistoryStart,
    history_start,
    new_plan,
)
from cohort_service.sync.runner import run_sync
from tests.sync.harness import mismatches, simulated

DAY = timedelta(days=1)


def days(first: datetime, count: int) -> list[datetime]:
    return [first + i * DAY for i in range(count)]


def test_an_ordinary_account_starts_a_day_before_its_oldest_lead() -> None:
    bulk = days(datetime(2024, 1, 5, tzinfo=UTC), 30)
    assert history_start(bulk) == HistoryStart(datetime(2024, 1, 4, tzinfo=UTC))
    assert history_start(bulk).warning() is None
    assert history_start([]) == HistoryStart(None)


def test_a_1938_lead_and_a_zero_sentinel_are_left_before_the_start() -> None:
    outliers = [datetime(1938, 5, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)]
    found = history_start([*outliers, *days(datetime(2024, 1, 5, tzinfo=UTC), 30)])
    assert found == HistoryStart(datetime(2024, 1, 4, tzinfo=UTC), 2, outliers[0])
    assert found.warning() == (
        "history: 2 leads created before 2024-01-04 (the oldest on 1938-05-01) lie apart from the "
        "account's other leads; event windows start at 2024-01-04 and everything older is read in one query"
    )


def test_a_lead_a_year_apart_from_the_rest_is_an_outlier_even_when_plausible() -> None:
    lone = datetime(2015, 3, 1, tzinfo=UTC)
    bulk = days(lone + ISOLATION_GAP + DAY, 10)
    assert history_start([lone, *bulk]) == HistoryStart(bulk[0] - DAY, 1, lone)
    near = days(lone + ISOLATION_GAP - DAY, 10)  # within a year: the account's real start
    assert history_start([lone, *near]) == HistoryStart(lone - DAY)


def test_when_every_lead_seen_is_implausible_the_floor_is_the_start() -> None:
    zeros = [datetime(1970, 1, 1, tzinfo=UTC)] * 3
    assert history_start(zeros) == HistoryStart(EARLIEST_PLAUSIBLE, 3, zeros[0])


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1930, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
            max_value=datetime(2030, 1, 1),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_start_splits_the_oldest_leads_into_outliers_and_history(created: list[datetime]) -> None:
    created.sort()
    found = history_start(created)
    assert found.start is not None
    assert found.start >= EARLIEST_PLAUSIBLE - DAY
    kept = created[found.skipped :]
    assert all(moment >= found.start + DAY for moment in kept)
    if found.skipped and kept:  # the last outlier is implausible or a year apart from the history
        last = created[found.skipped - 1]
        assert last < EARLIEST_PLAUSIBLE or kept[0] - last > ISOLATION_GAP


def test_windows_from_a_1938_start_versus_a_plausible_one() -> None:
    """The cost the bound removes: with nothing known about density, monthly windows at most."""
    end = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())

    def plan(start: datetime) -> EventsPlan:
        return new_plan(
            end=end, repair=False, since=None, watermark=None, overlap=DAY, history_start=start, lead_count=0
        )

    assert len(plan(datetime(1938, 4, 30, tzinfo=UTC)).windows) > 1000
    assert len(plan(datetime(2026, 8, 1, tzinfo=UTC)).windows) == 14  # 13 weeks → weekly windows


def test_first_sync_of_an_account_with_a_1938_lead(db_url: str, engine: Engine) -> None:
    """Drill through the simulator: one lead dated 1938 and one dated 0 (1970)."""
    with simulated(seed=61, leads=200, weeks=6) as sim:
        leads = sim.app.account.leads
        leads.created_at[3] = int(datetime(1938, 5, 1, tzinfo=UTC).timestamp())
        leads.created_at[7] = 0
        sim.app.account.version += 1  # the simulator's list caches key on it
        summary = run_sync(sim.settings(db_url), clock=sim.now)
        assert mismatches(engine, sim) == []
    assert summary.requests < 40  # 1,060 monthly windows back to 1938 without the bound
    (warning,) = summary.warnings
    assert warning.startswith("history: 2 leads created before ")
    assert "(the oldest on 1938-05-01)" in warning
