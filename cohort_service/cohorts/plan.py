"""Plan vs fact per month (``[[plan]]``): the month's fact to date, its forecast at month end, the pace.

Pure functions over the facts frame, the Cohorts table and the spend frame (docs/metrics.md "Plan").
A month's numbers are about **the month's leads** (the cohort view the whole report takes): `leads`
created in the month, `<m>` = how many of them reach milestone m, `revenue` = what the won ones
brought, `spend` = the spend of the month's days. The forecast at month end is

* leads, spend: the fact so far carried to the month's end at the month's own daily pace;
* a milestone: the fact plus what the month's open leads are expected to bring when mature (each
  cohort week's ``<m> forecast`` from the fair-reading forecast, in proportion to the week's leads that
  fall in the month), plus the leads still to come at the month's forecast conversion;
* revenue: the fact plus the final milestone's expected extra conversions × the average check of
  the report's won leads.

Blank when it cannot be said (no forecast columns; less than a day of the month elapsed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.build import ratio
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.money import lead_days
from cohort_service.cohorts.weeks import local_midnight

MONTH, METRIC, PLAN, FACT, FORECAST = "month", "metric", "plan", "fact to date", "forecast at month end"
OF_PLAN, ELAPSED = "forecast % of plan", "month elapsed %"
PLAN_COLUMNS = [MONTH, METRIC, PLAN, FACT, FORECAST, OF_PLAN, ELAPSED]
LEADS, REVENUE, SPEND = "leads", "revenue", "spend"
MIN_ELAPSED_DAYS = 1.0  # a pace read from less than a day of a month is noise


def forecast_col(milestone: str) -> str:
    """The fair-reading forecast's column in Cohorts: expected count of ``milestone`` when mature."""
    return f"{milestone} forecast"


@dataclass(frozen=True)
class MonthPlan:
    month: str  # "2026-12"
    targets: Mapping[str, float]  # leads, revenue, spend, milestone names → planned amount

    @property
    def first_day(self) -> date:
        year, month = (int(part) for part in self.month.split("-"))
        return date(year, month, 1)

    @property
    def next_first_day(self) -> date:
        first = self.first_day
        return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_elapsed(plan: MonthPlan, as_of: datetime, tz: ZoneInfo) -> float:
    """Share of the month's local time passed at A, in [0, 1]."""
    start, end = local_midnight(plan.first_day, tz), local_midnight(plan.next_first_day, tz)
    return float(min(max((as_of - start) / (end - start), 0.0), 1.0))


def _run_rate(fact: float, elapsed: float, days: float) -> float:
    if elapsed >= 1.0:
        return fact
    if elapsed * days < MIN_ELAPSED_DAYS:
        return float("nan")
    return fact / elapsed


def _milestone_forecast(
    month_facts: pd.DataFrame, cohorts: pd.DataFrame, k: int, name: str, extra_leads: float
) -> float:
    """Fact + expected conversions of the month's open leads + of the leads still to come."""
    if forecast_col(name) not in cohorts.columns or month_facts.empty:
        return float("nan")
    per_week = (
        pd.DataFrame({"n": 1, "reached": month_facts[at_col(k)].notna()}, index=month_facts.index)
        .groupby(month_facts["cohort_week"].astype("datetime64[us]"))
        .sum()
    )
    weeks = cohorts.set_index(pd.DatetimeIndex(cohorts[col.COHORT_WEEK]).as_unit("us"))
    week = weeks.reindex(per_week.index)
    open_share = per_week["n"] / week[col.LEADS].where(week[col.LEADS] > 0)
    to_come = (week[forecast_col(name)] - week[name]).clip(lower=0.0) * open_share
    if to_come.isna().any():
        return float("nan")
    expected = float(per_week["reached"].sum() + to_come.sum())
    rate = expected / len(month_facts)
    return expected + rate * max(extra_leads, 0.0)


def plan_table(
    plans: Sequence[MonthPlan],
    facts: pd.DataFrame,
    cohorts: pd.DataFrame,
    spend: pd.DataFrame | None,
    *,
    milestones: Sequence[str],
    as_of: datetime,
    tz: ZoneInfo,
    first_week: date,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per planned month × metric (months begun by A and inside the report's weeks), and notes."""
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    days = lead_days(facts, tz)
    won = facts["won"]
    avg_check = float(facts.loc[won, "revenue"].sum()) / int(won.sum()) if int(won.sum()) else float("nan")
    for plan in sorted(plans, key=lambda p: p.month):
        elapsed = month_elapsed(plan, as_of, tz)
        if elapsed <= 0.0:
            continue
        if plan.first_day < first_week:
            notes.append(
                f"plan for {plan.month} not shown: the report's weeks begin {first_week:%d.%m.%Y},"
                " after the month began (raise --weeks / report.weeks to cover it)"
            )
            continue
        n_days = (plan.next_first_day - plan.first_day).days
        in_month = (days >= pd.Timestamp(plan.first_day)) & (days < pd.Timestamp(plan.next_first_day))
        month_facts = facts.loc[in_month]
        leads_fact = float(len(month_facts))
        leads_forecast = _run_rate(leads_fact, elapsed, n_days)
        extra = leads_forecast - leads_fact if not np.isnan(leads_forecast) else float("nan")
        values: dict[str, tuple[float, float]] = {LEADS: (leads_fact, leads_forecast)}
        final_fact = float("nan")
        final_forecast = float("nan")
        for k, name in enumerate(milestones, start=1):
            fact = float(month_facts[at_col(k)].notna().sum())
            forecast = _milestone_forecast(month_facts, cohorts, k, name, extra)
            values[name] = (fact, forecast)
            final_fact, final_forecast = fact, forecast
        revenue_fact = float(month_facts.loc[month_facts["won"], "revenue"].sum())
        values[REVENUE] = (revenue_fact, revenue_fact + (final_forecast - final_fact) * avg_check)
        if spend is not None and not spend.empty:
            start, end = pd.Timestamp(plan.first_day), pd.Timestamp(plan.next_first_day)
            month_spend = (spend["day"] >= start) & (spend["day"] < end)
            spend_fact = float(spend.loc[month_spend, "cost"].sum())
            values[SPEND] = (spend_fact, _run_rate(spend_fact, elapsed, n_days))
        for metric, target in plan.targets.items():
            fact, forecast = values.get(metric, (float("nan"), float("nan")))
            rows.append(
                {MONTH: plan.month, METRIC: metric, PLAN: float(target), FACT: fact, FORECAST: forecast,
                 ELAPSED: elapsed}
            )  # fmt: skip
    table = pd.DataFrame(rows, columns=[MONTH, METRIC, PLAN, FACT, FORECAST, ELAPSED])
    table[OF_PLAN] = ratio(table[FORECAST], table[PLAN])
    return table[PLAN_COLUMNS], notes
