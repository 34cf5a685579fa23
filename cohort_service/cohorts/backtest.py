"""The forecast's own track record on this account, shown next to it (About sheet, e-mail footer).

For the last ``cohorts`` cohort weeks that are mature at A, and each lag L in ``lags`` (weeks), the
forecast is recomputed as it would have been made at A′ = the end of the Sunday L weeks after the
cohort's week — from :func:`lifetable.as_of_view` (history, A′), so nothing after A′ is seen (a
property test pins it) — and compared with what the cohort has reached at A. The *as-of reading*
(the count at A′ taken as final) is scored the same way. Errors are mean absolute percentage errors
over the cohorts with at least one conversion at A (a zero has no percentage error); *inside* is
the share of those whose count at A fell in the forecast's 80 % interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts.columns import forecast, forecast_high, forecast_low
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.forecast import ForecastSettings, forecast_cohorts
from cohort_service.cohorts.lifetable import as_of_view
from cohort_service.cohorts.weeks import is_mature, local_midnight

LAGS = (2, 4, 8)
BACKTEST_DRAWS = 500  # enough for a 10th/90th percentile; the back-test makes ~20 forecasts
COHORTS = 12
AFTER, N, FORECAST_ERR, NAIVE_ERR, INSIDE = (
    "weeks after",
    "cohorts",
    "forecast error",
    "as-of error",
    "inside 80%",
)
_ONE = "m"  # the one milestone of a back-test view


@dataclass(frozen=True)
class BacktestCell:
    week: date
    lag: int
    made_at: datetime
    at_made: float  # count reached at A′ (the as-of reading)
    forecast: float
    low: float
    high: float
    actual: float  # count reached at A


def made_at(week: date, lag: int, tz: ZoneInfo) -> datetime:
    """The end of the Sunday ``lag`` weeks after the cohort's week (local)."""
    return local_midnight(week + timedelta(days=7 * (1 + lag)), tz) - timedelta(microseconds=1)


def final_view(history: pd.DataFrame, k: int) -> pd.DataFrame:
    """Only what the back-test reads: creation, week, and milestone ``k`` renamed to the first."""
    return pd.DataFrame(
        {
            "created_at": history["created_at"],
            "cohort_week": history["cohort_week"],
            at_col(1): history[at_col(k)],
        }
    )


def backtest_cells(
    history: pd.DataFrame,
    *,
    k: int,
    as_of: datetime,
    tz: ZoneInfo,
    mature_days: float,
    settings: ForecastSettings | None = None,
    lags: Sequence[int] = LAGS,
    cohorts: int = COHORTS,
) -> list[BacktestCell]:
    """Every (cohort, lag) forecast of milestone ``k`` for the last ``cohorts`` weeks mature at A."""
    s = replace(settings or ForecastSettings(), draws=BACKTEST_DRAWS)
    view = final_view(history, k)
    at_a = as_of_view(view, as_of, 1)
    weeks = sorted({pd.Timestamp(w).date() for w in at_a["cohort_week"].unique()})
    mature = [w for w in weeks if is_mature(w, as_of, tz, mature_days)][-cohorts:]
    actual = at_a[at_col(1)].notna().groupby(at_a["cohort_week"]).sum()
    by_moment: dict[datetime, list[tuple[date, int]]] = defaultdict(list)
    for week in mature:
        for lag in lags:
            by_moment[made_at(week, lag, tz)].append((week, lag))
    cells = []
    for moment, pairs in sorted(by_moment.items()):
        past = as_of_view(view, moment, 1)
        if past.empty:
            continue
        fc = forecast_cohorts(
            past, weeks=[w for w, _ in pairs], milestones=[_ONE], as_of=moment, tz=tz, settings=s
        ).table
        seen = past[at_col(1)].notna().groupby(past["cohort_week"]).sum()
        for (week, lag), (_, row) in zip(pairs, fc.iterrows(), strict=True):
            key = pd.Timestamp(week)
            cells.append(
                BacktestCell(
                    week=week, lag=lag, made_at=moment, at_made=float(seen.get(key, 0)),
                    forecast=float(row[forecast(_ONE)]), low=float(row[forecast_low(_ONE)]),
                    high=float(row[forecast_high(_ONE)]), actual=float(actual.get(key, 0)),
                )
            )  # fmt: skip
    return cells


def backtest_summary(cells: Sequence[BacktestCell], lags: Sequence[int] = LAGS) -> pd.DataFrame:
    """One row per lag: cohorts scored, forecast MAPE, as-of reading MAPE, share inside the interval."""
    rows = []
    for lag in lags:
        scored = [c for c in cells if c.lag == lag and c.actual > 0]
        if not scored:
            rows.append({AFTER: lag, N: 0, FORECAST_ERR: np.nan, NAIVE_ERR: np.nan, INSIDE: np.nan})
            continue
        actual = np.array([c.actual for c in scored])
        rows.append(
            {
                AFTER: lag,
                N: len(scored),
                FORECAST_ERR: float(
                    np.mean(np.abs(np.array([c.forecast for c in scored]) - actual) / actual)
                ),
                NAIVE_ERR: float(np.mean(np.abs(np.array([c.at_made for c in scored]) - actual) / actual)),
                INSIDE: float(np.mean([c.low <= c.actual <= c.high for c in scored])),
            }
        )
    return pd.DataFrame(rows, columns=[AFTER, N, FORECAST_ERR, NAIVE_ERR, INSIDE])


def backtest_sentence(summary: pd.DataFrame, lag: int = 4) -> str | None:
    """``forecasts at 4 weeks were off by 11 % on the last 12 mature cohorts; the as-of reading by 33 %``."""
    row = summary.loc[summary[AFTER] == lag]
    if row.empty or int(row[N].iloc[0]) == 0:
        return None
    r = row.iloc[0]
    return (
        f"forecasts at {lag} weeks were off by {r[FORECAST_ERR] * 100:.0f} % on the last {int(r[N])} mature"
        f" cohorts; the as-of reading by {r[NAIVE_ERR] * 100:.0f} %"
    )
