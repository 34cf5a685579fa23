"""Back-test of the cohort forecast on generated funnels, the way the independent check reads it.

For each generated account (mid-year process change, small weekly counts) and each of three as-of
dates, the cohorts 1–8 weeks old are forecast from the data up to A only; the truth is what they
reached ``TRUTH_AFTER_DAYS`` later. Printed per contender and milestone: mean absolute percentage
error of the forecast and of the naive reading (count at A taken as final), their ratio, and the
share of truths inside the 80 % interval. Contenders: the life table at several window settings
and the textbook chain-ladder on weekly counts (volume-weighted age-to-age factors).

    python -m bench.forecast [--seeds 6]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts.columns import forecast, forecast_high, forecast_low
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.forecast import ForecastSettings, forecast_cohorts
from cohort_service.cohorts.lifetable import LifeTableSettings, as_of_view
from tests.helpers.funnel import START, FunnelSpec, generate

UTC = ZoneInfo("UTC")
AS_OF_WEEKS = (22, 30, 38)  # one before the process change (week 26), two after
TRUTH_AFTER_DAYS = 150
MILESTONES = ("qualified", "won")

Contender = Callable[[pd.DataFrame, list[datetime], datetime], pd.DataFrame]


def as_of_at(week: int) -> datetime:
    return START + timedelta(days=7 * week) - timedelta(microseconds=1)


def young_weeks(as_of: datetime) -> list[datetime]:
    """Complete cohort weeks 1–8 weeks old at A (the Monday of A's week is excluded: it is partial)."""
    this = START + timedelta(days=7 * ((as_of - START).days // 7))
    return [this - timedelta(days=7 * n) for n in range(8, 0, -1)]


def counts_at(facts: pd.DataFrame, weeks: list[datetime], moment: datetime, k: int) -> np.ndarray:
    view = as_of_view(facts, moment, len(MILESTONES))
    by_week = view[at_col(k)].notna().groupby(view["cohort_week"]).sum()
    return np.array([float(by_week.get(pd.Timestamp(w).tz_localize(None), 0)) for w in weeks])


def life_table(settings: ForecastSettings) -> Contender:
    def run(facts: pd.DataFrame, weeks: list[datetime], as_of: datetime) -> pd.DataFrame:
        view = as_of_view(facts, as_of, len(MILESTONES))
        fc = forecast_cohorts(
            view,
            weeks=[w.date() for w in weeks],
            milestones=MILESTONES,
            as_of=as_of,
            tz=UTC,
            settings=settings,
        )
        return fc.table

    return run


def chain_ladder(facts: pd.DataFrame, weeks: list[datetime], as_of: datetime) -> pd.DataFrame:
    """Volume-weighted age-to-age factors on weekly cumulative counts (by week of age), no interval."""
    view = as_of_view(facts, as_of, len(MILESTONES))
    out = pd.DataFrame({"cohort_week": [pd.Timestamp(w) for w in weeks]})
    all_weeks = sorted(view["cohort_week"].unique())
    for k, name in enumerate(MILESTONES, start=1):
        tri = {}
        for w in all_weeks:
            monday = pd.Timestamp(w).tz_localize("UTC")
            leads = view[view["cohort_week"] == w]
            ends = [monday + pd.Timedelta(days=7 * (j + 1)) for j in range(60)]
            tri[w] = [float((leads[at_col(k)] < e).sum()) for e in ends if e <= pd.Timestamp(as_of)]
        factors = []
        for j in range(59):
            num = sum(v[j + 1] for v in tri.values() if len(v) > j + 1)
            den = sum(v[j] for v in tri.values() if len(v) > j + 1)
            factors.append(num / den if den > 0 else 1.0)
        values = []
        for w in weeks:
            row = tri[pd.Timestamp(w).tz_localize(None)]
            current = row[-1] if row else 0.0
            values.append(current * float(np.prod(factors[len(row) - 1 :])) if row else current)
        out[forecast(name)] = values
        out[forecast_low(name)] = np.nan
        out[forecast_high(name)] = np.nan
    return out


def evaluate(contender: Contender, seeds: int, spec: FunnelSpec) -> pd.DataFrame:
    rows = []
    for seed in range(seeds):
        facts = generate(spec, seed)
        for week in AS_OF_WEEKS:
            as_of = as_of_at(week)
            weeks = young_weeks(as_of)
            table = contender(facts, weeks, as_of)
            for k, name in enumerate(MILESTONES, start=1):
                naive = counts_at(facts, weeks, as_of, k)
                truth = counts_at(facts, weeks, as_of + timedelta(days=TRUTH_AFTER_DAYS), k)
                ok = truth > 0
                fc = table[forecast(name)].to_numpy(dtype=float)
                lo, hi = (
                    table[forecast_low(name)].to_numpy(dtype=float),
                    table[forecast_high(name)].to_numpy(dtype=float),
                )
                rows.append(
                    {
                        "seed": seed,
                        "as_of_week": week,
                        "milestone": name,
                        "forecast_mape": float(np.mean(np.abs(fc - truth)[ok] / truth[ok])),
                        "naive_mape": float(np.mean(np.abs(naive - truth)[ok] / truth[ok])),
                        "coverage": float(np.mean(((lo <= truth) & (truth <= hi))[ok])),
                    }
                )
    return pd.DataFrame(rows)


def summary(results: pd.DataFrame) -> pd.DataFrame:
    g = results.groupby(["milestone", "as_of_week"])[["forecast_mape", "naive_mape", "coverage"]].mean()
    g["cut %"] = (1 - g["forecast_mape"] / g["naive_mape"]) * 100
    return g.round(3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--chain-ladder", action="store_true")
    args = parser.parse_args()
    spec = FunnelSpec()
    base = ForecastSettings(draws=1000)
    contenders: dict[str, Contender] = {"life table (default)": life_table(base)}
    for days, exposed in ((14, 200), (28, 50), (28, 800), (56, 200), (112, 200)):
        lt = replace(LifeTableSettings(), min_window_days=days, min_exposed=exposed)
        contenders[f"life table W≥{days}d, ≥{exposed} exposed"] = life_table(replace(base, lifetable=lt))
    if args.chain_ladder:
        contenders["chain-ladder"] = chain_ladder
    for name, contender in contenders.items():
        print(f"== {name}")
        print(summary(evaluate(contender, args.seeds, spec)).to_string())


if __name__ == "__main__":
    main()
