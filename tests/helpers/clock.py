"""A fake monotonic clock for code that takes ``clock`` and ``sleep``: tests never really wait."""

from __future__ import annotations

import threading


class FakeClock:
    """Monotonic seconds that move only when told to or when someone sleeps on it; records every
    sleep. Thread-safe, so limiters and retry loops on several threads can share it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
