"""What kind of number each engine column holds, so every sheet and CSV file formats it the same way.

The names come from :mod:`cohort_service.cohorts.columns`; a column the engine adds later and this
map does not know yet is still written by its dtype (a number stays a number).
"""

from __future__ import annotations

import pandas as pd

from cohort_service.cohorts import attention as att
from cohort_service.cohorts import columns as col
from cohort_service.cohorts import money as m
from cohort_service.cohorts import plan as p
from cohort_service.cohorts.attention_shape import LEADS, SHAPE, mark, rate, team_rate
from cohort_service.cohorts.model import CohortReport
from cohort_service.schema.cohorts import cohort_kinds
from cohort_service.schema.kinds import Kind

SHARE_OF_LOST = "share of lost"
TIMING_STATS = ("median", "p75", "p90")


def column_kinds(report: CohortReport) -> dict[str, Kind]:
    """The Cohorts table's declared kinds, plus those of the other small tables (timing, maturation,
    loss reasons) that reuse its names."""
    kinds = cohort_kinds(report.milestone_names, report.age_days)
    kinds |= {col.LOSS_REASON: "text", SHARE_OF_LOST: "pct"}
    for name in report.milestone_names:
        for stat in TIMING_STATS:
            kinds[col.timing(name, stat)] = "days"
    for week in range(len(report.weeks)):
        kinds[col.maturation_week(week)] = "pct"
    return kinds


ATTENTION_KINDS: dict[str, Kind] = {
    att.DIMENSION: "text", att.VALUE: "text", att.MILESTONE: "text", att.WINDOW: "text", att.BASE: "count",
    att.REACHED: "count", att.ACTUAL: "pct", att.EXPECTED: "pct", att.LOW: "pct", att.HIGH: "pct",
    att.DEALS: "days", att.MONEY: "money", att.KIND: "marker", att.EVIDENCE: "text", att.PIVOT_FILTER: "text",
}  # fmt: skip
PLAN_KINDS: dict[str, Kind] = {
    p.MONTH: "text", p.METRIC: "text", p.PLAN: "money", p.FACT: "money", p.FORECAST: "money",
    p.OF_PLAN: "pct", p.ELAPSED: "pct",
}  # fmt: skip


def money_kinds(report: CohortReport) -> dict[str, Kind]:
    """Channels: the Cohorts kinds (spend and the costs per step money, ROMI a relative change, as
    declared in :mod:`cohort_service.schema.cohorts`) and the source."""
    return column_kinds(report) | {m.SOURCE: "text"}


def shape_kinds(report: CohortReport, shapes: pd.DataFrame) -> list[Kind]:
    """Each manager's funnel shape: the lead count, step rates (theirs and the rest's), marks."""
    rates = {f(name) for name in report.milestone_names for f in (rate, team_rate)}
    marks = {SHAPE, *(mark(name) for name in report.milestone_names)}
    kinds: list[Kind] = []
    for name in map(str, shapes.columns):
        if name == LEADS:
            kinds.append("count")
        else:
            kinds.append("pct" if name in rates else "marker" if name in marks else "text")
    return kinds


def kinds_for(frame: pd.DataFrame, known: dict[str, Kind]) -> list[Kind]:
    return [known.get(str(name), _by_dtype(frame[name])) for name in frame.columns]


def _by_dtype(series: pd.Series) -> Kind:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return "count"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"
