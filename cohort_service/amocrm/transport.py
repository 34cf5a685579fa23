"""httpx transports that every amoCRM request passes through, token refreshes included.

``RetryingTransport(ThrottledTransport(HTTPTransport))``: each attempt waits for the shared rate
limiter, then goes out; the retry layer reads the whole body, decides whether the answer is
final, and otherwise backs off and tries again:

* 429 → wait ``retry_after`` (JSON body) or ``Retry-After`` (header, seconds or HTTP date), capped
  at ``max_delay_s``; with neither (amoCRM's gateway sends an HTML 429), exponential backoff.
  The wait is a hold on the shared limiter, so every thread of the process backs off together
  (and every other process at its next start), and the pace itself is lowered (adaptive rate).
* 500/502/503/504, timeouts, refused or dropped connections, and a 2xx whose body is not valid
  JSON (cut off mid-transfer) → exponential backoff with jitter.
* anything else is final and returned as is; the client turns 4xx into errors.

When attempts run out: ``RetriesExhaustedError`` (a ``RetriableAmoError``: rerun later), or
``AmoPayloadError`` if the body never parsed.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from cohort_service.amocrm.describe import describe_request
from cohort_service.amocrm.ratelimit import RateLimiter
from cohort_service.amocrm.stats import RequestStats
from cohort_service.config import AmoSettings
from cohort_service.errors import AmoPayloadError, RetriableAmoError

log = logging.getLogger(__name__)

Tracer = Callable[[str, dict[str, object]], None]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MIN_429_DELAY_S = 1.0


class RetriesExhaustedError(RetriableAmoError):
    """Every attempt failed for a transient reason; the run stops and can simply be rerun."""

    def __init__(self, message: str, *, status: int | None, attempts: int) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_factor_s: float = 1.0
    max_delay_s: float = 120.0

    @classmethod
    def from_settings(cls, amo: AmoSettings) -> RetryPolicy:
        return cls(amo.max_attempts, amo.backoff_factor_s, amo.max_delay_s)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential with "equal jitter": half the step fixed, half random; never above the cap."""
        step = min(self.max_delay_s, self.backoff_factor_s * 2.0 ** (attempt - 1))
        return step / 2 + rng.uniform(0, step / 2)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def server_hint(response: httpx.Response) -> float | None:
    """How long the server asked us to wait: ``retry_after`` in a JSON body, else the header."""
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return parse_retry_after(response.headers.get("Retry-After"))


class ThrottledTransport(httpx.BaseTransport):
    """Waits for the shared limiter before every request start."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        limiter: RateLimiter,
        stats: RequestStats,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._limiter = limiter
        self._stats = stats
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        before = self._clock()
        granted = self._limiter.acquire()
        self._stats.sent(max(0.0, granted - before))
        request.extensions = {**request.extensions, "trace": self._tracer(request.extensions.get("trace"))}
        return self._inner.handle_request(request)

    def _tracer(self, existing: Tracer | None) -> Tracer:
        """httpcore's trace hook: the moment the headers go out is the real start (after any wait
        for a pooled connection or the GIL), and the next start is spaced from it."""
        chained = getattr(existing, "chained", existing)  # a retry: do not wrap our own hook again

        def trace(event: str, info: dict[str, object]) -> None:
            if event.endswith("send_request_headers.started"):
                moment = self._clock()
                self._limiter.sent(moment)
                self._stats.went_out(moment)
            if chained is not None:
                chained(event, info)

        trace.chained = chained  # type: ignore[attr-defined]
        return trace

    def close(self) -> None:
        self._inner.close()


@dataclass
class _Failure:
    """Why one attempt did not produce a final answer."""

    reason: str
    status: int | None = None
    hint: float | None = None
    kind: str = "server"  # server | rate_limited | timeout | network | payload


class RetryingTransport(httpx.BaseTransport):
    """Retries transient failures with backoff; returns the first final response."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        policy: RetryPolicy,
        limiter: RateLimiter,
        stats: RequestStats,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._limiter = limiter
        self._stats = stats
        self._sleep = sleep
        self._rng = rng or random.Random()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        failure = _Failure("no attempt made")
        for attempt in range(1, self._policy.max_attempts + 1):
            outcome = self._attempt(request)
            if isinstance(outcome, httpx.Response):
                return outcome
            failure = outcome
            if attempt == self._policy.max_attempts:
                break
            self._wait(request, failure, attempt)
        raise self._exhausted(request, failure)

    def _attempt(self, request: httpx.Request) -> httpx.Response | _Failure:
        try:
            response = self._inner.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            self._stats.network_error()
            return _Failure(f"timed out ({type(exc).__name__})", kind="timeout")
        except (httpx.TransportError, httpx.DecodingError) as exc:
            self._stats.network_error()
            return _Failure(f"connection failed ({type(exc).__name__})", kind="network")
        status = response.status_code
        self._stats.received(status, len(response.content))
        if status == 429:
            return _Failure("HTTP 429 Too Many Requests", 429, server_hint(response), "rate_limited")
        if status in RETRY_STATUSES:
            return _Failure(f"HTTP {status}", status, server_hint(response))
        if 200 <= status < 300 and status != 204 and not _valid_json(response.content):
            size = len(response.content)
            reason = f"HTTP {status} with a truncated or invalid JSON body ({size} bytes)"
            return _Failure(reason, status, kind="payload")
        return response

    def _wait(self, request: httpx.Request, failure: _Failure, attempt: int) -> None:
        if failure.hint is not None:
            delay = min(failure.hint, self._policy.max_delay_s)
        else:
            delay = self._policy.backoff(attempt, self._rng)
        if failure.kind == "rate_limited":
            # at least one limiter window: retrying a 429 sooner only earns another one
            delay = min(max(delay, MIN_429_DELAY_S), self._policy.max_delay_s)
        self._stats.retried(delay)
        log.warning(
            "%s: %s; retry %d of %d in %.1f s",
            describe_request(request),
            failure.reason,
            attempt,
            self._policy.max_attempts - 1,
            delay,
        )
        if failure.kind == "rate_limited":
            self._limiter.rate_limited()  # a slower pace for the whole process, then creep back
            self._limiter.hold(delay)  # every thread backs off; our next acquire() waits it out
        else:
            self._sleep(delay)

    def _exhausted(self, request: httpx.Request, failure: _Failure) -> Exception:
        where = describe_request(request)
        n = self._policy.max_attempts
        if failure.kind == "payload":
            return AmoPayloadError(
                f"{where}: {failure.reason}, {n} attempts in a row; amoCRM or a proxy is cutting "
                "responses short: try again later"
            )
        advice = {
            "rate_limited": "another program may be using the same IP's rate limit: lower "
            "amocrm.requests_per_second or try again later",
            "timeout": "check the network, or raise amocrm.timeout_s",
            "network": "check the network and amocrm.subdomain / amocrm.base_url",
            "server": "amoCRM seems to be having trouble: try again later (the sync resumes "
            "from its last checkpoint)",
        }[failure.kind]
        return RetriesExhaustedError(
            f"{where}: gave up after {n} attempts, last: {failure.reason}; {advice}",
            status=failure.status,
            attempts=n,
        )

    def close(self) -> None:
        self._inner.close()


def _valid_json(content: bytes) -> bool:
    if not content.strip():
        return False
    try:
        json.loads(content)
    except ValueError:
        return False
    return True


def build_transport(
    amo: AmoSettings,
    *,
    limiter: RateLimiter,
    stats: RequestStats,
    inner: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> RetryingTransport:
    """The full stack; ``inner`` defaults to a pooled HTTPTransport sized for ``max_in_flight``."""
    if inner is None:
        pool = amo.max_in_flight + 2  # the in-flight requests plus a token refresh and slack
        inner = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool), retries=0
        )
    throttled = ThrottledTransport(inner, limiter, stats, clock)
    return RetryingTransport(
        throttled, policy=RetryPolicy.from_settings(amo), limiter=limiter, stats=stats, sleep=sleep, rng=rng
    )
