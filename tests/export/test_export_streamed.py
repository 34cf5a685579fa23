"""Streaming tables: split at a row limit or a planned cut, bad values, cells as xlsxwriter writes them."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.pivot import PivotSpec, Value
from cohort_service.export.streamed import Column
from cohort_service.schema.kinds import kind_of
from tests.helpers.leads_sample import COLUMNS, build_workbook, sample_rows
from tests.helpers.xlsx_package import package_problems


def naive(*parts: int) -> dt.datetime:
    return dt.datetime(*parts)  # noqa: DTZ001 - Excel has no time zones: naive local time by design


HEADERS = [c.name for c in COLUMNS]


def test_split_across_sheets_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "split.xlsx"
    rows = sample_rows(250)
    book = build_workbook(path, rows, max_rows_per_sheet=100, pivots=())
    (table,) = book.tables
    assert table.split
    assert table.rows_written == 250
    assert [(p.sheet, p.name, p.ref, p.data_rows) for p in table.parts] == [
        ("Leads", "Leads", "A1:N100", 99),
        ("Leads (2)", "Leads_2", "A1:N100", 99),
        ("Leads (3)", "Leads_3", "A1:N53", 52),
    ]
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Cohorts", "Leads", "Leads (2)", "Leads (3)"]
    assert [dict(wb[s].tables.items()) for s in wb.sheetnames[1:]] == [
        {"Leads": "A1:N100"},
        {"Leads_2": "A1:N100"},
        {"Leads_3": "A1:N53"},
    ]
    ids = [wb[s].cell(row=r, column=1).value for s in wb.sheetnames[1:] for r in range(2, wb[s].max_row + 1)]
    assert ids == [row[0] for row in rows]
    assert all([c.value for c in wb[s][1]] == HEADERS for s in wb.sheetnames[1:])
    assert package_problems(path) == []


def test_a_planned_cut_comes_before_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "planned.xlsx"
    rows = sample_rows(120)
    book = build_workbook(path, rows, max_rows_per_sheet=100, part_rows=[40, 80], pivots=())
    (table,) = book.tables
    assert [(p.sheet, p.name, p.data_rows) for p in table.parts] == [
        ("Leads", "Leads", 40),
        ("Leads (2)", "Leads_2", 80),
    ]
    with pytest.raises(ValueError, match="a planned part exceeds 99 rows per sheet"):
        build_workbook(tmp_path / "over.xlsx", rows, max_rows_per_sheet=100, part_rows=[100, 20], pivots=())


def test_empty_table_keeps_one_blank_row(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    build_workbook(path, [])
    sheet = openpyxl.load_workbook(path)["Leads"]
    assert dict(sheet.tables.items()) == {"Leads": "A1:N2"}
    assert [c.value for c in sheet[1]] == HEADERS
    assert package_problems(path) == []


def test_spooled_cells_are_the_ones_xlsxwriter_writes(tmp_path: Path) -> None:
    """The row serialiser writes the very cell XML xlsxwriter writes (row ``spans`` aside)."""
    tricky = [
        (1, dt.date(2024, 3, 4), naive(2024, 3, 4, 23, 59, 59, 999_000), "a & b < c > d", " lead ",
         "tab\there", "new\nline", "cr\rbell\x07", "_x0041_ stays", "", 0, 1, 1e-7, 2.5),
        (2, dt.date(1900, 3, 1), naive(2099, 12, 31), "Ёлка «ёж»", "😀 emoji", "x" * 40_000,
         "null\x00", "\ufffe", "plain", "  ", 1, 0, 123456789.123, -0.0),
    ]  # fmt: skip
    plain = [
        (i, dt.date(2024, 1, 1) + dt.timedelta(days=i), naive(2024, 1, 1, 9) + dt.timedelta(minutes=97 * i),
         f"m{i}", "Иванов", None, "s", "t", "u", "v", i % 2, None, i * 1.1, i / 7)
        for i in range(30)
    ]  # fmt: skip
    columns = [
        Column(f"c{i}", kind)
        for i, kind in enumerate(
            ("int", "iso_date", "iso_datetime", *["text"] * 7, "flag", "flag", "number", "pct")
        )
    ]
    rows = [*tricky, *plain]
    cells = {}
    with StreamedWorkbook(tmp_path / "direct.xlsx") as book:
        book.write_table("T", "T", columns, rows)
    with StreamedWorkbook(tmp_path / "xlsxwriter.xlsx") as book:  # the reference: xlsxwriter's own calls
        ws = book.add_worksheet("T")
        formats = [
            None if (code := kind_of(c.kind).excel_format) is None else book.format(code) for c in columns
        ]
        for col, column in enumerate(columns):
            ws.write_string(0, col, column.name)
        for r, values in enumerate(rows, start=1):
            for col, (column, value, fmt) in enumerate(zip(columns, values, formats, strict=True)):
                write = kind_of(column.kind).write
                if value is None:
                    continue
                if write == "number":
                    ws.write_number(r, col, value, fmt)
                elif write in ("date", "datetime"):
                    ws.write_datetime(r, col, value, fmt)
                else:
                    ws.write_string(r, col, value, fmt)
    for name in ("direct", "xlsxwriter"):
        with zipfile.ZipFile(tmp_path / f"{name}.xlsx") as archive:
            xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
        cells[name] = re.findall(r"<c .*?</c>", xml, flags=re.DOTALL)
    assert len(cells["direct"]) == 14 + 2 * 14 + 30 * 12
    data = {name: [c for c in found if not re.match(r'<c r="[A-Z]+1"', c)] for name, found in cells.items()}
    assert len(data["direct"]) == 2 * 14 + 30 * 12  # the header row comes from the same code in both
    assert data["direct"] == data["xlsxwriter"]


@pytest.mark.parametrize(
    "case",
    [
        (11, "yes", r"Leads!won row 4: a flag column needs a number \('yes'\)"),
        (12, float("nan"), r"Leads!price .* row 4: Excel cannot store NaN"),
        (1, "2024-01-01", r"Leads!cohort_week row 4: a iso_date column needs a date"),
        (2, dt.datetime(2024, 1, 1, tzinfo=dt.UTC), r"Leads!created_at row 4: Excel has no time zones"),
        (5, 42, r"Leads!manager row 4: a text column needs a str"),
    ],
    ids=["text-in-number", "nan", "text-in-date", "aware-datetime", "number-in-text"],
)
def test_bad_value_names_the_cell_and_leaves_nothing_behind(
    case: tuple[int, Any, str], leads_rows: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    column, bad_value, message = case
    rows = [list(r) for r in leads_rows[:5]]
    rows[2][column] = bad_value
    path = tmp_path / "out" / "bad.xlsx"
    path.parent.mkdir()
    with pytest.raises(ValueError, match=message), StreamedWorkbook(path, tmpdir=tmp_path) as book:
        book.write_table("Leads", "Leads", COLUMNS, rows)
    assert list(path.parent.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # spool and xlsxwriter temp files removed


def test_row_of_wrong_width_is_refused(tmp_path: Path) -> None:
    columns = [Column("a", "int"), Column("b")]
    with (
        pytest.raises(ValueError, match=r"T row 3: 1 values for 2 columns"),
        StreamedWorkbook(tmp_path / "w.xlsx") as book,
    ):
        book.write_table("T", "T", columns, [(1, "x"), (2,)])


def test_source_iterator_failure_removes_the_file(tmp_path: Path) -> None:
    def rows() -> Any:
        yield (1, "x")
        raise ConnectionError("database went away")

    with pytest.raises(ConnectionError), StreamedWorkbook(tmp_path / "w.xlsx", tmpdir=tmp_path) as book:
        book.write_table("T", "T", [Column("a", "int"), Column("b")], rows())
    assert list(tmp_path.iterdir()) == []


def test_pivot_over_unknown_column_fails_at_close(tmp_path: Path) -> None:
    spec = PivotSpec(sheet="P", source_table="T", name="Pivot1", rows=["nope"], values=[Value("a", "count")])
    book = StreamedWorkbook(tmp_path / "w.xlsx", tmpdir=tmp_path)
    book.write_table("T", "T", [Column("a", "int")], [(1,)])
    book.add_pivot(spec)
    with pytest.raises(ValueError, match="table 'T' has no column 'nope'"):
        book.close()
    assert list(tmp_path.iterdir()) == []
