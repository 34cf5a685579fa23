"""One request budget per amoCRM account across processes and hosts: a row in Postgres.

amoCRM's limit belongs to the account (and the IP), not to our process: ``serve``'s scheduled
sync, a manual ``resync``, ``doctor``, ``auth``, ``send`` and a second host must share it. The
advisory run lock serializes the big jobs only, so every start is reserved in ``request_budget``:
one row per account URL holding the earliest moment the next request may start. One statement
reserves a slot and moves the mark — GCRA on the database's clock, so hosts whose clocks
disagree still space their starts correctly:

    slot    = next_at if now ≤ next_at + slack else now    -- up to slack late keeps the grid
    slot    = max(slot, now + hold)                     -- a 429's Retry-After, for everyone
    next_at = slot + interval
    return slot − now                                   -- the caller sleeps that long (if > 0)

The row lock is held for that one statement only (autocommit), never while anyone sleeps. The
cost per request is one round trip (``bench/budget.py``; figure in docs/metrics.md).

If the database cannot be reached the limiter keeps pacing this process alone for a minute and
says so, then tries again: a sync needs the database anyway, and ``doctor`` must still be able to
report the problem.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from cohort_service.amocrm.ratelimit import account_key

log = logging.getLogger(__name__)

RETRY_AFTER_S = 60.0

_TAKE = text(
    """
    WITH now AS (SELECT statement_timestamp() AS t)
    INSERT INTO request_budget AS b (account_url, next_at)
    SELECT :account, now.t + make_interval(secs => :hold) + make_interval(secs => :interval) FROM now
    ON CONFLICT (account_url) DO UPDATE
       SET next_at = GREATEST(
               CASE WHEN statement_timestamp() - b.next_at > make_interval(secs => :slack)
                    THEN statement_timestamp() ELSE b.next_at END,
               CASE WHEN :hold > 0 THEN statement_timestamp() + make_interval(secs => :hold) END
           ) + make_interval(secs => :interval)
    RETURNING EXTRACT(EPOCH FROM (b.next_at - statement_timestamp()))::float8 - :interval
    """
)


class SharedBudget:
    """Reserves request starts for one account in ``request_budget`` (see the module doc)."""

    def __init__(self, engine: Engine, account_url: str) -> None:
        self.engine = engine
        self.account = account_key(account_url)
        self._lock = threading.Lock()
        self._broken_until = -1.0

    def take(self, interval_s: float, hold_s: float, slack_s: float) -> float:
        """Seconds from now until the reserved start (≤ 0: start now); 0 while the table is out
        of reach (this process then paces alone)."""
        if time.monotonic() < self._broken_until:
            return 0.0
        params = {
            "account": self.account,
            "interval": float(interval_s),
            "hold": float(hold_s),
            "slack": float(slack_s),
        }
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    wait = conn.execute(_TAKE, params).scalar_one()
                    conn.commit()
            except (ProgrammingError, DBAPIError) as exc:
                self._broken_until = time.monotonic() + RETRY_AFTER_S
                log.warning(
                    "the shared request budget is out of reach (%s); pacing this process alone — "
                    "run `cohort-service db upgrade` so parallel runs share the rate limit",
                    type(exc.orig if isinstance(exc, DBAPIError) else exc).__name__,
                )
                return 0.0
        return float(wait)
