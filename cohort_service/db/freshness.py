"""What the database knows of the synced account: when the last sync that completed finished
(About sheet, e-mail, doctor) and the account's own time zone (None before the first sync)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from cohort_service.db.models import account, sync_runs


def last_successful_sync(conn: Connection) -> datetime | None:
    return conn.execute(select(func.max(sync_runs.c.finished_at)).where(sync_runs.c.status == "ok")).scalar()


def account_timezone(conn: Connection) -> str | None:
    zone = conn.execute(select(account.c.timezone).order_by(account.c.id).limit(1)).scalar()
    return str(zone) if zone else None
