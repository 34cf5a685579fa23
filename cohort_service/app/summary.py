"""The three lines the Monday e-mail opens with, and its forecast-check footer (pure, from the report).

1. The last complete week: leads, and its lead→final conversion against what earlier weeks had at
   the same age (the same-age prediction interval of :mod:`cohort_service.cohorts.sameage`), left
   out under ``report.anomaly_min_leads`` leads.
2. The young (not yet mature) weeks: expected final conversions and revenue when mature, with an
   80 % range for the total — a normal approximation that adds the weeks' variances (each week's
   range read as ±1.28σ), so it ignores that the weeks share one model and is a little narrow.
3. How many flags, and the top two by strength of evidence (targets first).
"""

from __future__ import annotations

import math

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.backtest import backtest_sentence
from cohort_service.cohorts.flags import TARGET
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.sameage import final_counts, same_age_test, week_offsets
from cohort_service.cohorts.weeks import local_midnight

Z80 = 1.2816  # the 90th percentile of the normal: an 80 % range is ±1.28σ
COMPARABLES = 8
TOP_FLAGS = 2


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def _money(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def last_week_line(report: CohortReport) -> str | None:
    """Leads and lead→final of the last complete week, and how that compares with earlier weeks
    at the same age. Under ``report.anomaly_min_leads`` leads the comparison is left out: the
    range chance allows a week that small ("0.0 %–15.6 %") tells the reader nothing. Above it the
    line names the usual share and says whether this week is inside what chance allows."""
    complete = report.cohorts.loc[~report.cohorts[col.PARTIAL]]
    if complete.empty:
        return None
    row = complete.iloc[-1]
    week = pd.Timestamp(row[col.COHORT_WEEK]).date()
    final, leads = report.final_name, int(row[col.LEADS])
    line = f"Last complete week {row[col.COHORT]}: {leads} leads, {int(row[final])} reached {final}"
    if leads == 0:
        return line + "."
    line += f" ({_pct(int(row[final]) / leads)})"
    if leads < report.flag_min_leads:
        return (
            f"{line}; too few leads to compare with earlier weeks "
            f"(under {report.flag_min_leads}, chance alone moves a week that small too far)."
        )
    tz = local_midnight(week, report.as_of.tzinfo).tzinfo  # type: ignore[arg-type]
    offsets = week_offsets(report.facts, report.weeks, milestones=len(report.milestones), tz=tz)  # type: ignore[arg-type]
    age_s = (report.as_of - local_midnight(week, tz)).total_seconds()  # type: ignore[arg-type]
    earlier = [w for w in sorted(offsets) if w < week][-COMPARABLES:]
    verdict = same_age_test(
        *final_counts(offsets[week], age_s), [final_counts(offsets[w], age_s) for w in earlier]
    )
    if verdict is None:
        return line + "; too few earlier weeks to compare at this age."
    word = (
        "below usual"
        if verdict.share < verdict.low
        else "above usual"
        if verdict.share > verdict.high
        else "usual"
    )
    return (
        f"{line}: {word} — earlier weeks at the same age ({age_s / 86400:.0f} days, {verdict.cohorts} weeks) "
        f"had {_pct(verdict.expected)}; chance alone puts a week of {leads} leads anywhere in "
        f"{_pct(verdict.low)}–{_pct(verdict.high)}."
    )


def forecast_line(report: CohortReport) -> str | None:
    cohorts, final = report.cohorts, report.final_name
    if report.forecast is None or col.MATURE not in cohorts.columns:
        return None
    young = cohorts.loc[~cohorts[col.MATURE].astype(bool)]
    if young.empty:
        return "Every week shown is mature: its counts are final."
    expected = float(young[col.forecast(final)].sum())
    sd = math.sqrt(
        float((((young[col.forecast_high(final)] - young[col.forecast_low(final)]) / (2 * Z80)) ** 2).sum())
    )
    actual = float(young[final].sum())
    low, high = max(actual, expected - Z80 * sd), expected + Z80 * sd
    days = round(report.forecast.mature_days)
    # with no conversion time measured (0 days) only the week still running can be young
    why = f"not yet {days} days old" if days >= 1 else "the week still running"
    line = (
        f"Young weeks ({len(young)}, {why}): {final} expected "
        f"{expected:.0f} when mature (80 %: {low:.0f}–{high:.0f}; {actual:.0f} so far)"
    )
    if col.REVENUE_FORECAST in young.columns and report.forecast.avg_check is not None:
        line += f", revenue {_money(float(young[col.REVENUE_FORECAST].sum()))}"
    return line + "."


def flags_line(report: CohortReport) -> str:
    if not report.flags:
        return "No significant flags."
    ranked = sorted(
        report.flags, key=lambda f: (f.kind != TARGET, f.p_value if not math.isnan(f.p_value) else 0.0)
    )
    labels = dict(zip(report.cohorts[col.COHORT_WEEK].dt.date, report.cohorts[col.COHORT], strict=True))
    top = "; ".join(f"{labels[f.week]}: {f.evidence}" for f in ranked[:TOP_FLAGS])
    return f"{len(report.flags)} significant flag{'s' if len(report.flags) > 1 else ''} — {top}."


def summary_lines(report: CohortReport) -> tuple[str, ...]:
    lines = [last_week_line(report), forecast_line(report), flags_line(report)]
    return tuple(line for line in lines if line)


def forecast_check(report: CohortReport) -> str | None:
    """``Forecast check: forecasts at 4 weeks were off by 11 % on the last 12 mature cohorts; …``."""
    if report.forecast is None:
        return None
    sentence = backtest_sentence(report.forecast.backtest)
    return f"Forecast check: {sentence}." if sentence else None
