"""The Cohorts table and its companions on one small hand-built account (numbers worked out by hand).

As of 2022-09-26 (Moscow), 4 weeks: 05.09 (4 leads), 12.09 (2 leads), 19.09 (empty), 26.09 (1 lead,
partial). Managers: Анна (7) and Борис (8).

* 101 Анна: Новая → Целевой 06.09 → Квалификация 07.09 → КП 08.09 → won 09.09 (price 100): 4 days
* 102 Анна: Новая → Целевой 06.09 → lost 07.09 (Дорого)
* 103 Борис: Новая → Целевой 07.09 → Квалификация 08.09
* 104 Борис: Новая, never moved
* 111 Анна: created 12.09 10:00, won directly 22.09 10:00 (price 300): 10 days, three stages imputed
* 112 Борис: Новая → lost 13.09 (Не отвечает)
* 121 Анна: created 26.09 09:00, Новая
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import Engine

from cohort_service.app.report import ReportRequest, build_cohort_report
from cohort_service.cohorts.model import CohortReport
from tests.cohorts.conftest import cohort
from tests.cohorts.rows import MILESTONES, Account
from tests.conftest import make_settings

NAN = float("nan")


@pytest.fixture(scope="module")
def report(module_db: str, module_engine: Engine) -> CohortReport:
    """Built once for the module: the tests only read it."""
    acct = Account(module_engine.connect().execution_options(isolation_level="AUTOCOMMIT")).reference()
    acct.lead(101, "2022-09-05 10:00", [("2022-09-06 10:00", "Целевой"), ("2022-09-07 10:00", "Квалификация"),
                                        ("2022-09-08 10:00", "КП отправлено"), ("2022-09-09 10:00", "won")],
              price=100)  # fmt: skip
    acct.lead(102, "2022-09-05 10:00", [("2022-09-06 10:00", "Целевой"), ("2022-09-07 10:00", "lost")],
              loss_reason=31)  # fmt: skip
    acct.lead(103, "2022-09-05 10:00", [("2022-09-07 10:00", "Целевой"),
                                        ("2022-09-08 10:00", "Квалификация")], user=8)  # fmt: skip
    acct.lead(104, "2022-09-05 10:00", user=8)
    acct.lead(111, "2022-09-12 10:00", [("2022-09-22 10:00", "won")], price=300)
    acct.lead(112, "2022-09-12 10:00", [("2022-09-13 10:00", "lost")], user=8, loss_reason=32)
    acct.lead(121, "2022-09-26 09:00")
    acct.sync_run("2022-09-26 06:00")
    acct.conn.close()
    settings = make_settings(module_db, report={"timezone": "Europe/Moscow", "milestones": MILESTONES,
                                                "age_days": [7, 14]})  # fmt: skip
    request = ReportRequest(as_of=date(2022, 9, 26), weeks=4)
    return build_cohort_report(settings, request, engine=module_engine)


def same(actual: object, expected: object) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, float):
        return isinstance(actual, float) and math.isclose(actual, expected, rel_tol=1e-12)
    return bool(actual == expected)


def check(row: dict[str, object], expected: dict[str, object]) -> None:
    wrong = {k: (row[k], v) for k, v in expected.items() if not same(row[k], v)}
    assert wrong == {}


def test_a_full_cohort(report: CohortReport) -> None:
    check(cohort(report, "2022-09-05"), {
        "cohort": "05.09–11.09.2022", "partial": False, "leads": 4,
        "target": 4 - 1, "target %": 3 / 4, "target % of leads": 3 / 4,
        "qualified": 2, "qualified %": 2 / 3, "qualified % of leads": 2 / 4,
        "proposal": 1, "proposal %": 1 / 2, "paid": 1, "paid %": 1.0, "lead→paid %": 0.25,
        "Δ vs prev": NAN, "≤7d %": 0.25, "≤14d %": 0.25,
        "open": 2, "won": 1, "lost": 1, "revenue": 100.0, "avg check": 100.0,
        "median days to final": 4.0, "top loss reasons": "Дорого (1)",
    })  # fmt: skip


def test_delta_equal_age_and_imputed_cohort(report: CohortReport) -> None:
    check(cohort(report, "2022-09-12"), {
        "leads": 2, "target": 1, "target %": 0.5, "qualified": 1, "qualified %": 1.0, "proposal": 1,
        "paid": 1, "lead→paid %": 0.5, "Δ vs prev": 0.5 / 0.25 - 1,
        "≤7d %": 0.0,  # 10 days to won: a real zero, the cohort is old enough (12.09 + 14 days ≤ A)
        "≤14d %": NAN,  # 12.09 + 21 days is after A: too young to compare
        "revenue": 300.0, "median days to final": 10.0, "top loss reasons": "Не отвечает (1)",
    })  # fmt: skip


def test_empty_week_is_blank_not_zero(report: CohortReport) -> None:
    row = cohort(report, "2022-09-19")
    assert (row["cohort"], row["leads"], row["target"], row["won"], row["revenue"]) == (
        "19.09–25.09.2022",
        0,
        0,
        0,
        0.0,
    )
    blanks = ["target %", "qualified %", "paid %", "target % of leads", "lead→paid %", "Δ vs prev", "≤7d %"]
    for name in [*blanks, "avg check", "median days to final"]:
        assert math.isnan(row[name]), name
    assert row["top loss reasons"] is None


def test_cohort_without_conversions(report: CohortReport) -> None:
    """Nothing reached: 0 of 1 is a real 0%; steps after an empty step and Δ vs an empty week are blank."""
    check(cohort(report, "2022-09-26"), {
        "partial": True, "leads": 1, "target": 0, "target %": 0.0, "qualified %": NAN, "proposal %": NAN,
        "paid %": NAN, "lead→paid %": 0.0, "Δ vs prev": NAN, "≤7d %": NAN, "open": 1,
    })  # fmt: skip


def test_maturation_triangle(report: CohortReport) -> None:
    tri = report.maturation.set_index("cohort")[["week 0", "week 1", "week 2", "week 3"]]
    expected = [[0.25, 0.25, 0.25, NAN], [0.0, 0.5, NAN, NAN], [NAN] * 4, [NAN] * 4]
    rows = zip(tri.to_numpy().tolist(), expected, strict=True)
    assert [[same(a, e) for a, e in zip(row, exp, strict=True)] for row, exp in rows] == [[True] * 4] * 4


def test_timing(report: CohortReport) -> None:
    row = report.timing.iloc[0].to_dict()
    check(row, {"target median days": 1.0, "target p75 days": 1.5, "target p90 days": 1.8,
                "paid median days": 4.0, "paid p90 days": 4.0})  # fmt: skip
    assert math.isnan(report.timing.iloc[2]["target median days"])


def test_managers_slice(report: CohortReport) -> None:
    managers = report.slices["manager"].set_index("manager")
    assert managers.index.tolist() == ["Анна", "Борис"]
    check(managers.loc["Анна"].to_dict(), {
        "leads": 4, "target": 3, "target %": 0.75, "qualified": 2, "qualified %": 2 / 3, "proposal": 2,
        "paid": 2, "lead→paid %": 0.5, "won": 2, "lost": 1, "revenue": 400.0, "avg check": 200.0,
        "median days to final": 7.0,
    })  # fmt: skip
    check(managers.loc["Борис"].to_dict(), {
        "leads": 3, "target": 1, "qualified": 1, "proposal": 0, "proposal %": 0.0, "paid": 0, "paid %": NAN,
        "lead→paid %": 0.0, "won": 0, "revenue": 0.0, "avg check": NAN, "median days to final": NAN,
    })  # fmt: skip
    assert report.slices["pipeline"]["pipeline"].tolist() == ["Воронка"]


def test_loss_reasons_quality_and_freshness(report: CohortReport) -> None:
    reasons = report.loss_reasons
    assert reasons.to_dict("list") == {"loss reason": ["Дорого", "Не отвечает"], "lost": [1, 1],
                                       "share of lost": [0.5, 0.5]}  # fmt: skip
    q = report.quality
    assert (q.leads, q.no_history, q.unknown_initial, q.unknown_status, q.orphan_leads) == (7, 2, 0, 0, 0)
    assert q.imputed == {"target": 1, "qualified": 1, "proposal": 1, "paid": 0}
    assert report.last_sync is not None
    assert report.last_sync.isoformat() == "2022-09-26T03:00:00+00:00"
    assert report.partial_week == date(2022, 9, 26)


def test_leads_table_reproduces_the_cohorts(report: CohortReport) -> None:
    """SUM of a milestone column by cohort_week in any pivot equals the Cohorts sheet."""
    leads = report.leads_table()
    sums = leads.groupby("cohort_week")[["target", "qualified", "proposal", "paid"]].sum()
    cohorts = report.cohorts.set_index("cohort_week")
    for name in ["target", "qualified", "proposal", "paid"]:
        assert sums[name].reindex(cohorts.index, fill_value=0).tolist() == cohorts[name].tolist()
    assert leads["lead_id"].tolist() == [101, 102, 103, 104, 111, 112, 121]
    assert leads.columns.tolist()[:7] == ["lead_id", "cohort_week", "created_at", "pipeline", "status",
                                          "status pipeline", "manager"]  # fmt: skip
    assert leads["paid at"].tolist()[0] == pd.Timestamp("2022-09-09 10:00")


def test_sunday_as_of_makes_a_complete_last_week(acct: Account, run: Callable[..., CohortReport]) -> None:
    acct.lead(1, "2022-09-19 10:00", [("2022-09-20 10:00", "won")])
    report = run(date(2022, 9, 25), weeks=2, age_days=[7])
    assert report.cohorts["partial"].tolist() == [False, False]
    assert report.maturation["week 0"].tolist()[1] == 1.0  # the week ended with A
