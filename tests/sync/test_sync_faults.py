"""Fault matrix: every fault amoCRM throws ends in a database equal to the truth, or a clear
failure that leaves what was committed intact and a rerun completes."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text

from cohort_service.amocrm.auth import authorize
from cohort_service.errors import AmoAuthError, AmoBlockedError
from cohort_service.simulator.faults import FaultConfig, Limits
from cohort_service.simulator.oauth import OAuthStore
from cohort_service.simulator.truth import leads_frame
from cohort_service.sync import leads as leads_stream
from cohort_service.sync.runner import run_sync
from tests.helpers.clock import FakeClock
from tests.sync.harness import Sim, mismatches, simulated


def _faults(sim: Sim) -> dict[str, int]:
    out: dict[str, int] = {}
    for record in sim.app.log.records():
        if record.fault:
            out[record.fault] = out.get(record.fault, 0) + 1
    return out


@pytest.mark.parametrize(
    ("name", "setup"),
    [
        ("429-json", lambda sim: sim.app.script("rate_limit", path="/api/v4/", times=6)),
        ("429-html", lambda sim: (setattr(sim.app, "limits", Limits(rps=None, body_429="html")),
                                  sim.app.script("rate_limit", path="/api/v4/events", times=6))),
        ("5xx-burst", lambda sim: sim.app.script("status", path="/api/v4/leads", times=4, status=503)),
        ("5xx-random", lambda sim: setattr(sim.app, "faults", FaultConfig(seed=5, error_rate=0.2))),
        ("dropped-connections", lambda sim: setattr(sim.app, "faults", FaultConfig(seed=6, drop_rate=0.2))),
        ("truncated-json", lambda sim: setattr(sim.app, "faults", FaultConfig(seed=7, truncate_rate=0.2))),
        ("timeouts", lambda sim: sim.app.script("slow", path="/api/v4/events", times=2, slow_s=5)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)  # fmt: skip
def test_fault_is_absorbed(db_url: str, engine: Engine, name: str, setup: object) -> None:
    with simulated(seed=31, leads=250, weeks=8) as sim:
        setup(sim)  # type: ignore[operator]
        summary = run_sync(sim.settings(db_url, timeout_s=1, max_attempts=8), clock=sim.now)
        assert mismatches(engine, sim) == []
    faults = _faults(sim)  # after shutdown: a slow response is logged once it is woken
    assert faults, f"{name}: the fault never happened"
    assert summary.retries > 0  # (a "truncated" 204 has no body to cut, so not every fault costs a retry)


def test_real_rate_limit_both_bodies(db_url: str, engine: Engine) -> None:
    """The simulator's own sliding window at 4/s against a client told 20/s: 429s, retried."""
    limits = Limits(rps=4, body_429="alternate", retry_after_s=1, block_after_429s=None)
    with simulated(seed=32, leads=150, weeks=6, limits=limits) as sim:
        summary = run_sync(sim.settings(db_url, requests_per_second=20, max_delay_s=1.5), clock=sim.now)
        assert mismatches(engine, sim) == []
    assert summary.rate_limited > 0


def test_exactly_full_last_page_then_204(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page size set to divide the live lead count: the last page is full and its next link 204s."""
    with simulated(seed=33, leads=240, weeks=6) as sim:
        truth = leads_frame(sim.app.account)
        alive = int((~truth["is_deleted"]).sum())
        limit = max(d for d in range(1, 251) if alive % d == 0 and alive // d >= 2)
        monkeypatch.setattr(leads_stream, "PAGE_LIMIT", limit)
        run_sync(sim.settings(db_url), clock=sim.now)
        assert mismatches(engine, sim) == []
        leads_204 = [
            r for r in sim.app.log.records()
            if r.path == "/api/v4/leads" and r.status == 204 and f"page={alive // limit + 1}&" in r.query
        ]  # fmt: skip
    assert leads_204, "the page after the full last page was never asked for"


def integration(oauth: OAuthStore) -> dict[str, str]:
    """The ``[amocrm.oauth]`` settings of the simulator's integration."""
    return {
        "client_id": oauth.client_id,
        "client_secret": oauth.client_secret,
        "redirect_uri": oauth.redirect_uri,
    }


def test_oauth_rotation_mid_sync(db_url: str, engine: Engine) -> None:
    """amoCRM revokes the access token every 0.4 s mid-sync: 401 → refresh (rotating) → carry on."""
    with simulated(seed=34, leads=250, weeks=8, faults=FaultConfig(latency_ms=60)) as sim:
        oauth = sim.app.oauth
        settings = sim.settings(
            db_url,
            token=None,
            oauth=integration(oauth),
            max_in_flight=2,
        )  # fmt: skip
        authorize(settings, oauth.issue_code(), engine=engine)
        stop = threading.Event()

        def expire_now_and_then() -> None:
            while not stop.wait(0.4):
                oauth.expire_access_tokens()

        expirer = threading.Thread(target=expire_now_and_then)
        expirer.start()
        try:
            run_sync(settings, clock=sim.now)
        finally:
            stop.set()
            expirer.join()
        assert mismatches(engine, sim) == []
        refreshes = [r for r in sim.app.log.records() if r.path == "/oauth2/access_token"]
        unauthorized = [r for r in sim.app.log.records() if r.status == 401]
    assert len(refreshes) >= 2
    assert unauthorized


def _committed_counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.execute(text("SELECT count(*) FROM leads")).scalar_one()),
            int(conn.execute(text("SELECT count(*) FROM lead_status_changes")).scalar_one()),
        )


def test_ip_block_stops_cleanly_then_rerun_completes(db_url: str, engine: Engine) -> None:
    """403 mid-sync: the run fails and says so, what it committed is right (only incomplete), and
    once the block lifts the next run completes to the truth."""
    block_clock = FakeClock()  # the simulator's block is timed on this clock: no real waiting
    limits = Limits(rps=None, block_s=60)
    with simulated(seed=35, leads=300, weeks=8, limits=limits, clock=block_clock) as sim:
        settings = sim.settings(db_url)
        sim.app.script("block", at=15)
        with pytest.raises(AmoBlockedError, match="blocked"):
            run_sync(settings, clock=sim.now)
        with engine.connect() as conn:
            run = conn.execute(text("SELECT status, error FROM sync_runs")).one()
        assert run.status == "failed"
        assert "403" in (run.error or "")
        assert sim.token not in (run.error or "")
        partial = mismatches(engine, sim)
        assert all(
            ("missing" in line and "different" not in line) or " 0 different" in line for line in partial
        )
        with pytest.raises(AmoBlockedError):  # still blocked: nothing changes
            run_sync(settings, clock=sim.now)
        block_clock.advance(61)
        run_sync(settings, clock=sim.now)
        assert mismatches(engine, sim) == []


def test_dead_refresh_token_is_a_clear_failure(db_url: str, engine: Engine) -> None:
    with simulated(seed=36, leads=200, weeks=6) as sim:
        oauth = sim.app.oauth
        settings = sim.settings(
            db_url,
            token=None,
            oauth=integration(oauth),
        )  # fmt: skip
        authorize(settings, oauth.issue_code(), engine=engine)
        run_sync(settings, clock=sim.now)
        before = _committed_counts(engine)
        sim.app.advance(days=3)
        oauth.expire_access_tokens()
        oauth.revoke_all()
        with pytest.raises(AmoAuthError, match="cohort-service auth --code"):
            run_sync(settings, clock=sim.now)
        assert _committed_counts(engine) == before
        with engine.connect() as conn:
            statuses = [r[0] for r in conn.execute(text("SELECT status FROM sync_runs ORDER BY id"))]
        assert statuses == ["ok", "failed"]
