"""The package checker and the schema validator catch broken packages (so their passes mean something)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openxml_audit import OpenXmlValidator, ValidationSeverity

from cohort_service.export.book import StreamedWorkbook
from tests.helpers.leads_sample import COHORT_PIVOT, COLUMNS, MANAGER_PIVOT, sample_rows
from tests.helpers.xlsx_package import package_problems

PIVOT = "xl/pivotTables/pivotTable1.xml"
CACHE = "xl/pivotCache/pivotCacheDefinition1.xml"
RECORDS = "xl/pivotCache/pivotCacheRecords1.xml"


def mutated(source: Path, target: Path, part: str, change: Callable[[str], str]) -> Path:
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                data = change(data.decode("utf-8")).encode("utf-8")
            dst.writestr(info, data)
    return target


def drop_first(tag: str) -> Callable[[str], str]:
    def change(xml: str) -> str:
        start = xml.index(f"<{tag}")
        end = xml.index("/>", start) + 2
        return xml[:start] + xml[end:]

    return change


@pytest.mark.parametrize(
    ("part", "change", "problem"),
    [
        (PIVOT, drop_first("pivotField showAll"), "pivotFields"),
        (PIVOT, lambda x: x.replace('cacheId="1"', 'cacheId="7"'), "cacheId 7 does not match"),
        (PIVOT, lambda x: x.replace('<dataField name="Leads" fld="0"', '<dataField name="Leads" fld="2"'),
         "dataField fld=2 is not a data pivotField"),
        (PIVOT, lambda x: x.replace('<field x="-2"/>', '<field x="3"/>'), "colFields points at field 3"),
        (CACHE, lambda x: x.replace('name="manager"', 'name="Manager"'), "differ from table columns"),
        (CACHE, lambda x: re.sub(r' r:id="rId\d+"', "", x), "has no records part"),
        (RECORDS, lambda x: x.replace("<r><n", "<r><x/><n", 1), "record 0 has 15 items for 14 fields"),
        (RECORDS, lambda x: x.replace("<x v=", "<x v=\"99\" w=", 1), "does not match its shared items"),
        (RECORDS, lambda x: x.replace("</r>", "", 1).replace("<r>", "", 1), "records, count 200"),
        ("xl/tables/table1.xml", lambda x: x.replace('name="won"', 'name="Won"'), "differ from table"),
        ("[Content_Types].xml", lambda x: x.replace("/xl/tables/table1.xml", "/xl/tables/table9.xml"),
         "xl/tables/table1.xml: no content type"),
        ("xl/workbook.xml", lambda x: x.replace("<calcPr", "<zz/><calcPr"),
         "unexpected element zz"),
        ("xl/worksheets/_rels/sheet4.xml.rels", lambda x: x.replace("table1.xml", "table5.xml"),
         "targets missing part xl/tables/table5.xml"),
    ],
    ids=["pivot-field-dropped", "cache-id", "data-field", "col-field", "cache-names", "save-data",
         "record-width", "record-index", "record-count",
         "table-columns", "content-type", "workbook-element", "dangling-rel"],
)  # fmt: skip
def test_checker_reports_the_broken_part(
    sample_xlsx: Path, tmp_path: Path, part: str, change: Callable[[str], str], problem: str
) -> None:
    broken = mutated(sample_xlsx, tmp_path / "broken.xlsx", part, change)
    problems = package_problems(broken)
    assert any(problem in p for p in problems), problems


def audit_errors(path: Path) -> list[str]:
    result = OpenXmlValidator().validate(path)
    return [f"{e.part_uri}: {e.description}" for e in result.errors if e.severity == ValidationSeverity.ERROR]


def test_sample_workbook_passes_the_schema(sample_xlsx: Path) -> None:
    assert audit_errors(sample_xlsx) == []


def test_schema_check_catches_element_order(sample_xlsx: Path, tmp_path: Path) -> None:
    def swap(xml: str) -> str:
        fields = xml[xml.index("<rowFields") : xml.index("<rowItems")]
        items = xml[xml.index("<rowItems") : xml.index("<colFields")]
        return xml.replace(fields + items, items + fields)

    broken = mutated(sample_xlsx, tmp_path / "order.xlsx", PIVOT, swap)
    assert audit_errors(broken) == ["/xl/pivotTables/pivotTable1.xml: Unexpected element 'rowFields' found"]


@pytest.mark.parametrize("pivots_first", [True, False], ids=["with-records", "recipe-only"])
def test_busy_workbook_passes_both_checks(tmp_path: Path, pivots_first: bool) -> None:
    """Split table, data bars (an extLst after tableParts), a hyperlink and two pivots; declared before
    the table the pivots keep records and cells, after it they are recipes."""
    path = tmp_path / "busy.xlsx"
    with StreamedWorkbook(path, tmpdir=tmp_path) as book:
        pivots = [COHORT_PIVOT, MANAGER_PIVOT] if pivots_first else []
        for spec in pivots:
            book.add_pivot(spec).write_url(0, 3, "https://example.com", string="How to slice")
        book.write_table("Leads", "Leads", COLUMNS, sample_rows(120), max_rows_per_sheet=50)
        leads = book.workbook.get_worksheet_by_name("Leads")
        leads.conditional_format("M2:M50", {"type": "data_bar", "data_bar_2010": True})
        if not pivots_first:
            book.add_pivot(COHORT_PIVOT).write_url(0, 3, "https://example.com", string="How to slice")
            book.add_pivot(MANAGER_PIVOT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy.xlsx"]  # no temp files left
    assert package_problems(path) == []
    assert audit_errors(path) == []
    with zipfile.ZipFile(path) as archive:
        assert (RECORDS in archive.namelist()) is pivots_first
        sheet = archive.read(f"xl/worksheets/sheet{3 if pivots_first else 1}.xml").decode()
    assert sheet.index("</conditionalFormatting>") < sheet.index("<tableParts") < sheet.rindex("<extLst>")
