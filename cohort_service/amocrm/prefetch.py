"""Keep enough page requests in flight to run at amoCRM's rate limit, and no more.

One request at a time with 200–500 ms of latency reaches a fraction of 7 requests/s. ``run_paged``
drives several paginators (lead pages, event time windows, reference lists) on a small thread
pool; the client's limiter does the pacing. Each paginator decides which of its pages may be
requested and when its list ends; this module only decides which paginator gets the next free
slot. Pages are handed back to the caller's thread in order per paginator, so all database writes
stay on one connection and checkpoints only ever cover pages that were written.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import httpx

from cohort_service.amocrm.pagination import Page, Paginator

T = TypeVar("T")

Get = Callable[[str], httpx.Response]
OnPage = Callable[[Paginator[T], Page[T]], None]
OnDone = Callable[[Paginator[T]], None]
Pending = dict["cf.Future[Page[T]]", Paginator[T]]


@dataclass
class FetchStats:
    pages: int = 0
    wasted: int = 0


def run_paged(
    paginators: Sequence[Paginator[T]],
    get: Get,
    *,
    max_in_flight: int,
    on_page: OnPage[T],
    on_done: OnDone[T] | None = None,
    max_speculative: int | None = None,
) -> FetchStats:
    """Read every page of every paginator with up to ``max_in_flight`` requests at once.

    ``get`` turns a URL from a paginator into a response (the client's, or a test's hand-built
    answers). ``on_page`` and ``on_done`` run in the calling thread, in page order within a
    paginator. Paginators are started in the order given, so earlier ones (older windows) finish
    and checkpoint first. ``max_speculative`` caps guessed pages per paginator (0: never guess). On
    an error the requests already running are awaited and the error is raised; nothing after the
    failed page is delivered.
    """
    stats = FetchStats()
    spec_cap = max_in_flight if max_speculative is None else max_speculative
    pending: Pending[T] = {}

    def read(paginator: Paginator[T], number: int, url: str) -> Page[T]:
        return paginator.parse(number, get(url))

    with cf.ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="amo-fetch") as pool:

        def submit(paginator: Paginator[T], number: int, url: str) -> cf.Future[Page[T]]:
            return pool.submit(read, paginator, number, url)

        def dispatch() -> None:
            _dispatch(paginators, pending, submit, max_in_flight, spec_cap)

        try:
            while True:
                dispatch()
                if not pending:
                    break
                finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
                arrived: list[Paginator[T]] = []
                for future in finished:
                    paginator = pending.pop(future)
                    stats.pages += 1
                    if not paginator.accept(future.result()):
                        stats.wasted += 1
                    elif paginator not in arrived:
                        arrived.append(paginator)
                # Refill the freed slots first: the writes below take time, the requests in flight don't wait.
                dispatch()
                for paginator in arrived:
                    for page in paginator.take():
                        on_page(paginator, page)
                    if paginator.finish() and on_done is not None:
                        on_done(paginator)
        except BaseException:
            for future in pending:
                future.cancel()
            cf.wait(list(pending))
            raise
    return stats


def _dispatch(
    paginators: Sequence[Paginator[T]],
    pending: Pending[T],
    submit: Callable[[Paginator[T], int, str], cf.Future[Page[T]]],
    max_in_flight: int,
    spec_cap: int,
) -> None:
    for speculative in (False, True):
        progressed = True
        while progressed and len(pending) < max_in_flight:
            progressed = False
            for paginator in paginators:
                if len(pending) >= max_in_flight:
                    return
                if not paginator.can_request(speculative=speculative):
                    continue
                if speculative and (spec_cap <= 0 or paginator.ahead >= spec_cap):
                    continue
                number, url = paginator.claim()
                pending[submit(paginator, number, url)] = paginator
                progressed = True
                if not speculative:
                    break  # earlier paginators first: restart the scan from the top
