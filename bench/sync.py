"""Sync benchmark: figures as ratios against baselines measured in the same run.

1. Rate-limit use: a first sync against the simulator at 7 requests/s counted at arrival, with
   100 ms latency + 0–60 ms jitter, then with 30 ms jitter + 5 % 502s → achieved requests/s ÷
   limit (target ≥ 0.9) and 429s (target 0).
2. A no-change incremental sync → requests used (target ≤ 8).
3. Ingest with the rate limit off → rows/s of the whole sync beside a raw COPY of the same rows
   into the same Postgres.

Run: python bench/sync.py [--leads 3000] [--ingest-leads 20000]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedded_pg import embedded_postgres, migrated_database

from cohort_service.config import settings_from_mapping
from cohort_service.db.engine import dispose_all
from cohort_service.simulator import generate_account, truth
from cohort_service.sync.runner import run_sync


def _settings(base_url: str, token: str, db_url: str, **amocrm: Any) -> Any:
    section = {"base_url": base_url, "token": token, **amocrm}
    return settings_from_mapping({"amocrm": section, "database": {"url": db_url}}, source="bench", env={})


RATE_SCENARIOS = (
    ("100 ms latency + 0–60 ms jitter", ["--latency-ms", "100", "--jitter-ms", "60"]),
    ("30 ms jitter + 5 % 502s", ["--jitter-ms", "30", "--error-rate", "0.05"]),
)


def rate_limit_use(admin_url: str, leads: int) -> None:
    """A first and a no-change sync per scenario against the simulator in its own process (as a
    real server is), counting requests at arrival (after latency and jitter) in any sliding second
    at 7 requests/s, as amoCRM's gateway does. The client sees every 429 the server sends."""
    print(f"[rate limit] {leads} leads, 7 req/s limit counted at arrival, max_in_flight 4")
    for i, (name, weather) in enumerate(RATE_SCENARIOS):
        db_url = migrated_database(admin_url, f"bench_rate_{i}")
        with simulator_process(leads, 26, 3, rps=7, extra=weather) as (url, token):
            settings = _settings(url, token, db_url, requests_per_second=7, max_in_flight=4)
            full = run_sync(settings)
            quiet = run_sync(settings)
        print(f"  {name}:")
        print(
            f"    first sync: {full.requests} requests in {full.seconds:.1f} s = "
            f"{full.requests_per_second:.2f} req/s; achieved / limit = {full.requests_per_second / 7:.3f} "
            "(target ≥ 0.9)"
        )
        print(
            f"    429s: {full.rate_limited + quiet.rate_limited} (target 0); retries {full.retries}; "
            f"pace at the end {full.pace_rps}/s"
        )
        print(f"    no-change sync: {quiet.requests} requests (target ≤ 8)")


def _copy_baseline(admin_url: str, account: Any) -> tuple[int, float]:
    """Raw COPY of the same rows (leads, stage changes, lead events) into an empty schema."""
    db_url = migrated_database(admin_url, "bench_copy")
    engine = create_engine(db_url, poolclass=NullPool)
    rows = 0
    started = time.perf_counter()
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur:
            for table, columns, source in (
                ("leads", truth.LEAD_COLUMNS, truth.lead_rows(account)),
                ("lead_status_changes", truth.STATUS_CHANGE_COLUMNS, truth.status_change_rows(account)),
                ("lead_events", truth.LEAD_EVENT_COLUMNS, truth.lead_event_rows(account)),
            ):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in source:
                        copy.write_row(row)
                        rows += 1
        raw.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return rows, elapsed


@contextmanager
def simulator_process(
    leads: int, weeks: int, seed: int, *, rps: float = 0, extra: list[str] | None = None
) -> Iterator[tuple[str, str]]:
    """The simulator in its own process, so its JSON rendering does not share our GIL."""
    cmd = [sys.executable, "-m", "cohort_service", "simulator", "--port", "0", "--leads", str(leads),
           "--weeks", str(weeks), "--seed", str(seed), "--rps", str(rps), *(extra or [])]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split(": ", 1)[1].strip()
        token = proc.stdout.readline().split(": ", 1)[1].strip()
        yield url, token
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def ingest(admin_url: str, leads: int) -> None:
    weeks, seed = 52, 4
    account = generate_account(seed=seed, leads=leads, weeks=weeks)  # the same account, for COPY
    db_url = migrated_database(admin_url, "bench_ingest")
    with simulator_process(leads, weeks, seed) as (url, token):
        settings = _settings(url, token, db_url, requests_per_second=50, max_in_flight=4)
        from cohort_service.amocrm.client import build_client
        from cohort_service.amocrm.ratelimit import RateLimiter

        client = build_client(settings, limiter=RateLimiter(1e6))
        clock = lambda: datetime.fromtimestamp(account.now, UTC)  # noqa: E731
        summary = run_sync(settings, client=client, clock=clock)
        client.close()
    ours_rows = summary.leads_new + summary.status_changes_new + summary.lead_events_new
    copy_rows, copy_s = _copy_baseline(admin_url, account)
    ours_rate, copy_rate = ours_rows / summary.seconds, copy_rows / copy_s
    print(
        f"[ingest] {leads} leads, rate limit off ({summary.requests} requests over loopback HTTP, simulator in its own process)"
    )
    print(
        f"  sync (HTTP + JSON + upserts): {ours_rows} rows in {summary.seconds:.1f} s = {ours_rate:,.0f} rows/s"
    )
    print(f"  raw COPY of the same rows:    {copy_rows} rows in {copy_s:.1f} s = {copy_rate:,.0f} rows/s")
    print(f"  sync / COPY = {ours_rate / copy_rate:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--ingest-leads", type=int, default=20000)
    parser.add_argument("--only", choices=("rate", "ingest"), default=None)
    args = parser.parse_args()
    with embedded_postgres() as (admin_url, _root):
        try:
            if args.only in (None, "rate"):
                rate_limit_use(admin_url, args.leads)
            if args.only in (None, "ingest"):
                ingest(admin_url, args.ingest_leads)
        finally:
            dispose_all()


if __name__ == "__main__":
    main()
