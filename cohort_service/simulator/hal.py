"""The HAL envelope amoCRM wraps lists in, and the request context every endpoint receives.

Paging rules the client must cope with: a page is served with a ``next`` link whenever it is full
(even when nothing follows, so the next page answers 204), ``first``/``prev`` appear from page 2,
and an empty page is 204 with no body.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import numpy as np

from cohort_service.simulator.model import I64, SimAccount, User
from cohort_service.simulator.problems import dumps
from cohort_service.simulator.query import Page, Params

HAL = "application/hal+json"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None


NO_CONTENT = Reply(204)


def json_reply(obj: Any, content_type: str = HAL) -> Reply:
    return Reply(200, dumps(obj), content_type)


class QueryCache:
    """Recent list selections (index arrays) keyed by query and data version, so paging is cheap."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], I64] = OrderedDict()

    def get(self, key: tuple[Any, ...], build: Callable[[], I64]) -> I64:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = build()
        self._items[key] = value
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return value


@dataclass
class Ctx:
    """One request as the endpoints see it."""

    account: SimAccount
    base: str
    path: str
    params: Params
    user: User
    cache: QueryCache
    events_order: str = "desc"
    events_max_limit: int = 100
    item_query: str | None = None

    def href(self, path: str, params: Params | None = None) -> str:
        query = urlencode(params, safe="[],") if params else ""
        return f"{self.base}{path}" + (f"?{query}" if query else "")

    def page_params(self, number: int, limit: int) -> Params:
        """The request's own parameters with page and limit set, as amoCRM echoes them."""
        kept = [(k, v) for k, v in self.params if k not in ("page", "limit")]
        return [*kept, ("page", str(number)), ("limit", str(limit))]

    def echo(self) -> str:
        """The query string amoCRM appends to item links: the list's own (page and limit included)."""
        return self.item_query if self.item_query is not None else urlencode(self.params, safe="[],")

    def set_page(self, page: Page) -> None:
        self.item_query = urlencode(self.page_params(page.page, page.limit), safe="[],")


def links(ctx: Ctx, page: Page, full: bool, *, last: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"self": {"href": ctx.href(ctx.path, ctx.page_params(page.page, page.limit))}}
    if full:
        out["next"] = {"href": ctx.href(ctx.path, ctx.page_params(page.page + 1, page.limit))}
    if page.page > 1:
        out["first"] = {"href": ctx.href(ctx.path, ctx.page_params(1, page.limit))}
        out["prev"] = {"href": ctx.href(ctx.path, ctx.page_params(page.page - 1, page.limit))}
    if last is not None:
        out["last"] = {"href": ctx.href(ctx.path, ctx.page_params(last, page.limit))}
    return out


def page_slice(selection: I64, page: Page) -> I64:
    return selection[page.offset : page.offset + page.limit]


def paged(
    ctx: Ctx,
    key: str,
    items: list[dict[str, Any]],
    page: Page,
    *,
    total: int | None = None,
) -> Reply:
    """The envelope for one page; 204 when the page is empty."""
    if not items:
        return NO_CONTENT
    page_count = max(1, -(-total // page.limit)) if total is not None else None
    body: dict[str, Any] = {}
    if total is not None:
        body["_total_items"] = total
    body["_page"] = page.page
    if page_count is not None:
        body["_page_count"] = page_count
    body["_links"] = links(ctx, page, len(items) == page.limit, last=page_count)
    body["_embedded"] = {key: items}
    return json_reply(body)


def empty_index() -> I64:
    return np.empty(0, dtype=np.int64)
