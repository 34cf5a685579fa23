"""Full and incremental syncs of a simulated account over real HTTP end equal to its truth."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from cohort_service.sync.runner import run_sync
from tests.sync.harness import mismatches, simulated


@pytest.mark.parametrize("filters", [True, False], ids=["filter-addon-on", "filter-addon-off"])
def test_full_then_incremental_equals_truth(db_url: str, engine: Engine, filters: bool) -> None:
    with simulated(seed=21, leads=600, weeks=16, filters=filters) as sim:
        settings = sim.settings(db_url)
        first = run_sync(settings, clock=sim.now)
        assert first.leads_mode == "full"
        assert first.leads_new > 0
        assert mismatches(engine, sim) == []

        produced = sim.app.advance(days=9)
        assert produced > 0
        second = run_sync(settings, clock=sim.now)
        assert second.leads_mode == "incremental"
        assert second.leads_new + second.leads_changed > 0
        assert mismatches(engine, sim) == []

        quiet = run_sync(settings, clock=sim.now)
        assert (quiet.leads_new, quiet.status_changes_new, quiet.lead_events_new) == (0, 0, 0)
        assert quiet.requests <= 8

    with engine.connect() as conn:
        runs = conn.execute(text("SELECT kind, status FROM sync_runs ORDER BY id")).all()
    assert [tuple(r) for r in runs] == [("sync", "ok")] * 3
