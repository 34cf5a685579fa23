"""End to end: a simulated account with planted weak spots → sync over HTTP → `report --csv` →
attention.csv names them at the top; a per-manager target the planted manager misses is `target`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd

from cohort_service.app.demo import funnel_of
from cohort_service.app.outputs import headline_from_report
from cohort_service.app.report import build_cohort_report
from cohort_service.config import load_settings
from cohort_service.delivery.headline import render_text
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from cohort_service.sync.runner import run_sync
from tests.conftest import CliResult, make_settings

COLUMNS = ["dimension", "value", "milestone", "window", "base", "reached", "actual %", "expected %", "low %",
           "high %", "deals", "money", "kind", "evidence"]  # fmt: skip


def _config(path: Path, amocrm: str, db_url: str, milestones: list[dict[str, object]], extra: str) -> Path:
    blocks = "".join(
        f"[[report.milestones]]\nname = {json.dumps(m['name'])}\nstatuses = {json.dumps(m['statuses'])}\n"
        for m in milestones
    )
    path.write_text(
        f"{amocrm}"
        f'[database]\nurl = "{db_url}"\n[report]\nweeks = 26\n{blocks}'
        '[[report.dimensions]]\nname = "source"\nfield = "UTM_SOURCE"\n' + extra,
        encoding="utf-8",
    )
    return path


def test_planted_segments_lead_the_attention_list(
    db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    account = generate_account(seed=5, leads=10_000, weeks=26, plants=True)
    manager_plant, _source_plant = account.plants
    assert manager_plant.manager is not None
    manager = account.users[manager_plant.manager].name
    # the main pipeline's stages only: the other pipelines reach the milestones through won alone,
    # which the Attention sheet notes (and the plants are all in the main pipeline)
    milestones = funnel_of(account, every_pipeline=False)
    names = [str(m["name"]) for m in milestones]
    app = SimulatorApp(account, limits=Limits(rps=None))
    token = app.oauth.issue_long_lived()
    with serve(app) as url:
        settings = make_settings(db_url, amocrm={"base_url": url, "token": token, "requests_per_second": 50})
        run_sync(settings)
        amocrm = f'[amocrm]\nbase_url = "{url}"\ntoken = "{token}"\nrequests_per_second = 50\n'
        plain = _config(tmp_path / "plain.toml", amocrm, db_url, milestones, "")
        book = tmp_path / "book.xlsx"
        # a program reading the files: plain (the simulator's Europe/Moscow would make auto excel-ru)
        result = run_cli(
            "--config", str(plain), "report", "--csv", str(tmp_path / "plain"), "--out", str(book),
            "--csv-dialect", "plain",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        target = (
            f"[[report.targets]]\nmilestone = {json.dumps(names[2])}\ntarget = 0.7\ntolerance = 0.1\n"
            f"where = {{ manager = {json.dumps(manager)} }}\n"
        )
        with_target = _config(tmp_path / "target.toml", amocrm, db_url, milestones, target)
        result = run_cli(
            "--config", str(with_target), "report", "--csv", str(tmp_path / "target"),
            "--csv-dialect", "plain",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        report_settings = load_settings(plain, env={})
        mail = render_text(headline_from_report(build_cohort_report(report_settings), report_settings))

    rows = pd.read_csv(tmp_path / "plain" / "attention.csv", encoding="utf-8-sig")
    assert rows.columns.tolist() == COLUMNS
    assert (rows["base"] >= 30).all()
    key = ["dimension", "value", "milestone", "kind"]
    # vk leads rarely reach the 2nd milestone: the list's first row. The manager stalls between the
    # 2nd and 3rd milestones from a sixth of the history on: the first manager row.
    assert tuple(rows.loc[0, key]) == ("source", "vk", names[1], "below"), rows.head(6).to_string()
    managers = rows[rows["dimension"] == "manager"].reset_index(drop=True)
    assert tuple(managers.loc[0, key]) == ("manager", manager, names[2], "below"), rows.head(6).to_string()

    # The workbook's Attention sheet: the same rows, worst first, each with the filter that
    # reproduces it in the pivot over Leads — checked here against leads.csv.
    workbook = openpyxl.load_workbook(book, read_only=True)
    try:
        cells = [list(r) for r in workbook["Attention"].iter_rows(values_only=True)]
    finally:
        workbook.close()  # a read-only workbook holds the file open until closed
    remarks = [str(r[0]) for r in cells[:8] if r and r[0]]
    assert any(r.startswith("Note: leads of pipelines where some milestone has no status") for r in remarks)
    head = next(i for i, r in enumerate(cells) if r[:2] == ["dimension", "value"])
    assert cells[head][: len(COLUMNS) + 1] == [*COLUMNS, "pivot filter"]
    first = cells[head + 1]
    assert first[:4] == rows.loc[0, ["dimension", "value", "milestone", "window"]].tolist()
    assert first[4:6] == [int(rows.loc[0, "base"]), int(rows.loc[0, "reached"])]
    pivot = str(first[len(COLUMNS)])
    assert pivot.startswith("Leads where pipeline = Основная воронка; source = vk; cohort_week ")
    leads = pd.read_csv(tmp_path / "plain" / "leads.csv", encoding="utf-8-sig", keep_default_na=False)
    start, end = (
        pd.to_datetime(d, format="%d.%m.%Y") for d in pivot.split("cohort_week ")[1][:23].split(" … ")
    )
    week = pd.to_datetime(leads["cohort_week"])
    view = leads[
        (leads["pipeline"] == "Основная воронка") & (leads["source"] == "vk") & week.between(start, end)
    ]
    assert (int(view[names[0]].sum()), int(view[names[1]].sum())) == (first[4], first[5])

    # The planted manager's funnel shape: the stalled step is marked below the rest.
    shapes = pd.read_csv(
        tmp_path / "plain" / "manager_funnels.csv", encoding="utf-8-sig", keep_default_na=False
    )
    assert shapes.set_index("manager").loc[manager, f"{names[2]} vs rest"] == "below"

    # The Monday e-mail: the list's top 5, one line each, right under the table.
    after = mail[mail.index("Where to dig:") :].splitlines()[1:]
    block = after[: after.index("")]
    assert len(block) == min(5, len(rows))
    assert block[0].startswith(f"  source vk, {names[1]}: ")
    assert all(" deals" in item for item in block)

    targeted = pd.read_csv(tmp_path / "target" / "attention.csv", encoding="utf-8-sig")
    mine = targeted[(targeted["value"] == manager) & (targeted["milestone"] == names[2])]
    assert set(mine["kind"]) == {"target"}
    assert (mine["expected %"] == 0.7).all()
    assert mine["evidence"].str.contains("target 70% ± 10 pp").all()
