"""From the cohort engine's ``CohortReport`` to the e-mail's headline, and the send's report step.

``build_report_outputs`` is the one function ``send`` and ``demo`` call to turn the database into a
workbook on disk plus the headline of the message.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from cohort_service.app.money_headline import money_lines, plan_lines
from cohort_service.cohorts import columns as col
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.weeks import local_midnight
from cohort_service.config import Settings
from cohort_service.delivery.anomalies import Offsets, flag_steps
from cohort_service.delivery.headline import Headline, HeadlineRow

HEADLINE_WEEKS = 6
ATTENTION_LINES = 5  # the attention list's top rows in the e-mail
REPORT_LOCK_WAIT_S = 900.0  # a running sync holds the lock; queue behind it rather than fail


def _value(cell: Any) -> float | None:
    """NaN and None are blank cells; everything else a float."""
    if cell is None:
        return None
    number = float(cell)
    return None if math.isnan(number) else number


def cohort_offsets(report: CohortReport) -> dict[date, Offsets]:
    """Per cohort week: seconds from the week's local Monday 00:00 to each milestone (inf if never)."""
    tz = ZoneInfo(report.timezone)
    facts = report.facts
    k = len(report.milestones)
    weeks = pd.to_datetime(facts["cohort_week"]).dt.date if len(facts) else pd.Series([], dtype=object)
    out: dict[date, Offsets] = {}
    for week in report.weeks:
        rows = facts.loc[(weeks == week).to_numpy()]
        start = pd.Timestamp(local_midnight(week, tz))
        matrix = np.full((len(rows), k), np.inf)
        for i in range(k):
            seconds = (rows[at_col(i + 1)] - start).dt.total_seconds().to_numpy(dtype="float64")
            matrix[:, i] = np.where(np.isnan(seconds), np.inf, seconds)
        out[week] = matrix
    return out


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
    """The last ``count`` cohorts, flagged against targets or their elders at the same age."""
    tz = ZoneInfo(report.timezone)
    rows = headline_rows(report, count)
    as_of = report.as_of.astimezone(UTC)  # in UTC: same-zone subtraction would be wall-clock time
    ages = [
        (row.week_start, row.steps, as_of - local_midnight(row.week_start, tz).astimezone(UTC))
        for row in rows
    ]
    flags = flag_steps(
        milestones=report.milestone_names,
        rows=[(week, steps, max(age, timedelta(0))) for week, steps, age in ages],
        cohorts=cohort_offsets(report),
        targets=[t for t in settings.report.targets if not t.where],  # segment targets: attention
        k=settings.report.anomaly_sigma,
    )
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
    )


def build_report_outputs(settings: Settings, engine: Engine, as_of: datetime, path: Path) -> Headline:
    """The report as of the exact moment ``as_of``, its workbook at ``path``, and the e-mail headline.

    The report reads under the run lock and writes the workbook after releasing it.
    """
    from cohort_service.app.report import ReportRequest, run_report

    request = ReportRequest(as_of=as_of, lock_wait_s=REPORT_LOCK_WAIT_S)
    run = run_report(settings, request, out=path, engine=engine)
    return headline_from_report(run.report, settings)
