"""Retry matrix: what is retried, how long it waits, and what the caller finally sees."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from cohort_service.amocrm.client import AmoClient
from cohort_service.amocrm.queries import leads_list
from cohort_service.amocrm.transport import RetriesExhaustedError, RetryPolicy, parse_retry_after
from cohort_service.errors import AmoBlockedError, AmoPayloadError, FatalAmoError, RetriableAmoError
from tests.amocrm.conftest import Script, ok, raw, read_page, sample
from tests.helpers.clock import FakeClock

REASONS = {"_embedded": {"loss_reasons": [{"id": 1, "name": "Дорого", "sort": 1}]}}
HTML_429 = b"<html><head><title>429 Too Many Requests</title></head><body>nginx</body></html>"
Step = Callable[[], httpx.Response] | type[Exception]

# (id, steps before the successful answer, expected sleeps as (low, high) bounds)
# backoff_factor_s = 2: attempt k waits in [2^k / 2, 2^k] (equal jitter), capped by max_delay_s = 10.
RECOVERED: list[tuple[str, list[Step], list[tuple[float, float]]]] = [
    ("429-json-retry-after", [ok(sample("kommo_doc_http_429.json") | {"retry_after": 3}, 429)], [(3, 3)]),
    ("429-json-retry-after-capped", [ok(sample("kommo_doc_http_429.json"), 429)], [(10, 10)]),
    ("429-html-no-header", [raw(429, HTML_429, {"Content-Type": "text/html"})], [(1, 2)]),
    ("429-retry-after-zero-waits-a-window", [ok({"retry_after": 0}, 429)], [(1, 1)]),
    ("429-retry-after-header", [raw(429, b"", {"Retry-After": "4"})], [(4, 4)]),
    ("503-retry-after-header", [raw(503, b"", {"Retry-After": "2.5"})], [(2.5, 2.5)]),
    ("5xx-burst", [raw(500), raw(502), raw(503), raw(504)], [(1, 2), (2, 4), (4, 8), (5, 10)]),
    ("timeout", [httpx.ReadTimeout], [(1, 2)]),
    ("connect-timeout", [httpx.ConnectTimeout], [(1, 2)]),
    ("dropped-connection", [httpx.RemoteProtocolError, httpx.ReadError], [(1, 2), (2, 4)]),
    ("refused-connection", [httpx.ConnectError], [(1, 2)]),
    ("truncated-json", [raw(200, b'{"_embedded": {"loss_reasons": [{"id": 1, "na')], [(1, 2)]),
    ("empty-200", [raw(200, b"")], [(1, 2)]),
]


@pytest.mark.parametrize(
    ("steps", "expected_sleeps"), [c[1:] for c in RECOVERED], ids=[c[0] for c in RECOVERED]
)
def test_transient_failures_are_retried_then_succeed(
    make_client: Callable[..., AmoClient],
    clock: FakeClock,
    steps: list[Step],
    expected_sleeps: list[tuple[float, float]],
) -> None:
    script = Script(*steps, ok(REASONS))
    client = make_client(script, backoff_factor_s=2, max_delay_s=10, max_attempts=6)
    reasons = client.loss_reasons()
    assert [(r.id, r.name) for r in reasons] == [(1, "Дорого")]
    assert len(script.requests) == len(steps) + 1
    assert len(clock.sleeps) == len(expected_sleeps)
    for slept, (low, high) in zip(clock.sleeps, expected_sleeps, strict=True):
        assert low - 1e-9 <= slept <= high + 1e-9
    stats = client.stats.snapshot()
    assert stats.requests == len(steps) + 1
    assert stats.retries == len(steps)
    assert stats.backoff_s == pytest.approx(sum(clock.sleeps))


def test_rate_limited_counts_and_statuses(make_client: Callable[..., AmoClient]) -> None:
    script = Script(raw(429, HTML_429), raw(429, HTML_429), ok(REASONS))
    client = make_client(script)
    client.loss_reasons()
    stats = client.stats.snapshot()
    assert (stats.rate_limited, stats.retries, stats.requests) == (2, 2, 3)
    assert stats.responses == {200: 1, 429: 2}
    assert stats.bytes_received == 2 * len(HTML_429) + len(httpx.Response(200, json=REASONS).content)


def test_a_429_wait_is_a_hold_on_the_shared_limiter(
    make_client: Callable[..., AmoClient], clock: FakeClock
) -> None:
    """retry_after puts the whole limiter on hold, so every thread of the process backs off."""
    script = Script(ok({"retry_after": 5}, 429), rest=lambda _: ok(REASONS)())
    client = make_client(script)
    client.loss_reasons()
    assert clock.sleeps == [pytest.approx(5.0)]  # slept inside limiter.acquire, not in the retry loop
    # the hold is over; the next request waits one step of the lowered pace (0.7 × 7 rps), not 5 s
    client.loss_reasons()
    assert clock.sleeps[1:] == [pytest.approx(1.08 / 4.9)]


EXHAUSTED: list[tuple[str, Step, str]] = [
    (
        "429",
        raw(429, HTML_429),
        r"gave up after 3 attempts, last: HTTP 429 .*lower amocrm.requests_per_second",
    ),
    ("503", raw(503), r"gave up after 3 attempts, last: HTTP 503; amoCRM seems to be having trouble"),
    ("timeout", httpx.ReadTimeout, r"gave up after 3 attempts, last: timed out \(ReadTimeout\).*timeout_s"),
    ("connection", httpx.ConnectError, r"last: connection failed \(ConnectError\); check the network"),
]


@pytest.mark.parametrize(("step", "message"), [c[1:] for c in EXHAUSTED], ids=[c[0] for c in EXHAUSTED])
def test_attempts_exhausted_raise_a_retriable_error(
    make_client: Callable[..., AmoClient], clock: FakeClock, step: Step, message: str
) -> None:
    script = Script(step, step, step)
    client = make_client(script, max_attempts=3, backoff_factor_s=1, max_delay_s=10)
    with pytest.raises(RetriesExhaustedError, match=message) as info:
        client.loss_reasons()
    assert isinstance(info.value, RetriableAmoError)
    assert str(info.value).startswith("GET /api/v4/leads/loss_reasons: ")
    assert info.value.attempts == 3
    assert len(script.requests) == 3
    assert len(clock.sleeps) == 2


def test_persistently_truncated_json_is_a_payload_error(make_client: Callable[..., AmoClient]) -> None:
    cut = raw(200, b'{"_embedded": {"loss_reasons": [')
    client = make_client(Script(cut, cut), max_attempts=2)
    with pytest.raises(
        AmoPayloadError, match=r"truncated or invalid JSON body \(32 bytes\), 2 attempts in a row"
    ):
        client.loss_reasons()


def test_403_is_blocked_at_once_without_retry(
    make_client: Callable[..., AmoClient], clock: FakeClock
) -> None:
    script = Script(
        raw(403, b"<html><center><h1>403 Forbidden</h1></center><hr><center>nginx</center></html>")
    )
    client = make_client(script)
    with pytest.raises(AmoBlockedError) as info:
        client.users()
    text = str(info.value)
    assert text.startswith(
        "GET /api/v4/users → HTTP 403: amoCRM answered 403 Forbidden: it may have blocked this IP"
    )
    assert "contact amoCRM support" in text
    assert "lower amocrm.requests_per_second" in text
    assert "administrator" in text
    assert len(script.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (404, "not found: check amocrm.subdomain"),
        (422, "could not process"),
        (402, "not paid"),
        (400, "invalid"),
    ],
)
def test_other_4xx_are_fatal_with_method_path_and_status(
    make_client: Callable[..., AmoClient], status: int, hint: str
) -> None:
    script = Script(ok({"title": "x", "status": status, "detail": "Cannot GET /secret?q=1"}, status))
    client = make_client(script)
    with pytest.raises(FatalAmoError) as info:
        client.read(leads_list(updated_from=datetime(2024, 1, 1, tzinfo=UTC)))
    assert not isinstance(info.value, AmoBlockedError)
    assert str(info.value).startswith(f"GET /api/v4/leads → HTTP {status}: ")
    assert hint in str(info.value)
    assert "filter" not in str(info.value)  # no query string
    assert len(script.requests) == 1


def test_204_is_an_empty_page(make_client: Callable[..., AmoClient]) -> None:
    client = make_client(Script(raw(204)))
    page = read_page(client, leads_list(), 3)
    assert (page.items, page.page, page.next_url, page.is_empty) == ([], 3, None, True)


def test_retry_after_header_as_http_date() -> None:
    now = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 02 Mar 2026 10:00:42 GMT", now=now) == 42.0
    assert parse_retry_after("Mon, 02 Mar 2026 09:59:00 GMT", now=now) == 0.0
    assert parse_retry_after("7", now=now) == 7.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


def test_backoff_grows_exponentially_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_factor_s=1.0, max_delay_s=20.0)
    rng = random.Random(7)
    delays = [policy.backoff(attempt, rng) for attempt in range(1, 8)]
    bounds = [(0.5, 1), (1, 2), (2, 4), (4, 8), (8, 16), (10, 20), (10, 20)]
    for delay, (low, high) in zip(delays, bounds, strict=True):
        assert low <= delay <= high
