"""Collecting generated events in chunks and merging them into the account's time-ordered table.

The generator emits events step by step for whole groups of leads at once; the buffer keeps those
numpy chunks and sorts them once at the end. Sorting is stable, so events with the same second keep
the order they were emitted in (a lead's own events are emitted in time order).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from cohort_service.simulator.model import EV_CONTACT, I64, Events, Leads

_COLUMNS = ("created_at", "entity_id", "type", "created_by", "before", "after", "a", "b")
_DTYPES = (np.int64, np.int64, np.uint8, np.int64, np.int16, np.int16, np.int32, np.int32)


class EventBuffer:
    """Chunks of events not yet merged. Scalars broadcast to the chunk's length."""

    def __init__(self) -> None:
        self._chunks: list[tuple[npt.NDArray[np.generic], ...]] = []

    def add(
        self,
        created_at: I64,
        entity_id: I64,
        type_code: int,
        created_by: I64 | int,
        *,
        before: npt.ArrayLike = -1,
        after: npt.ArrayLike = -1,
        a: npt.ArrayLike = 0,
        b: npt.ArrayLike = 0,
    ) -> None:
        n = created_at.size
        if n == 0:
            return
        values = (created_at, entity_id, type_code, created_by, before, after, a, b)
        self._chunks.append(
            tuple(np.broadcast_to(np.asarray(v, dtype=d), (n,)) for v, d in zip(values, _DTYPES, strict=True))
        )

    def to_events(self) -> Events:
        """All buffered events as one table, sorted by time (stable)."""
        if not self._chunks:
            cols = [np.empty(0, dtype=d) for d in _DTYPES]
        else:
            cols = [np.concatenate([c[i] for c in self._chunks]) for i in range(len(_COLUMNS))]
        order = np.argsort(cols[0], kind="stable")
        ordered: list[Any] = [col[order] for col in cols]
        return Events(*ordered)


def touch_leads(leads: Leads, events: Events) -> None:
    """Raise each lead's updated_at/updated_by to its latest event (events are time-ordered)."""
    is_lead = events.type != EV_CONTACT
    entity = events.entity_id[is_lead]
    if entity.size == 0:
        return
    lead_idx = np.searchsorted(leads.id, entity)
    rev = lead_idx[::-1]
    uniq, first_in_rev = np.unique(rev, return_index=True)
    last = entity.size - 1 - first_in_rev
    times = events.created_at[is_lead][last]
    later = times >= leads.updated_at[uniq]
    target = uniq[later]
    leads.updated_at[target] = times[later]
    leads.updated_by[target] = events.created_by[is_lead][last][later]
