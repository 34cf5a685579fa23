"""One database-level lock makes sync, resync, report, send and the scheduler mutually safe.

A Postgres advisory lock held on a dedicated connection: it disappears with the connection, so a
run killed with SIGKILL never leaves a stale lock behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
def run_lock(
    engine: Engine,
    purpose: str,
    *,
    wait_s: float = 0.0,
    poll_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    """Hold the run lock for the block; wait up to ``wait_s`` seconds, then raise LockBusyError."""
    conn = engine.connect()
    try:
        conn.execute(text("SELECT set_config('application_name', :n, false)"), {"n": _APP_PREFIX + purpose})
        deadline = clock() + wait_s
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": RUN_LOCK_KEY}).scalar():
            conn.commit()
            if clock() >= deadline:
                who = _holder(conn)
                conn.commit()
                raise LockBusyError(
                    f"{who} holds the database lock; {purpose} did not start. "
                    "Wait for it to finish, or pass --wait SECONDS to queue behind it."
                )
            sleep(poll_s)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK_KEY})
            conn.commit()
    finally:
        conn.close()
