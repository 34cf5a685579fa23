"""Proactive throttling: at most N request *starts* in any sliding window, shared per process.

amoCRM counts requests per IP per second; a client that keeps exceeding the limit gets 429s and
then a 403 IP block for everything. A token bucket would allow 2N starts across a window
boundary, so this keeps a log of the last N start times instead. The window is one second plus a
small safety margin, so jitter between our start and the server's arrival cannot squeeze N+1
requests into one of the server's seconds.

Waiting happens while holding the lock: the thread that holds it is simply the next to go, and
the others queue behind it in order.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_MARGIN_S = 0.03


class RateLimiter:
    """Thread-safe sliding-window limiter; ``acquire()`` blocks until a start is allowed."""

    def __init__(
        self,
        requests_per_second: float,
        *,
        margin_s: float = DEFAULT_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if margin_s < 0:
            raise ValueError("margin_s must not be negative")
        self._clock = clock
        self._sleep = sleep
        self._margin_s = margin_s
        self._lock = threading.Lock()
        self._hold_lock = threading.Lock()  # separate: a 429 must not queue behind a sleeper
        self._starts: deque[float] = deque()
        self._hold_until = -math.inf
        self._configure(requests_per_second)

    def _configure(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.requests_per_second = requests_per_second
        # 7 rps → 7 starts per 1 s; 0.5 rps → 1 start per 2 s; 7.5 rps → 7 per 1 s (never above).
        self.capacity = max(1, math.floor(requests_per_second))
        self.window_s = max(1.0, self.capacity / requests_per_second) + self._margin_s

    def set_rate(self, requests_per_second: float) -> None:
        with self._lock:
            self._configure(requests_per_second)
            while len(self._starts) > self.capacity:
                self._starts.popleft()

    def acquire(self) -> float:
        """Block until a request may start; return the (clock) time the start was granted."""
        with self._lock:
            while True:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.window_s:
                    self._starts.popleft()
                ready_at = self._hold_until
                if len(self._starts) >= self.capacity:
                    ready_at = max(ready_at, self._starts[0] + self.window_s)
                if ready_at <= now:
                    self._starts.append(now)
                    return now
                self._sleep(ready_at - now)

    def hold(self, seconds: float) -> None:
        """No request starts for ``seconds`` (a 429 asked the whole process to back off)."""
        until = self._clock() + seconds
        with self._hold_lock:
            self._hold_until = max(self._hold_until, until)


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(base_url: str, requests_per_second: float) -> RateLimiter:
    """The process-wide limiter for one account URL, shared by every client and thread.

    amoCRM's limit is per IP, so two clients for the same account must share one budget. A later
    caller with a different rate re-configures the shared limiter (the latest setting wins).
    """
    key = base_url.rstrip("/").lower()
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = RateLimiter(requests_per_second)
        elif limiter.requests_per_second != requests_per_second:
            log.debug("rate limit for %s changed to %s requests/s", key, requests_per_second)
            limiter.set_rate(requests_per_second)
        return limiter
