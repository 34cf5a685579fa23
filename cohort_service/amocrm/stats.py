"""Request counters for the sync summary and the benchmarks, safe to update from many threads."""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatsSnapshot:
    """Counters at one moment; subtract two snapshots to get the figures of one stage."""

    requests: int = 0  # attempts sent (retries and token refreshes included)
    responses: dict[int, int] = field(default_factory=dict)  # HTTP status → count
    rate_limited: int = 0  # 429 answers
    retries: int = 0
    network_errors: int = 0  # timeouts and dropped/refused connections
    bytes_received: int = 0
    throttle_wait_s: float = 0.0  # time spent waiting for the rate limiter
    backoff_s: float = 0.0  # time spent sleeping before retries

    def __sub__(self, earlier: StatsSnapshot) -> StatsSnapshot:
        statuses = set(self.responses) | set(earlier.responses)
        responses = {s: self.responses.get(s, 0) - earlier.responses.get(s, 0) for s in sorted(statuses)}
        return StatsSnapshot(
            requests=self.requests - earlier.requests,
            responses={s: n for s, n in responses.items() if n},
            rate_limited=self.rate_limited - earlier.rate_limited,
            retries=self.retries - earlier.retries,
            network_errors=self.network_errors - earlier.network_errors,
            bytes_received=self.bytes_received - earlier.bytes_received,
            throttle_wait_s=self.throttle_wait_s - earlier.throttle_wait_s,
            backoff_s=self.backoff_s - earlier.backoff_s,
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (status codes as string keys), e.g. for ``sync_runs.stats``."""
        return {
            "requests": self.requests,
            "responses": {str(s): n for s, n in sorted(self.responses.items())},
            "rate_limited": self.rate_limited,
            "retries": self.retries,
            "network_errors": self.network_errors,
            "bytes_received": self.bytes_received,
            "throttle_wait_s": round(self.throttle_wait_s, 3),
            "backoff_s": round(self.backoff_s, 3),
        }


# The window the live request rate is measured over: amoCRM counts requests per second as they
# arrive, so the rate shown is what it would count (and never above the limit while the limiter holds).
RATE_WINDOW_S = 1.0


def window_rate(moments: deque[float], now: float, window_s: float = RATE_WINDOW_S) -> float:
    """Requests per second among ``moments`` (ascending) in ``(now − window_s, now]``; older ones
    are dropped from the left, so the deque stays as short as the window."""
    while moments and moments[0] <= now - window_s:
        moments.popleft()
    return sum(1 for moment in moments if moment <= now) / window_s


class RequestStats:
    """Live counters owned by one client; ``snapshot()`` reads them consistently."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._send_moments: deque[float] = deque()  # when headers went out, for the live rate
        self._requests = 0
        self._responses: Counter[int] = Counter()
        self._rate_limited = 0
        self._retries = 0
        self._network_errors = 0
        self._bytes = 0
        self._throttle_wait_s = 0.0
        self._backoff_s = 0.0

    def sent(self, throttle_wait_s: float) -> None:
        with self._lock:
            self._requests += 1
            self._throttle_wait_s += throttle_wait_s

    def went_out(self, moment: float) -> None:
        """A request's headers were written at ``moment`` (the transport's clock): what the rate
        limiter spaces and what amoCRM counts, unlike the moment the limiter granted the start."""
        with self._lock:
            self._send_moments.append(moment)
            if len(self._send_moments) > 4096:  # nobody asked for the rate lately: keep it bounded
                self._send_moments.popleft()

    def recent_rate(self, now: float, window_s: float = RATE_WINDOW_S) -> float:
        """Requests sent per second over the last ``window_s`` before ``now`` (same clock)."""
        with self._lock:
            return window_rate(self._send_moments, now, window_s)

    def received(self, status: int, size: int) -> None:
        with self._lock:
            self._responses[status] += 1
            self._bytes += size
            if status == 429:
                self._rate_limited += 1

    def network_error(self) -> None:
        with self._lock:
            self._network_errors += 1

    def retried(self, delay_s: float) -> None:
        with self._lock:
            self._retries += 1
            self._backoff_s += delay_s

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                requests=self._requests,
                responses=dict(sorted(self._responses.items())),
                rate_limited=self._rate_limited,
                retries=self._retries,
                network_errors=self._network_errors,
                bytes_received=self._bytes,
                throttle_wait_s=self._throttle_wait_s,
                backoff_s=self._backoff_s,
            )
