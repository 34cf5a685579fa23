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
_DTYPES = (np.int64, np.int64, np.uint8, np.int32, np.int16, np.int16, np.int32, np.int32)


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
        """All buffered events as one table, sorted by time (stable); empties the buffer.

        Column by column, releasing each column's chunks once merged, so a million leads' events
        never exist in three copies at once.
        """
        chunks: list[list[Any]] = [list(c) for c in self._chunks]
        self._chunks = []
        if not chunks:
            empty: list[Any] = [np.empty(0, dtype=d) for d in _DTYPES]
            return Events(*empty)
        order = np.argsort(np.concatenate([c[0] for c in chunks]), kind="stable")
        columns: list[Any] = []
        for i in range(len(_COLUMNS)):
            columns.append(np.concatenate([c[i] for c in chunks])[order])
            for c in chunks:
                c[i] = None
        return Events(*columns)


def touch_leads(leads: Leads, events: Events, chunk: int = 1_000_000) -> None:
    """Raise each lead's updated_at/updated_by to its latest event (events are time-ordered).

    Chunks are visited in time order, so a later chunk's value overwrites an earlier one; within a
    chunk, the last occurrence per lead wins. Chunking keeps the temporaries small at 1M leads.
    """
    for start in range(0, len(events), chunk):
        stop = min(start + chunk, len(events))
        is_lead = events.type[start:stop] != EV_CONTACT
        entity = events.entity_id[start:stop][is_lead]
        if entity.size == 0:
            continue
        lead_idx = np.searchsorted(leads.id, entity)
        uniq, first_in_rev = np.unique(lead_idx[::-1], return_index=True)
        last = entity.size - 1 - first_in_rev
        times = events.created_at[start:stop][is_lead][last]
        later = times >= leads.updated_at[uniq]
        target = uniq[later]
        leads.updated_at[target] = times[later]
        leads.updated_by[target] = events.created_by[start:stop][is_lead][last][later]
