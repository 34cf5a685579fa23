"""``cohort-service report --csv DIR`` through the real entry point, and the BI copy in Postgres."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from cohort_service.cohorts import store
from cohort_service.cohorts.model import CohortReport
from tests.cohorts.conftest import ReportCli
from tests.cohorts.rows import Account
from tests.conftest import CliResult
from tests.helpers.report_config import report_toml

CONFIG = report_toml(
    [("целевой", ["Целевой"]), ("оплачен", [142])],
    [("источник", "utm_source"), ("продукт", "Продукт"), ("теги", "tags")],
    timezone="Europe/Moscow",
    weeks=2,
    age_days=[7],
)
DIMENSIONS = [
    {"name": "источник", "field": "utm_source"},
    {"name": "продукт", "field": "Продукт"},
    {"name": "теги", "field": "tags"},
]
MILESTONES = [{"name": "целевой", "statuses": ["Целевой"]}, {"name": "оплачен", "statuses": [142]}]


def fill(acct: Account) -> None:
    path = [("2022-09-20 10:00", "Целевой"), ("2022-09-21 12:00", "won")]
    acct.lead(
        1, "2022-09-19 10:00", path, price=1500.5, source="Яндекс", products=[9001, 9002], tags=["б", "а"]
    )
    acct.lead(2, "2022-09-20 10:00", [("2022-09-21 10:00", "lost")], user=8, loss_reason=31, products=[9002])
    acct.lead(3, "2022-09-26 10:00", user=None, tags=["а"])


def _read(path: Path, **options: Any) -> pd.DataFrame:
    """The config's zone is Europe/Moscow, so ``report.csv_dialect = auto`` writes excel-ru."""
    return pd.read_csv(path, encoding="utf-8-sig", sep=";", decimal=",", **options)


@pytest.mark.usefixtures("filled")
def test_csv_files_match_the_engine(
    run: Callable[..., CohortReport], report_cli: ReportCli, tmp_path: Path
) -> None:
    out = tmp_path / "csv"
    result = report_cli("--csv", str(out))
    assert result.exit_code == 0, result.stderr
    assert "cohorts as of 26.09.2022 23:59 (Europe/Moscow): 2 weeks from 19.09.2022, 3 leads" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["attention.csv", "by_источник.csv", "by_продукт.csv", "by_теги.csv", "cohorts.csv",
                     "leads.csv", "loss_reasons.csv", "manager_funnels.csv", "managers.csv", "maturation.csv",
                     "pipelines.csv", "quality.csv", "timing.csv"]  # fmt: skip
    for path in out.iterdir():
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path.name
    assert "CSV dialect excel-ru (';' between fields, decimal comma): the report time zone Europe/Moscow" in (
        result.stdout
    )
    attention = _read(out / "attention.csv")
    assert attention.columns.tolist() == ["dimension", "value", "milestone", "window", "base", "reached",
                                          "actual %", "expected %", "low %", "high %", "deals", "money",
                                          "kind", "evidence"]  # fmt: skip
    assert attention.empty  # three leads: no segment reaches the minimum base of 30

    engine_report = run(date(2022, 9, 26), weeks=2, milestones=MILESTONES, dimensions=DIMENSIONS)
    cohorts = _read(out / "cohorts.csv")
    assert cohorts.columns.tolist() == engine_report.cohorts.columns.tolist()
    assert cohorts["cohort"].tolist() == ["19.09–25.09.2022", "26.09–02.10.2022"]
    assert cohorts["cohort_week"].tolist() == ["2022-09-19", "2022-09-26"]
    assert cohorts["partial"].tolist() == [0, 1]
    for name in ["leads", "целевой", "целевой %", "оплачен", "lead→оплачен %", "revenue", "avg check"]:
        for got, want in zip(cohorts[name].tolist(), engine_report.cohorts[name].tolist(), strict=True):
            assert got == want or (math.isnan(got) and math.isnan(want)), name
    assert cohorts["top loss reasons"].tolist()[0] == "Дорого (1)"

    leads = _read(out / "leads.csv", keep_default_na=False)
    assert leads.columns.tolist() == engine_report.leads_table().columns.tolist()
    first = leads.iloc[0].to_dict()
    assert first["lead_id"] == 1
    assert first["created_at"] == "2022-09-19 10:00:00"
    assert (first["целевой"], first["целевой at"], first["оплачен at"]) == (
        1,
        "2022-09-20 10:00:00",
        "2022-09-21 12:00:00",
    )
    assert (first["источник"], first["продукт"], first["теги"]) == ("Яндекс", "Курс, Подписка", "а, б")
    assert (first["won"], first["revenue"], first["manager"]) == (1, 1500.5, "Анна")
    assert (
        first["days to final"] == "2,08"
    )  # 50 h, to the hundredth of a day, decimal comma (a text column here)
    assert leads["manager"].tolist() == ["Анна", "Борис", "(no manager)"]
    assert leads["lost from stage"].tolist() == ["", "(before целевой)", ""]

    managers = _read(out / "managers.csv")
    assert managers.set_index("manager")["leads"].to_dict() == {"Анна": 1, "Борис": 1, "(no manager)": 1}
    products = _read(out / "by_продукт.csv")
    assert products.set_index("продукт")["leads"].to_dict() == {
        "Курс, Подписка": 1,
        "Подписка": 1,
        "(blank)": 1,
    }


def test_bi_copy_matches_the_leads_table(
    acct: Account, run: Callable[..., CohortReport], engine: Engine
) -> None:
    fill(acct)
    report = run(date(2022, 9, 26), weeks=2, milestones=MILESTONES, dimensions=DIMENSIONS)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM lead_facts_named ORDER BY lead_id"))
        view = pd.DataFrame(rows.all(), columns=list(rows.keys()), dtype=object)
        meta = conn.execute(text("SELECT as_of, timezone, first_week, milestones FROM lead_facts_meta")).one()
    table = report.leads_table()
    assert view.columns.tolist() == table.columns.tolist()
    for name in [
        "lead_id",
        "целевой",
        "оплачен",
        "won",
        "lost",
        "manager",
        "источник",
        "продукт",
        "теги",
        "status",
    ]:
        assert view[name].tolist() == table[name].tolist(), name
    assert view["lost from stage"].tolist() == [None, "(before целевой)", None]
    # age at A: lead 1 was created 19.09 10:00, A is the end of 26.09 (Moscow): 7 days 14 hours less 1 µs
    age = (7 * 86400 + 14 * 3600 - 1e-6) / 86400
    assert table["age days"].tolist()[0] == pytest.approx(age, abs=1e-9)
    assert [float(v) for v in view["age days"]] == pytest.approx(table["age days"].tolist(), abs=1e-9)
    assert meta.timezone == "Europe/Moscow"
    assert meta.first_week == date(2022, 9, 19)
    assert meta.as_of == report.as_of
    assert [m["name"] for m in meta.milestones] == ["целевой", "оплачен"]


def test_config_problems_exit_2(
    acct: Account, run_cli: Callable[..., CliResult], tmp_path: Path, db_url: str
) -> None:
    del acct
    bad = tmp_path / "bad.toml"
    bad.write_text('[report]\ntimezone = "Europe/Moscow"\n', encoding="utf-8")
    result = run_cli("--config", str(bad), "report", env={"COHORT_DATABASE_URL": db_url})
    assert result.exit_code == 2
    assert f"{bad}: report.milestones: at least one milestone is required" in result.stderr
    typo = tmp_path / "typo.toml"
    typo.write_text(CONFIG.replace('["Целевой"]', '["Целевый"]'), encoding="utf-8")
    result = run_cli("--config", str(typo), "report", "--weeks", "3", env={"COHORT_DATABASE_URL": db_url})
    assert result.exit_code == 2
    assert (
        "report.milestones[0].statuses: unknown status 'Целевый'; did you mean 'Целевой'?; "
        "statuses that exist: Воронка/Встреча" in (result.stderr.replace("\n", " "))
    )


def test_a_bi_reader_never_stalls_the_report(
    acct: Account, run: Callable[..., CohortReport], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard holding lead_facts: the report still builds, keeps the old rows and says so."""
    fill(acct)
    run(date(2022, 9, 26), weeks=2, milestones=MILESTONES)
    monkeypatch.setattr(store, "LOCK_TIMEOUT", "200ms")
    with engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM lead_facts_named"))  # holds its lock until rollback
        report = run(date(2022, 9, 19), weeks=2, milestones=MILESTONES)
        reader.rollback()
    assert report.notes == ("lead_facts (the copy for BI tools) was not refreshed: a reader held it",)
    assert report.facts["lead_id"].tolist() == [1]  # lead 2 was created on 20.09
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lead_facts")).scalar_one() == 3
