"""The page scheduler: every page once, in order per query, within the in-flight cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort_service.sync.fetcher import PagedQuery, PageLike, run_paged


@dataclass
class FakePage:
    items: Sequence[int]
    next_url: str | None


class FakeList:
    """A list endpoint: ``size`` items, ``limit`` per page, a next link on every full page."""

    def __init__(self, size: int, limit: int = 3) -> None:
        self.size, self.limit = size, limit
        self.requested: list[int] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def fetch(self, page: int) -> FakePage:
        with self.lock:
            self.requested.append(page)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(0.001)
        with self.lock:
            self.in_flight -= 1
        start = (page - 1) * self.limit
        items = list(range(start, min(start + self.limit, self.size)))
        return FakePage(items, f"p{page + 1}" if len(items) == self.limit else None)


def _collect(queries: list[PagedQuery[int]], max_in_flight: int) -> dict[str, list[int]]:
    got: dict[str, list[int]] = {q.key: [] for q in queries}
    done: list[str] = []

    def on_page(query: PagedQuery[int], page: int, result: PageLike[int]) -> None:
        assert query.key not in done
        got[query.key].extend(result.items)

    run_paged(queries, max_in_flight=max_in_flight, on_page=on_page, on_done=lambda q: done.append(q.key))
    assert sorted(done) == sorted(got)
    return got


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 20), min_size=1, max_size=6), max_in_flight=st.integers(1, 5))
def test_every_item_once_in_order(sizes: list[int], max_in_flight: int) -> None:
    lists = [FakeList(size) for size in sizes]
    queries = [PagedQuery(key=str(i), fetch=lst.fetch) for i, lst in enumerate(lists)]
    got = _collect(queries, max_in_flight)
    for i, size in enumerate(sizes):
        assert got[str(i)] == list(range(size))
        assert lists[i].max_in_flight <= max_in_flight


def test_exactly_full_last_page_costs_one_204() -> None:
    """6 items, 3 a page: pages 1 and 2 are full with next links, page 3 is the 204."""
    lst = FakeList(6)
    _collect([PagedQuery(key="a", fetch=lst.fetch)], max_in_flight=1)
    assert lst.requested == [1, 2, 3]


def test_stop_predicate_ends_query_early() -> None:
    lst = FakeList(30)
    query = PagedQuery(key="a", fetch=lst.fetch, stop=lambda page: max(page.items) >= 7)
    got = _collect([query], max_in_flight=1)
    assert got["a"] == list(range(9))
    assert lst.requested == [1, 2, 3]


@pytest.mark.parametrize("max_in_flight", [1, 2, 4])
def test_error_propagates_and_stops_delivery(max_in_flight: int) -> None:
    """Nothing at or after the failed page is delivered; what is delivered is in order."""
    delivered: list[int] = []

    def fetch(page: int) -> FakePage:
        if page == 3:
            raise RuntimeError("boom")
        return FakePage([page], f"p{page + 1}")

    with pytest.raises(RuntimeError, match="boom"):
        run_paged(
            [PagedQuery(key="a", fetch=fetch)],
            max_in_flight=max_in_flight,
            on_page=lambda _q, p, _r: delivered.append(p),
        )
    if max_in_flight == 1:
        assert delivered == [1, 2]
    else:  # page 2 may still be in flight when page 3 fails
        assert delivered in ([], [1], [1, 2])


def test_speculation_fills_idle_slots_for_a_single_query() -> None:
    lst = FakeList(60, limit=3)
    _collect([PagedQuery(key="a", fetch=lst.fetch)], max_in_flight=4)
    assert lst.max_in_flight > 1
    assert len(lst.requested) == len(set(lst.requested))  # no page twice
    assert set(range(1, 22)) <= set(lst.requested)  # 20 full pages, then the 204 at page 21
    assert len(lst.requested) - 21 <= 3  # at most in-flight - 1 wasted pages past the end
