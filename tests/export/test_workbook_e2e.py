"""As a new user would: a simulated amoCRM account synced over HTTP, then ``cohort-service report
--out FILE.xlsx`` through the real entry point, then the file opened by LibreOffice.

Checked on LibreOffice's output: the refreshed pivot equals the Cohorts sheet week by week, and
filtering by one manager changes the numbers — shown on the pivot definition (manager is a report
filter over the Leads table) plus the Leads rows LibreOffice read (that manager's rows sum to other
numbers than the unfiltered pivot, and all managers' rows add up to it). The Transitions table holds
exactly the report leads' stage changes up to the as-of moment, in local time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import create_engine, text

from cohort_service.sync.runner import run_sync
from tests.conftest import CliResult
from tests.export.test_export_pivot_saved import body, saved_cells
from tests.export.test_workbook import pivot_body
from tests.helpers.report_config import report_toml
from tests.helpers.soffice import requires_soffice, to_csv_sheets
from tests.helpers.xlsx_package import package_problems
from tests.sync.harness import simulated

pytestmark = [pytest.mark.soffice, requires_soffice]
MILESTONES = ("qualified", "negotiation", "paid")
REPORT = report_toml(
    [("qualified", ["Квалификация"]), ("negotiation", ["Переговоры"]), ("paid", [142])],
    [("source", "UTM_SOURCE"), ("product", "Продукт")],
    weeks=6,
    age_days=[7, 14],
)


def table_rows(sheets: dict[str, list[list[str]]], prefix: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a table over all its sheets (``Leads``, ``Leads (2)``…)."""
    names = [n for n in sheets if n == prefix or n.startswith(f"{prefix} (")]
    head = sheets[names[0]][0]
    return head, [row for name in names for row in sheets[name][1:] if any(row)]


def test_report_out_from_a_synced_account(
    db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    with simulated(seed=62, leads=600, weeks=10) as sim:
        run_sync(sim.settings(db_url), clock=sim.now)
        config = sim.config_file(tmp_path / "config.toml", db_url)
        tz = ZoneInfo(sim.app.account.timezone)
        day = sim.now().astimezone(tz).date()
    config.write_text(config.read_text(encoding="utf-8") + REPORT, encoding="utf-8")
    out = tmp_path / "out" / "cohorts.xlsx"
    result = run_cli("--config", str(config), "report", "--as-of", day.isoformat(), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"wrote {out}" in result.stdout + result.stderr
    assert package_problems(out) == []

    sheets = to_csv_sheets(out, tmp_path / "lo")
    pivot = pivot_body(sheets["Pivot"])
    cohorts = sheets["Cohorts"]
    head = cohorts[2]
    counted = [(row[0], [float(row[head.index(n)]) for n in ("leads", *MILESTONES)]) for row in cohorts[3:9]]
    assert len(pivot) == 1 + len(counted) == 7
    assert [numbers for _, numbers in counted] == list(pivot.values())[:-1]  # week by week, oldest first
    total = pivot["Total Result"]
    assert total[0] > 200  # real volume
    assert total[-1] > 0  # and someone paid
    # As saved, before anything refreshes it: the same cells, and a grand total of table Leads' rows.
    saved = body(saved_cells(out, "Pivot"), "cohort_week")
    counts = len(next(iter(pivot.values())))  # LibreOffice leaves out the calculated conversions
    assert [numbers[:counts] for numbers in saved.values()] == list(pivot.values())
    for numbers in saved.values():  # then each milestone's conversion: its sum over the leads
        assert numbers[counts:] == [pytest.approx(n / numbers[0]) for n in numbers[1 : 1 + len(MILESTONES)]]
    last = openpyxl.load_workbook(out)["Leads"].tables["Leads"].ref.split(":")[1]
    assert saved["Grand Total"][0] == int(last.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - 1

    # One manager through the report filter: the definition, then that manager's Leads rows.
    book = openpyxl.load_workbook(out, read_only=False)
    definition = book["Pivot"]._pivots[0]
    fields = [f.name for f in definition.cache.cacheFields if f.databaseField]
    assert [fields[f.fld] for f in definition.pageFields] == ["manager", "source", "product", "pipeline"]
    leads_head, leads = table_rows(sheets, "Leads")
    assert fields == leads_head
    manager = leads_head.index("manager")
    flags = [leads_head.index(n) for n in MILESTONES]
    by_manager: dict[str, list[float]] = defaultdict(lambda: [0.0] * (1 + len(MILESTONES)))
    for row in leads:
        sums = by_manager[row[manager]]
        sums[0] += 1
        for i, column in enumerate(flags, start=1):
            sums[i] += float(row[column])
    top = Counter(row[manager] for row in leads).most_common(1)[0][0]
    assert by_manager[top] != total
    assert 0 < by_manager[top][0] < total[0]
    assert [sum(col) for col in zip(*by_manager.values(), strict=True)] == total

    # Transitions: exactly the report leads' changes up to A, times on the local clock.
    history_head, history = table_rows(sheets, "Transitions")
    assert history_head == [
        "lead_id",
        "time",
        "from pipeline",
        "from status",
        "to pipeline",
        "to status",
        "author",
    ]
    ids = sorted({int(row[0]) for row in leads})
    as_of = datetime.combine(day, time.max, tzinfo=tz)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        expected = conn.execute(
            text(
                "SELECT lead_id, created_at FROM lead_status_changes"
                " WHERE lead_id = ANY(:ids) AND created_at <= :as_of ORDER BY lead_id, created_at, event_id"
            ),
            {"ids": ids, "as_of": as_of},
        ).all()
    engine.dispose()
    got = [(int(row[0]), row[1]) for row in history]
    assert got == [(lead, f"{at.astimezone(tz):%Y-%m-%d %H:%M:%S}") for lead, at in expected]
    assert len(got) > len(ids)
