"""Kill drill and concurrency: a sync killed at random moments, or two started together,
never leaves a state the next run cannot complete to the truth."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from cohort_service.simulator.faults import FaultConfig
from tests.sync.harness import Sim, mismatches, simulated


def _sync_cmd(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cohort_service", "--config", str(config), "--quiet", "sync", *extra]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COHORT_")}


def _duplicates(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT (SELECT count(*) - count(DISTINCT event_id) FROM lead_status_changes)"
                    " + (SELECT count(*) - count(DISTINCT id) FROM leads)"
                )
            ).scalar_one()
        )


def _kill_after_requests(sim: Sim, proc: subprocess.Popen[bytes], count: int) -> bool:
    """SIGKILL the sync once the simulator has answered ``count`` more of its requests."""
    target = sim.app.requests_seen + count
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if sim.app.requests_seen >= target:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.005)
    proc.wait()
    return False


def test_kill_drill(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """Ten SIGKILLs at random points (full pull, event windows, incremental runs); after each,
    a rerun completes and the database equals the truth with nothing duplicated."""
    rng = random.Random(20261122)
    with simulated(seed=41, leads=500, weeks=10, faults=FaultConfig(latency_ms=15, seed=1)) as sim:
        config = sim.config_file(tmp_path / "config.toml", db_url, max_in_flight=3)
        killed_at = []
        for drill in range(10):
            expected = 40 if drill == 0 else 8  # requests a whole run needs (first full, then incremental)
            if drill:
                sim.app.advance(days=1.5)
            proc = subprocess.Popen(
                _sync_cmd(config), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            point = rng.randint(1, expected - 1)
            if _kill_after_requests(sim, proc, point):
                killed_at.append(point)
            rerun = subprocess.run(
                _sync_cmd(config), env=_env(), capture_output=True, text=True, timeout=180, check=False
            )
            assert rerun.returncode == 0, rerun.stderr
            assert mismatches(engine, sim) == [], f"after drill {drill} (killed after {point} requests)"
            assert _duplicates(engine) == 0
    assert len(killed_at) >= 10, f"runs finished before their kill point: {killed_at}"
    with engine.connect() as conn:
        statuses = {r[0] for r in conn.execute(text("SELECT DISTINCT status FROM sync_runs"))}
    assert "running" not in statuses  # killed runs are marked interrupted by the next one
    assert "interrupted" in statuses


def test_two_syncs_started_together(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """Without --wait the second run refuses with a clear message; with --wait both complete."""
    with simulated(seed=42, leads=300, weeks=8, faults=FaultConfig(latency_ms=20)) as sim:
        config = sim.config_file(tmp_path / "config.toml", db_url)
        procs = [
            subprocess.Popen(
                _sync_cmd(config), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=180), p.communicate()[1]) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 1], results
        refused = next(err for code, err in results if code == 1)
        assert "holds the database lock" in refused
        assert "Traceback" not in refused
        assert mismatches(engine, sim) == []

        sim.app.advance(days=1)
        procs = [subprocess.Popen(_sync_cmd(config, "--wait", "120"), env=_env()) for _ in range(2)]
        assert [p.wait(timeout=240) for p in procs] == [0, 0]
        assert mismatches(engine, sim) == []
        assert _duplicates(engine) == 0
