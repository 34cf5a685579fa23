"""The GCRA pacer: even spacing, arrival jitter never squeezes N+1 arrivals into a second, 429s
lower the pace for the whole process and it creeps back."""

from __future__ import annotations

import itertools
import math
import threading

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort_service.amocrm.ratelimit import (
    COOLDOWN_S,
    DEFAULT_MARGIN_S,
    QUIET_S,
    AdaptiveRate,
    RateLimiter,
    limiter_for,
)
from tests.amocrm.conftest import Script, ok
from tests.helpers.clock import FakeClock

T7 = (1 + DEFAULT_MARGIN_S) / 7  # 0.154 s between starts at 7 requests/s


def test_starts_are_evenly_spaced_with_no_burst(clock: FakeClock) -> None:
    """7 rps, margin 0.08: one start every 1.08/7 s from the first, never 7 at once."""
    limiter = RateLimiter(7, clock=clock, sleep=clock.sleep)
    starts = [limiter.acquire() for _ in range(8)]
    assert starts == [pytest.approx(1000 + i * T7) for i in range(8)]
    assert clock.sleeps == [pytest.approx(T7)] * 7
    # any 8 starts span 7 intervals = 1.08 s: one more than the limit never fits in a second
    assert starts[7] - starts[0] == pytest.approx(1.08)


def test_an_idle_limiter_lets_one_start_go_then_spaces_again(clock: FakeClock) -> None:
    limiter = RateLimiter(7, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.advance(10)
    assert limiter.acquire() == 1010.0
    assert limiter.acquire() == pytest.approx(1010 + T7)


def test_fractional_rate_below_one_spaces_single_starts(clock: FakeClock) -> None:
    limiter = RateLimiter(0.5, margin_s=0.0, slack_s=0.0, clock=clock, sleep=clock.sleep)
    assert [limiter.acquire() for _ in range(3)] == [1000.0, pytest.approx(1002.0), pytest.approx(1004.0)]


def test_a_late_send_pushes_the_next_start(clock: FakeClock) -> None:
    """A request that went out 50 ms after its grant (waiting for a connection) is the one the
    next start is spaced from, less the 20 ms slack; a send within the slack moves nothing."""
    limiter = RateLimiter(7, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.advance(0.05)
    limiter.sent(clock())
    assert limiter.acquire() == pytest.approx(1000.03 + T7)
    clock.advance(0.01)
    limiter.sent(clock())
    assert limiter.acquire() == pytest.approx(1000.03 + 2 * T7)


def test_a_late_wake_up_within_the_slack_keeps_the_schedule(clock: FakeClock) -> None:
    """Every sleep overshoots by 10 ms (a busy machine): the starts stay on the 1.08/7 grid
    instead of drifting 10 ms per request."""

    def late_sleep(seconds: float) -> None:
        clock.sleep(seconds + 0.01)

    limiter = RateLimiter(7, clock=clock, sleep=late_sleep)
    starts = [limiter.acquire() for _ in range(8)]
    assert starts == [1000.0] + [pytest.approx(1000 + i * T7 + 0.01) for i in range(1, 8)]


@settings(max_examples=300, deadline=None)
@given(
    rps=st.sampled_from([1.0, 2.5, 5.0, 7.0, 7.5, 10.0]),
    margin=st.floats(0.0, 0.2),
    slack_share=st.floats(0.0, 1.0),
    jitter_share=st.floats(0.0, 1.0),
    latency=st.floats(0.0, 0.5),
    steps=st.lists(
        st.tuples(
            st.floats(0.0, 0.6),  # idle time before asking
            st.floats(0.0, 0.03),  # grant → bytes on the wire (pool wait, GIL); reported
            st.floats(0.0, 1.0),  # share of the arrival jitter this request gets
            st.floats(0.0, 0.01),  # how late the limiter's own sleep woke up
            st.sampled_from([None, None, None, None, 0.0, 1.0, 3.0]),  # a 429 with this hold
        ),
        min_size=1,
        max_size=120,
    ),
)
def test_arrival_jitter_within_the_margin_never_puts_n_plus_1_arrivals_in_a_second(
    *,
    rps: float,
    margin: float,
    slack_share: float,
    jitter_share: float,
    latency: float,
    steps: list[tuple[float, float, float, float, float | None]],
) -> None:
    """The server counts arrivals in any 1 s window; arrival = send + latency + jitter in [0, J]
    with J ≤ margin − slack. However requests, late wake-ups, late sends, 429s and recoveries
    interleave, any ceil(rps) + 1 arrivals span at least 1 s."""
    clock = FakeClock()
    overshoot = iter([s[3] for s in steps] * 2)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds + next(overshoot, 0.0))

    slack = margin * slack_share
    jitter_max = (margin - slack) * jitter_share
    limiter = RateLimiter(rps, margin_s=margin, slack_s=slack, clock=clock, sleep=sleep)
    arrivals: list[float] = []
    for idle, send_delay, jitter, _, hold in steps:
        clock.advance(idle)
        limiter.acquire()
        clock.advance(send_delay)
        limiter.sent(clock())
        arrivals.append(clock() + latency + jitter * jitter_max)
        if hold is not None:
            limiter.rate_limited()
            limiter.hold(hold)
    arrivals.sort()
    n = math.ceil(rps)
    for i in range(len(arrivals) - n):
        assert arrivals[i + n] - arrivals[i] >= 1.0 - 1e-9, (i, arrivals[i : i + n + 1])


def test_many_threads_are_spaced_evenly(clock: FakeClock) -> None:
    """8 threads × 25 starts at 7 rps: consecutive grants are one interval apart."""
    limiter = RateLimiter(7, clock=clock, sleep=clock.sleep)
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
    assert all(b - a >= T7 - 1e-9 for a, b in itertools.pairwise(grants))
    assert grants[-1] - grants[0] == pytest.approx(199 * T7)  # and no time is wasted


def test_threads_through_the_client_stack_respect_the_spacing(clock: FakeClock) -> None:
    from cohort_service.amocrm.client import build_client
    from tests.amocrm.conftest import amo_settings

    limiter = RateLimiter(4, margin_s=0.0, slack_s=0.0, clock=clock, sleep=clock.sleep)
    script = Script(rest=lambda _: ok({"_embedded": {"loss_reasons": []}})())
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
    assert limiter.granted == 30
    assert clock.now == pytest.approx(1000 + 29 * 0.25)
    snapshot = client.stats.snapshot()
    assert snapshot.requests == 30
    # the fake clock moves only while someone waits for the limiter: the waits cover the span
    assert snapshot.throttle_wait_s >= 29 * 0.25 - 1e-9


def test_hold_pauses_every_start(clock: FakeClock) -> None:
    limiter = RateLimiter(7, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.hold(3.0)
    assert limiter.acquire() == pytest.approx(1003.0)


# -- adaptive rate --------------------------------------------------------------------------


def test_adaptive_rate_decreases_once_per_burst_and_creeps_back() -> None:
    """7 rps; 429s at t=0, 2 (same burst: ignored), 6 (a new one) → 4.9 → 3.43; then ×1.1 per
    quiet 15 s: 3.773 at t=21, 4.150 at 36 …, back at 7 after 8 quiet periods (3.43·1.1^8 ≥ 7)."""
    rate = AdaptiveRate(7.0)
    assert rate.on_429(0.0)
    assert rate.current(0.0) == pytest.approx(4.9)
    assert not rate.on_429(2.0)
    assert rate.current(2.0) == pytest.approx(4.9)
    assert rate.on_429(6.0)
    assert rate.current(6.0) == pytest.approx(3.43)
    assert rate.current(6.0 + QUIET_S - 0.01) == pytest.approx(3.43)
    assert rate.current(6.0 + QUIET_S) == pytest.approx(3.773)
    assert rate.current(6.0 + 2 * QUIET_S) == pytest.approx(4.1503)
    assert rate.current(6.0 + 7 * QUIET_S) == pytest.approx(3.43 * 1.1**7)  # 6.684, still below
    assert rate.current(6.0 + 8 * QUIET_S) == 7.0
    assert rate.decreases == 2


def test_adaptive_rate_never_drops_below_the_floor() -> None:
    rate = AdaptiveRate(7.0)
    for i in range(30):
        rate.on_429(i * (COOLDOWN_S + 0.1))
    assert rate.current(29 * (COOLDOWN_S + 0.1)) == 0.5


def test_a_scripted_429_burst_slows_the_whole_process_then_it_recovers(clock: FakeClock) -> None:
    """A 429 burst (the retry one second later is answered 429 too) lowers the pace once to
    0.7 × 7; a 429 well after the burst lowers it again; every client of the limiter feels it, and
    after quiet periods it is back at 7."""
    from cohort_service.amocrm.client import build_client
    from tests.amocrm.conftest import amo_settings

    limiter = RateLimiter(7, clock=clock, sleep=clock.sleep)
    reasons = ok({"_embedded": {"loss_reasons": []}})
    too_many = ok({"retry_after": 1}, 429)
    script = Script(too_many, too_many, reasons, reasons, reasons, too_many, rest=lambda _: reasons())
    client = build_client(
        amo_settings(max_attempts=6),
        transport=httpx.MockTransport(script),
        clock=clock,
        sleep=clock.sleep,
        limiter=limiter,
    )
    client.loss_reasons()  # 429, 429 one second later (same burst), 200
    assert (client.stats.snapshot().rate_limited, limiter.decreases) == (2, 1)
    assert limiter.rate == pytest.approx(4.9)
    before = clock()
    client.loss_reasons()
    client.loss_reasons()
    # each waits one step of the slow pace after the previous start (the burst's 200)
    assert clock() - before == pytest.approx(2 * (1 + DEFAULT_MARGIN_S) / 4.9)
    clock.advance(5)
    client.loss_reasons()  # a new 429, outside the burst's cooldown
    assert (client.stats.snapshot().rate_limited, limiter.decreases) == (3, 2)
    assert limiter.rate == pytest.approx(3.43)
    clock.advance(8 * QUIET_S)
    assert limiter.rate == 7.0
    client.close()


def test_one_limiter_per_account_url() -> None:
    a = limiter_for("https://Shared-Test.amocrm.ru/", 7)
    b = limiter_for("https://shared-test.amocrm.ru", 7)
    c = limiter_for("https://other-test.amocrm.ru", 7)
    assert a is b
    assert a is not c
    limiter_for("https://shared-test.amocrm.ru", 3)
    assert (a.requests_per_second, a.rate) == (3, 3)


def test_rejects_nonsense_rates() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
