"""Fault drill: a real sync against a misbehaving amoCRM stand-in, with the figures that matter.

The simulator (in this process) counts requests at arrival at 7 requests/s behind network latency
and random jitter, answers a share of requests 502, and throws 429 bursts at us now and then (as
another program on the same IP would). The sync runs as the real CLI in child processes: the first
full pull is SIGKILLed at random moments and rerun until it completes, then an incremental sync
after the account moved on, then a no-change sync. Printed per phase: requests, 429s (the
injected bursts apart from any our own pacing earned), retried answers, the achieved ratio to the
limit, and whether the database equals the simulator's truth.

Run: python bench/drill.py [--leads 1500] [--kills 3] [--jitter-ms 60] [--latency-ms 100]
                           [--error-rate 0.05] [--burst-every 45] [--seed 9]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embedded_pg import embedded_postgres, migrated_database

from cohort_service.simulator import FaultConfig, Limits, SimulatorApp, generate_account, serve
from tests.sync.harness import Sim, mismatches

LIMIT = 7.0


@dataclass
class Phase:
    name: str
    requests: int
    over_limit_429: int
    injected_429: int
    retried: int
    seconds: float
    runs: int
    truth: list[str]
    last_rps: float
    last_requests: int
    pace: float

    def lines(self) -> list[str]:
        verdict = "yes" if not self.truth else "NO: " + "; ".join(self.truth)
        return [
            f"{self.name}: {self.runs} run(s), {self.requests} requests in {self.seconds:.1f} s "
            "(process starts included)",
            f"  429s earned by our pace: {self.over_limit_429} (target 0); injected 429s answered: "
            f"{self.injected_429}; answers retried (429/5xx/dropped): {self.retried}",
            f"  the completed run: {self.last_requests} requests, achieved / limit = "
            f"{self.last_rps / LIMIT:.3f}, pace at its end {self.pace:g}/s",
            f"  DB = truth: {verdict}",
        ]


class Burster:
    """Every ``every_s`` seconds the next 3 requests are answered 429, whatever our pace."""

    def __init__(self, app: SimulatorApp, every_s: float) -> None:
        self.app, self.every_s = app, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while self.every_s > 0 and not self._stop.wait(self.every_s):
            self.app.script("rate_limit", times=3)

    def __enter__(self) -> Burster:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _sync(config: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHORT_")}
    cmd = [sys.executable, "-m", "cohort_service", "--config", str(config), "--quiet", "sync"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)


def _phase(name: str, sim: Sim, engine: Engine, config: Path, kills: list[int]) -> Phase:
    log = sim.app.log
    before = len(log.records())
    started = time.monotonic()
    runs = 0
    for after in kills:  # killed runs first (SIGKILL once it made that many requests), then one to completion
        proc = _sync(config)
        runs += 1
        target = sim.app.requests_seen + after
        while proc.poll() is None and sim.app.requests_seen < target:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = _sync(config)
    runs += 1
    _, err = proc.communicate(timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{name}: the last sync failed (exit {proc.returncode}): {err.decode()[-500:]}")
    seconds = time.monotonic() - started
    records = log.records()[before:]
    over_limit = sum(1 for r in records if r.fault == "rate_limited")
    injected = sum(1 for r in records if r.fault == "scripted_429")
    retried = sum(1 for r in records if r.status is None or r.status == 429 or r.status >= 500)
    with engine.connect() as conn:
        last = conn.execute(
            text("SELECT stats FROM sync_runs WHERE status = 'ok' ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    return Phase(
        name,
        last_rps=float(last["requests_per_second"]),
        last_requests=int(last["requests"]),
        pace=float(last["pace_rps"]),
        requests=len(records),
        over_limit_429=over_limit,
        injected_429=injected,
        retried=retried,
        seconds=seconds,
        runs=runs,
        truth=mismatches(engine, sim),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1500)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--jitter-ms", type=float, default=60)
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--burst-every", type=float, default=45, help="seconds between 429 bursts (0: none)")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with embedded_postgres("cohort-drill-") as (admin_url, root):
        db_url = migrated_database(admin_url, "drill")
        engine = create_engine(db_url, poolclass=NullPool)
        account = generate_account(seed=args.seed, leads=args.leads, weeks=26)
        weather = FaultConfig(
            seed=args.seed,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            error_rate=args.error_rate,
            error_statuses=(502,),
        )
        app = SimulatorApp(account, limits=Limits(rps=LIMIT, block_after_429s=None), faults=weather)
        print(
            f"[drill] {args.leads} leads; limit {LIMIT:g}/s counted at arrival; {args.latency_ms:g} ms latency "
            f"+ 0–{args.jitter_ms:g} ms jitter; {args.error_rate:.0%} 502s; 3 × 429 every "
            f"{args.burst_every:g} s; {args.kills} kills in the first sync"
        )
        with serve(app) as url:
            sim = Sim(app, url, app.issue_token())
            config = sim.config_file(
                root / "config.toml",
                db_url,
                requests_per_second=LIMIT,
                max_in_flight=4,
                backoff_factor_s=1.0,
                max_delay_s=30,
            )
            with Burster(app, args.burst_every):
                kills = [rng.randint(5, 40) for _ in range(args.kills)]
                phases = [_phase("first sync (killed and rerun)", sim, engine, config, kills)]
                app.advance(days=3)
                phases.append(_phase("incremental sync after 3 days", sim, engine, config, []))
                phases.append(_phase("no-change sync", sim, engine, config, []))
        for phase in phases:
            for line in phase.lines():
                print(line)
        engine.dispose()


if __name__ == "__main__":
    main()
