"""The sliding-window limiter: never more than N starts in any window, shared per account URL."""

from __future__ import annotations

import threading

import httpx
import pytest

from cohort_service.amocrm.ratelimit import RateLimiter, limiter_for
from tests.amocrm.conftest import Script, ok
from tests.helpers.clock import FakeClock


def test_n_plus_first_request_waits_until_the_window_slides(clock: FakeClock) -> None:
    """7 starts go at once; the 8th waits until the first start is one window (1 s + margin) old."""
    limiter = RateLimiter(7, margin_s=0.05, clock=clock, sleep=clock.sleep)
    starts = [limiter.acquire() for _ in range(7)]
    assert starts == [1000.0] * 7
    assert clock.sleeps == []
    eighth = limiter.acquire()
    assert clock.sleeps == [pytest.approx(1.05)]
    assert eighth == pytest.approx(1001.05)


def test_spread_out_starts_free_slots_one_by_one(clock: FakeClock) -> None:
    """Starts at 0.0, 0.5, 0.9 with N=3: the 4th may go when the one at 0.0 leaves the window."""
    limiter = RateLimiter(3, margin_s=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 0.5
    limiter.acquire()
    clock.now += 0.4
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(1001.0)
    assert limiter.acquire() == pytest.approx(1001.5)
    assert clock.sleeps == [pytest.approx(0.1), pytest.approx(0.5)]


def test_no_burst_across_a_window_boundary(clock: FakeClock) -> None:
    """A token bucket would allow 2N starts around a boundary; the window allows exactly N."""
    limiter = RateLimiter(5, margin_s=0.0, clock=clock, sleep=clock.sleep)
    clock.now = 1000.9
    for _ in range(5):
        limiter.acquire()
    clock.now = 1001.1  # a new calendar second, but the last 1 s window is still full
    granted = limiter.acquire()
    assert granted == pytest.approx(1001.9)


def test_fractional_rate_below_one_spaces_single_starts(clock: FakeClock) -> None:
    limiter = RateLimiter(0.5, margin_s=0.0, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(3)] == [1000.0, pytest.approx(1002.0), pytest.approx(1004.0)]


def test_many_threads_never_exceed_n_starts_per_sliding_window(clock: FakeClock) -> None:
    """8 threads × 25 starts at N=7: every 8 consecutive grants span at least one full window."""
    limiter = RateLimiter(7, margin_s=0.02, clock=clock, sleep=clock.sleep)
    grants: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            granted = limiter.acquire()
            with lock:
                grants.append(granted)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    grants.sort()
    assert len(grants) == 200
    window = 1.02
    for i in range(len(grants) - 7):
        assert grants[i + 7] - grants[i] >= window - 1e-9, (i, grants[i : i + 8])
    # and the limiter does use the budget: 200 starts need 28 full windows after the first 7
    assert grants[-1] - grants[0] == pytest.approx(28 * window)


def test_threads_through_the_client_stack_respect_the_limit(clock: FakeClock) -> None:
    """Requests sent by 6 threads through the transport stack are granted ≤ N per window."""
    from cohort_service.amocrm.client import build_client
    from tests.amocrm.conftest import amo_settings

    limiter = RateLimiter(4, margin_s=0.0, clock=clock, sleep=clock.sleep)
    script = Script(rest=lambda _: ok({"_embedded": {"loss_reasons": []}})())
    granted: list[float] = []
    original = limiter.acquire

    def recording_acquire() -> float:
        at = original()
        granted.append(at)
        return at

    limiter.acquire = recording_acquire  # type: ignore[method-assign]
    client = build_client(
        amo_settings(), transport=httpx.MockTransport(script), clock=clock, sleep=clock.sleep, limiter=limiter
    )
    threads = [threading.Thread(target=lambda: [client.loss_reasons() for _ in range(5)]) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert len(script.requests) == 30
    granted.sort()
    assert all(granted[i + 4] - granted[i] >= 1.0 - 1e-9 for i in range(len(granted) - 4))
    snapshot = client.stats.snapshot()
    assert snapshot.requests == 30
    assert snapshot.throttle_wait_s > 0


def test_hold_pauses_every_start(clock: FakeClock) -> None:
    """After a 429 the whole process waits: no start before the hold ends, even with free slots."""
    limiter = RateLimiter(7, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.hold(3.0)
    assert limiter.acquire() == pytest.approx(1003.0)


def test_one_limiter_per_account_url() -> None:
    a = limiter_for("https://Shared-Test.amocrm.ru/", 7)
    b = limiter_for("https://shared-test.amocrm.ru", 7)
    c = limiter_for("https://other-test.amocrm.ru", 7)
    assert a is b
    assert a is not c
    limiter_for("https://shared-test.amocrm.ru", 3)
    assert (a.capacity, a.requests_per_second) == (3, 3)


def test_rejects_nonsense_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
