"""The package post-processor: sheets found by name, rels extended, tails patched in schema order."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from lxml import etree

from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.ooxml import finalize_package
from cohort_service.export.pivot import PivotSpec, Value
from cohort_service.export.rowxml import SpooledRows
from cohort_service.export.sheet_tail import SheetEdit, copy_sheet, patch_tail
from cohort_service.export.streamed import TablePart
from tests.helpers.leads_sample import COHORT_PIVOT, COLUMNS, MANAGER_PIVOT, build_workbook
from tests.helpers.xlsx_package import package_problems

ROOT = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)


def test_table_parts_go_before_extlst() -> None:
    tail = '<pageMargins left="1"/><extLst><ext uri="{X}"/></extLst></worksheet>'
    assert patch_tail(ROOT, tail, ["rId4"]) == (
        '<pageMargins left="1"/><tableParts count="1"><tablePart r:id="rId4"/></tableParts>'
        '<extLst><ext uri="{X}"/></extLst></worksheet>'
    )


def test_nested_extlst_is_not_the_sheets_own() -> None:
    tail = (
        '<conditionalFormatting sqref="A1"><cfRule type="dataBar" priority="1"><extLst><ext uri="{Y}"/>'
        '</extLst></cfRule></conditionalFormatting><pageMargins left="1"/></worksheet>'
    )
    patched = patch_tail(ROOT, tail, ["rId1"])
    assert patched.endswith(
        '<pageMargins left="1"/><tableParts count="1"><tablePart r:id="rId1"/></tableParts></worksheet>'
    )


def test_existing_table_parts_are_extended() -> None:
    tail = '<pageMargins left="1"/><tableParts count="1"><tablePart r:id="rId1"/></tableParts></worksheet>'
    assert patch_tail(ROOT, tail, ["rId2", "rId3"]) == (
        '<pageMargins left="1"/><tableParts count="3"><tablePart r:id="rId1"/>'
        '<tablePart r:id="rId2"/><tablePart r:id="rId3"/></tableParts></worksheet>'
    )


def test_relationship_namespace_is_declared_when_the_root_lacks_it() -> None:
    root = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    patched = patch_tail(root, "<pageMargins/></worksheet>", ["rId1"])
    element = etree.fromstring((root + patched).encode()).find("{*}tableParts")
    assert element is not None
    assert element[0].get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id") == "rId1"


def _sheet_with_header() -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    sheet = book.add_worksheet("T")
    sheet.freeze_panes(1, 0)
    for col in range(3):
        sheet.write_string(0, col, f"h{col}")
    sheet.conditional_format("A2:A9", {"type": "data_bar", "data_bar_2010": True})
    book.close()
    with zipfile.ZipFile(buffer) as archive:
        return archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_copy_sheet_is_independent_of_chunk_size(chunk: int, tmp_path: Path) -> None:
    rows_file = tmp_path / "rows.xml"
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, 40))
    rows_file.write_text(rows, encoding="utf-8")
    edit = SheetEdit(table_rel_ids=("rId9",), rows=SpooledRows("T", rows_file, last_row=38, last_col=2))
    out = io.BytesIO()
    copy_sheet(io.BytesIO(_sheet_with_header()), out, edit, chunk=chunk)
    xml = out.getvalue().decode("utf-8")
    root = etree.fromstring(out.getvalue())
    assert '<dimension ref="A1:C39"/>' in xml
    assert [r.get("r") for r in root.iter("{*}row")] == [str(r) for r in range(1, 40)]
    children = [etree.QName(c).localname for c in root]
    assert children[-3:] == ["pageMargins", "tableParts", "extLst"]


def _move_sheet_part(path: Path, old: str, new: str) -> None:
    """Rename a worksheet part (and fix its references), as other writers number parts freely."""
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    parts[new] = parts.pop(old)
    short_old, short_new = old.removeprefix("xl/"), new.removeprefix("xl/")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        short_old.encode(), short_new.encode()
    )
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(old.encode(), new.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            dst.writestr(name, data)


def test_sheet_part_is_found_by_name_not_by_number(tmp_path: Path) -> None:
    path = tmp_path / "renamed.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    book.add_worksheet("Cohorts").write_string(0, 0, "x")
    leads = book.add_worksheet("Leads")
    for row in range(4):
        for col, header in enumerate(("id", "Менеджер")):
            leads.write(row, col, header if row == 0 else f"{header}{row}")
    book.close()
    _move_sheet_part(path, "xl/worksheets/sheet2.xml", "xl/worksheets/leads-data.xml")
    table = TablePart("Leads", "Leads", ("id", "Менеджер"), ("text", "text"), 0, 0, 3, 1, 3)
    finalize_package(path, [table])
    with zipfile.ZipFile(path) as archive:
        rels = archive.read("xl/worksheets/_rels/leads-data.xml.rels").decode()
    assert 'Target="../tables/table1.xml"' in rels
    assert dict(openpyxl.load_workbook(path)["Leads"].tables.items()) == {"Leads": "A1:B4"}
    assert package_problems(path) == []


def test_existing_sheet_relationships_are_extended(tmp_path: Path) -> None:
    path = tmp_path / "links.xlsx"
    spec = PivotSpec(
        sheet="Pivot", source_table="Leads", name="P", rows=["manager"], values=[Value("won")],
        filters=["source"], location="A8",
    )  # fmt: skip
    with StreamedWorkbook(path) as book:
        book.write_table("Leads", "Leads", COLUMNS[:12], [])
        book.add_pivot(spec).write_url(0, 0, "https://example.com/how-to", string="How to slice")
    with zipfile.ZipFile(path) as archive:
        rels = archive.read("xl/worksheets/_rels/sheet2.xml.rels").decode()
    assert re.findall(r'Id="(rId\d+)"', rels) == ["rId1", "rId2"]
    assert "hyperlink" in rels
    assert "pivotTable" in rels
    pivot_sheet = openpyxl.load_workbook(path)["Pivot"]
    assert pivot_sheet["A1"].hyperlink.target == "https://example.com/how-to"
    assert pivot_sheet._pivots[0].location.ref.startswith("A8")
    assert package_problems(path) == []


def test_table_name_clash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clash.xlsx"
    book = StreamedWorkbook(path)
    book.write_table("Leads", "Leads", COLUMNS, [])
    book.workbook.define_name("leads", "=Leads!$A$1")
    with pytest.raises(ValueError, match="table name 'Leads' is already used"):
        book.close()
    assert not path.exists()


def test_widths_and_ids_of_a_two_pivot_workbook(tmp_path: Path, leads_rows: list[tuple[object, ...]]) -> None:
    path = tmp_path / "two.xlsx"
    build_workbook(path, leads_rows[:10], pivots=(COHORT_PIVOT, MANAGER_PIVOT))
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        workbook = archive.read("xl/workbook.xml").decode()
        pivot_sheet = archive.read("xl/worksheets/sheet2.xml").decode()  # Cohorts, Pivot, By manager, Leads
    assert [n for n in names if "pivot" in n.lower() and n.endswith(".xml")] == [
        "xl/pivotCache/pivotCacheDefinition1.xml",
        "xl/pivotTables/pivotTable1.xml",
        "xl/pivotTables/pivotTable2.xml",
        "xl/pivotCache/pivotCacheRecords1.xml",  # streamed last
    ]
    assert workbook.endswith('<pivotCaches><pivotCache cacheId="1" r:id="rId7"/></pivotCaches></workbook>')
    widths = {
        column: float(width)
        for low, high, width in re.findall(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', pivot_sheet)
        for column in range(int(low), int(high) + 1)
    }
    captions = [v.label for v in COHORT_PIVOT.values]
    assert captions == ["Leads", "Квалификация", "Sum of Встреча & КП", "won"]
    assert widths[1] == 16.7109375  # the row labels (xlsxwriter adds the cell padding)
    # Each value column holds its caption on one line (a pivot's captions do not wrap): at least a
    # digit's width per character, and never below 12.
    for column, caption in enumerate(captions, start=2):
        assert widths[column] >= max(12.0, len(caption) + 1.0), caption
    assert widths[4] > widths[3] > widths[2] == widths[5] == 12.7109375
