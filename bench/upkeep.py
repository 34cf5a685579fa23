"""Benchmark: what keeping ``lead_paths`` adds to a real incremental sync's database time.

    python bench/upkeep.py [--leads 20000] [--days 7] [--rounds 4]

The product's own ``sync`` against the simulator (rate limit off, loopback HTTP): a first sync
and the first report build the summary, then each round moves the account ``--days`` forward (a
week, with its report, by default) and runs the same incremental sync on two copies of the
database (``CREATE DATABASE … TEMPLATE``), one with the summary's triggers off (``session_replication_role = replica``) and one as shipped, in alternating
order. A sync's database time is what Postgres counts as its sessions' active time
(``pg_stat_database.active_time``: every statement and commit, server side, so the client's HTTP
and JSON work is not in it); the upkeep is the difference, and directly the time inside the
trigger functions (``track_functions``) plus the sync's own keeper at its end (timed again on the
synced copy: the same check of the same pending work). What the sync leaves, the next reader
folds: that fold is timed too, per lead, on the same copy. ``bench/cohorts.py`` measures the same
on a synthetic million-lead database with uniformly random leads changing; this is the sync's real
mix of pages, leads, events and bookkeeping on an account shaped like amoCRM's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedded_pg import embedded_postgres, migrated_database

from cohort_service.amocrm.client import build_client
from cohort_service.amocrm.ratelimit import RateLimiter
from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.milestones import resolve_funnel
from cohort_service.cohorts.paths import keep_after_sync, keep_paths
from cohort_service.config import settings_from_mapping
from cohort_service.db.engine import dispose_all
from cohort_service.simulator import Limits, generate_account
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.server import serve
from cohort_service.sync.runner import run_sync

BASE = "bench_upkeep"
MILESTONES = [
    {"name": "qualified", "statuses": ["Квалификация"]},
    {"name": "negotiation", "statuses": ["Переговоры"]},
    {"name": "paid", "statuses": [142]},
]
MODES = {"off": "-c session_replication_role=replica", "on": "-c track_functions=pl"}


def _settings(base_url: str, token: str, db_url: str) -> Any:
    mapping = {
        "amocrm": {"base_url": base_url, "token": token, "requests_per_second": 50, "max_in_flight": 4},
        "database": {"url": db_url},
        "report": {"milestones": MILESTONES},
    }
    return settings_from_mapping(mapping, source="bench", env={})


def _sync(app: SimulatorApp, url: str, token: str, db_url: str, options: str | None) -> Any:
    """One sync of ``db_url``, every connection it opens started with ``options`` (libpq reads
    PGOPTIONS at connect); its connections are closed after, so their statistics are flushed."""
    before = os.environ.get("PGOPTIONS")
    if options:
        os.environ["PGOPTIONS"] = options
    try:
        settings = _settings(url, token, db_url)
        client = build_client(settings, limiter=RateLimiter(1e6))
        clock = lambda: datetime.fromtimestamp(app.account.now, UTC)  # noqa: E731
        summary = run_sync(settings, client=client, clock=clock)
        client.close()
    finally:
        dispose_all()
        if before is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = before
    return summary


def _active_ms(admin: Any, name: str) -> float:
    """Active time of database ``name``'s sessions so far, read from another database (so the read
    itself is not counted); a closed session's figures reach the view within a moment."""
    time.sleep(0.5)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(text("SELECT active_time FROM pg_stat_database WHERE datname = :n"), {"n": name})
        return float(value.scalar_one() or 0.0)


def _functions(db_url: str) -> tuple[float, int]:
    """Milliseconds inside the summary's trigger functions, and how many calls."""
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as conn:
        ms, calls = conn.execute(text(
            "SELECT coalesce(sum(total_time), 0), coalesce(sum(calls), 0) FROM pg_stat_user_functions"
            " WHERE funcname LIKE 'lead_paths%'"
        )).one()  # fmt: skip
    engine.dispose()
    return float(ms), int(calls)


def _keep_ms(url: str, token: str, db_url: str) -> tuple[float, float, int]:
    """On a synced copy: the sync's keeper at its end (timed again: the same check of the same
    pending work, rolled back), then a reader's fold of what it left: (keeper ms, fold ms, leads
    the fold wrote)."""
    engine = create_engine(db_url, poolclass=NullPool)
    settings = _settings(url, token, db_url)
    with engine.connect() as conn:
        funnel = resolve_funnel(settings.report, load_catalog(conn), source="bench")
        conn.commit()
        with conn.begin() as tx:
            start = time.perf_counter()
            keep_after_sync(conn)
            keeper_ms = 1000 * (time.perf_counter() - start)
            tx.rollback()
        with conn.begin():
            start = time.perf_counter()
            folded = keep_paths(conn, funnel)
            fold_ms = 1000 * (time.perf_counter() - start)
    engine.dispose()
    return keeper_ms, fold_ms, folded


def _copy(admin: Any, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{BASE}"'))


def _drop(admin: Any, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--days", type=float, default=7.0, help="account life between two syncs")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with embedded_postgres() as (admin_url, _root):
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        base_url = migrated_database(admin_url, BASE)
        app = SimulatorApp(
            generate_account(seed=11, leads=args.leads, weeks=args.weeks), limits=Limits(rps=None)
        )
        with serve(app) as url:
            token = app.issue_token()
            first = _sync(app, url, token, base_url, None)
            _keep_ms(url, token, base_url)  # the first report builds the summary
            print(
                f"first sync: {first.leads_new:,} leads, {first.status_changes_new:,} stage changes",
                flush=True,
            )
            shares, direct, per_lead, fold_per_lead = [], [], [], []
            for n in range(args.rounds):
                events = app.advance(days=args.days)
                active: dict[str, float] = {}
                in_functions, calls, changed, keeper_ms, fold_ms, folded = 0.0, 0, 0, 0.0, 0.0, 0
                for mode in sorted(MODES, reverse=n % 2 == 1):
                    name = f"{BASE}_{mode}"
                    _copy(admin, name)
                    db_url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
                    start = _active_ms(admin, name)
                    summary = _sync(app, url, token, db_url, MODES[mode])
                    active[mode] = _active_ms(admin, name) - start
                    if mode == "on":
                        in_functions, calls = _functions(db_url)
                        changed = summary.leads_new + summary.leads_changed
                        keeper_ms, fold_ms, folded = _keep_ms(url, token, db_url)
                    _drop(admin, name)
                _sync(app, url, token, base_url, None)  # the next round starts from this one's end,
                _keep_ms(url, token, base_url)  # after the week's report
                shares.append(active["on"] / active["off"] - 1)
                direct.append((in_functions + keeper_ms) / active["off"])
                fold_per_lead.append(fold_ms / max(folded, 1))
                per_lead.append(active["off"] / max(changed, 1))
                print(
                    f"  round {n + 1}: {events:,} account events, {changed:,} leads synced;"
                    f" database time {active['off']:,.0f} ms without upkeep, {active['on']:,.0f} ms with"
                    f" ({shares[-1]:+.1%}); inside the trigger functions {in_functions:,.1f} ms in {calls:,} calls,"
                    f" the keeper {keeper_ms:,.1f} ms ({direct[-1]:.1%}); the next reader's fold"
                    f" {fold_ms:,.0f} ms for {folded:,} leads",
                    flush=True,
                )
        admin.dispose()
    print(
        f"incremental sync of {args.days:g} days of account life ({args.leads:,} leads, median of"
        f" {args.rounds} rounds, {statistics.median(per_lead):.2f} ms of database time per synced lead):"
        f" the upkeep adds {statistics.median(shares):.1%} to the sync's database time (A/B), the trigger"
        f" functions' and the keeper's own time is {statistics.median(direct):.1%} of it (target ≤ 10 %);"
        f" the next reader folds what the sync left at {statistics.median(fold_per_lead):.3f} ms per lead"
    )


if __name__ == "__main__":
    main()
