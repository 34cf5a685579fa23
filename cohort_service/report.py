"""One report run: settings → database → (lock) facts → (no lock) tables → files.

The database lock is held only while the facts are read, so a long workbook or CSV write never
blocks the next sync. ``build_cohort_report`` is what ``report``, ``send`` and ``demo`` share;
``run_report`` adds the files.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from cohort_service.cohorts.catalog import Catalog, load_catalog
from cohort_service.cohorts.dimensions import resolve_dimensions
from cohort_service.cohorts.facts import FactsRequest, compute_facts, events_only_leads, orphan_leads
from cohort_service.cohorts.labels import label_facts
from cohort_service.cohorts.milestones import resolve_funnel
from cohort_service.cohorts.model import CohortReport, build_report
from cohort_service.cohorts.store import TABLE as BI_TABLE
from cohort_service.cohorts.store import claim_bi_table, describe_bi_table
from cohort_service.cohorts.weeks import report_weeks, resolve_as_of
from cohort_service.config import Settings
from cohort_service.errors import DatabaseError

LOCK_PURPOSE = "report"
AlsoRead = Callable[[Connection, FactsRequest, pd.DataFrame], None]


@dataclass(frozen=True)
class ReportRun:
    report: CohortReport
    files: list[Path] = field(default_factory=list)

    def lines(self) -> list[str]:
        """What the CLI prints: the moment, the size, the files."""
        r = self.report
        leads = int(r.cohorts["leads"].sum())
        head = (
            f"cohorts as of {r.as_of:%d.%m.%Y %H:%M} ({r.timezone}): {len(r.weeks)} weeks from "
            f"{r.weeks[0]:%d.%m.%Y}, {leads} leads"
        )
        out = [head, *(f"note: {n}" for n in r.notes), *(f"warning: {w}" for w in r.quality.warnings())]
        return out + [f"wrote {path}" for path in self.files]


def report_timezone(settings: Settings, catalog: Catalog) -> tuple[str, list[str]]:
    """``report.timezone``, else the account's, else UTC (with a note saying so)."""
    if settings.report.timezone:
        return settings.report.timezone, []
    account = catalog.account_timezone
    if account:
        try:
            ZoneInfo(account)
        except (KeyError, ValueError):
            return "UTC", [f"the account's time zone {account!r} is unknown here; weeks use UTC"]
        return account, []
    return "UTC", ["the account is not synced yet and report.timezone is empty; weeks use UTC"]


def _moment(as_of: date | datetime | None, tz: ZoneInfo, now: datetime | None) -> datetime:
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            raise ValueError("as_of must be an aware datetime (or a date)")
        return as_of.astimezone(tz)
    return resolve_as_of(as_of, tz, now or datetime.now(UTC))


def build_cohort_report(
    settings: Settings,
    *,
    as_of: date | datetime | None = None,
    weeks: int | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
    store: bool = True,
    lock: bool = True,
    lock_wait_s: float = 0.0,
    also_read: AlsoRead | None = None,
) -> CohortReport:
    """The report as of A: the end of local day ``as_of`` (a date), the exact moment (an aware
    datetime), or ``now``. ``lock=False`` when the caller already holds the run lock (``send``);
    ``store`` refreshes ``lead_facts`` for BI tools. ``also_read(conn, request, facts)`` reads more
    in the same transaction and under the same lock (the workbook's stage history)."""
    from cohort_service.db.engine import get_engine
    from cohort_service.db.lock import run_lock
    from cohort_service.db.migrate import upgrade

    engine = engine or get_engine(settings)
    try:
        upgrade(engine)
        with (
            run_lock(engine, LOCK_PURPOSE, wait_s=lock_wait_s) if lock else nullcontext(),
            engine.connect() as conn,
            conn.begin(),
        ):
            catalog = load_catalog(conn)
            timezone, notes = report_timezone(settings, catalog)
            funnel = resolve_funnel(settings.report, catalog, source=settings.source)
            dims = resolve_dimensions(settings.report, catalog, source=settings.source)
            moment = _moment(as_of, ZoneInfo(timezone), now)
            shown = report_weeks(moment, weeks or settings.report.weeks)
            request = FactsRequest(moment, timezone, shown[0], funnel, dims)
            claimed = store and claim_bi_table(conn)
            facts = compute_facts(conn, request, BI_TABLE if claimed else None)
            if claimed:
                describe_bi_table(conn, request)
            elif store:
                notes.append("lead_facts (the copy for BI tools) was not refreshed: a reader held it")
            orphans = orphan_leads(conn, request)
            from_events = events_only_leads(conn, facts)
            if also_read is not None:
                also_read(conn, request, facts)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database: the report could not read its data ({_first_line(exc)})") from exc
    names = [m.name for m in funnel.milestones]
    return build_report(
        label_facts(facts, catalog, names),
        as_of=moment,
        timezone=timezone,
        weeks=shown,
        milestones=funnel.milestones,
        dimensions=dims,
        ages=settings.report.age_days,
        orphan_leads=orphans,
        events_only_leads=from_events,
        last_sync=catalog.last_sync,
        pipelines=[catalog.pipelines[p] for p in funnel.pipeline_ids or ()],
        notes=notes,
    )


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def run_report(
    settings: Settings,
    *,
    as_of: date | None = None,
    weeks: int | None = None,
    csv_dir: Path | None = None,
    out: Path | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
    lock_wait_s: float = 0.0,
) -> ReportRun:
    """Build the report and write the requested files: CSV into ``csv_dir``, the workbook at ``out``.

    The workbook's stage history is copied to a temp file under the lock, with the facts; the
    workbook itself is written after the lock is released.
    """
    from cohort_service.export.csv import write_csv
    from cohort_service.export.transitions import HistoryReader
    from cohort_service.export.workbook import write_workbook

    with HistoryReader() as history:
        report = build_cohort_report(
            settings, as_of=as_of, weeks=weeks, now=now, engine=engine, lock_wait_s=lock_wait_s,
            also_read=history if out is not None else None,
        )  # fmt: skip
        files: list[Path] = []
        if csv_dir is not None:
            files += write_csv(report, csv_dir)
        if out is not None:
            files.append(write_workbook(report, out, history=history.spool, csv_dir=csv_dir).path)
    return ReportRun(report=report, files=files)
