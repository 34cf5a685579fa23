"""Proactive pacing: one request start every ``(1 s + margin) / rate`` seconds, shared per account.

amoCRM counts requests per IP *as they arrive* in a one-second window; a client that exceeds the
limit gets 429s and, if it keeps going, a 403 block of the IP for everything. What we control is
when a request *starts*; the server sees it after a network delay that varies by up to ``J``
(jitter, connection setup, a busy client thread). Two facts decide the pacing:

* **Even spacing (GCRA, burst 1).** Starts at least ``T`` apart. Any N+1 arrivals span N
  intervals between their starts, so they are at least ``N·T − J`` apart at the server, whatever
  order the network delivers them in. A sliding-window log ("N starts per window") instead lets
  N requests leave back to back, and the smallest jitter moves the next window's first one into
  the previous window.
* **The margin.** Starts are scheduled ``T = (1 s + m) / N`` apart. A start may happen up to
  ``s`` (the slack) after its slot without moving the schedule — a thread that woke late because
  of the GIL or a busy machine must not stretch every interval; a later start moves it. So any
  N+1 starts span at least ``N·T − s``, and their arrivals at least ``1 s + m − s − J``: the server
  never sees N+1 arrivals in one second while ``J ≤ m − s``. Defaults ``m = 80 ms``, ``s = 20 ms``
  absorb 60 ms of network jitter at a pace of ``1 / 1.08 = 0.926`` of the limit (≥ 0.9 is the
  target; docs/metrics.md has the derivation).

"Start" is the moment a request's headers actually went out, as the transport reports it (httpx's
``trace`` hook, see ``ThrottledTransport``): a request that waited for a pooled connection or for
the GIL longer than the slack pushes the next one back instead of squeezing it closer.

**Adaptive rate.** A 429 means something else shares the budget (another program on the same IP,
a proxy) or the network is worse than the margin: the process lowers its pace multiplicatively
(× ``DECREASE``) and creeps back up (× ``RECOVER`` per ``QUIET_S`` without a 429) to the
configured rate. 429s within ``COOLDOWN_S`` of a decrease were sent at the old pace and do not
lower it again. The pace in force is ``RateLimiter.rate``; the sync summary reports it.

**Across processes** the limiter takes its slots from a row in Postgres (``budget.SharedBudget``)
when the caller has a database, so ``serve``, a manual ``resync``, ``doctor`` and a second host
share one budget per account.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_MARGIN_S = 0.08
DEFAULT_SLACK_S = 0.02
DECREASE = 0.7
RECOVER = 1.1
QUIET_S = 15.0
COOLDOWN_S = 5.0
FLOOR_RPS = 0.5


class SlotSource(Protocol):
    """Where starts beyond this process are reserved (``budget.SharedBudget``)."""

    def take(self, interval_s: float, hold_s: float, slack_s: float) -> float:
        """Reserve the next start ``interval_s`` after the previous one (a caller up to
        ``slack_s`` late keeps the grid) and not before ``hold_s`` from now; return how many
        seconds from now the reserved start is (≤ 0: go now)."""
        ...


@dataclass
class AdaptiveRate:
    """The pace after 429s: multiplicative decrease, stepwise recovery, never above ``ceiling``.

    A pure function of (``ceiling``, the rate right after the last decrease, its moment), so the
    pace at any moment is reproducible on an injected clock.
    """

    ceiling: float
    decrease: float = DECREASE
    recover: float = RECOVER
    quiet_s: float = QUIET_S
    cooldown_s: float = COOLDOWN_S
    lowered: float | None = None
    since: float = field(default=-math.inf)
    decreases: int = 0

    @property
    def floor(self) -> float:
        return min(self.ceiling, FLOOR_RPS)

    def current(self, now: float) -> float:
        if self.lowered is None:
            return self.ceiling
        steps = min(1000, max(0, math.floor((now - self.since) / self.quiet_s)))
        rate = self.lowered * self.recover**steps
        if rate >= self.ceiling:
            self.lowered = None
            return self.ceiling
        return rate

    def on_429(self, now: float) -> bool:
        """Lower the pace unless a decrease just happened; True when it was lowered."""
        if now - self.since < self.cooldown_s:
            return False
        before = self.current(now)
        self.lowered = max(self.floor, before * self.decrease)
        self.since = now
        if self.lowered >= before:
            return False  # already at the floor
        self.decreases += 1
        return True


class RateLimiter:
    """Thread-safe GCRA pacer; ``acquire()`` blocks until this request may start.

    Waiting happens while holding the lock, so threads start in the order they asked.
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        margin_s: float = DEFAULT_MARGIN_S,
        slack_s: float = DEFAULT_SLACK_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        shared: SlotSource | None = None,
    ) -> None:
        if not 0 <= slack_s <= margin_s:
            raise ValueError("slack_s must be between 0 and margin_s")
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self._clock = clock
        self._sleep = sleep
        self.margin_s = margin_s
        self.slack_s = slack_s
        self.shared = shared
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()  # separate: a 429 or a send must not queue behind a sleeper
        self._adaptive = AdaptiveRate(requests_per_second)
        self._next_free = -math.inf
        self._hold_until = -math.inf
        self.granted = 0

    # -- configuration ----------------------------------------------------------------------
    @property
    def requests_per_second(self) -> float:
        """The configured ceiling."""
        return self._adaptive.ceiling

    @property
    def rate(self) -> float:
        """The pace in force now (requests/s, before the margin), ≤ the configured rate."""
        with self._state_lock:
            return self._adaptive.current(self._clock())

    @property
    def decreases(self) -> int:
        """How many times a 429 lowered the pace in this process."""
        return self._adaptive.decreases

    def interval_s(self, now: float) -> float:
        with self._state_lock:
            return (1.0 + self.margin_s) / self._adaptive.current(now)

    def set_rate(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        with self._state_lock:
            self._adaptive = AdaptiveRate(requests_per_second)

    # -- pacing -----------------------------------------------------------------------------
    def acquire(self) -> float:
        """Block until a request may start; return the (clock) time the start was granted."""
        with self._lock:
            while True:
                now = self._clock()
                with self._state_lock:
                    # up to slack_s late (a thread woke late: the GIL, a busy machine) keeps the
                    # theoretical slot, so lateness is not added to every interval; later is idle
                    slot = max(self._next_free, self._hold_until)
                    if now - slot > self.slack_s:
                        slot = now
                    hold_s = max(0.0, self._hold_until - now)
                if slot > now:
                    self._sleep(slot - now)
                    continue  # a send report or a 429 may have moved the mark while we slept
                if self.shared is not None:
                    wait = self.shared.take(self.interval_s(now), hold_s, self.slack_s)
                    if wait > 0:
                        self._sleep(wait)
                        slot = now = self._clock()
                with self._state_lock:
                    self._next_free = slot + (1.0 + self.margin_s) / self._adaptive.current(now)
                self.granted += 1
                return now

    def sent(self, at: float) -> None:
        """A request went out at ``at`` (its headers were written): the next start is at least one
        interval after ``at − slack_s``, however late the request left after its grant."""
        with self._state_lock:
            step = (1.0 + self.margin_s) / self._adaptive.current(at)
            self._next_free = max(self._next_free, at - self.slack_s + step)

    def hold(self, seconds: float) -> None:
        """No request starts for ``seconds`` (a 429 asked us to back off); shared with other
        processes at the next ``acquire``."""
        until = self._clock() + seconds
        with self._state_lock:
            self._hold_until = max(self._hold_until, until)

    def rate_limited(self) -> None:
        """A 429 arrived: lower the pace for the whole process (once per burst)."""
        now = self._clock()
        with self._state_lock:
            before = self._adaptive.current(now)
            if self._adaptive.on_429(now):
                log.warning(
                    "amoCRM answered 429: pace lowered from %.2f to %.2f requests/s",
                    before,
                    self._adaptive.current(now),
                )


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def account_key(base_url: str) -> str:
    """One budget per account URL, however the URL was spelled."""
    return base_url.rstrip("/").lower()


def limiter_for(
    base_url: str, requests_per_second: float, *, shared: SlotSource | None = None
) -> RateLimiter:
    """The process-wide limiter for one account URL, shared by every client and thread.

    amoCRM's limit is per IP, so two clients for the same account must share one budget. A later
    caller with a different rate re-configures the shared limiter (the latest setting wins); a
    caller with a database attaches the cross-process budget (``shared``).
    """
    key = account_key(base_url)
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = RateLimiter(requests_per_second, shared=shared)
        elif limiter.requests_per_second != requests_per_second:
            log.debug("rate limit for %s changed to %s requests/s", key, requests_per_second)
            limiter.set_rate(requests_per_second)
        if shared is not None:
            limiter.shared = shared
        return limiter
