"""One report run: settings → database → (lock) facts → (no lock) tables → files.

The database lock is held only while the facts are read, so a long workbook or CSV write never
blocks the next sync. ``build_cohort_report`` is what ``report``, ``send`` and ``demo`` share;
``run_report`` adds the files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from cohort_service.app.zone import report_timezone
from cohort_service.cohorts.attention_segments import attention_rules, resolve_targets
from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.dimensions import resolve_dimensions
from cohort_service.cohorts.facts import FactsRequest, events_only_leads, orphan_leads
from cohort_service.cohorts.flags import FlagRules
from cohort_service.cohorts.forecast import ForecastSettings
from cohort_service.cohorts.labels import label_facts
from cohort_service.cohorts.milestones import resolve_funnel
from cohort_service.cohorts.model import CohortReport, build_report
from cohort_service.cohorts.paths import compute_facts_from_paths
from cohort_service.cohorts.plan import MonthPlan
from cohort_service.cohorts.store import TABLE as BI_TABLE
from cohort_service.cohorts.store import claim_bi_table, describe_bi_table
from cohort_service.cohorts.weeks import monday, report_weeks, resolve_as_of
from cohort_service.config import Settings
from cohort_service.errors import DatabaseError, first_line
from cohort_service.export.csv_dialect import DialectChoice, DialectDecision, choose_dialect
from cohort_service.spend.store import read_spend

if TYPE_CHECKING:
    from cohort_service.export.transitions import HistorySpool

LOCK_PURPOSE = "report"


@dataclass(frozen=True)
class ReportRun:
    report: CohortReport
    files: list[Path] = field(default_factory=list)
    csv_dialect: DialectDecision | None = None  # when CSV files were written: which dialect and why

    def lines(self) -> list[str]:
        """What the CLI prints: the moment, the size, the files (and how the CSV files are spelled)."""
        r = self.report
        leads = int(r.cohorts["leads"].sum())
        head = (
            f"cohorts as of {r.as_of:%d.%m.%Y %H:%M} ({r.timezone}): {len(r.weeks)} weeks from "
            f"{r.weeks[0]:%d.%m.%Y}, {leads} leads"
        )
        out = [head, *(f"note: {n}" for n in r.notes), *(f"warning: {w}" for w in r.quality.warnings())]
        dialect = [self.csv_dialect.line()] if self.csv_dialect is not None else []
        return out + dialect + [f"wrote {path}" for path in self.files]


def _moment(as_of: date | datetime | None, tz: ZoneInfo, now: datetime | None) -> datetime:
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None:
            raise ValueError("as_of must be an aware datetime (or a date)")
        return as_of.astimezone(tz)
    return resolve_as_of(as_of, tz, now or datetime.now(UTC))


@dataclass(frozen=True)
class ReportRequest:
    """Which report to build. ``as_of``: the end of that local day (a date), that exact moment (an
    aware datetime), or ``now`` (None; ``now`` defaults to the wall clock). ``weeks`` defaults to
    ``report.weeks``. ``refresh_bi`` rewrites ``lead_facts`` for BI tools. ``lock_wait_s``: how
    long to queue behind a running sync for the run lock (0 = fail at once)."""

    as_of: date | datetime | None = None
    weeks: int | None = None
    now: datetime | None = None
    refresh_bi: bool = True
    lock_wait_s: float = 0.0


def build_cohort_report(
    settings: Settings, request: ReportRequest = ReportRequest(), *, engine: Engine | None = None
) -> CohortReport:
    """The report as of ``request.as_of``, read under the run lock in one transaction."""
    return _read_report(settings, request, engine, with_history=False)[0]


def _read_report(
    settings: Settings, request: ReportRequest, engine: Engine | None, *, with_history: bool
) -> tuple[CohortReport, HistorySpool | None]:
    """The report, and (``with_history``) the workbook's stage history of its leads copied to a
    temp file in the same transaction, so both describe the same data; the caller removes it."""
    from cohort_service.db.engine import get_engine
    from cohort_service.db.lock import run_lock
    from cohort_service.db.migrate import upgrade
    from cohort_service.export.transitions import spool_history

    engine = engine or get_engine(settings)
    spool: HistorySpool | None = None
    try:
        upgrade(engine)
        with (
            run_lock(engine, LOCK_PURPOSE, wait_s=request.lock_wait_s),
            engine.connect() as conn,
            conn.begin(),
        ):
            catalog = load_catalog(conn)
            timezone, notes = report_timezone(settings, catalog.account_timezone)
            funnel = resolve_funnel(settings.report, catalog, source=settings.source)
            dims = resolve_dimensions(settings.report, catalog, source=settings.source)
            moment = _moment(request.as_of, ZoneInfo(timezone), request.now)
            shown = report_weeks(moment, request.weeks or settings.report.weeks)
            facts_request = FactsRequest(moment, timezone, shown[0], funnel, dims)
            claimed = request.refresh_bi and claim_bi_table(conn)
            history = read_history(conn, facts_request, settings.report.forecast_history_weeks, claimed)
            facts = history.loc[history["cohort_week"] >= pd.Timestamp(shown[0])].reset_index(drop=True)
            if claimed:
                describe_bi_table(conn, facts_request)
            elif request.refresh_bi:
                notes.append("lead_facts (the copy for BI tools) was not refreshed: a reader held it")
            orphans = orphan_leads(conn, facts_request)
            from_events = events_only_leads(conn, facts)
            spend = read_spend(conn, shown[0], moment.date())
            if with_history:
                spool = spool_history(conn, facts["lead_id"].to_numpy(), facts_request)
    except SQLAlchemyError as exc:
        if spool is not None:
            spool.remove()
        raise DatabaseError(f"database: the report could not read its data ({first_line(exc)})") from exc
    names = [m.name for m in funnel.milestones]
    try:
        labelled = label_facts(facts, catalog, names)
        rules = settings.report
        report = build_report(
            labelled,
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
            spend=spend,
            spend_dimension=settings.spend.dimension,
            spend_aliases=settings.spend.aliases,
            attention_rules=attention_rules(rules),
            targets=resolve_targets(rules.targets, labelled, catalog, source=settings.source),
            plans=[MonthPlan(p.month, p.targets) for p in settings.plan],
            history=history,
            forecast=ForecastSettings(mature_after_days=rules.mature_after_days),
            flag_rules=FlagRules(min_leads=rules.anomaly_min_leads),
            flag_targets=[t for t in rules.targets if not t.where],  # segment targets: attention
        )
    except BaseException:
        if spool is not None:
            spool.remove()
        raise
    return report, spool


def read_history(conn: Connection, request: FactsRequest, weeks: int, into_bi: bool) -> pd.DataFrame:
    """The facts of the shown weeks and of the ``weeks`` before them (the forecast measures its
    conversion-time model there), in one pass; ``lead_facts`` keeps only the shown weeks.

    Read from the kept path summary (``lead_paths``), made current first in this transaction; the
    facts SQL over the raw history (``compute_facts``) stays as the reference the tests compare with."""
    start = min(request.first_week, monday(request.as_of.date()) - timedelta(weeks=weeks))
    table = BI_TABLE if into_bi else None
    history = compute_facts_from_paths(conn, replace(request, first_week=start), table)
    if into_bi and start < request.first_week:
        older = text(f"DELETE FROM {BI_TABLE} WHERE cohort_week < :first")
        conn.execute(older, {"first": request.first_week})
    return history


def run_report(
    settings: Settings,
    request: ReportRequest = ReportRequest(),
    *,
    csv_dir: Path | None = None,
    out: Path | None = None,
    engine: Engine | None = None,
    csv_dialect: DialectChoice | None = None,
    environ: Mapping[str, str] | None = None,
) -> ReportRun:
    """Build the report and write the requested files: CSV into ``csv_dir``, the workbook at ``out``.

    ``csv_dialect`` overrides ``report.csv_dialect`` (``report --csv-dialect``); ``auto`` decides by
    the report's time zone, then the locale in ``environ`` (default: this process's environment).

    The workbook's stage history is copied to a temp file under the lock, with the facts; the
    workbook itself is written after the lock is released.
    """
    from cohort_service.export.csv import write_csv
    from cohort_service.export.workbook import write_workbook

    report, history = _read_report(settings, request, engine, with_history=out is not None)
    environ = os.environ if environ is None else environ
    decision = None
    try:
        files: list[Path] = []
        if csv_dir is not None:
            choice, source = (
                (settings.report.csv_dialect, "report.csv_dialect") if csv_dialect is None
                else (csv_dialect, "--csv-dialect")
            )  # fmt: skip
            decision = choose_dialect(
                choice, report.timezone, os.environ if environ is None else environ, source
            )
            files += write_csv(report, csv_dir, decision.dialect)
        if out is not None:
            files.append(write_workbook(report, out, history=history, csv_dir=csv_dir).path)
    finally:
        if history is not None:
            history.remove()
    return ReportRun(report=report, files=files, csv_dialect=decision)
