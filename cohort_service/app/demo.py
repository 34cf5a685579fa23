"""``cohort-service demo``: the whole path in one command, with no account and no config.

An embedded Postgres under ``./.cohort-service`` and a simulated amoCRM account served on loopback
(the same HTTP client code that talks to a real account) → sync with progress → report → workbook,
then the headline table. The demo has its own database (``cohort_demo``), recreated on every run,
so it never mixes with a real account's data in the same directory.

The funnel is read off the simulated account: three stages at the thirds of each pipeline become
milestones (named as the main pipeline's stages; each lists its stage in every pipeline, so every
pipeline's funnel is measured, not only reached through won), and won (142) is the final one.
Under the table the demo says where the leads went between generated, synced and reported
(``app.demo_counts``). The simulator also writes the account's
ad spend export, which the demo imports, so every money column has numbers. The account carries the
simulator's planted weak spots (a manager who stalls between the second and third milestones from
a sixth of its history on, a source whose leads rarely reach the second), so the attention list has something
real to find.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cohort_service.app.demo_counts import DemoCounts, count_demo
from cohort_service.app.send import ReportBuilder, default_builder
from cohort_service.config import Settings, settings_from_mapping
from cohort_service.db.engine import embedded_url, get_engine
from cohort_service.db.migrate import upgrade
from cohort_service.delivery.headline import Headline
from cohort_service.simulator.snippet import funnel_of
from cohort_service.sync.runner import SyncSummary, run_sync
from cohort_service.ui import NULL_PROGRESS, ProgressSink

DEMO_DATABASE = "cohort_demo"
DEFAULT_LEADS = 20_000
DEFAULT_WEEKS = 26


@dataclass
class DemoResult:
    out: Path
    headline: Headline
    sync: SyncSummary
    seconds: dict[str, float]
    counts: DemoCounts
    weeks: int = DEFAULT_WEEKS

    def lines(self) -> list[str]:
        """What the CLI says under the table: where the leads went, the workbook, the times."""
        timings = ", ".join(f"{step} {secs:.1f} s" for step, secs in self.seconds.items())
        return [
            *self.counts.lines(weeks=self.weeks, pipelines_limited=False),
            f"workbook: {self.out.resolve()}",
            f"({timings})",
        ]


def demo_database(data_dir: Path) -> str:
    """A fresh ``cohort_demo`` database in the embedded server of ``data_dir``."""
    service_url = make_url(embedded_url(data_dir))
    admin = create_engine(service_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{DEMO_DATABASE}"'))
    finally:
        admin.dispose()
    return service_url.set(database=DEMO_DATABASE).render_as_string(hide_password=False)


def demo_settings(
    account: Any, *, base_url: str, token: str, db_url: str, data_dir: Path, weeks: int
) -> Settings:
    from cohort_service.simulator.spend import ALIASES as SPEND_ALIASES

    data = {
        "service": {"data_dir": str(data_dir)},
        "amocrm": {"base_url": base_url, "token": token, "requests_per_second": 50, "max_in_flight": 8},
        "database": {"url": db_url},
        "report": {
            "timezone": account.timezone,
            "weeks": weeks,
            "age_days": [7, 14, 30],
            "milestones": funnel_of(account),
            "dimensions": [
                {"name": "source", "field": "UTM_SOURCE"},
                {"name": "product", "field": "Продукт"},
            ],
        },
        # The simulated export names sources as the ad platforms do; the aliases map them to utm_source.
        "spend": {"dimension": "source", "aliases": dict(SPEND_ALIASES)},
    }
    return settings_from_mapping(data, source="<demo>", env={})


def run_demo(
    *,
    out: Path,
    leads: int = DEFAULT_LEADS,
    weeks: int = DEFAULT_WEEKS,
    seed: int = 1,
    data_dir: Path = Path(".cohort-service"),
    progress: ProgressSink = NULL_PROGRESS,
    builder: ReportBuilder | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> DemoResult:
    from cohort_service.simulator import Limits, SimulatorApp, serve
    from cohort_service.simulator.generate import live_account
    from cohort_service.simulator.spend import write_spend_csv
    from cohort_service.spend.importer import import_paths

    seconds: dict[str, float] = {}
    started = time.monotonic()
    now = datetime.now(UTC)
    say(f"generating a simulated amoCRM account: {leads:,} leads over {weeks} weeks…")
    account = live_account(seed=seed, leads=leads, weeks=weeks, end=now, plants=True)
    app = SimulatorApp(account, limits=Limits(rps=None))
    token = app.oauth.issue_long_lived()
    seconds["generate"] = time.monotonic() - started
    say(f"starting the embedded Postgres under {data_dir}/…")
    db_url = demo_database(data_dir)
    seconds["database"] = time.monotonic() - started - sum(seconds.values())
    with serve(app) as base_url:
        settings = demo_settings(
            account, base_url=base_url, token=token, db_url=db_url, data_dir=data_dir, weeks=weeks
        )
        upgrade(get_engine(settings))
        say(f"syncing from the simulator at {base_url} (the real amoCRM client, over HTTP)…")
        summary = run_sync(settings, progress=progress)
    seconds["sync"] = time.monotonic() - started - sum(seconds.values())
    spend_file = write_spend_csv(account, data_dir / "demo-spend.csv")
    say(f"importing the simulated ad spend ({spend_file.name}: per day, source and campaign)…")
    for result in import_paths(get_engine(settings), [spend_file]):
        if not result.ok:  # pragma: no cover - the simulator writes a valid file
            raise RuntimeError("; ".join(result.problems))
    seconds["spend"] = time.monotonic() - started - sum(seconds.values())
    say("building the cohort report and the workbook…")
    out.parent.mkdir(parents=True, exist_ok=True)
    build = builder or default_builder()
    headline = build(settings, get_engine(settings), now.astimezone(ZoneInfo(account.timezone)), out).headline
    with get_engine(settings).connect() as conn:
        counts = count_demo(conn, generated=len(account.leads))
    seconds["report"] = time.monotonic() - started - sum(seconds.values())
    seconds["total"] = time.monotonic() - started
    return DemoResult(out=out, headline=headline, sync=summary, seconds=seconds, counts=counts, weeks=weeks)
