"""Ground truth: what the simulator knows, shaped like our tables, for row-by-row comparison.

Frames use the column names of ``cohort_service/db/models.py`` where they overlap, times are
tz-aware UTC. The ``*_rows`` generators are the fast path for benchmarks: tuples in table column
order, produced batch by batch from the numpy columns (no million-element dict lists), ready for
``COPY``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cohort_service.db import columns
from cohort_service.simulator import render
from cohort_service.simulator.model import EV_ADDED, EV_DELETED, EV_RESTORED, EV_STATUS, I64, SimAccount

LEAD_COLUMNS = columns.LEAD
STATUS_CHANGE_COLUMNS = columns.STATUS_CHANGE
LEAD_EVENT_COLUMNS = columns.LEAD_EVENT
LEAD_EVENT_TYPES = {EV_ADDED: "lead_added", EV_DELETED: "lead_deleted", EV_RESTORED: "lead_restored"}


def _times(values: I64, *, nullable: bool = False) -> pd.Series:
    series = pd.Series(pd.to_datetime(values, unit="s", utc=True))
    return series.where(values > 0) if nullable else series


def _ids(values: npt.NDArray[np.integer[Any]], lookup: np.ndarray) -> pd.Series:
    """Index → id with -1 as a missing value (nullable Int64)."""
    out = pd.Series(np.where(values >= 0, lookup[np.maximum(values, 0)], 0), dtype="Int64")
    return out.where(values >= 0)


def leads_frame(account: SimAccount, *, custom_fields: bool = True) -> pd.DataFrame:
    """Every lead, deleted ones included, as the API would describe it now."""
    a, leads, st = account, account.leads, account.statuses
    reasons = np.array([r.id for r in a.loss_reasons] or [0], dtype=np.int64)
    groups = np.array([u.group_id or 0 for u in a.users], dtype=np.int64)
    frame = pd.DataFrame(
        {
            "id": leads.id,
            "name": [
                render.lead_name(i, p) for i, p in zip(leads.id.tolist(), leads.product.tolist(), strict=True)
            ],
            "pipeline_id": st.pipeline_id[leads.code],
            "status_id": st.status_id[leads.code],
            "responsible_user_id": a.user_ids[leads.responsible],
            "group_id": groups[leads.responsible],
            "price": leads.price,
            "created_by": leads.created_by,
            "updated_by": leads.updated_by,
            "created_at": _times(leads.created_at),
            "updated_at": _times(leads.updated_at),
            "closed_at": _times(leads.closed_at, nullable=True),
            "loss_reason_id": _ids(leads.loss_reason, reasons),
            "is_deleted": leads.is_deleted,
            "deleted_at": _times(leads.deleted_at, nullable=True),
            "tags": [_tag_names(a, int(bits)) for bits in leads.tags.tolist()],
        }
    )
    frame["utm_source"] = [a.channels[c].source for c in leads.channel.tolist()]
    frame["utm_medium"] = [a.channels[c].medium for c in leads.channel.tolist()]
    frame["utm_campaign"] = [
        a.channels[c].campaigns[k] if k >= 0 else None
        for c, k in zip(leads.channel.tolist(), leads.campaign.tolist(), strict=True)
    ]
    product = a.field_by_key("product").enums or ()
    frame["product"] = [product[p].value if p >= 0 else None for p in leads.product.tolist()]
    if custom_fields:
        values = [render.custom_fields_values(a, i) or [] for i in range(len(leads))]
        frame["custom_fields"] = pd.Series(values, dtype=object)
    return frame


def _tag_names(account: SimAccount, bits: int) -> list[str]:
    return [t.name for k, t in enumerate(account.tags) if bits >> k & 1]


def _event_frame(account: SimAccount, index: I64) -> pd.DataFrame:
    ev = account.events
    return pd.DataFrame(
        {
            "event_id": account.event_ids(index),
            "lead_id": ev.entity_id[index],
            "created_at": _times(ev.created_at[index]),
            "created_by": ev.created_by[index],
        }
    )


def status_changes_frame(account: SimAccount) -> pd.DataFrame:
    """Every ``lead_status_changed`` event, oldest first, as ``lead_status_changes`` rows."""
    ev, st = account.events, account.statuses
    index = np.flatnonzero(ev.type == EV_STATUS)
    frame = _event_frame(account, index)
    before, after = ev.before[index], ev.after[index]
    frame["before_pipeline_id"] = st.pipeline_id[before]
    frame["before_status_id"] = st.status_id[before]
    frame["after_pipeline_id"] = st.pipeline_id[after]
    frame["after_status_id"] = st.status_id[after]
    return frame[list(STATUS_CHANGE_COLUMNS)]


def lead_events_frame(account: SimAccount) -> pd.DataFrame:
    """``lead_added``/``lead_deleted``/``lead_restored`` events as ``lead_events`` rows."""
    ev = account.events
    index = np.flatnonzero(np.isin(ev.type, list(LEAD_EVENT_TYPES)))
    frame = _event_frame(account, index)
    frame["type"] = [LEAD_EVENT_TYPES[t] for t in ev.type[index].tolist()]
    return frame[list(LEAD_EVENT_COLUMNS)]


def status_path(account: SimAccount, lead_id: int) -> list[tuple[int, int, int]]:
    """(time, pipeline_id, status_id): the creation status, then every change (DESIGN §5)."""
    i = account.lead_index(lead_id)
    if i is None:
        raise KeyError(lead_id)
    ev, st, leads = account.events, account.statuses, account.leads
    init = int(leads.init_code[i])
    path = [(int(leads.created_at[i]), int(st.pipeline_id[init]), int(st.status_id[init]))]
    index = np.flatnonzero((ev.entity_id == lead_id) & (ev.type == EV_STATUS))
    path += [
        (int(ev.created_at[k]), int(st.pipeline_id[ev.after[k]]), int(st.status_id[ev.after[k]]))
        for k in index
    ]
    return path


def account_row(account: SimAccount) -> dict[str, Any]:
    return columns.row_of(
        account,
        columns.ACCOUNT,
        currency="RUB",
        is_api_filter_enabled=account.filters_enabled,
        is_loss_reason_enabled=account.loss_reasons_enabled,
        is_unsorted_on=account.unsorted_on,
    )


def pipelines_frame(account: SimAccount) -> pd.DataFrame:
    return pd.DataFrame(
        [columns.row_of(p, columns.PIPELINE, is_unsorted_on=account.unsorted_on) for p in account.pipelines]
    )


def statuses_frame(account: SimAccount) -> pd.DataFrame:
    return pd.DataFrame(
        [
            columns.row_of(s, columns.STATUS, pipeline_id=p.id, status_id=s.id)
            for p in account.pipelines
            for s in p.statuses
        ]
    )


def users_frame(account: SimAccount) -> pd.DataFrame:
    return pd.DataFrame([columns.row_of(u, columns.USER) for u in account.users])


def custom_fields_frame(account: SimAccount) -> pd.DataFrame:
    return pd.DataFrame([columns.row_of(f, columns.CUSTOM_FIELD) for f in account.custom_fields])


def custom_field_enums_frame(account: SimAccount) -> pd.DataFrame:
    return pd.DataFrame(
        [
            columns.row_of(e, columns.ENUM, field_id=f.id, enum_id=e.id, code=None)
            for f in account.custom_fields
            for e in f.enums or ()
        ]
    )


def loss_reasons_frame(account: SimAccount) -> pd.DataFrame:
    return pd.DataFrame([columns.row_of(r, columns.LOSS_REASON) for r in account.loss_reasons])


def _utc(values: I64) -> list[datetime | None]:
    return [datetime.fromtimestamp(v, UTC) if v > 0 else None for v in values.tolist()]


def status_change_rows(account: SimAccount, batch: int = 100_000) -> Iterator[tuple[Any, ...]]:
    """``lead_status_changes`` rows in ``STATUS_CHANGE_COLUMNS`` order, streamed."""
    ev, st = account.events, account.statuses
    index = np.flatnonzero(ev.type == EV_STATUS)
    for start in range(0, index.size, batch):
        part = index[start : start + batch]
        before, after = ev.before[part], ev.after[part]
        yield from zip(
            account.event_ids(part).tolist(),
            ev.entity_id[part].tolist(),
            _utc(ev.created_at[part]),
            st.pipeline_id[before].tolist(),
            st.status_id[before].tolist(),
            st.pipeline_id[after].tolist(),
            st.status_id[after].tolist(),
            ev.created_by[part].tolist(),
            strict=True,
        )


def lead_event_rows(account: SimAccount, batch: int = 100_000) -> Iterator[tuple[Any, ...]]:
    """``lead_events`` rows in ``LEAD_EVENT_COLUMNS`` order, streamed."""
    ev = account.events
    index = np.flatnonzero(np.isin(ev.type, list(LEAD_EVENT_TYPES)))
    for start in range(0, index.size, batch):
        part = index[start : start + batch]
        types = [LEAD_EVENT_TYPES[t] for t in ev.type[part].tolist()]
        yield from zip(
            account.event_ids(part).tolist(),
            ev.entity_id[part].tolist(),
            types,
            _utc(ev.created_at[part]),
            ev.created_by[part].tolist(),
            strict=True,
        )


def lead_rows(
    account: SimAccount, *, batch: int = 100_000, custom_fields: bool = True
) -> Iterator[tuple[Any, ...]]:
    """``leads`` rows in ``LEAD_COLUMNS`` order (JSONB columns as JSON text, None for NULL), streamed."""
    n = len(account.leads)
    for start in range(0, n, batch):
        yield from zip(
            *_lead_columns(account, np.arange(start, min(start + batch, n)), custom_fields), strict=True
        )


def _lead_columns(account: SimAccount, part: I64, custom_fields: bool) -> list[list[Any]]:
    a, leads, st = account, account.leads, account.statuses
    code = leads.code[part]
    reasons = [r.id for r in a.loss_reasons]
    tags = [
        json.dumps(
            [{"id": t.id, "name": t.name, "color": t.color} for k, t in enumerate(a.tags) if b >> k & 1],
            ensure_ascii=False,
        )
        for b in leads.tags[part].tolist()
    ]
    cfs = [
        json.dumps(render.custom_fields_values(a, i) or [], ensure_ascii=False) if custom_fields else "[]"
        for i in part.tolist()
    ]
    ids, products = leads.id[part].tolist(), leads.product[part].tolist()
    return [
        ids,
        [render.lead_name(i, p) for i, p in zip(ids, products, strict=True)],
        st.pipeline_id[code].tolist(),
        st.status_id[code].tolist(),
        a.user_ids[leads.responsible[part]].tolist(),
        [a.users[r].group_id or 0 for r in leads.responsible[part].tolist()],
        leads.price[part].tolist(),
        leads.created_by[part].tolist(),
        leads.updated_by[part].tolist(),
        _utc(leads.created_at[part]),
        _utc(leads.updated_at[part]),
        _utc(leads.closed_at[part]),
        [reasons[r] if r >= 0 else None for r in leads.loss_reason[part].tolist()],
        leads.is_deleted[part].tolist(),
        _utc(leads.deleted_at[part]),
        cfs,
        tags,
    ]
