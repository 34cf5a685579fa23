"""The streamed, post-processed sample workbook read back by openpyxl and python-calamine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from tests.helpers.leads_sample import COLUMNS, MILESTONES
from tests.helpers.xlsx_package import package_problems

HEADERS = [c.name for c in COLUMNS]


def test_leads_table_covers_exactly_header_and_rows(sample_xlsx: Path) -> None:
    book = openpyxl.load_workbook(sample_xlsx)
    sheet = book["Leads"]
    assert book.sheetnames == ["Cohorts", "Pivot", "By manager", "Leads"]
    assert dict(sheet.tables.items()) == {"Leads": "A1:N201"}
    table = sheet.tables["Leads"]
    assert [c.name for c in table.tableColumns] == HEADERS
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert sheet.max_row == 201
    assert sheet.freeze_panes == "A2"


def test_cells_are_typed_with_formats(sample_xlsx: Path, leads_rows: list[tuple[Any, ...]]) -> None:
    sheet = openpyxl.load_workbook(sample_xlsx)["Leads"]
    for row_cells, expected in zip(sheet.iter_rows(min_row=2), leads_rows, strict=True):
        values = [cell.value for cell in row_cells]
        assert values[0] == expected[0]
        assert values[1] == dt.datetime.combine(expected[1], dt.time())
        assert values[2] == expected[2]
        assert values[3:8] == list(expected[3:8])
        assert values[8:12] == list(expected[8:12])
        assert values[12] == expected[12]
        assert values[13] == pytest.approx(expected[13], rel=1e-15)
    row = sheet[3]  # the first lead has no price
    assert [row[i].number_format for i in (1, 2, 9, 12, 13)] == [
        "yyyy-mm-dd",
        "yyyy-mm-dd hh:mm",
        "yyyy-mm-dd hh:mm",
        "#,##0.00",
        "0.0%",
    ]
    assert row[0].data_type == "n"
    assert row[8].data_type == "n"


def test_blank_cells_stay_blank(sample_xlsx: Path, leads_rows: list[tuple[Any, ...]]) -> None:
    sheet = openpyxl.load_workbook(sample_xlsx)["Leads"]
    unpriced = [i for i, row in enumerate(leads_rows) if row[12] is None]
    assert unpriced  # every ninth lead has no price
    assert all(sheet.cell(row=i + 2, column=13).value is None for i in unpriced)


def test_calamine_reads_typed_values(sample_xlsx: Path, leads_rows: list[tuple[Any, ...]]) -> None:
    data = CalamineWorkbook.from_path(str(sample_xlsx)).get_sheet_by_name("Leads").to_python()
    assert data[0] == HEADERS
    assert len(data) == 1 + len(leads_rows)
    first = data[1]
    assert isinstance(first[0], float | int)
    assert first[0] == leads_rows[0][0]
    assert first[1] == leads_rows[0][1]
    assert first[2] == leads_rows[0][2]
    assert first[5] in ("Иванов Иван", "Петрова Мария", "O'Brien & Co")
    flags = [row[i] for row in data[1:] for i in (8, 10, 11)]
    assert all(isinstance(v, float | int) and v in (0, 1) for v in flags)
    for index, name in enumerate(MILESTONES):
        column = HEADERS.index(name)
        assert sum(row[column] for row in data[1:]) == sum(row[column] for row in leads_rows), index


def test_pivots_are_exposed_by_openpyxl(sample_xlsx: Path) -> None:
    book = openpyxl.load_workbook(sample_xlsx)
    pivot = book["Pivot"]._pivots[0]
    fields = HEADERS
    assert pivot.name == "CohortPivot"
    assert pivot.cache.cacheSource.worksheetSource.name == "Leads"
    assert pivot.cache.refreshOnLoad
    assert not pivot.cache.saveData
    assert [f.name for f in pivot.cache.cacheFields] == fields
    assert [fields[f.x] for f in pivot.rowFields] == ["cohort_week"]
    assert [f.x for f in pivot.colFields] == [-2]
    assert [fields[f.fld] for f in pivot.pageFields] == ["manager", "source", "product", "pipeline"]
    assert [(d.name, fields[d.fld], d.subtotal) for d in pivot.dataFields] == [
        ("Leads", "lead_id", "count"),
        ("Квалификация ", "Квалификация", "sum"),  # a trailing space: Excel refuses a field's own name
        ("Sum of Встреча & КП", "Встреча & КП", "sum"),
        ("won ", "won", "sum"),
    ]
    assert pivot.location.ref.startswith("A6")
    other = book["By manager"]._pivots[0]
    assert other.cacheId == pivot.cacheId  # one cache per source table
    assert [fields[f.x] for f in other.rowFields] == ["manager"]


def test_package_is_sound(sample_xlsx: Path) -> None:
    assert package_problems(sample_xlsx) == []
