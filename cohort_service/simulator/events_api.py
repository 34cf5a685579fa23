"""``GET /api/v4/events`` and ``/api/v4/events/{id}``.

The events table is sorted by time, so a ``filter[created_at]`` window is a binary search and the
other filters are masks over that slice. The docs define no order; the simulator serves newest
first by default and can serve oldest first or a stable shuffle, so a client can prove it does not
depend on order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cohort_service.simulator import problems, query, render
from cohort_service.simulator.hal import NO_CONTENT, Ctx, Reply, json_reply, page_slice, paged
from cohort_service.simulator.ids import splitmix64
from cohort_service.simulator.model import EV_CONTACT, EVENT_CODE, EVENT_TYPES, I64, SimAccount

MAX_IDS = 10
LEAD_TYPES = tuple(code for code in range(len(EVENT_TYPES)) if code != EV_CONTACT)


@dataclass(frozen=True)
class EventFilter:
    types: tuple[int, ...] | None
    entity_ids: tuple[int, ...]
    created: tuple[int | None, int | None] | None
    created_by: tuple[int, ...]
    indices: tuple[int, ...] | None


def _entity_types(entities: list[str]) -> set[int]:
    allowed: set[int] = set()
    for entity in entities:
        if entity in ("lead", "leads"):
            allowed.update(LEAD_TYPES)
        elif entity in ("contact", "contacts"):
            allowed.add(EV_CONTACT)
    return allowed


def parse_filter(account: SimAccount, params: query.Params) -> EventFilter:
    """The request's filters; 400 for more than 10 entity ids or ids without exactly one entity."""
    names = query.values(params, "filter[type]")
    types = {EVENT_CODE[n] for n in names if n in EVENT_CODE} if names else None
    entities = query.values(params, "filter[entity]")
    if entities:
        allowed = _entity_types(entities)
        types = allowed if types is None else types & allowed
    entity_ids = query.ints(params, "filter[entity_id]")
    if len(entity_ids) > MAX_IDS:
        raise problems.validation(
            "filter.entity_id", "TooMany", f"This collection should contain {MAX_IDS} elements or less."
        )
    if entity_ids and len(set(entities)) != 1:
        raise problems.validation(
            "filter.entity",
            "Required",
            "filter[entity] must name exactly one entity when filter[entity_id] is used.",
        )
    created_by = query.ints(params, "filter[created_by]")
    if len(created_by) > MAX_IDS:
        raise problems.validation(
            "filter.created_by", "TooMany", f"This collection should contain {MAX_IDS} elements or less."
        )
    ids = query.values(params, "filter[id]")
    indices = tuple(i for i in (account.event_index(e) for e in ids) if i is not None) if ids else None
    return EventFilter(
        types=tuple(sorted(types)) if types is not None else None,
        entity_ids=tuple(sorted(entity_ids)),
        created=query.time_range(params, "filter[created_at]"),
        created_by=tuple(sorted(created_by)),
        indices=indices,
    )


def select(account: SimAccount, f: EventFilter, order: str) -> I64:
    """Indices of matching events in the served order ("desc", "asc" or "shuffled")."""
    ev = account.events
    low, high = f.created if f.created is not None else (None, None)
    lo = int(np.searchsorted(ev.created_at, low, side="left")) if low is not None else 0
    hi = int(np.searchsorted(ev.created_at, high, side="right")) if high is not None else len(ev)
    if hi <= lo:
        return np.empty(0, dtype=np.int64)
    mask = np.ones(hi - lo, dtype=np.bool_)
    if f.types is not None:
        mask &= np.isin(ev.type[lo:hi], np.array(f.types, dtype=np.uint8))
    if f.entity_ids:
        mask &= np.isin(ev.entity_id[lo:hi], np.array(f.entity_ids, dtype=np.int64))
    if f.created_by:
        mask &= np.isin(ev.created_by[lo:hi], np.array(f.created_by, dtype=np.int64))
    if f.indices is not None:
        wanted = np.zeros(hi - lo, dtype=np.bool_)
        inside = np.array([i - lo for i in f.indices if lo <= i < hi], dtype=np.int64)
        wanted[inside] = True
        mask &= wanted
    idx = lo + np.flatnonzero(mask)
    if order == "asc":
        return idx
    if order == "shuffled":
        return idx[np.argsort(splitmix64(idx.astype(np.uint64) ^ np.uint64(account.seed)), kind="stable")]
    return idx[::-1].copy()


def events_list(ctx: Ctx) -> Reply:
    page = query.page(ctx.params, default_limit=50, maximum=ctx.events_max_limit, over_limit="400")
    f = parse_filter(ctx.account, ctx.params)
    key = ("events", ctx.account.version, f, ctx.events_order)
    selection = ctx.cache.get(key, lambda: select(ctx.account, f, ctx.events_order))
    chunk = page_slice(selection, page)
    return paged(ctx, "events", render.events(ctx, chunk, query.with_set(ctx.params)), page)


def event_by_id(ctx: Ctx, event_id: str) -> Reply:
    index = ctx.account.event_index(event_id)
    if index is None:
        return NO_CONTENT
    item = render.events(ctx, np.array([index], dtype=np.int64), query.with_set(ctx.params))[0]
    return json_reply(item)
