"""Rate limit, abuse block, scripted and random faults, latency, and the request log (fake clock)."""

from __future__ import annotations

import threading

import httpx
import pytest

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import FaultConfig, Limits
from cohort_service.simulator.model import SimAccount
from tests.helpers.clock import FakeClock
from tests.simulator.conftest import mock_client


def _app(account: SimAccount, clock: FakeClock, **limits: object) -> SimulatorApp:
    return SimulatorApp(account, limits=Limits(**limits), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def _burst(client: httpx.Client, count: int) -> list[int]:
    return [client.get("/api/v4/leads/pipelines").status_code for _ in range(count)]


def test_rate_limit_json_body(shared_account: SimAccount) -> None:
    clock = FakeClock()
    app = _app(shared_account, clock, retry_after_s=2)
    with mock_client(app) as client:
        assert _burst(client, 7) == [200] * 7
        limited = client.get("/api/v4/leads/pipelines")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["retry_after"] == 2
        assert "retry-after" not in limited.headers
        clock.advance(0.999)
        assert _burst(client, 1) == [429]
        clock.advance(0.001)
        assert _burst(client, 7) == [200] * 7


def test_rate_limit_html_body_and_alternating(shared_account: SimAccount) -> None:
    clock = FakeClock()
    app = _app(shared_account, clock, body_429="html")
    with mock_client(app) as client:
        _burst(client, 7)
        limited = client.get("/api/v4/leads")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "text/html"
        assert "<title>429 Too Many Requests</title>" in limited.text
        assert "retry-after" not in limited.headers
        app.limits = Limits(body_429="alternate")
        kinds = [client.get("/api/v4/leads").headers["content-type"] for _ in range(3)]
        assert kinds == ["application/problem+json", "text/html", "application/problem+json"]


def test_sustained_abuse_blocks_then_lifts(shared_account: SimAccount) -> None:
    clock = FakeClock()
    app = _app(shared_account, clock, block_after_429s=3, block_window_s=10, block_s=30)
    with mock_client(app) as client:
        assert _burst(client, 10) == [200] * 7 + [429] * 3
        blocked = client.get("/api/v4/leads")
        assert blocked.status_code == 403
        assert blocked.headers["content-type"] == "text/html"
        assert "<center>nginx</center>" in blocked.text
        clock.advance(29)
        assert _burst(client, 1) == [403]
        clock.advance(1)
        assert _burst(client, 1) == [200]
    assert app.log.count(status=403) == 2
    assert app.log.count(fault="rate_limited") == 3


def test_scripted_faults(app: SimulatorApp) -> None:
    app.script("status", path="/api/v4/events", times=3, status=503)
    with mock_client(app) as client:
        assert client.get("/api/v4/leads?limit=1").status_code == 200
        assert [client.get("/api/v4/events").status_code for _ in range(4)] == [503, 503, 503, 200]
        app.script("drop", at=app.requests_seen + 2)
        assert client.get("/api/v4/leads?limit=1").status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v4/leads?limit=1")
        assert client.get("/api/v4/leads?limit=1").status_code == 200
        app.script("truncate")
        cut = client.get("/api/v4/leads?limit=5")
        assert cut.status_code == 200
        assert int(cut.headers["content-length"]) == len(cut.content)
        with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
            cut.json()
        app.script("block")
        assert client.get("/api/v4/leads").status_code == 403
    records = app.log.records()
    assert [r.fault for r in records[1:4]] == ["scripted_status"] * 3
    dropped = next(r for r in records if r.fault == "drop")
    assert (dropped.status, dropped.path, dropped.query) == (None, "/api/v4/leads", "limit=1")


def test_slow_answers_and_latency(shared_account: SimAccount) -> None:
    clock = FakeClock()
    app = SimulatorApp(shared_account, limits=Limits(rps=None), clock=clock, sleep=clock.sleep)
    with mock_client(app) as client:
        app.script("slow", slow_s=30)
        with pytest.raises(httpx.ReadTimeout):
            client.get("/api/v4/leads", timeout=5)
        assert clock.sleeps == [5]
        app.script("slow", slow_s=3)
        assert client.get("/api/v4/leads", timeout=5).status_code == 200
        assert clock.sleeps == [5, 3]
        app.faults = FaultConfig(latency_ms=120)
        client.get("/api/v4/leads?limit=1")
        assert clock.sleeps[-1] == pytest.approx(0.12)


def _statuses(account: SimAccount, faults: FaultConfig, count: int) -> list[int | str]:
    app = SimulatorApp(account, limits=Limits(rps=None), faults=faults)
    out: list[int | str] = []
    with mock_client(app) as client:
        for _ in range(count):
            try:
                out.append(client.get("/api/v4/events?limit=1").status_code)
            except httpx.RemoteProtocolError:
                out.append("drop")
    return out


def test_random_weather_is_seeded(shared_account: SimAccount) -> None:
    weather = FaultConfig(seed=4, error_rate=0.25, drop_rate=0.1)
    first = _statuses(shared_account, weather, 60)
    assert first == _statuses(shared_account, FaultConfig(seed=4, error_rate=0.25, drop_rate=0.1), 60)
    assert first != _statuses(shared_account, FaultConfig(seed=5, error_rate=0.25, drop_rate=0.1), 60)
    errors = [s for s in first if s not in (200, "drop")]
    assert set(errors) <= {500, 502, 503, 504}
    assert 5 <= len(errors) <= 30
    assert 1 <= first.count("drop") <= 15
    elsewhere = FaultConfig(seed=4, error_rate=1.0, paths=("/api/v4/leads",))
    assert set(_statuses(shared_account, elsewhere, 10)) == {200}


def test_request_log_is_thread_safe(app: SimulatorApp) -> None:
    token = app.issue_token()

    def worker() -> None:
        with mock_client(app, token=token) as client:
            for _ in range(20):
                client.get("/api/v4/leads/pipelines?x=1")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = app.log.records()
    assert len(records) == 160
    assert sorted(r.number for r in records) == list(range(1, 161))
    assert {(r.method, r.path, r.query, r.status, r.fault) for r in records} == {
        ("GET", "/api/v4/leads/pipelines", "x=1", 200, None)
    }
    assert all(r.latency_ms >= 0 for r in records)
    app.log.clear()
    assert app.log.records() == []
