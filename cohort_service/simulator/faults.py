"""Rate limits, injected faults and the request log — everything a test changes at runtime.

``Limits`` is amoCRM's own behaviour (7 requests/s, 429 with a JSON or an HTML body, then a 403
block after sustained abuse). ``FaultConfig`` is bad weather (latency, 5xx, dropped connections,
truncated bodies, slow answers), drawn from a seeded RNG. ``ScriptedFault`` is a precise incident
("the next 3 requests to /api/v4/events answer 503", "drop request #5"). All of it is read on every
request, so tests may change the objects while a server runs.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "drop", "truncate", "slow", "rate_limit", "block"]


@dataclass
class Limits:
    """amoCRM's limits. ``rps=None`` turns rate limiting off."""

    rps: float | None = 7.0
    window_s: float = 1.0
    body_429: Literal["json", "html", "alternate"] = "json"
    retry_after_s: int = 1
    block_after_429s: int | None = 30
    block_window_s: float = 10.0
    block_s: float = 60.0


@dataclass
class FaultConfig:
    """Random bad weather; rates are probabilities per request. ``paths`` limits them to prefixes."""

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    slow_rate: float = 0.0
    slow_s: float = 30.0
    paths: tuple[str, ...] = ()


@dataclass
class ScriptedFault:
    """A planned incident: for ``times`` requests matching ``path`` (a prefix), or request number ``at``."""

    kind: FaultKind
    path: str | None = None
    times: int = 1
    at: int | None = None
    status: int = 503
    slow_s: float | None = None

    def matches(self, number: int, path: str) -> bool:
        if self.at is not None:
            return number == self.at
        return self.times > 0 and (self.path is None or path.startswith(self.path))


@dataclass(frozen=True)
class RequestRecord:
    number: int
    method: str
    path: str
    query: str
    status: int | None
    latency_ms: float
    fault: str | None
    started: float


class RequestLog:
    """Thread-safe log of every request the app saw (status None: connection dropped)."""

    def __init__(self, maxlen: int = 1_000_000) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(self, *, path: str | None = None, status: int | None = None, fault: str | None = None) -> int:
        return sum(
            1
            for r in self.records()
            if (path is None or r.path.startswith(path))
            and (status is None or r.status == status)
            and (fault is None or r.fault == fault)
        )


@dataclass
class Verdict:
    """What happens to one request before (and after) it reaches an endpoint."""

    kind: str | None = None  # None: served normally
    status: int | None = None
    slow_s: float = 0.0
    truncate: bool = False


@dataclass
class Weather:
    """The mutable fault state behind one app: limiter window, abuse counter, block, script, RNG."""

    limits: Limits
    config: FaultConfig
    clock: Callable[[], float]
    script: list[ScriptedFault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _window: deque[float] = field(default_factory=deque)
    _rejections: deque[float] = field(default_factory=deque)
    _blocked_until: float = 0.0
    _count: int = 0
    _alternate: int = 0
    _rng: random.Random = field(default_factory=random.Random)
    _rng_seed: int | None = None

    def next_number(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def decide(self, number: int, path: str) -> Verdict:
        """Blocked? Scripted? Over the rate? Random weather? — in that order."""
        with self._lock:
            now = self.clock()
            if now < self._blocked_until:
                return Verdict("blocked", 403)
            scripted = self._take_script(number, path)
            if scripted is not None:
                return self._scripted(scripted, now)
            if self._over_rate(now):
                return self._reject(now)
            self._window.append(now)
            return self._weather(path)

    def body_429(self) -> Literal["json", "html"]:
        with self._lock:
            if self.limits.body_429 != "alternate":
                return self.limits.body_429
            self._alternate += 1
            return "json" if self._alternate % 2 else "html"

    def _take_script(self, number: int, path: str) -> ScriptedFault | None:
        for item in self.script:
            if item.matches(number, path):
                item.times -= 1
                if item.at is not None or item.times <= 0:
                    self.script.remove(item)
                return item
        return None

    def _scripted(self, item: ScriptedFault, now: float) -> Verdict:
        if item.kind == "block":
            self._blocked_until = now + self.limits.block_s
            return Verdict("blocked", 403)
        if item.kind == "rate_limit":
            return Verdict("scripted_429", 429)  # told apart from 429s our pace earned (drills)
        if item.kind == "status":
            return Verdict("scripted_status", item.status)
        if item.kind == "slow":
            return Verdict("slow", slow_s=item.slow_s if item.slow_s is not None else self.config.slow_s)
        return Verdict(item.kind, truncate=item.kind == "truncate")

    def _over_rate(self, now: float) -> bool:
        rps = self.limits.rps
        while self._window and self._window[0] <= now - self.limits.window_s:
            self._window.popleft()
        return rps is not None and len(self._window) >= rps * self.limits.window_s

    def _reject(self, now: float) -> Verdict:
        """A 429; too many of them within the abuse window starts a 403 block."""
        self._rejections.append(now)
        while self._rejections and self._rejections[0] <= now - self.limits.block_window_s:
            self._rejections.popleft()
        threshold = self.limits.block_after_429s
        if threshold is not None and len(self._rejections) > threshold:
            self._blocked_until = now + self.limits.block_s
            self._rejections.clear()
            return Verdict("blocked", 403)
        return Verdict("rate_limited", 429)

    def _weather(self, path: str) -> Verdict:
        cfg = self.config
        if cfg.paths and not any(path.startswith(p) for p in cfg.paths):
            return Verdict()
        u = self._random()
        for kind, rate in (
            ("drop", cfg.drop_rate),
            ("status", cfg.error_rate),
            ("truncate", cfg.truncate_rate),
            ("slow", cfg.slow_rate),
        ):
            if u < rate:
                return self._random_fault(kind)
            u -= rate
        return Verdict()

    def _random(self) -> float:
        """The seeded RNG, restarted whenever a test sets a different ``config.seed``."""
        if self._rng_seed != self.config.seed:
            self._rng = random.Random(self.config.seed)
            self._rng_seed = self.config.seed
        return self._rng.random()

    def _random_fault(self, kind: str) -> Verdict:
        if kind == "status":
            return Verdict("server_error", self._rng.choice(self.config.error_statuses))
        if kind == "slow":
            return Verdict("slow", slow_s=self.config.slow_s)
        return Verdict(kind, truncate=kind == "truncate")

    def latency_s(self) -> float:
        cfg = self.config
        if cfg.latency_ms <= 0 and cfg.jitter_ms <= 0:
            return 0.0
        with self._lock:
            jitter = self._random() * cfg.jitter_ms
        return (cfg.latency_ms + jitter) / 1000.0
