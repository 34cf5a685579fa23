"""A spend file imported, then `report --csv`: the money columns, Channels and each lead's cost by hand.

Two weeks in Moscow, as of Sunday 02.10.2022 (both weeks complete); milestones qualified → paid;
leads from yandex, google and no source; spend with an alias (Яндекс.Директ → yandex), two
campaigns on one day, a source with no leads (vk) and a day after the report moment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Engine

from cohort_service.app.money_headline import amount
from cohort_service.app.outputs import headline_from_report
from cohort_service.app.report import ReportRequest, build_cohort_report
from cohort_service.config import load_settings
from cohort_service.delivery.headline import render_text
from tests.cohorts.rows import Account, account
from tests.conftest import CliResult
from tests.helpers.report_config import report_toml
from tests.helpers.soffice import requires_soffice, to_csv_sheets

CONFIG = (
    report_toml(
        [("qualified", ["Квалификация"]), ("paid", [142])],
        [("source", "UTM_SOURCE")],
        timezone="Europe/Moscow",
        weeks=2,
        age_days=[7],
    )
    + """
[spend]
dimension = "source"

[spend.aliases]
"Яндекс.Директ" = "yandex"

[[plan]]
month = "2022-10"
leads = 10
spend = 5000

[[plan]]
month = "2022-09"
leads = 10
"""
)
SPEND = """date;source;campaign;cost
19.09.2022;Яндекс.Директ;brand;1000,00
19.09.2022;Яндекс.Директ;generic;200,00
20.09.2022;Google;;300
22.09.2022;vk;;150
26.09.2022;yandex;;800
27.09.2022;google;;400
03.10.2022;yandex;;999
"""


def fill(acct: Account) -> None:
    qualified_then_won = [("2022-09-20 10:00", "Квалификация"), ("2022-09-21 10:00", "won")]
    acct.lead(1, "2022-09-19 10:00", qualified_then_won, price=10000, source="yandex")
    acct.lead(2, "2022-09-19 11:00", [("2022-09-20 10:00", "Квалификация")], source="yandex")
    acct.lead(3, "2022-09-20 10:00", source="google")
    acct.lead(4, "2022-09-21 10:00")
    acct.lead(
        5,
        "2022-09-26 00:30",  # 25.09 21:30 UTC: the Moscow day is the 26th, and so is its spend
        [("2022-09-27 10:00", "Квалификация"), ("2022-09-28 10:00", "won")],
        price=5000,
        source="yandex",
    )
    acct.lead(6, "2022-09-27 10:00", [("2022-09-28 10:00", "Квалификация")], source="google")


@pytest.fixture
def config(engine: Engine, tmp_path: Path, db_url: str, run_cli: Callable[..., CliResult]) -> Path:
    """The account filled and the spend file imported through the CLI."""
    acct = account(engine)
    fill(acct)
    acct.conn.close()
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    spend = tmp_path / "spend.csv"
    spend.write_text(SPEND, encoding="utf-8")
    imported = run_cli(
        "--config", str(config), "spend", "import", str(spend), env={"COHORT_DATABASE_URL": db_url}
    )
    assert imported.exit_code == 0, imported.stderr
    return config


@pytest.fixture
def csv_dir(config: Path, tmp_path: Path, db_url: str, run_cli: Callable[..., CliResult]) -> Path:
    env = {"COHORT_DATABASE_URL": db_url}
    out = tmp_path / "csv"
    result = run_cli("--config", str(config), "report", "--as-of", "2022-10-02", "--csv", str(out), env=env)
    assert result.exit_code == 0, result.stderr
    return out


def _read(path: Path) -> pd.DataFrame:
    """Europe/Moscow: ``report.csv_dialect = auto`` writes excel-ru."""
    return pd.read_csv(path, encoding="utf-8-sig", sep=";", decimal=",")


def test_cohorts_money_columns_by_hand(csv_dir: Path) -> None:
    cohorts = _read(csv_dir / "cohorts.csv")
    money = ["spend", "CPL", "cost per qualified", "cost per paid", "CAC", "CAC forecast", "ROMI"]
    assert cohorts.columns.tolist()[-len(money) :] == money
    # CAC forecast: the same spend over the paid the forecast expects when the week is mature
    assert cohorts["CAC forecast"].tolist() == pytest.approx(
        (cohorts["spend"] / cohorts["paid forecast"]).tolist()
    )
    assert (cohorts["paid forecast"] >= cohorts["paid"]).all()
    assert "revenue" in cohorts.columns
    assert cohorts["spend"].tolist() == [1650.0, 1200.0]  # vk's 150 counts; 03.10 is after the report
    assert cohorts["CPL"].tolist() == [412.5, 600.0]
    assert cohorts["cost per qualified"].tolist() == [825.0, 600.0]
    assert cohorts["cost per paid"].tolist() == [1650.0, 1200.0]
    assert cohorts["CAC"].tolist() == [1650.0, 1200.0]
    # 10000/1650 − 1 and 5000/1200 − 1: a share, 4 decimals in CSV
    assert cohorts["ROMI"].tolist() == [5.0606, 3.1667]


def test_channels_per_week_and_source(csv_dir: Path) -> None:
    channels = _read(csv_dir / "channels.csv")
    rows = [
        (r["cohort_week"], r["source"], r["leads"], r["spend"])
        for r in channels.to_dict("records")  # type: ignore[misc]
    ]
    assert [(w, s, n) for w, s, n, _ in rows] == [
        ("2022-09-19", "yandex", 2),
        ("2022-09-19", "google", 1),
        ("2022-09-19", "(blank)", 1),
        ("2022-09-19", "vk", 0),
        ("2022-09-26", "yandex", 1),
        ("2022-09-26", "google", 1),
    ]
    spend = [s for *_, s in rows]
    assert spend[:2] == [1200.0, 300.0]
    assert math.isnan(spend[2])
    assert spend[3:] == [150.0, 800.0, 400.0]
    yandex = channels.iloc[0]
    assert (yandex["CPL"], yandex["cost per qualified"], yandex["CAC"]) == (600.0, 600.0, 1200.0)
    assert yandex["ROMI"] == round(10000 / 1200 - 1, 4) == 7.3333  # a ratio: 4 decimals in CSV


def test_sum_of_lead_cost_is_the_spend_where_leads_exist(csv_dir: Path) -> None:
    leads = _read(csv_dir / "leads.csv")
    assert leads["cost"].tolist()[:3] == [600.0, 600.0, 300.0]
    assert math.isnan(leads["cost"].tolist()[3])
    assert leads["cost"].tolist()[4:] == [800.0, 400.0]
    assert leads["cost"].sum() == 1650.0 + 1200.0 - 150.0  # all of it but vk's, which had no lead
    by_source = leads.groupby("source")["cost"].sum().to_dict()
    channels = _read(csv_dir / "channels.csv")
    with_leads = channels[channels["leads"] > 0].dropna(subset=["spend"]).groupby("source")["spend"].sum()
    assert by_source == with_leads.to_dict() == {"google": 700.0, "yandex": 2000.0}


def test_plan_rows_for_the_month_begun(csv_dir: Path) -> None:
    """October has begun by A (two days of it) and has no lead yet; September began before the weeks shown."""
    plan = _read(csv_dir / "plan.csv")
    assert plan.columns.tolist() == [
        "month", "metric", "plan", "fact to date", "forecast at month end", "forecast % of plan",
        "month elapsed %",
    ]  # fmt: skip
    assert plan[["month", "metric", "plan", "fact to date"]].values.tolist() == [
        ["2022-10", "leads", 10.0, 0.0],
        ["2022-10", "spend", 5000.0, 0.0],  # the 999 of 03.10 is after the report moment
    ]
    assert plan["month elapsed %"].tolist() == [0.0645, 0.0645]  # 2/31, a share: 4 decimals in CSV


def test_email_headline_money_and_plan(config: Path, db_url: str, engine: Engine) -> None:
    """The last complete week's CPL and CAC, its sources by spend, and the month's plan lines."""
    settings = load_settings(config, env={"COHORT_DATABASE_URL": db_url})
    report = build_cohort_report(settings, ReportRequest(as_of=date(2022, 10, 2)), engine=engine)
    text = render_text(headline_from_report(report, settings))
    thin = "\u2009"
    last = report.cohorts.iloc[-1]
    cac_forecast = amount(1200 / last["paid forecast"])
    assert last["CAC forecast"] == pytest.approx(1200 / last["paid forecast"])
    assert (
        "Money:\n"
        f"  26.09–02.10.2022: spend 1{thin}200, 2 leads, CPL 600, CAC 1{thin}200 (1 paid so far),"
        f" CAC forecast {cac_forecast}\n"
        "  yandex: spend 800, 1 leads, CPL 800, CAC 800\n"
        "  google: spend 400, 1 leads, CPL 400, CAC –\n"
    ) in text
    assert (
        "Plan:\n"
        "  2022-10 leads: 0 of 10 planned (6% of the month gone); forecast at month end 0 (0% of plan)\n"
        f"  2022-10 spend: 0 of 5{thin}000 planned (6% of the month gone);"
        " forecast at month end 0 (0% of plan)\n"
    ) in text


def _sheet_rows(sheet: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


def test_workbook_channels_cohorts_money_plan_and_lead_cost(
    config: Path, db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    out = tmp_path / "book.xlsx"
    env = {"COHORT_DATABASE_URL": db_url}
    result = run_cli("--config", str(config), "report", "--as-of", "2022-10-02", "--out", str(out), env=env)
    assert result.exit_code == 0, result.stderr
    book = openpyxl.load_workbook(out)
    assert "Channels" in book.sheetnames

    channels = _sheet_rows(book["Channels"])
    header = channels[3]
    assert header[:6] == ("source", "leads", "qualified", "paid", "revenue", "spend")
    totals = {row[0]: row for row in channels[4:8]}
    assert [row[0] for row in channels[4:8]] == ["yandex", "google", "vk", "(blank)"]  # most spend first
    spend_at = header.index("spend")
    assert totals["yandex"][spend_at] == 2000.0
    assert totals["yandex"][header.index("CPL")] == 2000.0 / 3
    assert totals["yandex"][header.index("CAC")] == 1000.0
    assert totals["vk"][1] == 0
    assert totals["(blank)"][spend_at] is None

    cohorts = _sheet_rows(book["Cohorts"])
    head = cohorts[2]
    assert [cohorts[3][head.index(n)] for n in ("spend", "CPL", "CAC")] == [1650.0, 412.5, 1650.0]
    plan_title = next(i for i, r in enumerate(cohorts) if r[0] and str(r[0]).startswith("Plan vs fact"))
    assert cohorts[plan_title + 1][:4] == ("month", "metric", "plan", "fact to date")
    assert cohorts[plan_title + 2][:4] == ("2022-10", "leads", 10, 0)

    leads = _sheet_rows(book["Leads"])
    cost_at = leads[0].index("cost")
    assert sum(r[cost_at] or 0 for r in leads[1:]) == 2700.0
    about = "\n".join(str(c) for r in _sheet_rows(book["About"]) for c in r if c)
    assert "Spend of a day × source with no lead (150.00 of 2,850.00)" in about


def test_spend_text_never_becomes_a_formula(
    config: Path, db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    hostile = tmp_path / "hostile.csv"
    hostile.write_text('date,source,campaign,cost\n2022-09-23,"=HYPERLINK(""http://x"",""y"")",@SUM(1),5\n')
    env = {"COHORT_DATABASE_URL": db_url}
    assert run_cli("--config", str(config), "spend", "import", str(hostile), env=env).exit_code == 0
    out = tmp_path / "book.xlsx"
    assert (
        run_cli(
            "--config", str(config), "report", "--as-of", "2022-10-02", "--out", str(out), env=env
        ).exit_code
        == 0
    )
    sheet = openpyxl.load_workbook(out)["Channels"]
    cells = [
        c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value
    ]
    assert cells
    assert all(c.data_type == "s" for c in cells)


@pytest.mark.soffice
@requires_soffice
def test_pivot_sum_of_cost_per_week_is_the_spend_of_its_leads(
    config: Path, db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    """LibreOffice recomputes the ready PivotTable: SUM(cost) by cohort_week = the spend of the
    days × sources the week's leads came from (vk's 150 had no lead)."""
    out = tmp_path / "book.xlsx"
    env = {"COHORT_DATABASE_URL": db_url}
    result = run_cli("--config", str(config), "report", "--as-of", "2022-10-02", "--out", str(out), env=env)
    assert result.exit_code == 0, result.stderr
    pivot = to_csv_sheets(out, tmp_path / "lo")["Pivot"]
    start = next(i for i, row in enumerate(pivot) if row and row[0] == "cohort_week")
    header = pivot[start]
    cost_at = next(i for i, name in enumerate(header) if "cost" in name)
    body = {row[0]: row for row in pivot[start + 1 : start + 4]}
    assert float(body["2022-09-19"][cost_at]) == 1500.0
    assert float(body["2022-09-26"][cost_at]) == 1200.0
    assert float(body["Total Result"][cost_at]) == 2700.0
