"""The forecast inside the report: measured on weeks before the shown ones, written to cohorts.csv
and maturation.csv, while every table of leads (and ``lead_facts``) keeps only the shown weeks."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.outlook import EXPECTED_ROW
from cohort_service.export.csv import write_csv
from tests.cohorts.rows import Account

MILESTONES = [{"name": "целевой", "statuses": ["Целевой"]}, {"name": "оплачен", "statuses": [142]}]
# 40 leads of the week of 01.08 (8 weeks before A); 10 of them won exactly 20 days after creation.
# Shown weeks (weeks = 2): 19.09 with 4 open leads 7.6 days old at A, and the partial week 26.09.
#
# The life table of оплачен, worked by hand: the only conversions are in the age band [14, 21) days;
# the 28- and 56-day windows before A hold too little of that band, so it is read over all history:
# 10 conversions in 10 × 6 + 30 × 7 = 270 lead-days → 1/27 a day. Every other band: none.
# A lead of week 19.09 (7.6 days old) still has the whole band ahead: Λ = 7/27, so each converts with
# 1 − exp(−7/27); the week's forecast is 4 × that. The cohorts differ no more than luck (O = E for
# the week of 01.08, O = E = 0 for the others): no frailty.
P_LATE = 1 - math.exp(-7 / 27)


def fill(acct: Account) -> None:
    for i in range(40):
        path = [("2022-08-21 10:00", "won")] if i < 10 else []
        acct.lead(100 + i, "2022-08-01 10:00", path)
    for i in range(4):
        acct.lead(200 + i, "2022-09-19 10:00")


@pytest.mark.usefixtures("filled")
def test_young_week_forecast_from_older_weeks(
    run: Callable[..., CohortReport], engine: Engine, tmp_path: Path
) -> None:
    report = run(date(2022, 9, 26), weeks=2, milestones=MILESTONES)
    cohorts = report.cohorts
    assert cohorts["оплачен"].tolist() == [0, 0]
    assert cohorts["оплачен forecast"].tolist() == pytest.approx([4 * P_LATE, 0.0])
    assert cohorts["целевой forecast"].tolist() == pytest.approx([4 * P_LATE, 0.0])  # won reaches it too
    assert cohorts["lead→оплачен % forecast"].iloc[0] == pytest.approx(P_LATE)
    assert cohorts["оплачен forecast low"].tolist() == [0.0, 0.0]
    assert cohorts["оплачен forecast high"].iloc[0] >= 1
    assert cohorts["mature"].tolist() == [False, False]
    assert report.forecast is not None
    assert 20 <= report.forecast.mature_days <= 21  # 95 % of the band's conversions: day 14 + 6.6
    # Tables of leads hold exactly the shown weeks; so does the BI copy.
    assert sorted(report.facts["lead_id"]) == [200, 201, 202, 203]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lead_facts")).scalar_one() == 4

    out = tmp_path / "csv"
    write_csv(report, out)
    csv = pd.read_csv(out / "cohorts.csv", encoding="utf-8-sig")
    for name in (
        "оплачен forecast",
        "оплачен forecast low",
        "оплачен forecast high",
        "lead→оплачен % forecast",
    ):
        assert name in csv.columns
    assert csv["mature"].tolist() == [0, 0]
    maturation = pd.read_csv(out / "maturation.csv", encoding="utf-8-sig")
    expected = maturation.iloc[-1]
    assert expected["cohort"] == EXPECTED_ROW
    assert pd.isna(expected["cohort_week"])
    assert expected["week 0"] == 0.0  # no conversion before day 14 in the model
    assert expected["week 1"] == 0.0


@pytest.mark.usefixtures("filled")
def test_history_window_and_mature_override(run: Callable[..., CohortReport]) -> None:
    # Four weeks of history do not reach back to 01.08: nothing ever converted, nothing is expected.
    short = run(date(2022, 9, 26), weeks=2, milestones=MILESTONES, forecast_history_weeks=4)
    assert short.cohorts["оплачен forecast"].tolist() == [0.0, 0.0]
    # A mature age of 1 day: the week of 19.09 (ended 26.09 00:00, A is 23:59 that day) is mature,
    # so its forecast is its count and its interval has no width.
    mature = run(date(2022, 9, 26), weeks=2, milestones=MILESTONES, mature_after_days=1)
    assert mature.cohorts["mature"].tolist() == [False, False]  # 26.09 + 1 day > A
    later = run(date(2022, 9, 27), weeks=2, milestones=MILESTONES, mature_after_days=1)
    assert later.cohorts["mature"].tolist() == [True, False]
    row = later.cohorts.iloc[0]
    assert row["оплачен forecast"] == row["оплачен forecast low"] == row["оплачен forecast high"] == 0
    assert later.forecast is not None
    assert later.forecast.mature_days == 1
