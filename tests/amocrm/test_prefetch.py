"""The prefetcher: every page once, in order per paginator, within the in-flight cap."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort_service.amocrm.pagination import Page, Paginator
from cohort_service.amocrm.prefetch import run_paged
from cohort_service.amocrm.queries import ListQuery


def parse_int(item: object, where: str) -> int:
    assert isinstance(item, int), where
    return item


def numbers(name: str, limit: int = 3) -> ListQuery[int]:
    return ListQuery(f"/{name}", (("page", 1), ("limit", limit)), "items", parse_int, limit)


class FakeList:
    """A list endpoint: ``size`` items, ``limit`` a page, a next link on each full page, then 204."""

    def __init__(self, name: str, size: int, limit: int = 3) -> None:
        self.name, self.size, self.limit = name, size, limit
        self.requested: list[int] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def get(self, url: str) -> httpx.Response:
        page = int(httpx.URL(url).params["page"])
        with self.lock:
            self.requested.append(page)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(0.001)
        with self.lock:
            self.in_flight -= 1
        start = (page - 1) * self.limit
        items = list(range(start, min(start + self.limit, self.size)))
        if not items:
            return httpx.Response(204)
        body: dict[str, object] = {"_page": page, "_embedded": {"items": items}}
        if len(items) == self.limit:
            body["_links"] = {"next": {"href": f"/{self.name}?page={page + 1}&limit={self.limit}"}}
        return httpx.Response(200, json=body)


class Endpoints:
    def __init__(self, *lists: FakeList) -> None:
        self.lists = {f"/{lst.name}": lst for lst in lists}

    def get(self, url: str) -> httpx.Response:
        return self.lists[httpx.URL(url).path].get(url)


def _collect(paginators: list[Paginator[int]], get: Endpoints, max_in_flight: int) -> dict[str, list[int]]:
    got: dict[str, list[int]] = {p.query.path: [] for p in paginators}
    done: list[str] = []

    def on_page(paginator: Paginator[int], page: Page[int]) -> None:
        assert paginator.query.path not in done
        got[paginator.query.path].extend(page.items)

    run_paged(
        paginators,
        get.get,
        max_in_flight=max_in_flight,
        on_page=on_page,
        on_done=lambda p: done.append(p.query.path),
    )
    assert sorted(done) == sorted(got)
    return got


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 20), min_size=1, max_size=6), max_in_flight=st.integers(1, 5))
def test_every_item_once_in_order(sizes: list[int], max_in_flight: int) -> None:
    lists = [FakeList(str(i), size) for i, size in enumerate(sizes)]
    got = _collect([Paginator(numbers(lst.name)) for lst in lists], Endpoints(*lists), max_in_flight)
    for lst in lists:
        assert got[f"/{lst.name}"] == list(range(lst.size))
        assert lst.max_in_flight <= max_in_flight


def test_exactly_full_last_page_costs_one_204() -> None:
    """6 items, 3 a page: pages 1 and 2 are full with next links, page 3 is the 204."""
    lst = FakeList("a", 6)
    _collect([Paginator(numbers("a"))], Endpoints(lst), max_in_flight=1)
    assert lst.requested == [1, 2, 3]


def test_stop_predicate_ends_query_early() -> None:
    lst = FakeList("a", 30)
    paginator = Paginator(numbers("a"), stop=lambda page: max(page.items) >= 7)
    got = _collect([paginator], Endpoints(lst), max_in_flight=1)
    assert got["/a"] == list(range(9))
    assert lst.requested == [1, 2, 3]


@pytest.mark.parametrize("max_in_flight", [1, 2, 4])
def test_error_propagates_and_stops_delivery(max_in_flight: int) -> None:
    """Nothing at or after the failed page is delivered; what is delivered is in order."""
    delivered: list[int] = []

    def get(url: str) -> httpx.Response:
        page = int(httpx.URL(url).params["page"])
        if page == 3:
            raise RuntimeError("boom")
        nxt = {"next": {"href": f"/a?page={page + 1}"}}
        return httpx.Response(200, json={"_page": page, "_links": nxt, "_embedded": {"items": [page]}})

    with pytest.raises(RuntimeError, match="boom"):
        run_paged(
            [Paginator(numbers("a"))],
            get,
            max_in_flight=max_in_flight,
            on_page=lambda _p, page: delivered.append(page.page),
        )
    if max_in_flight == 1:
        assert delivered == [1, 2]
    else:  # page 2 may still be in flight when page 3 fails
        assert delivered in ([], [1], [1, 2])


def test_speculation_fills_idle_slots_for_a_single_list() -> None:
    lst = FakeList("a", 60, limit=3)
    _collect([Paginator(numbers("a"))], Endpoints(lst), max_in_flight=4)
    assert lst.max_in_flight > 1
    assert len(lst.requested) == len(set(lst.requested))  # no page twice
    assert set(range(1, 22)) <= set(lst.requested)  # 20 full pages, then the 204 at page 21
    assert len(lst.requested) - 21 <= 3  # at most in-flight - 1 wasted pages past the end


def test_no_speculation_asks_only_known_pages() -> None:
    lst = FakeList("a", 7, limit=3)
    stats = run_paged(
        [Paginator(numbers("a"))],
        Endpoints(lst).get,
        max_in_flight=4,
        on_page=lambda _p, _g: None,
        max_speculative=0,
    )
    assert lst.requested == [1, 2, 3]
    assert (stats.pages, stats.wasted) == (3, 0)
