"""From the cohort engine's ``CohortReport`` to the e-mail's headline, and the send's report step.

``build_report_outputs`` is the one function ``send`` and ``demo`` call to turn the database into a
workbook on disk plus the headline of the message.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from cohort_service.app.money_headline import money_lines, plan_lines
from cohort_service.app.send import ReportOutputs
from cohort_service.app.summary import forecast_check, summary_lines
from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.config import Settings
from cohort_service.delivery.anomalies import Flag
from cohort_service.delivery.attachment import light_note
from cohort_service.delivery.headline import Headline, HeadlineRow

HEADLINE_WEEKS = 6
ATTENTION_LINES = 5  # the attention list's top rows in the e-mail


def _value(cell: Any) -> float | None:
    """NaN and None are blank cells; everything else a float."""
    if cell is None:
        return None
    number = float(cell)
    return None if math.isnan(number) else number


def headline_rows(report: CohortReport, count: int = HEADLINE_WEEKS) -> list[HeadlineRow]:
    names = report.milestone_names
    final = col.lead_to_final(report.final_name)
    rows = []
    for record in report.cohorts.tail(count).to_dict("records"):
        rows.append(
            HeadlineRow(
                week_start=pd.Timestamp(record[col.COHORT_WEEK]).date(),
                label=str(record[col.COHORT]),
                leads=int(record[col.LEADS]),
                steps=tuple(_value(record[col.step_pct(name)]) for name in names),
                final=_value(record[final]),
                delta=_value(record[col.DELTA]),
                equal_age=tuple(_value(record[col.equal_age(days)]) for days in report.age_days),
                partial=bool(record[col.PARTIAL]),
            )
        )
    return rows


def headline_from_report(
    report: CohortReport, settings: Settings, *, count: int = HEADLINE_WEEKS
) -> Headline:
    """The last ``count`` cohorts with the report's flags (same-age history or target), the
    three-line summary and the forecast check. ``settings`` is kept for callers; the rules were
    applied when the report was built."""
    del settings
    rows = headline_rows(report, count)
    shown = {row.week_start for row in rows}
    flags = {(f.week, f.milestone): Flag(f.direction, f.evidence) for f in report.flags if f.week in shown}
    return Headline(
        milestones=report.milestone_names,
        ages=report.age_days,
        rows=tuple(rows),
        as_of=report.as_of,
        timezone=report.timezone,
        last_sync=report.last_sync,
        warnings=(*report.notes, *report.quality.warnings()),
        flags=flags,
        money=money_lines(report),
        plan=plan_lines(report),
        attention=report.attention.top_lines(ATTENTION_LINES) if report.attention is not None else (),
        summary=summary_lines(report),
        forecast_check=forecast_check(report),
    )


def build_report_outputs(settings: Settings, engine: Engine, as_of: datetime, path: Path) -> ReportOutputs:
    """The report as of the exact moment ``as_of``, its workbook at ``path``, the e-mail headline,
    and a writer of the lighter workbook (no Transitions) from the same report, for a message
    over ``email.max_attachment_mb``.

    The report reads under the run lock and writes the workbook after releasing it.
    """
    from cohort_service.app.report import ReportRequest, run_report
    from cohort_service.export.workbook import write_workbook

    # a running sync holds the run lock: queue behind it (service.lock_wait) rather than fail
    request = ReportRequest(as_of=as_of, lock_wait_s=settings.service.lock_wait.total_seconds())
    run = run_report(settings, request, out=path, engine=engine)
    report = run.report

    def write_light(target: Path, since: date | None) -> Path | None:
        if since is not None and since <= report.weeks[0]:
            return None  # the cut keeps every week
        return write_workbook(report, target, omitted=light_note(path, since), leads_since=since).path

    return ReportOutputs(headline_from_report(report, settings), write_light)
