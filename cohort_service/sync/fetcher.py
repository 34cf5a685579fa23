"""Keep enough page requests in flight to run at amoCRM's rate limit, and no more.

One request at a time with 200–500 ms of latency reaches a fraction of 7 requests/s. The scheduler
below runs several paged queries (lead pages, event time windows) on a small thread pool; the
client's process-wide limiter does the pacing. Results are handed back to the caller's thread in
page order per query, so all database writes stay on one connection and checkpoints only ever
cover pages that were written.

A page is *known* once the previous page came back full with a ``next`` link; a page fetched before
that is *speculative* and is only requested when no known work is waiting (it costs one 204 at the
end of a query, but keeps the pipe full when few queries remain).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class PageLike(Protocol[T_co]):
    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def next_url(self) -> str | None: ...


@dataclass(eq=False)
class PagedQuery(Generic[T]):
    """One list request paged by number; ``stop`` ends it early (e.g. past the watermark)."""

    key: str
    fetch: Callable[[int], PageLike[T]]
    stop: Callable[[PageLike[T]], bool] | None = None
    first_page: int = 1
    _next_dispatch: int = field(default=0, init=False)
    _next_deliver: int = field(default=0, init=False)
    _known_until: int = field(default=0, init=False)
    _end: int | None = field(default=None, init=False)
    _finished: bool = field(default=False, init=False)
    _buffer: dict[int, PageLike[T] | None] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._next_dispatch = self._next_deliver = self._known_until = self.first_page

    @property
    def done(self) -> bool:
        return self._end is not None and self._next_deliver > self._end

    def _dispatchable(self, speculative: bool) -> bool:
        if self._end is not None and self._next_dispatch > self._end:
            return False
        return self._next_dispatch <= self._known_until or speculative


OnPage = Callable[[PagedQuery[T], int, PageLike[T]], None]
OnDone = Callable[[PagedQuery[T]], None]


@dataclass
class FetchStats:
    pages: int = 0
    wasted: int = 0


def run_paged(
    queries: Sequence[PagedQuery[T]],
    *,
    max_in_flight: int,
    on_page: OnPage[T],
    on_done: OnDone[T] | None = None,
    max_speculative: int | None = None,
) -> FetchStats:
    """Fetch every page of every query with up to ``max_in_flight`` requests at once.

    ``on_page`` and ``on_done`` run in the calling thread, in page order within a query. Queries are
    started in the order given, so earlier ones (older windows) finish and checkpoint first. On an
    error the requests already running are awaited and the error is raised; nothing after the
    failed page is delivered.
    """
    stats = FetchStats()
    spec_cap = max_in_flight if max_speculative is None else max_speculative
    pending: dict[cf.Future[PageLike[T] | None], tuple[PagedQuery[T], int]] = {}
    with cf.ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="amo-fetch") as pool:
        try:
            while True:
                _dispatch(queries, pending, pool, max_in_flight, spec_cap)
                if not pending:
                    break
                finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
                arrived: list[PagedQuery[T]] = []
                for future in finished:
                    query, page = pending.pop(future)
                    result = future.result()
                    stats.pages += 1
                    if query._end is not None and page > query._end:
                        stats.wasted += 1
                        continue
                    _learn(query, page, result)
                    query._buffer[page] = result
                    if query not in arrived:
                        arrived.append(query)
                # Refill the freed slots first: the writes below take time, the requests in flight don't wait.
                _dispatch(queries, pending, pool, max_in_flight, spec_cap)
                for query in arrived:
                    _deliver(query, on_page, on_done)
        except BaseException:
            for future in pending:
                future.cancel()
            cf.wait(list(pending))
            raise
    return stats


def _fetch_or_none(query: PagedQuery[T], page: int) -> PageLike[T] | None:
    """None stands for an empty page (HTTP 204)."""
    result = query.fetch(page)
    return result if result.items else None


def _dispatch(
    queries: Sequence[PagedQuery[T]],
    pending: dict[cf.Future[PageLike[T] | None], tuple[PagedQuery[T], int]],
    pool: cf.ThreadPoolExecutor,
    max_in_flight: int,
    spec_cap: int,
) -> None:
    for speculative in (False, True):
        progressed = True
        while progressed and len(pending) < max_in_flight:
            progressed = False
            for query in queries:
                if len(pending) >= max_in_flight:
                    return
                if query.done or not query._dispatchable(speculative):
                    continue
                if speculative and (spec_cap <= 0 or query._next_dispatch - query._next_deliver >= spec_cap):
                    continue
                page = query._next_dispatch
                query._next_dispatch += 1
                pending[pool.submit(_fetch_or_none, query, page)] = (query, page)
                progressed = True
                if not speculative:
                    break  # earlier queries first: restart the scan from the top


def _learn(query: PagedQuery[T], page: int, result: PageLike[T] | None) -> None:
    """What a page says about the query's extent, whatever order pages arrive in."""
    if result is None:
        last = page - 1
    elif result.next_url is None or (query.stop is not None and query.stop(result)):
        last = page
    else:
        query._known_until = max(query._known_until, page + 1)
        return
    query._end = last if query._end is None else min(query._end, last)


def _deliver(query: PagedQuery[T], on_page: OnPage[T], on_done: OnDone[T] | None) -> None:
    """Hand over the contiguous pages in order; finish the query once its last page is written."""
    while query._next_deliver in query._buffer and not query.done:
        page = query._next_deliver
        result = query._buffer.pop(page)
        query._next_deliver += 1
        if result is not None and (query._end is None or page <= query._end):
            on_page(query, page, result)
    if query._end is not None:
        query._buffer = {p: r for p, r in query._buffer.items() if p <= query._end}
        if query.done and not query._finished:
            query._finished = True
            if on_done is not None:
                on_done(query)
