"""Red and green in the e-mail: targets with tolerance, and mean ± k·σ at the same age."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort_service.config import Target
from cohort_service.delivery.anomalies import flag_steps, sigma_flag, step_shares, steps_at_age, target_flag

DAY = 86400.0
INF = math.inf
QUALIFIED = Target(milestone="qualified", target=0.5, tolerance=0.1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.39, "low"), (0.4, None), (0.5, None), (0.6, None), (0.61, "high"), (None, None)],
)
def test_target_band_edges_are_on_target(value: float | None, expected: str | None) -> None:
    flag = target_flag(value, QUALIFIED)
    assert (flag.direction if flag else None) == expected


def test_target_flag_says_why() -> None:
    flag = target_flag(0.3, QUALIFIED)
    assert flag is not None
    assert flag.colour == "red"
    assert flag.reason == "below target 50% ± 10 pp"


def test_sigma_band_by_hand() -> None:
    """history 40/50/60%: mean 50%, sample σ 10 pp; k = 2 → band 30–70%."""
    history = [0.4, 0.5, 0.6]
    assert sigma_flag(0.7, history, 2.0) is None
    assert sigma_flag(0.3, history, 2.0) is None
    high = sigma_flag(0.71, history, 2.0)
    low = sigma_flag(0.29, history, 2.0)
    assert high is not None
    assert high.direction == "high"
    assert high.reason == "above the usual 30%–70% (3 earlier cohorts at this age)"
    assert low is not None
    assert low.direction == "low"


def test_sigma_needs_three_earlier_cohorts() -> None:
    assert sigma_flag(0.99, [0.1, 0.1], 2.0) is None
    assert sigma_flag(None, [0.1, 0.1, 0.1], 2.0) is None


def test_step_shares_blank_after_an_empty_step() -> None:
    assert step_shares(10, [4, 0, 0]) == (0.4, 0.0, None)
    assert step_shares(0, [0, 0]) == (None, None)


def test_steps_at_age_counts_only_what_was_reached_by_then() -> None:
    offsets = np.array(
        [
            [1 * DAY, 2 * DAY],
            [1 * DAY, 9 * DAY],
            [8 * DAY, INF],
            [INF, INF],
        ]
    )
    assert steps_at_age(offsets, timedelta(days=7)) == (0.5, 0.5)  # 2 of 4, then 1 of 2
    assert steps_at_age(offsets, timedelta(days=9)) == (0.75, 2 / 3)
    assert steps_at_age(np.empty((0, 2)), timedelta(days=7)) == (None, None)


def _cohort(n: int, reached_first_by_day: list[float]) -> np.ndarray:
    """n leads; one milestone; lead i reached it on day reached_first_by_day[i] (or never)."""
    days = reached_first_by_day + [INF] * (n - len(reached_first_by_day))
    return np.array([[d * DAY] for d in days])


def test_young_cohort_is_compared_with_older_ones_at_its_own_age() -> None:
    """Earlier cohorts converted 20% within a week (50% eventually); a 7-day-old cohort at 10% is low.

    Compared with their final 50% any young cohort would look low; compared at 7 days only 10% is.
    """
    weeks = [date(2024, 9, 2) + timedelta(weeks=i) for i in range(4)]
    # 10 leads each: 2 reach within 7 days (days 1, 3), 3 more later (days 20, 30, 40).
    earlier = {w: _cohort(10, [1, 3, 20, 30, 40]) for w in weeks[:2]}
    earlier[weeks[2]] = _cohort(10, [2, 5, 6, 25])  # 30% in the first week
    young_low = _cohort(10, [1])  # 10% after 7 days
    cohorts = {**earlier, weeks[3]: young_low}
    age = timedelta(days=7)
    rows = [(weeks[3], steps_at_age(young_low, age), age)]
    # history at 7 days: 0.2, 0.2, 0.3 → mean 0.2333, σ 0.0577; k = 1.5 → band 14.7%–32.0%.
    flags = flag_steps(milestones=("won",), rows=rows, cohorts=cohorts, targets=[], k=1.5)
    assert list(flags) == [(weeks[3], "won")]
    assert flags[(weeks[3], "won")].direction == "low"
    # The same 10% judged with a 3σ band (5.0%–40.6%) is not flagged.
    assert flag_steps(milestones=("won",), rows=rows, cohorts=cohorts, targets=[], k=3.0) == {}


def test_target_wins_over_history_and_history_needs_three_cohorts() -> None:
    weeks = [date(2024, 9, 2) + timedelta(weeks=i) for i in range(3)]
    cohorts = {w: _cohort(10, [1, 1, 1, 1, 1]) for w in weeks}
    age = timedelta(days=14)
    rows = [(weeks[2], (0.2,), age)]
    # Only two earlier cohorts: no history verdict, however far off 20% is from their 50%.
    assert flag_steps(milestones=("qualified",), rows=rows, cohorts=cohorts, targets=[], k=2.0) == {}
    flags = flag_steps(milestones=("qualified",), rows=rows, cohorts=cohorts, targets=[QUALIFIED], k=2.0)
    assert flags[(weeks[2], "qualified")].reason == "below target 50% ± 10 pp"


shares = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(history=st.lists(shares, min_size=3, max_size=30), pick=st.integers(min_value=0))
def test_no_history_value_is_flagged_within_samuelsons_bound(history: list[float], pick: int) -> None:
    """Every sample lies within mean ± (n−1)/√n · s (Samuelson), so none of them is anomalous there."""
    n = len(history)
    k = (n - 1) / math.sqrt(n)
    assert sigma_flag(history[pick % n], history, k) is None


@given(history=st.lists(shares, min_size=3, max_size=30), value=shares, k=st.floats(0.1, 5.0))
def test_flag_direction_matches_the_side_of_the_mean(history: list[float], value: float, k: float) -> None:
    flag = sigma_flag(value, history, k)
    if flag is not None:
        mean = statistics.fmean(history)
        assert (value < mean) == (flag.direction == "low")


@given(value=shares, target=st.floats(0.01, 1.0), tolerance=st.floats(0.0, 1.0))
def test_target_flag_iff_outside_the_band(value: float, target: float, tolerance: float) -> None:
    flag = target_flag(value, Target(milestone="x", target=target, tolerance=tolerance))
    if abs(value - target) <= tolerance:
        assert flag is None
    elif abs(value - target) > tolerance + 1e-6:
        assert flag is not None
        assert flag.direction == ("low" if value < target else "high")
