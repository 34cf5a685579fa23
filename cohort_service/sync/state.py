"""Bookmarks: one row per stream in ``sync_checkpoints``, written in the caller's transaction.

A checkpoint only ever describes rows already written in the same transaction, so a run killed at
any moment resumes from a state that is true (at-least-once: re-reads are upserts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from cohort_service.db.models import sync_checkpoints


@dataclass
class Checkpoint:
    stream: str
    watermark: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


def load(conn: Connection, stream: str) -> Checkpoint:
    row = conn.execute(
        select(sync_checkpoints.c.watermark, sync_checkpoints.c.state).where(
            sync_checkpoints.c.stream == stream
        )
    ).first()
    if row is None:
        return Checkpoint(stream)
    return Checkpoint(stream, row.watermark, dict(row.state or {}))


def save(conn: Connection, checkpoint: Checkpoint) -> None:
    values = {
        "stream": checkpoint.stream,
        "watermark": checkpoint.watermark,
        "state": checkpoint.state,
        "updated_at": datetime.now(UTC),
    }
    stmt = insert(sync_checkpoints).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["stream"],
        set_={
            "watermark": stmt.excluded.watermark,
            "state": stmt.excluded.state,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    conn.execute(stmt)
