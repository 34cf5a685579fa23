"""``report_runs``: one row per send attempt, so a week is e-mailed once and failures stay on record.

A week counts as delivered *to an address* when a ``sent`` row of that week lists it; a run that
died half-way stays ``running`` and counts for nothing, so the next ``send`` simply tries again.
Idempotency is per recipient: ``send --to me@example.com`` on Sunday evening does not stop Monday's
message to the configured list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from cohort_service.db.lock import advisory_lock
from cohort_service.db.models import report_runs
from cohort_service.delivery.attachment import Attachment

KIND = "send"
# Its own advisory lock, beside the run lock: a send holds it from the "already sent?" check to
# the final row, while the report inside takes (and soon releases) the run lock like any reader.
SEND_LOCK_KEY = 0x636F686F7274_03


def send_lock(
    engine: Engine,
    *,
    wait_s: float = 0.0,
    poll_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AbstractContextManager[None]:
    """One send at a time per database; the lock dies with its connection (no stale locks)."""
    return advisory_lock(
        engine,
        SEND_LOCK_KEY,
        "send",
        busy=lambda _conn: "another send is running (it holds the send lock); this one did not start",
        wait_s=wait_s,
        poll_s=poll_s,
        sleep=sleep,
        clock=clock,
    )


@dataclass(frozen=True)
class SentRecord:
    """What was already delivered for one week."""

    recipients: frozenset[str]
    first_sent_at: datetime
    last_sent_at: datetime
    message_ids: tuple[str, ...]


def normalise(addresses: Iterable[str]) -> list[str]:
    """Addresses compared case-insensitively, first spelling kept, duplicates dropped."""
    seen: dict[str, str] = {}
    for address in addresses:
        seen.setdefault(address.strip().lower(), address.strip())
    return list(seen.values())


def sent_record(conn: Connection, week_start: date) -> SentRecord | None:
    rows = conn.execute(
        select(report_runs.c.recipients, report_runs.c.finished_at, report_runs.c.message_id)
        .where(report_runs.c.kind == KIND, report_runs.c.week_start == week_start)
        .where(report_runs.c.status == "sent")
        .order_by(report_runs.c.finished_at)
    ).all()
    if not rows:
        return None
    recipients = frozenset(addr.lower() for row in rows for addr in row.recipients)
    ids = tuple(row.message_id for row in rows if row.message_id)
    return SentRecord(recipients, rows[0].finished_at, rows[-1].finished_at, ids)


def missing_recipients(conn: Connection, week_start: date, wanted: Sequence[str]) -> list[str]:
    """The addresses in ``wanted`` that have not received that week's report yet."""
    record = sent_record(conn, week_start)
    done = record.recipients if record else frozenset()
    return [addr for addr in normalise(wanted) if addr.lower() not in done]


def last_sent_week(conn: Connection) -> date | None:
    """The most recent week with a successful send (for the scheduler's catch-up)."""
    value = conn.execute(
        select(func.max(report_runs.c.week_start)).where(
            report_runs.c.kind == KIND, report_runs.c.status == "sent"
        )
    ).scalar()
    return value if isinstance(value, date) else None


def start_run(engine: Engine, *, week_start: date, as_of: datetime, recipients: Sequence[str]) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(report_runs)
                .values(
                    kind=KIND,
                    week_start=week_start,
                    as_of=as_of,
                    recipients=list(recipients),
                    status="running",
                    attempts=0,
                    started_at=func.now(),
                )
                .returning(report_runs.c.id)
            ).scalar_one()
        )


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    status: str,
    attempts: int,
    message_id: str | None = None,
    file_path: str | None = None,
    error: str | None = None,
    attachment: Attachment | None = None,
) -> None:
    """``attachment``: what the message carried and why not the full workbook, kept even when the
    delivery failed (a server refusing a message for its size is recorded with its reply)."""
    with engine.begin() as conn:
        conn.execute(
            update(report_runs)
            .where(report_runs.c.id == run_id)
            .values(
                status=status,
                attempts=attempts,
                message_id=message_id,
                file_path=file_path,
                error=error[:1000] if error else None,
                attachment=attachment.kind if attachment else None,
                message_bytes=attachment.size if attachment else None,
                detail=attachment.detail[:1000] if attachment and attachment.detail else None,
                finished_at=func.now(),
            )
        )
