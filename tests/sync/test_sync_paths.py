"""The sync keeps ``lead_paths`` current for its readers: each page's transaction copies its new stage
changes to the tail and marks the leads whose history it rewrote (triggers), and the sync leaves
them for the next reader unless the tail has grown past what a fold is worth (then it forgets the
summary and the reader rebuilds). Right after a sync killed at a random moment, the report's read
(the tail folded, the marked leads recomputed first) equals the facts SQL's; after the rerun, an
incremental sync, a resync, a sync that must forget and a milestone change, the summary the next
reader keeps equals one rebuilt from scratch, and the facts read from it equal the facts SQL's."""

from __future__ import annotations

import subprocess
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, text

from cohort_service.cohorts import paths
from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.facts import FactsRequest, compute_facts
from cohort_service.cohorts.milestones import Funnel, resolve_funnel
from cohort_service.cohorts.paths import (
    compute_facts_from_paths,
    fingerprint,
    keep_paths,
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
    tail and the marked leads equal the history (a report reads the same facts as the reference)."""
    with engine.connect() as conn, conn.begin():
        _same_facts(conn, _funnel(conn, config), sim)
        conn.rollback()


def _pending(conn: Connection) -> int:
    return int(conn.execute(text(
        "SELECT (SELECT count(*) FROM lead_paths_dirty) + (SELECT count(*) FROM lead_paths_tail)"
    )).scalar_one())  # fmt: skip


def _check(engine: Engine, config: Path, sim: Sim, *, forgotten: bool = False) -> int:
    """What the sync left (a tail a fold is worth, or no summary when it had to forget it)
    becomes, for the next reader, a summary with nothing pending, the rows of a rebuild, and facts
    equal to the facts SQL's; committed, as a report commits it. Returns what the sync left."""
    with engine.connect() as conn, conn.begin():
        funnel = _funnel(conn, config)
        left = _pending(conn)
        if forgotten:
            assert (stored_fingerprint(conn), left) == (None, 0)
        assert left <= paths.FOLD_AT_LEAST
        keep_paths(conn, funnel)
        assert stored_fingerprint(conn) == fingerprint(funnel)
        assert _pending(conn) == 0
        kept = _paths(conn)
        assert len(kept) > 100
        rebuild_paths(conn, funnel)
        pd.testing.assert_frame_equal(kept, _paths(conn))
        _same_facts(conn, funnel, sim)
    return left


def test_sync_keeps_the_path_summary(
    db_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
        assert _check(engine, config, sim) > 0  # it left its changes for the reader to fold
        sim.app.advance(days=2)  # one that finds more pending than a fold is worth: it forgets
        with monkeypatch.context() as patch:
            patch.setattr(paths, "FOLD_AT_LEAST", 0)
            patch.setattr(paths, "FOLD_SHARE", 0.0)
            run_sync(load_settings(config), clock=sim.now)
        _check(engine, config, sim, forgotten=True)
        run_sync(load_settings(config), repair=True, clock=sim.now)  # resync rewrites history too
        _check(engine, config, sim)

        sim.app.advance(days=1)  # the milestones change: the next reader rebuilds in full
        short = _config(sim, tmp_path / "short.toml", db_url, SHORT)
        run_sync(load_settings(short), clock=sim.now)
        _check(engine, short, sim)
