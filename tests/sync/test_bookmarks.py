"""Typed sync state: round trips through the checkpoint JSON, and the pure steps of a plan and a pull."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cohort_service.sync.bookmarks import (
    PREHISTORY,
    EventsPlan,
    LeadsPull,
    Window,
    leads_watermark,
    mark_done,
    page_written,
    plan_from_json,
    plan_to_json,
    pull_from_json,
    pull_to_json,
    pull_wanted,
    resume_plan,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PLAN = EventsPlan(windows=((100, 200), (200, 300), (300, 400)), pre_end=100, repair=False)


@given(
    edges=st.lists(st.integers(0, 10**10), min_size=1, max_size=12, unique=True),
    pre_end=st.none() | st.integers(0, 10**10),
    repair=st.booleans(),
    data=st.data(),
)
def test_a_plan_survives_the_checkpoint(
    edges: list[int], pre_end: int | None, repair: bool, data: st.DataObject
) -> None:
    edges.sort()
    windows = tuple(zip(edges, [*edges[1:], edges[-1] + 1], strict=True))
    done = data.draw(st.frozensets(st.integers(-1, len(windows) - 1)))
    plan = EventsPlan(windows=windows, pre_end=pre_end, repair=repair, done=done)
    assert plan_from_json(plan_to_json(plan)) == plan


def test_a_plan_written_by_the_earlier_dict_code_still_resumes() -> None:
    old = {"windows": [[100, 200], [200, 300]], "done": [-1, 1], "pre_end": 100, "repair": True}
    plan = plan_from_json(old)
    assert plan == EventsPlan(((100, 200), (200, 300)), 100, True, frozenset({PREHISTORY, 1}))
    assert plan.pending() == [Window(0, 100, 200)]
    assert plan_from_json({}) is None


def test_the_watermark_is_the_end_of_the_done_prefix_once_prehistory_is_read() -> None:
    assert PLAN.pending() == [Window(PREHISTORY, None, 100), Window(0, 100, 200), Window(1, 200, 300),
                              Window(2, 300, 400)]  # fmt: skip
    plan = mark_done(mark_done(PLAN, 0), 1)
    assert plan.covered_until() is None  # the prehistory is still open
    plan = mark_done(plan, PREHISTORY)
    assert (plan.covered_until(), plan.finished) == (300, False)
    plan = mark_done(plan, 2)
    assert (plan.covered_until(), plan.finished) == (400, True)
    assert mark_done(PLAN, 1).covered_until() is None  # window 0 not done: nothing covered yet


def test_a_killed_plan_resumes_its_open_windows_then_reaches_now() -> None:
    killed = EventsPlan(((100, 200), (200, 300)), None, False, frozenset({0}))
    resumed = resume_plan(killed, end=5000, overlap=timedelta(seconds=50))
    assert resumed.windows == ((200, 300), (250, 5000))
    assert (resumed.done, resumed.pre_end, resumed.repair) == (frozenset(), None, False)
    with_history = EventsPlan(((100, 200),), 100, True, frozenset({0}))
    assert resume_plan(with_history, end=200, overlap=timedelta(0)).pre_end == 100


def test_a_pull_survives_the_checkpoint_and_counts_its_pages() -> None:
    pull = LeadsPull(kind="full", db_started=T0, repair=True, signpost=T0 + timedelta(seconds=5))
    pull = page_written(pull, 1, T0 - timedelta(days=1))
    pull = page_written(pull, 2, T0 - timedelta(days=3))
    assert (pull.pages_done, pull.max_seen) == (2, T0 - timedelta(days=1))
    assert pull_from_json(pull_to_json(pull)) == pull
    since = LeadsPull(kind="since", db_started=T0, repair=True, signpost=T0, since=T0 - timedelta(days=7))
    assert page_written(since, 4, T0).pages_done == 0  # only a full pull resumes by page
    assert pull_from_json(pull_to_json(since)) == since
    assert pull_from_json(None) is None


def test_which_killed_pull_a_run_finishes() -> None:
    resync = LeadsPull(kind="full", db_started=T0, repair=True, signpost=T0)
    plain = LeadsPull(kind="full", db_started=T0, repair=False, signpost=T0)
    assert pull_wanted(resync, repair=False, since=None)  # a sync finishes anything
    assert pull_wanted(resync, repair=True, since=None)
    assert not pull_wanted(plain, repair=True, since=None)  # a resync does not trust a plain pull
    assert not pull_wanted(resync, repair=True, since=T0)  # nor a full one when --since was asked
    assert not pull_wanted(None, repair=False, since=None)


def test_leads_watermark() -> None:
    old, seen, signpost = T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    assert leads_watermark(old, full=False, seen=seen, signpost=signpost) == seen
    assert leads_watermark(old, full=False, seen=None, signpost=signpost) == old  # saw nothing: stays
    assert leads_watermark(signpost, full=False, seen=seen, signpost=signpost) == signpost  # never back
    assert leads_watermark(signpost, full=True, seen=seen, signpost=signpost) == seen  # a full pull sets it
    assert leads_watermark(None, full=True, seen=None, signpost=signpost) == signpost
