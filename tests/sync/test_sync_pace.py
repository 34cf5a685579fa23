"""The sync summary reports the pace the run settled at: the configured rate, or lower after 429s."""

from __future__ import annotations

from sqlalchemy import Engine, text

from cohort_service.amocrm.ratelimit import account_key
from cohort_service.sync.runner import run_sync
from tests.sync.harness import simulated


def test_a_429_burst_mid_sync_lowers_the_pace_and_the_summary_says_so(db_url: str, engine: Engine) -> None:
    with simulated(seed=51, leads=120, weeks=4) as sim:
        sim.app.script("rate_limit", path="/api/v4/events", times=2)
        summary = run_sync(sim.settings(db_url, requests_per_second=20), clock=sim.now)
        quiet = sim.app.log.count(status=429)
    assert (summary.rate_limited, quiet) == (2, 2)
    assert summary.pace_rps == 14.0  # 20 × 0.7, once: the two 429s are one burst
    assert "pace 14.00/s" in "\n".join(summary.lines())
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT stats->>'pace_rps' FROM sync_runs")).scalar_one()
        budget = conn.execute(text("SELECT account_url FROM request_budget")).scalar_one()
    assert float(stored) == 14.0
    assert budget == account_key(sim.url)  # the run reserved its starts in the shared budget
