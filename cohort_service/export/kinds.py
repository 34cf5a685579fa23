"""What kind of number each engine column holds, so every sheet formats it the same way.

The names come from :mod:`cohort_service.cohorts.columns`; a column the engine adds later and this
map does not know yet is still written by its dtype (a number stays a number).
"""

from __future__ import annotations

import pandas as pd

from cohort_service.cohorts import columns as col
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
