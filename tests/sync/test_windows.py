"""Event windows: they tile the history exactly, are never shorter than an hour unless the span is."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from cohort_service.sync.bookmarks import MAX_WINDOW, MIN_WINDOW, plan_windows

YEAR = 365 * 86400


@given(
    start=st.integers(1_300_000_000, 1_800_000_000),
    span=st.integers(1, 5 * YEAR),
    expected=st.integers(0, 10_000_000),
)
def test_windows_tile_the_span(start: int, span: int, expected: int) -> None:
    windows = plan_windows(start, start + span, expected_events=expected)
    assert windows[0][0] == start
    assert windows[-1][1] == start + span
    for (_, b), (c, _) in itertools.pairwise(windows):
        assert b == c  # contiguous, no gap, no overlap
    lengths = [b - a for a, b in windows]
    assert all(length > 0 for length in lengths)
    if len(windows) > 1:
        assert min(lengths) >= MIN_WINDOW.total_seconds() - 1
    assert max(lengths) <= MAX_WINDOW.total_seconds() + 1


def test_window_count_follows_expected_events() -> None:
    """26 weeks and 120k expected events → 60 windows of ~3 days (2,000 events each)."""
    windows = plan_windows(0, 26 * 7 * 86400, expected_events=120_000)
    assert len(windows) == 60
    assert plan_windows(0, 3600 * 10, expected_events=0) == [(0, 36000)]
    assert plan_windows(5, 5, expected_events=10) == []
