"""One database-level lock makes sync, resync, report, send and the scheduler mutually safe.

A Postgres advisory lock held on a dedicated connection: it disappears with the connection, so a
run killed with SIGKILL never leaves a stale lock behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Connection, Engine, text

from cohort_service.errors import LockBusyError

RUN_LOCK_KEY = 0x636F686F7274_02
_APP_PREFIX = "cohort-service:"


def _holder(conn: Connection) -> str:
    row = conn.execute(
        text(
            "SELECT a.pid, a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = :k LIMIT 1"
        ),
        {"k": RUN_LOCK_KEY},
    ).first()
    if row is None:
        return "another cohort-service run"
    purpose = str(row.application_name).removeprefix(_APP_PREFIX) or "a run"
    return f"another cohort-service run ({purpose}, started {row.backend_start:%Y-%m-%d %H:%M:%S %Z})"


@contextmanager
def advisory_lock(
    engine: Engine,
    key: int,
    purpose: str,
    *,
    busy: Callable[[Connection], str],
    wait_s: float = 0.0,
    poll_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold advisory lock ``key`` for the block; after ``wait_s`` seconds raise ``LockBusyError``.

    ``busy`` words the refusal (it may look up who holds the lock on the given connection).
    """
    conn = engine.connect()
    try:
        conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": _APP_PREFIX + purpose})
        deadline = clock() + wait_s
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.commit()
            if clock() >= deadline:
                message = busy(conn)
                conn.commit()
                raise LockBusyError(message)
            sleep(poll_s)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
    finally:
        conn.close()


def run_lock(
    engine: Engine,
    purpose: str,
    *,
    wait_s: float = 0.0,
    poll_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AbstractContextManager[None]:
    """The run lock shared by sync, resync, report and the scheduler's jobs."""

    def busy(conn: Connection) -> str:
        return (
            f"{_holder(conn)} holds the database lock; {purpose} did not start. "
            "Wait for it to finish, or pass --wait SECONDS to queue behind it."
        )

    return advisory_lock(
        engine, RUN_LOCK_KEY, purpose, busy=busy, wait_s=wait_s, poll_s=poll_s, sleep=sleep, clock=clock
    )
