"""The e-mail's money and plan lines, from the report (the headline model itself knows no report)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts import money as m
from cohort_service.cohorts import plan as p
from cohort_service.cohorts.model import CohortReport

TOP_SOURCES = 5
PLAN_MONTHS = 2


def amount(value: object) -> str:
    """``12 345`` (thin-space thousands, no decimals); ``–`` for a blank."""
    number = float(value) if isinstance(value, int | float) else math.nan
    return "–" if math.isnan(number) else f"{number:,.0f}".replace(",", "\u2009")


def _count(value: object) -> str:
    number = float(value) if isinstance(value, int | float) else math.nan
    return "–" if math.isnan(number) else f"{number:,.1f}".replace(",", "\u2009").removesuffix(".0")


def money_lines(report: CohortReport) -> tuple[str, ...]:
    """CPL and CAC of the last complete week, overall and for its biggest sources by spend."""
    if report.money is None:
        return ()
    complete = report.cohorts.loc[~report.cohorts[col.PARTIAL].astype(bool)]
    if complete.empty:
        return ()
    row = complete.iloc[-1]
    final = report.final_name
    line = (
        f"{row[col.COHORT]}: spend {amount(row[m.SPEND])}, {int(row[col.LEADS])} leads,"
        f" CPL {amount(row[m.CPL])}, CAC {amount(row[m.CAC])} ({int(row[final])} {final} so far)"
    )
    if m.CAC_FORECAST in row.index:
        line += f", CAC forecast {amount(row[m.CAC_FORECAST])}"
    lines = [line]
    channels = report.money.channels
    week = channels.loc[channels[col.COHORT_WEEK] == pd.Timestamp(row[col.COHORT_WEEK])]
    biggest = week.sort_values(m.SPEND, ascending=False, na_position="last").head(TOP_SOURCES)
    lines += [_source_line(r) for r in biggest.to_dict("records")]
    return tuple(lines)


def _source_line(r: Mapping[Hashable, object]) -> str:
    leads = r[col.LEADS]
    shown = "–" if not isinstance(leads, int | float) or math.isnan(float(leads)) else str(int(leads))
    return (
        f"{r[m.SOURCE]}: spend {amount(r[m.SPEND])}, {shown} leads, CPL {amount(r[m.CPL])},"
        f" CAC {amount(r[m.CAC])}"
    )


def plan_lines(report: CohortReport) -> tuple[str, ...]:
    """Each planned metric of the latest months: fact, plan, forecast at month end and its % of plan."""
    if report.plan is None or report.plan.empty:
        return ()
    months = sorted(report.plan[p.MONTH].unique())[-PLAN_MONTHS:]
    lines = []
    for row in report.plan.loc[report.plan[p.MONTH].isin(months)].to_dict("records"):
        share = row[p.OF_PLAN]
        pace = "–" if pd.isna(share) else f"{share * 100:.0f}% of plan"
        lines.append(
            f"{row[p.MONTH]} {row[p.METRIC]}: {_count(row[p.FACT])} of {_count(row[p.PLAN])} planned"
            f" ({row[p.ELAPSED] * 100:.0f}% of the month gone); forecast at month end"
            f" {_count(row[p.FORECAST])} ({pace})"
        )
    return tuple(lines)
