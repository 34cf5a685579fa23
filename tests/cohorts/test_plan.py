"""Plan vs fact for a month, worked by hand (docs/metrics.md "Plan").

As of the end of 10.12.2026 in Moscow: 10 of December's 31 days have passed. Five December leads
(one more lead on 30.11 belongs to November), the fair-reading forecast per cohort week given by hand.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from cohort_service.cohorts.plan import MonthPlan, month_elapsed, plan_table
from tests.cohorts.test_money import _facts

TZ = ZoneInfo("Europe/Moscow")
AS_OF = datetime.combine(date(2026, 12, 10), time.max, tzinfo=TZ)
ELAPSED = 10 / 31
FACTS = _facts(
    [
        ("2026-11-30 10:00", "a", None, None, 0.0),
        ("2026-12-01 10:00", "a", "2026-12-02 10:00", "2026-12-03 10:00", 1000.0),
        ("2026-12-02 10:00", "a", "2026-12-03 10:00", None, 0.0),
        ("2026-12-03 10:00", "a", None, None, 0.0),
        ("2026-12-08 10:00", "a", "2026-12-09 10:00", None, 0.0),
        ("2026-12-09 10:00", "a", None, None, 0.0),
    ]
)
COHORTS = pd.DataFrame(
    {
        "cohort_week": pd.to_datetime(["2026-11-30", "2026-12-07"]).astype("datetime64[us]"),
        "leads": [4, 2],
        "qualified": [2, 1],
        "paid": [1, 0],
        "qualified forecast": [3.0, 1.6],
        "paid forecast": [1.5, 0.4],
    }
)
SPEND = pd.DataFrame(
    {
        "day": pd.date_range("2026-11-30", "2026-12-10", freq="D").astype("datetime64[us]"),
        "source": "a",
        "cost": [999.0] + [100.0] * 10,
    }
)
PLANS = [
    MonthPlan("2026-12", {"leads": 20, "qualified": 12, "paid": 6, "revenue": 6000, "spend": 3000}),
    MonthPlan("2027-01", {"leads": 25}),
    MonthPlan("2026-11", {"leads": 25}),
]


def _table(cohorts: pd.DataFrame = COHORTS) -> tuple[pd.DataFrame, list[str]]:
    return plan_table(
        PLANS,
        FACTS,
        cohorts,
        SPEND,
        milestones=["qualified", "paid"],
        as_of=AS_OF,
        tz=TZ,
        first_week=date(2026, 11, 30),
    )


def test_month_elapsed() -> None:
    assert month_elapsed(PLANS[0], AS_OF, TZ) == pytest.approx(ELAPSED)
    assert month_elapsed(PLANS[1], AS_OF, TZ) == 0.0
    assert month_elapsed(PLANS[2], AS_OF, TZ) == 1.0


def test_plan_fact_and_forecast_by_hand() -> None:
    table, notes = _table()
    assert notes == [
        "plan for 2026-11 not shown: the report's weeks begin 30.11.2026, after the month began"
        " (raise --weeks / report.weeks to cover it)"
    ]
    assert table["month"].unique().tolist() == ["2026-12"]  # January has not begun
    rows = table.set_index("metric")
    assert rows["plan"].tolist() == [20.0, 12.0, 6.0, 6000.0, 3000.0]
    assert rows["fact to date"].tolist() == [5.0, 3.0, 1.0, 1000.0, 1000.0]
    leads_forecast = 5 / ELAPSED  # 15.5: five leads in ten days, carried to 31
    # qualified: 3 reached; week 30.11 has 3 of its 4 leads in December and 1 more expected (3 − 2)
    # → 0.75; week 07.12: 1.6 − 1 = 0.6; the 10.5 leads still to come convert at 4.35 / 5.
    qualified = 4.35 + (leads_forecast - 5) * 4.35 / 5
    paid = 1.775 + (leads_forecast - 5) * 1.775 / 5  # 1 + (1.5 − 1)·3/4 + 0.4
    revenue = 1000 + (paid - 1) * 1000  # average check of the won leads: 1000
    expected = [leads_forecast, qualified, paid, revenue, 1000 / ELAPSED]
    assert rows["forecast at month end"].tolist() == pytest.approx(expected, rel=1e-6)
    assert rows["forecast % of plan"].tolist() == pytest.approx(
        [f / p for f, p in zip(expected, [20, 12, 6, 6000, 3000], strict=True)], rel=1e-6
    )
    assert rows["month elapsed %"].tolist() == pytest.approx([ELAPSED] * 5)


def test_without_the_forecast_milestones_and_revenue_are_blank_not_zero() -> None:
    table, _notes = _table(COHORTS.drop(columns=["qualified forecast", "paid forecast"]))
    rows = table.set_index("metric")["forecast at month end"]
    assert np.isnan(rows["qualified"])
    assert np.isnan(rows["paid"])
    assert np.isnan(rows["revenue"])
    assert rows["leads"] == pytest.approx(15.5)
