"""A real report's CSV files in both dialects, read back (csv module, pandas, LibreOffice in a
Russian locale) and compared with the report's own tables, rounded as docs/metrics.md says."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from cohort_service.cohorts.model import CohortReport
from cohort_service.export.csv import write_csv
from cohort_service.export.csv_dialect import DIALECTS
from cohort_service.export.kinds import column_kinds
from tests.cohorts.rows import Account
from tests.helpers.soffice import convert, requires_soffice

MILESTONES = [{"name": "целевой", "statuses": ["Целевой"]}, {"name": "оплачен", "statuses": [142]}]
DECIMALS = {"pct": 4, "delta": 4, "estimate": 2, "amount": 2, "money": 2, "days": 2}
# LibreOffice's CSV filter: ';' (59), '"' (34), UTF-8 (76), from row 1, no column types, ru-RU (1049)
EXCEL_RU_FILTER = "CSV:59,34,76,1,,1049"


def fill(acct: Account) -> None:
    """Seven leads in one week: 3 reach целевой (3/7), 1 of them paid (1/3), odd prices."""
    won = [("2022-09-20 10:00", "Целевой"), ("2022-09-21 12:20", "won")]
    acct.lead(1, "2022-09-19 10:00", won, price=1234.565, source="Яндекс; контекст", user=7)
    acct.lead(2, "2022-09-19 11:00", [("2022-09-22 09:00", "Целевой")], source='ООО "Ромашка"', user=8)
    acct.lead(3, "2022-09-20 10:00", [("2022-09-23 10:00", "Целевой")], source="=cmd|' /C calc'!A0")
    for lead_id in range(4, 8):
        acct.lead(lead_id, "2022-09-21 10:00", [("2022-09-22 10:00", "lost")], loss_reason=31, source="a\nb")


def _rounded(value: float, kind: str) -> float:
    """Excel's 15-digit view rounded half away from zero (an implementation separate from the code's)."""
    if isinstance(value, float) and math.isnan(value):
        return value
    shown = Decimal(f"{float(value):.15g}")
    if kind in DECIMALS:
        return float(shown.quantize(Decimal(f"1e-{DECIMALS[kind]}"), rounding=ROUND_HALF_UP))
    if kind in ("count", "int", "flag"):
        return float(value)
    if value == 0:
        return 0.0
    return float(shown.quantize(Decimal(f"1e{shown.adjusted() - 9}"), rounding=ROUND_HALF_UP))


@pytest.fixture
def report(acct: Account, run: Callable[..., CohortReport]) -> CohortReport:
    fill(acct)
    return run(
        date(2022, 9, 26),
        weeks=2,
        milestones=MILESTONES,
        dimensions=[{"name": "источник", "field": "utm_source"}],
    )


@pytest.fixture
def written(report: CohortReport, tmp_path: Path) -> dict[str, Path]:
    dirs = {name: tmp_path / name for name in DIALECTS}
    for name, directory in dirs.items():
        write_csv(report, directory, DIALECTS[name])
    return dirs


def test_every_file_reads_back_the_same_in_both_dialects(written: dict[str, Path]) -> None:
    """pandas: plain with its defaults, excel-ru with sep=';' and decimal=','; cell for cell equal."""
    names = sorted(p.name for p in written["plain"].iterdir())
    assert names == sorted(p.name for p in written["excel-ru"].iterdir())
    assert {"cohorts.csv", "leads.csv", "maturation.csv", "by_источник.csv"} <= set(names)
    for name in names:
        plain = pd.read_csv(written["plain"] / name, encoding="utf-8-sig")
        ru = pd.read_csv(written["excel-ru"] / name, encoding="utf-8-sig", sep=";", decimal=",")
        pd.testing.assert_frame_equal(plain, ru, check_exact=True, obj=name)


def test_cohorts_csv_holds_the_report_rounded_by_kind(report: CohortReport, written: dict[str, Path]) -> None:
    """Every number of cohorts.csv equals the report's, rounded as its kind says; 3/7 is 0.4286."""
    kinds = column_kinds(report)
    got = pd.read_csv(written["excel-ru"] / "cohorts.csv", encoding="utf-8-sig", sep=";", decimal=",")
    want = report.cohorts
    assert got.columns.tolist() == want.columns.tolist()
    checked = 0
    for name in want.columns:
        kind = kinds[str(name)]
        if kind in ("text", "marker", "date"):
            continue
        for cell, value in zip(got[name].tolist(), want[name].tolist(), strict=True):
            expected = _rounded(float(value), kind)
            assert cell == expected or (math.isnan(cell) and math.isnan(expected)), (name, cell, value)
            checked += not math.isnan(expected)
    assert checked > 20
    first = got.iloc[0]
    assert (first["leads"], first["целевой"], first["оплачен"]) == (7, 3, 1)
    assert first["целевой % of leads"] == 0.4286  # 3/7 = 0.428571…
    assert first["оплачен %"] == 0.3333  # 1/3 of the previous step
    assert first["revenue"] == 1234.57  # 1234.565 to the kopeck, half up as Excel shows it


def test_leads_csv_by_the_csv_module(report: CohortReport, written: dict[str, Path]) -> None:
    """Python's csv module with ';': every row as wide as the header, text whole and inert."""
    with (written["excel-ru"] / "leads.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header == report.leads_table().columns.tolist()
    assert all(len(row) == len(header) for row in body)
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert by_id["1"]["источник"] == "Яндекс; контекст"
    assert by_id["2"]["источник"] == 'ООО "Ромашка"'
    assert by_id["3"]["источник"] == "'=cmd|' /C calc'!A0"
    assert by_id["4"]["источник"] == "a\nb"
    assert by_id["1"]["price"] == "1234,57"
    assert by_id["1"]["days to final"] == "2,1"  # 50 h 20 min = 2.0972 days → 2.10
    assert by_id["1"]["created_at"] == "2022-09-19 10:00:00"


@requires_soffice
def test_libreoffice_in_a_russian_locale_opens_the_excel_ru_file_in_columns(
    report: CohortReport, written: dict[str, Path], tmp_path: Path
) -> None:
    """LibreOffice reading cohorts.csv as a ru-RU user would (';', decimal comma): one column per
    header, counts and shares as numbers, the same values as the report."""
    convert(written["excel-ru"] / "cohorts.csv", tmp_path / "lo", "xlsx", infilter=EXCEL_RU_FILTER)
    book = load_workbook(tmp_path / "lo" / "cohorts.xlsx", read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]
    book.close()
    header = report.cohorts.columns.tolist()
    assert rows[0][: len(header)] == header
    assert all(cell is None for row in rows for cell in row[len(header) :])
    first = dict(zip(header, rows[1], strict=False))
    assert (first["leads"], first["целевой"]) == (7, 3)
    assert first["целевой % of leads"] == pytest.approx(0.4286, abs=1e-12)
    assert first["revenue"] == pytest.approx(1234.57, abs=1e-9)
    assert first["cohort"] == "19.09–25.09.2022"
    assert first["cohort_week"] == datetime(2022, 9, 19)  # noqa: DTZ001 -- an ISO date read as a real (naive) date
