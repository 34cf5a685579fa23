"""Data freshness: when the last sync that completed finished (About sheet, e-mail, doctor)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from cohort_service.db.models import sync_runs


def last_successful_sync(conn: Connection) -> datetime | None:
    return conn.execute(select(func.max(sync_runs.c.finished_at)).where(sync_runs.c.status == "ok")).scalar()
