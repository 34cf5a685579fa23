"""The forecast in the report: its Cohorts columns, the revenue forecast, the back-test, the model's
maturation curve — one step of :func:`cohort_service.cohorts.model.build_report` (pure).

Revenue forecast = the cohort's revenue at A + (``<final> forecast`` − ``<final>``) × the average
check of recent won leads: leads won at A whose final milestone was reached in the last 91 days
(all won leads of the history when fewer than 10 of those). A mature cohort's revenue forecast is
its revenue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.backtest import backtest_cells, backtest_summary
from cohort_service.cohorts.columns import (
    MATURE,
    REVENUE_FORECAST,
    forecast,
    forecast_high,
    forecast_low,
    share_forecast,
)
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.forecast import ForecastSettings, forecast_cohorts
from cohort_service.cohorts.lifetable import ConversionModel

RECENT_CHECK_DAYS = 91
MIN_RECENT_WON = 10
EXPECTED_ROW = "expected (model)"


@dataclass(frozen=True)
class ForecastView:
    """What the forecast step knows beyond the Cohorts columns (About, e-mail, Maturation)."""

    mature_days: float
    models: tuple[ConversionModel, ...]
    avg_check: float | None  # of recent won leads; None when nobody was won
    backtest: pd.DataFrame  # backtest.backtest_summary of the final milestone
    measured: bool = True  # False: mature_days is report.mature_after_days
    notes: tuple[str, ...] = field(default_factory=tuple)

    def expected_share(self, week: int, k: int | None = None) -> float:
        """The model's share of a cohort through milestone ``k`` (default final) by the end of
        week ``week`` after its cohort week: the mean over its leads' ages (7·week to 7·week + 7 days)."""
        model = self.models[(k or len(self.models)) - 1]
        ages = np.linspace(7.0 * week, 7.0 * week + 7.0, 29)
        return float(model.reached_share(ages).mean())


def recent_avg_check(history: pd.DataFrame, k: int, as_of: datetime) -> float | None:
    won = history.loc[history["won"].astype(bool)]
    if won.empty:
        return None
    since = pd.Timestamp(as_of - timedelta(days=RECENT_CHECK_DAYS)).tz_convert("UTC")
    recent = won.loc[won[at_col(k)] >= since]
    pool = recent if len(recent) >= MIN_RECENT_WON else won
    return float(pool["revenue"].astype("float64").mean())


def attach_forecast(
    cohorts: pd.DataFrame,
    history: pd.DataFrame,
    *,
    weeks: Sequence[date],
    milestones: Sequence[str],
    as_of: datetime,
    tz: ZoneInfo,
    settings: ForecastSettings | None = None,
) -> tuple[pd.DataFrame, ForecastView]:
    """``cohorts`` (rows = ``weeks``) with the forecast columns; the view for the other sheets."""
    s = settings or ForecastSettings()
    fc = forecast_cohorts(history, weeks=weeks, milestones=milestones, as_of=as_of, tz=tz, settings=s)
    out = cohorts.copy()
    table = fc.table.reset_index(drop=True)
    out[MATURE] = table[MATURE].to_numpy(dtype=bool)
    # Δ vs prev compares final results: only when the week (and so the older week before it) is mature.
    out[col.DELTA] = out[col.DELTA].where(out[MATURE])
    for name in milestones:
        for column in (forecast(name), forecast_low(name), forecast_high(name)):
            out[column] = table[column].to_numpy(dtype="float64")
    final = milestones[-1]
    out[share_forecast(final)] = table[share_forecast(final)].to_numpy(dtype="float64")
    k = len(milestones)
    check = recent_avg_check(history, k, as_of)
    to_come = out[forecast(final)] - out[final].astype("float64")
    if check is None:
        out[REVENUE_FORECAST] = out[col.REVENUE].astype("float64")
    else:
        out[REVENUE_FORECAST] = out[col.REVENUE].astype("float64") + to_come * check
    cells = backtest_cells(history, k=k, as_of=as_of, tz=tz, mature_days=fc.mature_days, settings=s)
    view = ForecastView(
        mature_days=fc.mature_days,
        models=fc.models,
        avg_check=check,
        backtest=backtest_summary(cells),
        measured=s.mature_after_days is None,
    )
    return out, view


def with_expected(maturation: pd.DataFrame, view: ForecastView) -> pd.DataFrame:
    """The triangle plus one last row: the model's expected share by the end of each week."""
    weeks = [c for c in maturation.columns if c not in {col.COHORT, col.COHORT_WEEK}]
    row: dict[str, object] = {col.COHORT: EXPECTED_ROW, col.COHORT_WEEK: pd.NaT}
    for i, name in enumerate(weeks):
        row[name] = view.expected_share(i)
    extra = pd.DataFrame([row], columns=maturation.columns)
    extra[col.COHORT_WEEK] = extra[col.COHORT_WEEK].astype(maturation[col.COHORT_WEEK].dtype)
    return pd.concat([maturation, extra], ignore_index=True)


def mature_label(view: ForecastView) -> str:
    how = "measured: 95 % of conversions by then" if view.measured else "report.mature_after_days"
    return f"{view.mature_days:.0f} days after a lead's creation ({how})"
