"""The sync keeps ``lead_paths``: each page's transaction marks the leads it changed (triggers),
the keeper recomputes them in batches and when the sync ends. Right after a sync killed at a random
moment, the report's read (the marked leads recomputed first) equals the facts SQL's; after the
rerun, an incremental sync, a resync and a milestone change, the kept summary equals one rebuilt
from scratch, with no lead left marked, and the facts read from it equal the facts SQL's."""

from __future__ import annotations

import subprocess
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, text

from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.facts import FactsRequest, compute_facts
from cohort_service.cohorts.milestones import Funnel, resolve_funnel
from cohort_service.cohorts.paths import (
    compute_facts_from_paths,
    fingerprint,
    rebuild_paths,
    stored_fingerprint,
)
from cohort_service.cohorts.weeks import monday
from cohort_service.config import load_settings
from cohort_service.simulator.faults import FaultConfig
from cohort_service.sync.runner import run_sync
from tests.sync.harness import Sim, simulated
from tests.sync.test_sync_drills import _env, _kill_after_requests, _sync_cmd

FULL = '[[report.milestones]]\nname = "qualified"\nstatuses = ["Квалификация"]\n'
FULL += '[[report.milestones]]\nname = "negotiation"\nstatuses = ["Переговоры"]\n'
FULL += '[[report.milestones]]\nname = "paid"\nstatuses = [142]\n'
SHORT = '[[report.milestones]]\nname = "negotiation"\nstatuses = ["Переговоры"]\n'


def _config(sim: Sim, path: Path, db_url: str, milestones: str) -> Path:
    sim.config_file(path, db_url, max_in_flight=3)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("[report]\n" + milestones)
    return path


def _paths(conn: Connection) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(text("SELECT * FROM lead_paths ORDER BY lead_id")).mappings().all())


def _funnel(conn: Connection, config: Path) -> Funnel:
    return resolve_funnel(load_settings(config).report, load_catalog(conn), source="test")


def _same_facts(conn: Connection, funnel: Funnel, sim: Sim) -> None:
    """Facts read the report's way (the summary made current first) equal the facts SQL's, as of
    today and as of ten days ago."""
    tz = ZoneInfo(sim.app.account.timezone)
    today = sim.now().astimezone(tz).date()
    for day in (today, today - timedelta(days=10)):
        request = FactsRequest(datetime.combine(day, time.max, tzinfo=tz), str(tz),
                               monday(day) - timedelta(weeks=8), funnel)  # fmt: skip
        want = compute_facts(conn, request).sort_values("lead_id", ignore_index=True)
        got = compute_facts_from_paths(conn, request).sort_values("lead_id", ignore_index=True)
        pd.testing.assert_frame_equal(got, want)


def _check_killed(engine: Engine, config: Path, sim: Sim) -> None:
    """Right after the kill, whatever the killed sync committed is readable: the summary plus the
    leads still marked equal the history (a report reads the same facts as the reference)."""
    with engine.connect() as conn, conn.begin():
        _same_facts(conn, _funnel(conn, config), sim)
        conn.rollback()


def _check(engine: Engine, config: Path, sim: Sim) -> None:
    """The kept summary is current for this config when the sync ends: same fingerprint, no lead
    left marked, same rows as a rebuild, and facts from it equal the facts SQL's."""
    with engine.connect() as conn, conn.begin():
        funnel = _funnel(conn, config)
        assert stored_fingerprint(conn) == fingerprint(funnel)
        kept = _paths(conn)
        assert len(kept) > 100
        assert conn.execute(text("SELECT count(*) FROM lead_paths_dirty")).scalar_one() == 0
        rebuild_paths(conn, funnel)
        pd.testing.assert_frame_equal(kept, _paths(conn))
        _same_facts(conn, funnel, sim)
        conn.rollback()


def test_sync_keeps_the_path_summary(db_url: str, engine: Engine, tmp_path: Path) -> None:
    with simulated(seed=43, leads=400, weeks=10, faults=FaultConfig(latency_ms=15, seed=2)) as sim:
        config = _config(sim, tmp_path / "config.toml", db_url, FULL)
        proc = subprocess.Popen(
            _sync_cmd(config), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert _kill_after_requests(sim, proc, 17), "the sync finished before the kill"
        _check_killed(engine, config, sim)
        rerun = subprocess.run(_sync_cmd(config), env=_env(), capture_output=True, text=True, timeout=180,
                               check=False)  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr
        _check(engine, config, sim)

        sim.app.advance(days=2)  # an incremental sync: only the leads whose history changed
        run_sync(load_settings(config), clock=sim.now)
        _check(engine, config, sim)
        run_sync(load_settings(config), repair=True, clock=sim.now)  # resync rewrites history too
        _check(engine, config, sim)

        sim.app.advance(days=1)  # the milestones change: the first page rebuilds in full
        short = _config(sim, tmp_path / "short.toml", db_url, SHORT)
        run_sync(load_settings(short), clock=sim.now)
        _check(engine, short, sim)
