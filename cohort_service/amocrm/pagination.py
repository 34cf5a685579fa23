"""Page-by-page reading of amoCRM lists: follow ``_links.next.href``, stop on 204 or no link.

The paginator is a pure state object fed one response at a time, so it can be tested with
hand-built responses. Two traps it guards against: a ``next`` link that leads to an empty page
(HTTP 204, the normal end of a list whose last page was full), and a server that keeps handing
out the same ``next`` link, which would otherwise loop forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from cohort_service.amocrm.fields import shown
from cohort_service.errors import AmoPayloadError

T = TypeVar("T")


class PaginationLoopError(AmoPayloadError):
    """amoCRM handed out the same ``next`` link twice."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list. ``is_empty`` marks a 204 (no items at all, not a parsing gap)."""

    items: list[T]
    page: int
    next_url: str | None
    is_empty: bool = False


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


class LinksNextPaginator:
    """Tracks where the next page is; ``finished`` once a page has no ``next`` or is a 204."""

    def __init__(self, what: str = "page") -> None:
        self.what = what
        self.next_url: str | None = None
        self.finished = False
        self.pages = 0
        self._seen: set[str] = set()

    def advance(self, response: httpx.Response, body: Mapping[str, Any] | None = None) -> None:
        """Take the response just read (``body`` if already parsed); raises on a repeated link."""
        if self.finished:
            raise RuntimeError("the paginator has already finished")
        self.pages += 1
        nxt: str | None = None
        if response.status_code != 204:
            if body is None:
                parsed = response.json()
                if not isinstance(parsed, Mapping):
                    raise AmoPayloadError(f"{self.what}: expected a JSON object, got {shown(parsed)}")
                body = parsed
            nxt = next_href(body, self.what)
        if nxt is not None and nxt in self._seen:
            raise PaginationLoopError(
                f"{self.what}: amoCRM returned the same next link twice ({httpx.URL(nxt).path}, "
                f"page {page_number(nxt)}); stopping instead of looping forever"
            )
        if nxt is not None:
            self._seen.add(nxt)
        self.next_url, self.finished = nxt, nxt is None
