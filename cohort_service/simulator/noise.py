"""Events around a lead's creation that are not status changes.

A real account's event feed is mostly *other* things: the ``lead_added`` note, contacts being
added, responsible changes, field edits, tags, budget edits. A client that forgets to filter by
type must get this junk, so the simulator produces it. Values agree with the lead where a reader
could check them (the last responsible change ends at the current responsible user).
"""

from __future__ import annotations

import numpy as np

from cohort_service.simulator.events import EventBuffer
from cohort_service.simulator.model import (
    EV_ADDED,
    EV_CONTACT,
    EV_FIELD,
    EV_RESPONSIBLE,
    EV_SALE,
    EV_TAG,
    I64,
    SimAccount,
)

MINUTE, DAY = 60, 86400


def creation_events(
    account: SimAccount, rng: np.random.Generator, idx: I64, out: EventBuffer, horizon: int
) -> None:
    """``lead_added`` for every new lead, ``contact_added`` for its contact, and some edits."""
    leads = account.leads
    created = leads.created_at[idx]
    out.add(created, leads.id[idx], EV_ADDED, leads.created_by[idx])
    with_contact = idx[leads.contact_id[idx] > 0]
    out.add(
        leads.created_at[with_contact],
        leads.contact_id[with_contact],
        EV_CONTACT,
        leads.created_by[with_contact],
    )
    _responsible_changes(account, rng, idx, out, horizon)
    _field_edits(account, rng, idx, out, horizon)
    _tags_and_budget(account, rng, idx, out, horizon)


def _later(rng: np.random.Generator, created: I64, low: int, high: int) -> I64:
    return created + rng.integers(low, high, created.size)


def _emit(
    out: EventBuffer, t: I64, ok: np.ndarray, entity: I64, type_code: int, *, by: I64, **payload: np.ndarray
) -> None:
    out.add(t[ok], entity[ok], type_code, by[ok], **{k: v[ok] for k, v in payload.items()})


def _responsible_changes(
    account: SimAccount, rng: np.random.Generator, idx: I64, out: EventBuffer, horizon: int
) -> None:
    leads = account.leads
    pick = idx[rng.random(idx.size) < 0.12]
    t = _later(rng, leads.created_at[pick], 10 * MINUTE, 3 * DAY)
    after = leads.responsible[pick].astype(np.int32)
    before = ((after + rng.integers(1, len(account.users), pick.size)) % len(account.users)).astype(np.int32)
    by = np.full(pick.size, account.admin.id, dtype=np.int64)
    _emit(out, t, t <= horizon, leads.id[pick], EV_RESPONSIBLE, by=by, a=before, b=after)


def _field_edits(
    account: SimAccount, rng: np.random.Generator, idx: I64, out: EventBuffer, horizon: int
) -> None:
    """UTM_SOURCE written by a form right after creation; the product chosen later by a manager."""
    leads = account.leads
    source_field = next(i for i, f in enumerate(account.custom_fields) if f.key == "utm_source")
    product_field = next(i for i, f in enumerate(account.custom_fields) if f.key == "product")
    has_utm = np.array([c.source is not None for c in account.channels])[leads.channel[idx]]
    utm = idx[has_utm & (rng.random(idx.size) < 0.4)]
    t = _later(rng, leads.created_at[utm], 1, 6)
    field = np.full(utm.size, source_field, dtype=np.int32)
    _emit(
        out,
        t,
        t <= horizon,
        leads.id[utm],
        EV_FIELD,
        by=np.zeros(utm.size, np.int64),
        a=field,
        b=leads.channel[utm].astype(np.int32),
    )
    prod = idx[(leads.product[idx] >= 0) & (rng.random(idx.size) < 0.3)]
    t = _later(rng, leads.created_at[prod], MINUTE, 2 * DAY)
    field = np.full(prod.size, product_field, dtype=np.int32)
    by = account.user_ids[leads.responsible[prod]]
    _emit(
        out, t, t <= horizon, leads.id[prod], EV_FIELD, by=by, a=field, b=leads.product[prod].astype(np.int32)
    )


def _tags_and_budget(
    account: SimAccount, rng: np.random.Generator, idx: I64, out: EventBuffer, horizon: int
) -> None:
    leads = account.leads
    tagged = idx[(leads.tags[idx] > 0) & (rng.random(idx.size) < 0.5)]
    lowest_bit = (leads.tags[tagged] & (~leads.tags[tagged] + 1)).astype(np.int64)
    tag_index = np.log2(np.maximum(lowest_bit, 1)).astype(np.int32)
    t = _later(rng, leads.created_at[tagged], MINUTE, DAY)
    by = account.user_ids[leads.responsible[tagged]]
    _emit(out, t, t <= horizon, leads.id[tagged], EV_TAG, by=by, a=tag_index)
    priced = idx[(leads.price[idx] > 0) & (rng.random(idx.size) < 0.2)]
    t = _later(rng, leads.created_at[priced], 30 * MINUTE, 5 * DAY)
    after = leads.price[priced].astype(np.int32)
    before = np.where(rng.random(priced.size) < 0.5, 0, (after * 0.8).astype(np.int32)).astype(np.int32)
    by = account.user_ids[leads.responsible[priced]]
    _emit(out, t, t <= horizon, leads.id[priced], EV_SALE, by=by, a=before, b=after)
