"""The one order of amoCRM events that happened in the same second.

amoCRM stamps events to the second, so a lead deleted and restored (or moved twice) within one
second has equal ``created_at``s. Its event ids sort in time order (ULID-like), so ties go by id,
compared byte-wise (``COLLATE "C"``) so the database's collation cannot change the answer. The sync
(which delete/restore event is the last, in :mod:`cohort_service.db.upserts`), the facts SQL (the
path of stage changes, deleted as of A) and the Transitions table all order events this way.
"""

from __future__ import annotations


def event_order(alias: str = "", *, descending: bool = False) -> str:
    """``created_at, event_id`` for an ORDER BY (``alias``: a table alias; ``descending``: newest first)."""
    prefix = f"{alias}." if alias else ""
    way = " DESC" if descending else ""
    return f'{prefix}created_at{way}, {prefix}event_id COLLATE "C"{way}'
