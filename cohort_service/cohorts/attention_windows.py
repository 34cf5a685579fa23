"""Which cohort weeks the attention list compares: the last mature ones and the last complete one.

A week is complete once its last local day has ended and mature once it has also been the mature
age old (``weeks.is_mature``, the forecast's rule), so "mature" means one thing in every table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.weeks import is_mature, week_label

LAST_WEEK = "last week"
MATURE_SHARE = 0.95  # mature age: the age by which this share of final conversions happened


@dataclass(frozen=True)
class Window:
    label: str  # "last week" or the cohort range
    weeks: tuple[date, ...]

    @property
    def span(self) -> str:
        first, last = self.weeks[0], self.weeks[-1]
        if first == last:
            return week_label(first)
        return f"{week_label(first).split('–')[0]}–{week_label(last).split('–')[1]}"

    def weeks_filter(self) -> str:
        if len(self.weeks) == 1:
            return f"cohort_week = {self.weeks[0]:%d.%m.%Y}"
        return f"cohort_week {self.weeks[0]:%d.%m.%Y} … {self.weeks[-1]:%d.%m.%Y}"


def mature_age_days(facts: pd.DataFrame, final: int) -> float | None:
    """The fallback when no mature age is given (the report gives the forecast's): days from creation
    by which ``MATURE_SHARE`` of the final conversions seen happened (None
    when nobody reached the final milestone). Measured on the report's own leads, so it is capped
    by how far back they go; that errs on the young side, which the window rule tolerates because
    segment and rest are always measured on the same weeks."""
    reached = facts[at_col(final)].notna()
    if not reached.any():
        return None
    days = (facts.loc[reached, at_col(final)] - facts.loc[reached, "created_at"]).dt.total_seconds() / 86400
    return float(math.ceil(float(np.quantile(days.to_numpy(dtype="float64"), MATURE_SHARE))))


def windows_for(
    weeks: Sequence[date], as_of: datetime, mature_days: float | None, count: int
) -> list[Window]:
    """The mature window (up to ``count`` weeks) and the last complete week, as of ``as_of`` (aware,
    in the report zone): complete is mature at age 0."""
    tz = as_of.tzinfo
    if tz is None:
        raise ValueError("as_of must be aware (in the report's time zone)")
    complete = [w for w in weeks if is_mature(w, as_of, tz, 0)]
    if not complete:
        return []
    age = 0 if mature_days is None else mature_days
    mature = tuple([w for w in complete if is_mature(w, as_of, tz, age)][-count:])
    out = [Window(Window("", mature).span, mature)] if mature else []
    return [*out, Window(LAST_WEEK, (complete[-1],))]
