"""One paginator for every amoCRM list: where the pages are, what each answer means, when to stop.

A ``Paginator`` is a pure state object (no I/O, no threads): the prefetcher asks it which page to
request next, hands it each parsed answer and takes the pages back in order. It serves both ways
amoCRM lists page: by number (leads, events: several pages may be in flight, the ``next`` link is
only checked) and by following ``_links.next`` (reference lists: one page after another).

What ends a list: a 204 (the normal end when the last page was full), a page without ``next``, or
the caller's ``stop``. What is refused, naming the endpoint: a ``next`` link that does not lead
forward (the same link twice, or a page number other than the next one: a loop), more items than
the ``limit`` asked for, a body over ``MAX_BODY_BYTES``, more than ``MAX_PAGES`` pages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from cohort_service.amocrm.fields import shown
from cohort_service.amocrm.queries import ListQuery
from cohort_service.errors import AmoPayloadError

T = TypeVar("T")

MAX_PAGES = 100_000  # 25M leads at 250 a page: a runaway list, not a real account
# 250 leads of ~64 KB each; a real page is well under 2 MB. Beyond this it is not a page of a list.
MAX_BODY_BYTES = 16 * 1024 * 1024


class PaginationLoopError(AmoPayloadError):
    """amoCRM's ``next`` link does not lead forward (it would loop forever)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list. ``is_empty`` marks a 204 (no items at all, not a parsing gap)."""

    items: list[T]
    page: int
    next_url: str | None
    is_empty: bool = False
    total_items: int | None = None  # ``_total_items`` where a list says it (leads never do, §2.5)


def next_href(body: Mapping[str, Any], what: str = "page") -> str | None:
    """``_links.next.href`` if present; a link of the wrong shape is an error, not the end."""
    links = body.get("_links")
    if links is None:
        return None
    if not isinstance(links, Mapping):
        raise AmoPayloadError(f"{what}: _links: expected an object, got {shown(links)}")
    nxt = links.get("next")
    if nxt is None:
        return None
    href = nxt.get("href") if isinstance(nxt, Mapping) else None
    if not isinstance(href, str) or not href:
        raise AmoPayloadError(f'{what}: _links.next: expected {{"href": URL}}, got {shown(nxt)}')
    return href


def page_number(url: httpx.URL | str) -> int:
    """The ``page`` query parameter of a list URL (1 when absent)."""
    value = httpx.URL(url).params.get("page", "1")
    try:
        return int(value)
    except ValueError:
        raise AmoPayloadError(f"a list link has a non-numeric page number: {shown(value)}") from None


def where(query: ListQuery[Any], number: int) -> str:
    """``GET /api/v4/leads page 3``: names the call in errors, never its filters."""
    return f"GET {query.path} page {number}"


def parse_page(query: ListQuery[T], number: int, response: httpx.Response) -> Page[T]:
    """What the answer to page ``number`` of ``query`` holds; pure, safe to call from any thread."""
    at = where(query, number)
    if response.status_code == 204:
        return Page([], number, None, is_empty=True)
    size = len(response.content)
    if size > MAX_BODY_BYTES:
        raise AmoPayloadError(f"{at}: a {size}-byte answer is over the {MAX_BODY_BYTES}-byte cap for a page")
    if not response.content.strip():
        return Page([], number, None, is_empty=True)
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AmoPayloadError(f"{at}: the answer is not JSON ({size} bytes)") from None
    if not isinstance(body, Mapping):
        raise AmoPayloadError(f"{at}: expected a JSON object, got {shown(body)}")
    answered = body.get("_page", number)
    if isinstance(answered, bool) or not isinstance(answered, int):
        raise AmoPayloadError(f"{at}: _page: expected an integer, got {shown(answered)}")
    embedded = body.get("_embedded")
    raw = embedded.get(query.embedded) if isinstance(embedded, Mapping) else None
    if not isinstance(raw, list):
        raise AmoPayloadError(f"{at}: _embedded.{query.embedded}: expected a list, got {shown(raw)}")
    if query.limit is not None and len(raw) > query.limit:
        raise AmoPayloadError(f"{at}: {len(raw)} items on one page, but limit={query.limit} was asked for")
    nxt = next_href(body, at)
    if not query.follow_links:
        if answered != number:
            raise PaginationLoopError(f"{at}: amoCRM answered with page {answered}; stopping, not looping")
        if nxt is not None and (page_number(nxt) != number + 1 or httpx.URL(nxt).path != query.path):
            raise PaginationLoopError(
                f"{at}: _links.next leads to {httpx.URL(nxt).path} page {page_number(nxt)}, not to page "
                f"{number + 1}; stopping instead of looping forever"
            )
    items = [query.parse(item, f"{at}, item {i}") for i, item in enumerate(raw)]
    total = body.get("_total_items")
    known = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
    return Page(items, number, nxt, total_items=known)


class Paginator(Generic[T]):
    """One read of one list, from ``first_page`` until its end.

    Pages are numbered from ``first_page`` in the order they are read (for a link-following list
    the number counts links followed). A page is *known* once the one before it came back with a
    ``next`` link; asking for an unknown page is *speculative* (a number-paged list only: it may
    answer 204 past the end, which costs a request but keeps the pipe full).
    """

    def __init__(
        self,
        query: ListQuery[T],
        *,
        first_page: int = 1,
        stop: Callable[[Page[T]], bool] | None = None,
    ) -> None:
        self.query = query
        self.first_page = first_page
        self.stop = stop
        self._next_request = self._next_deliver = self._known_until = first_page
        self._end: int | None = None
        self._buffer: dict[int, Page[T]] = {}
        self._links: dict[int, str] = {first_page: query.url(first_page)}
        self._seen_links: set[str] = set()
        self._reported = False

    # -- what to request ---------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """Every page up to the end has been handed out (``take``)."""
        return self._end is not None and self._next_deliver > self._end

    @property
    def ahead(self) -> int:
        """Pages requested but not yet handed out."""
        return self._next_request - self._next_deliver

    def can_request(self, *, speculative: bool) -> bool:
        if self.done or (self._end is not None and self._next_request > self._end):
            return False
        if self._next_request <= self._known_until:
            return True
        return speculative and not self.query.follow_links

    def claim(self) -> tuple[int, str]:
        """The next page to request: its number and URL (a path, or amoCRM's own ``next`` href)."""
        number = self._next_request
        self._next_request += 1
        url = self._links[number] if self.query.follow_links else self.query.url(number)
        return number, url

    def parse(self, number: int, response: httpx.Response) -> Page[T]:
        return parse_page(self.query, number, response)

    # -- what came back ------------------------------------------------------------------------

    def accept(self, page: Page[T]) -> bool:
        """Learn from a parsed page, in whatever order pages arrive; False if it lies past the end."""
        number = page.page
        if self._end is not None and number > self._end:
            return False
        if not page.items:
            last: int | None = number - 1
        elif page.next_url is None or (self.stop is not None and self.stop(page)):
            last = number
        else:
            last = None
            self._follow(number, page.next_url)
        self._buffer[number] = page
        if last is not None:
            self._end = last if self._end is None else min(self._end, last)
            self._buffer = {n: p for n, p in self._buffer.items() if n <= self._end}
        return True

    def _follow(self, number: int, href: str) -> None:
        if number - self.first_page + 1 >= MAX_PAGES:
            raise PaginationLoopError(
                f"{where(self.query, number)}: more than {MAX_PAGES} pages; stopping instead of looping"
            )
        if self.query.follow_links:
            if href in self._seen_links:
                raise PaginationLoopError(
                    f"{where(self.query, number)}: amoCRM returned the same next link twice "
                    f"({httpx.URL(href).path}, page {page_number(href)}); stopping instead of looping forever"
                )
            self._seen_links.add(href)
            self._links[number + 1] = href
        self._known_until = max(self._known_until, number + 1)

    def take(self) -> list[Page[T]]:
        """The pages that can be handed over now: contiguous, in order, empty ones dropped."""
        ready: list[Page[T]] = []
        while self._next_deliver in self._buffer and not self.done:
            page = self._buffer.pop(self._next_deliver)
            self._next_deliver += 1
            if page.items and (self._end is None or page.page <= self._end):
                ready.append(page)
        return ready

    def finish(self) -> bool:
        """True exactly once: the first time it is asked after the last page was handed out."""
        if self.done and not self._reported:
            self._reported = True
            return True
        return False
