"""``GET /api/v4/leads`` and ``/api/v4/leads/{id}``.

Filters are honoured only when the account has the API-filter add-on; without it they are
silently ignored and the client gets the unfiltered list, as integrators report. Ordering works
either way. Deleted leads appear only with ``with=only_deleted``, in the reduced model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cohort_service.simulator import query, render
from cohort_service.simulator.hal import NO_CONTENT, Ctx, Reply, json_reply, page_slice, paged
from cohort_service.simulator.model import I64, SimAccount

ORDER_FIELDS = ("created_at", "updated_at", "id")
MAX_LIMIT = 250


Bounds = tuple[int | None, int | None] | None


@dataclass(frozen=True)
class LeadFilter:
    updated: Bounds
    created: Bounds
    ids: tuple[int, ...]


def _filter(params: query.Params) -> LeadFilter:
    return LeadFilter(
        query.time_range(params, "filter[updated_at]"),
        query.time_range(params, "filter[created_at]"),
        tuple(sorted(query.ints(params, "filter[id]"))),
    )


def _in_range(values: I64, bounds: Bounds) -> npt.NDArray[np.bool_]:
    mask = np.ones(values.size, dtype=np.bool_)
    if bounds is None:
        return mask
    low, high = bounds
    if low is not None:
        mask &= values >= low
    if high is not None:
        mask &= values <= high
    return mask


def select(
    account: SimAccount, *, deleted: bool, filters: LeadFilter | None, order: tuple[str, bool] | None
) -> I64:
    """Indices of the leads a list request returns, in order (default: by id ascending)."""
    leads = account.leads
    mask = leads.is_deleted == deleted
    if filters is not None:
        mask &= _in_range(leads.updated_at, filters.updated)
        mask &= _in_range(leads.created_at, filters.created)
        if filters.ids:
            mask &= np.isin(leads.id, np.array(filters.ids, dtype=np.int64))
    idx = np.flatnonzero(mask)
    if order is None or order[0] == "id":
        return idx[::-1].copy() if order is not None and order[1] else idx
    key = getattr(leads, order[0])[idx]
    ordered = idx[np.lexsort((leads.id[idx], key))]
    return ordered[::-1].copy() if order[1] else ordered


def leads_list(ctx: Ctx) -> Reply:
    page = query.page(ctx.params, default_limit=50, maximum=MAX_LIMIT)
    with_ = query.with_set(ctx.params)
    deleted = "only_deleted" in with_
    filters = _filter(ctx.params) if ctx.account.filters_enabled else None
    order = query.order(ctx.params, ORDER_FIELDS)
    key = ("leads", ctx.account.version, deleted, filters, order)
    selection = ctx.cache.get(key, lambda: select(ctx.account, deleted=deleted, filters=filters, order=order))
    chunk = page_slice(selection, page).tolist()
    ctx.set_page(page)
    if deleted:
        items = [render.deleted_lead(ctx, i) for i in chunk]
    else:
        items = [render.lead(ctx, i, with_) for i in chunk]
    return paged(ctx, "leads", items, page)


def lead_by_id(ctx: Ctx, lead_id: int) -> Reply:
    """One lead; 204 when no lead has that id or it is in the trash."""
    i = ctx.account.lead_index(lead_id)
    if i is None or bool(ctx.account.leads.is_deleted[i]):
        return NO_CONTENT
    return json_reply(render.lead(ctx, i, query.with_set(ctx.params)))
