"""The kept path summary on a simulated account: sync over HTTP, ``db rebuild-facts`` through the
CLI, then facts as of several moments read from ``lead_paths`` equal today's facts SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.facts import FactsRequest, compute_facts
from cohort_service.cohorts.milestones import resolve_funnel
from cohort_service.cohorts.paths import compute_facts_from_paths, fingerprint, stored_fingerprint
from cohort_service.cohorts.weeks import monday
from cohort_service.config import load_settings
from cohort_service.sync.runner import run_sync
from tests.conftest import CliResult
from tests.e2e.test_report_vs_truth import _config
from tests.sync.harness import simulated


def test_facts_from_paths_equal_the_facts_sql_on_the_simulator(
    db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    with simulated(seed=62, leads=700, weeks=10) as sim:
        run_sync(sim.settings(db_url), clock=sim.now)
        config = _config(tmp_path / "config.toml", sim.url, sim.token, db_url)
        result = run_cli("--config", str(config), "db", "rebuild-facts")
        assert result.exit_code == 0, result.stderr
        settings = load_settings(config)
        tz = ZoneInfo(sim.app.account.timezone)
        today = sim.now().astimezone(tz).date()
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn, conn.begin():
            funnel = resolve_funnel(settings.report, load_catalog(conn), source="test")
            assert stored_fingerprint(conn) == fingerprint(funnel)  # the CLI built it for this config
            kept = conn.execute(text("SELECT count(*) FROM lead_paths")).scalar_one()
            assert kept > 500
            compared = 0
            for back in (0, 3, 17, 40):
                day = today - timedelta(days=back)
                request = FactsRequest(datetime.combine(day, time.max, tzinfo=tz), str(tz),
                                       monday(day) - timedelta(weeks=9), funnel)  # fmt: skip
                want = compute_facts(conn, request).sort_values("lead_id", ignore_index=True)
                got = compute_facts_from_paths(conn, request).sort_values("lead_id", ignore_index=True)
                pd.testing.assert_frame_equal(got, want)
                compared += len(want)
                # the summary was not rebuilt behind the comparison's back
                assert stored_fingerprint(conn) == fingerprint(funnel)
            assert compared > 1000
    finally:
        engine.dispose()
