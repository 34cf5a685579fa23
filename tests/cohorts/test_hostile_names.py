"""Names that read as SQL (`` :word``, ``%``, ``::``, quotes) are just names: the report, the CSV and
the BI view show them as written (issue 16.2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, text

from tests.cohorts.rows import Account
from tests.conftest import CliResult
from tests.helpers.report_config import report_toml

MILESTONES = ["цел :word", "100% paid"]
DIMENSION = "src :x::int %(y)s"
CONFIG = report_toml(
    [(MILESTONES[0], ["Целевой"]), (MILESTONES[1], [142])],
    [(DIMENSION, "utm_source")],
    timezone="Europe/Moscow",
    weeks=2,
    age_days=[7],
)


def test_sql_looking_names_are_plain_columns(
    acct: Account, run_cli: Callable[..., CliResult], engine: Engine, tmp_path: Path, db_url: str
) -> None:
    acct.lead(
        1, "2022-09-19 10:00", [("2022-09-20 10:00", "Целевой"), ("2022-09-21 12:00", "won")], source="ya"
    )
    acct.lead(2, "2022-09-20 10:00", [("2022-09-21 10:00", "Целевой")])
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    out = tmp_path / "csv"
    result = run_cli("--config", str(config), "report", "--as-of", "2022-09-26", "--csv", str(out),
                     "--out", str(tmp_path / "r.xlsx"), env={"COHORT_DATABASE_URL": db_url})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    leads = pd.read_csv(out / "leads.csv", encoding="utf-8-sig", sep=";", keep_default_na=False)  # excel-ru
    assert leads[MILESTONES[0]].tolist() == [1, 1]
    assert leads[MILESTONES[1]].tolist() == [1, 0]
    assert leads[f"{MILESTONES[1]} at"].tolist() == ["2022-09-21 12:00:00", ""]
    assert leads[DIMENSION].tolist() == ["ya", ""]
    with engine.connect() as conn:
        view = conn.execute(text("SELECT * FROM lead_facts_named ORDER BY lead_id"))
        columns = list(view.keys())
        rows = [row._asdict() for row in view]
    assert [c for c in columns if c in {*MILESTONES, DIMENSION, f"{MILESTONES[0]} at"}] == [
        DIMENSION, MILESTONES[0], f"{MILESTONES[0]} at", MILESTONES[1]
    ]  # fmt: skip
    assert [r[MILESTONES[1]] for r in rows] == [1, 0]
    assert [r[DIMENSION] for r in rows] == ["ya", None]
