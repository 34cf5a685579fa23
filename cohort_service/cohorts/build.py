"""The Cohorts table: pure functions over the facts frame (no I/O).

Blanks are ``NaN`` and mean "no answer" (a share of zero leads, a cohort too young, a Δ against a
0% week); a real zero share is ``0.0``. Counts are plain integers, shares are fractions (0.42 = 42%).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.weeks import local_midnight, monday, week_label
from cohort_service.schema.cohorts import cohort_header

SECONDS_PER_DAY = 86400.0
TOP_REASONS = 3


def days_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    """Elapsed days as a float (NaN where ``later`` is NaT)."""
    seconds: pd.Series = (later - earlier).dt.total_seconds()
    return seconds / SECONDS_PER_DAY


def ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as float, blank (NaN) where the denominator is 0 or blank."""
    num = numerator.astype("float64")
    den = denominator.astype("float64")
    return (num / den.where(den > 0)).astype("float64")


def ended_by(moment: datetime, as_of: datetime) -> bool:
    """A period ending (exclusive) at ``moment`` is over by A; A is inclusive to its last microsecond."""
    return moment <= as_of + timedelta(microseconds=1)


def week_index(weeks: Sequence[date]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(w) for w in weeks], name=col.COHORT_WEEK).as_unit("us")


def counts(facts: pd.DataFrame, weeks: Sequence[date], k: int) -> pd.DataFrame:
    """Per week: leads, reached per milestone, open/won/lost, revenue; every week present (0 when empty)."""
    frame = pd.DataFrame(
        {
            col.LEADS: 1,
            **{f"r{i}": facts[at_col(i)].notna() for i in range(1, k + 1)},
            col.WON: facts["won"],
            col.LOST: facts["lost"],
            col.REVENUE: facts["revenue"].where(facts["won"], 0.0),
            "cohort_week": facts["cohort_week"],
        }
    )
    summed = frame.groupby("cohort_week").sum()
    summed = summed.reindex(week_index(weeks), fill_value=0)
    ints = [col.LEADS, col.WON, col.LOST, *(f"r{i}" for i in range(1, k + 1))]
    summed[ints] = summed[ints].astype("int64")
    summed[col.OPEN] = summed[col.LEADS] - summed[col.WON] - summed[col.LOST]
    summed[col.REVENUE] = summed[col.REVENUE].astype("float64")
    return summed


def delta(shares: pd.Series) -> pd.Series:
    """Relative change against the row 7 days earlier; blank when that row is absent or had 0%."""
    prev = shares.copy()
    prev.index = prev.index + pd.Timedelta(days=7)
    prev = prev.reindex(shares.index)
    return (shares / prev.where(prev > 0) - 1).astype("float64")


def equal_age(
    facts: pd.DataFrame, weeks: Sequence[date], *, k: int, days: int, as_of: datetime, tz: ZoneInfo
) -> pd.Series:
    """Share of the cohort that reached the final milestone within ``days`` of creation.

    Blank for a cohort younger than ``days`` + 7 at A (its last leads have not had ``days`` yet).
    """
    within = (facts[at_col(k)] - facts["created_at"]) <= pd.Timedelta(days=days)
    hits = within.groupby(facts["cohort_week"]).sum().reindex(week_index(weeks), fill_value=0)
    leads = facts.groupby("cohort_week").size().reindex(week_index(weeks), fill_value=0)
    share = ratio(hits, leads)
    mature = [ended_by(local_midnight(w, tz) + timedelta(days=days + 7), as_of) for w in weeks]
    return share.where(np.array(mature, dtype=bool))


def median_days(facts: pd.DataFrame, weeks: Sequence[date], column: str) -> pd.Series:
    days = days_between(facts[column], facts["created_at"])
    medians: pd.Series = days.groupby(facts["cohort_week"]).median().reindex(week_index(weeks))
    return medians.astype("float64")


def top_loss_reasons(facts: pd.DataFrame, weeks: Sequence[date], n: int = TOP_REASONS) -> pd.Series:
    """``Дорого (5), Не отвечает (3)``: the most frequent reasons among the cohort's lost leads."""
    lost = facts.loc[facts["lost"], ["cohort_week", col.LOSS_REASON]]
    texts: dict[pd.Timestamp, str] = {}
    for week, group in lost.groupby("cohort_week"):
        top = group[col.LOSS_REASON].value_counts().head(n)
        texts[pd.Timestamp(week)] = ", ".join(f"{name} ({count})" for name, count in top.items())  # type: ignore[arg-type]
    index = week_index(weeks)
    return pd.Series([texts.get(w) for w in index], index=index, dtype=object)


def cohort_table(
    facts: pd.DataFrame,
    *,
    weeks: Sequence[date],
    milestones: Sequence[str],
    ages: Sequence[int],
    as_of: datetime,
    tz: ZoneInfo,
) -> pd.DataFrame:
    """One row per Monday week (oldest first), the columns :mod:`cohort_service.schema.cohorts` says
    this step fills, in declared order."""
    k = len(milestones)
    c = counts(facts, weeks, k)
    out = pd.DataFrame(index=c.index)
    out[col.COHORT] = [week_label(w) for w in weeks]
    out[col.COHORT_WEEK] = c.index
    last = monday(as_of.date())
    out[col.PARTIAL] = [
        w == last and not ended_by(local_midnight(w, tz) + timedelta(days=7), as_of) for w in weeks
    ]
    out[col.LEADS] = c[col.LEADS]
    previous = c[col.LEADS]
    for i, name in enumerate(milestones, start=1):
        out[name] = c[f"r{i}"]
        out[col.step_pct(name)] = ratio(c[f"r{i}"], previous)
        out[col.of_leads_pct(name)] = ratio(c[f"r{i}"], c[col.LEADS])
        previous = c[f"r{i}"]
    final = col.lead_to_final(milestones[-1])
    out[final] = ratio(c[f"r{k}"], c[col.LEADS])
    out[col.DELTA] = delta(out[final])
    for days in ages:
        out[col.equal_age(days)] = equal_age(facts, weeks, k=k, days=days, as_of=as_of, tz=tz)
        out[col.delta_at(days)] = delta(out[col.equal_age(days)])
    out[col.OPEN] = c[col.OPEN]
    out[col.WON] = c[col.WON]
    out[col.LOST] = c[col.LOST]
    out[col.REVENUE] = c[col.REVENUE]
    out[col.AVG_CHECK] = ratio(c[col.REVENUE], c[col.WON])
    out[col.MEDIAN_DAYS_TO_FINAL] = median_days(facts, weeks, at_col(k))
    out[col.TOP_LOSS_REASONS] = top_loss_reasons(facts, weeks)
    return out.reset_index(drop=True)[cohort_header(milestones, ages, step="counts")]


def timing_table(facts: pd.DataFrame, *, weeks: Sequence[date], milestones: Sequence[str]) -> pd.DataFrame:
    """Median / p75 / p90 days from creation to each milestone, among the cohort's leads that reached it."""
    out = pd.DataFrame({col.COHORT: [week_label(w) for w in weeks], col.COHORT_WEEK: week_index(weeks)})
    for i, name in enumerate(milestones, start=1):
        days = days_between(facts[at_col(i)], facts["created_at"]).groupby(facts["cohort_week"])
        for stat, q in (("median", 0.5), ("p75", 0.75), ("p90", 0.9)):
            values = days.quantile(q).reindex(week_index(weeks)).astype("float64")
            out[col.timing(name, stat)] = values.to_numpy()
    return out
