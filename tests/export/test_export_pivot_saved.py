"""The pivot as saved, read without any refresh: its cache holds the records and its sheet the cells
a refresh would show (what Protected View, previews and phones display), equal to sums over the rows
and, where LibreOffice is installed, to what LibreOffice computes on open."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openxml_audit import OpenXmlValidator, ValidationSeverity
from python_calamine import CalamineWorkbook

from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.pivot import PivotSpec, Value
from cohort_service.export.streamed import Column
from tests.helpers.leads_sample import COLUMNS, build_workbook
from tests.helpers.soffice import requires_soffice, to_csv_sheets
from tests.helpers.xlsx_package import package_problems

HEADERS = [c.name for c in COLUMNS]
WEEK, MANAGER, SOURCE, QUALIFIED, MET, WON = (
    HEADERS.index(n) for n in ("cohort_week", "manager", "source", "Квалификация", "Встреча & КП", "won")
)


def saved_cells(path: Path, sheet: str) -> list[list[Any]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


def body(cells: list[list[Any]], first_header: str, total: str = "Grand Total") -> dict[Any, list[float]]:
    start = next(i for i, row in enumerate(cells) if row and row[0] == first_header)
    result: dict[Any, list[float]] = {}
    for row in cells[start + 1 :]:
        result[row[0]] = [float(v) for v in row[1:] if v != ""]
        if row[0] == total:
            break
    return result


def test_saved_cohort_pivot_has_cells_and_totals(
    sample_xlsx: Path, leads_rows: list[tuple[Any, ...]]
) -> None:
    cells = saved_cells(sample_xlsx, "Pivot")
    assert [row[:2] for row in cells[:4]] == [
        [f, "(All)"] for f in ("manager", "source", "product", "pipeline")
    ]
    assert cells[5] == ["cohort_week", "Leads", "Квалификация ", "Sum of Встреча & КП", "won "]
    expected: dict[Any, list[float]] = defaultdict(lambda: [0.0] * 4)
    for row in leads_rows:
        for key in (row[WEEK], "Grand Total"):
            sums = expected[key]
            sums[0] += 1
            sums[1] += row[QUALIFIED]
            sums[2] += row[MET]
            sums[3] += row[WON]
    got = body(cells, "cohort_week")
    assert got == dict(expected)
    assert list(got)[:-1] == sorted({r[WEEK] for r in leads_rows})  # dates, oldest first
    assert got["Grand Total"][0] == len(leads_rows)


def test_openpyxl_sees_records_cells_and_a_grand_total_equal_to_the_table(sample_xlsx: Path) -> None:
    book = openpyxl.load_workbook(sample_xlsx)
    leads = book["Leads"]
    first, last = leads.tables["Leads"].ref.split(":")
    table_rows = int(last.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) - int(
        first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    )
    pivot_sheet = book["Pivot"]
    definition = pivot_sheet._pivots[0]
    assert definition.cache.refreshOnLoad  # still refreshed where something can
    assert len(definition.cache.records.r) == table_rows == 200
    assert definition.location.ref == "A6:E13"
    grand = next(row for row in pivot_sheet.iter_rows(values_only=True) if row[0] == "Grand Total")
    assert grand[1] == table_rows
    week = pivot_sheet["A7"]
    assert week.value == dt.datetime(2024, 1, 1)  # noqa: DTZ001 (Excel dates are naive)
    assert week.number_format == "yyyy-mm-dd"  # the workbook's date format


def test_column_field_pivot_is_rendered(leads_rows: list[tuple[Any, ...]], tmp_path: Path) -> None:
    spec = PivotSpec(
        sheet="Cross", source_table="Leads", name="Cross", rows=["manager"], columns=["source"],
        values=[Value("won")], filters=["pipeline"],
    )  # fmt: skip
    path = tmp_path / "cross.xlsx"
    build_workbook(path, leads_rows, pivots=(spec,))
    cells = saved_cells(path, "Cross")
    assert cells[2][:2] == ["Sum of won", "source"]
    assert cells[3] == ["manager", "ads", "referral", "web", "Grand Total"]
    got = body(cells, "manager")
    for manager, numbers in got.items():
        mine = [r for r in leads_rows if manager in ("Grand Total", r[MANAGER])]
        by_source = [sum(r[WON] for r in mine if r[SOURCE] == s) for s in ("ads", "referral", "web")]
        assert numbers == [*by_source, sum(by_source)], manager


def test_an_empty_table_gives_a_pivot_of_zeros(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    build_workbook(path, [])
    assert body(saved_cells(path, "By manager"), "manager") == {"Grand Total": [0.0, 0.0]}


@pytest.mark.soffice
@requires_soffice
def test_libreoffice_computes_the_cells_we_saved(sample_xlsx: Path, tmp_path: Path) -> None:
    refreshed = to_csv_sheets(sample_xlsx, tmp_path / "csv")
    for sheet, first in (("Pivot", "cohort_week"), ("By manager", "manager")):
        ours = body(saved_cells(sample_xlsx, sheet), first)
        theirs = body(refreshed[sheet], first, total="Total Result")
        keys = [k.isoformat() if isinstance(k, dt.date) else k for k in ours]
        assert keys[:-1] == list(theirs)[:-1]
        assert list(ours.values()) == list(theirs.values()), sheet


def two_managers(path: Path) -> None:
    """Small: 10 leads, 5 qualified (50 %); Big: 90 leads, 9 qualified (10 %); over two weeks."""
    columns = (
        Column("lead_id", "int"), Column("cohort_week", "iso_date"), Column("manager", "text"),
        Column("lead", "flag"), Column("Квалификация", "flag"),
    )  # fmt: skip
    rows, n = [], 0
    for manager, total, qualified in (("Small", 10, 5), ("Big", 90, 9)):
        for i in range(total):
            n += 1
            rows.append((n, dt.date(2024, 1, 1 + 7 * (i % 2)), manager, 1, int(i < qualified)))
    spec = PivotSpec(
        sheet="P", source_table="Leads", name="P", rows=["manager"], filters=["cohort_week"],
        values=[Value("lead", "sum", "Leads"), Value("Квалификация", "sum", "Qualified"),
                Value("Квалификация", "sum", "Qualified, % of leads", per="lead")],
    )  # fmt: skip
    with StreamedWorkbook(path) as book:
        book.add_pivot(spec)
        book.write_table("Leads", "Leads", columns, rows)


def test_conversion_is_a_ratio_of_sums_in_every_total(tmp_path: Path) -> None:
    path = tmp_path / "ratio.xlsx"
    two_managers(path)
    got = body(saved_cells(path, "P"), "manager")
    assert got == {"Big": [90, 9, 0.1], "Small": [10, 5, 0.5], "Grand Total": [100, 14, 0.14]}  # not 30 %
    assert package_problems(path) == []
    book = openpyxl.load_workbook(path)
    cache = book["P"]._pivots[0].cache
    calculated = [f for f in cache.cacheFields if not f.databaseField]
    assert [(f.name, f.formula) for f in calculated] == [("Квалификация / lead", "'Квалификация'/'lead'")]
    assert book["P"]["D4"].number_format == "0.0%"
    errors = OpenXmlValidator().validate(path).errors
    assert [e.description for e in errors if e.severity == ValidationSeverity.ERROR] == []
