"""LibreOffice opens the workbooks and recomputes the pivots; their totals equal sums over the rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from cohort_service.export.pivot import PivotSpec, Value
from tests.helpers.leads_sample import COLUMNS, build_workbook
from tests.helpers.soffice import requires_soffice, to_csv_sheets, to_xlsx

pytestmark = [pytest.mark.soffice, requires_soffice]
HEADERS = [c.name for c in COLUMNS]
WEEK, MANAGER, QUALIFIED, MET, WON = (
    HEADERS.index(n) for n in ("cohort_week", "manager", "Квалификация", "Встреча & КП", "won")
)


@pytest.fixture(scope="module")
def sample_csv(sample_xlsx: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[str]]]:
    return to_csv_sheets(sample_xlsx, tmp_path_factory.mktemp("csv"))


def pivot_body(rows: list[list[str]], first_header: str) -> tuple[list[str], dict[str, list[float]]]:
    """The header row (starting with ``first_header``) and label → numbers down to 'Total Result'."""
    start = next(i for i, row in enumerate(rows) if row and row[0] == first_header)
    body: dict[str, list[float]] = {}
    for row in rows[start + 1 :]:
        body[row[0]] = [float(v) for v in row[1:] if v != ""]
        if row[0] == "Total Result":
            break
    return rows[start], body


def expected_by(rows: list[tuple[Any, ...]], key: int, sums: tuple[int, ...]) -> dict[str, list[float]]:
    result: dict[str, list[float]] = defaultdict(lambda: [0.0] * (1 + len(sums)))
    for row in rows:
        label = row[key].isoformat() if key == WEEK else row[key]
        for target in (result[label], result["Total Result"]):
            target[0] += 1
            for i, column in enumerate(sums, start=1):
                target[i] += row[column]
    return dict(result)


def test_cohort_pivot_totals_equal_sums_over_rows(
    sample_csv: dict[str, list[list[str]]], leads_rows: list[tuple[Any, ...]]
) -> None:
    header, body = pivot_body(sample_csv["Pivot"], "cohort_week")
    assert header == ["cohort_week", "Leads", "Квалификация ", "Sum of Встреча & КП", "won "]
    expected = expected_by(leads_rows, WEEK, (QUALIFIED, MET, WON))
    assert body == expected
    assert body["Total Result"][0] == 200
    assert [row[:2] for row in sample_csv["Pivot"][:4]] == [
        ["manager", "- all -"],
        ["source", "- all -"],
        ["product", "- all -"],
        ["pipeline", "- all -"],
    ]


def test_one_manager_has_other_numbers_than_all(
    sample_csv: dict[str, list[list[str]]], leads_rows: list[tuple[Any, ...]]
) -> None:
    """What a report filter on one manager shows: that manager's rows, not the total."""
    header, body = pivot_body(sample_csv["By manager"], "manager")
    assert header == ["manager", "Leads", "Won "]
    assert body == expected_by(leads_rows, MANAGER, (WON,))
    total = body.pop("Total Result")
    assert set(body) == {"Иванов Иван", "Петрова Мария", "O'Brien & Co"}
    assert all(numbers[0] < total[0] for numbers in body.values())
    assert Counter(row[MANAGER] for row in leads_rows)["Иванов Иван"] == body["Иванов Иван"][0]


def test_leads_sheet_round_trips_through_libreoffice(
    sample_csv: dict[str, list[list[str]]], leads_rows: list[tuple[Any, ...]]
) -> None:
    leads = sample_csv["Leads"]
    assert leads[0] == HEADERS
    assert len(leads) == 1 + len(leads_rows)
    first = leads_rows[0]
    assert leads[1][:6] == [str(first[0]), first[1].isoformat(), f"{first[2]:%Y-%m-%d %H:%M:%S}", *first[3:6]]


def test_resaved_pivot_is_materialised(
    sample_xlsx: Path, leads_rows: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    resaved = to_xlsx(sample_xlsx, tmp_path / "lo")
    cells = CalamineWorkbook.from_path(str(resaved)).get_sheet_by_name("Pivot").to_python()
    totals = next(row for row in cells if row and row[0] == "Total Result")
    assert totals[1:5] == [200, *(sum(r[c] for r in leads_rows) for c in (QUALIFIED, MET, WON))]


def test_split_workbook_opens_with_every_part(leads_rows: list[tuple[Any, ...]], tmp_path: Path) -> None:
    path = tmp_path / "split.xlsx"
    build_workbook(path, leads_rows[:150], max_rows_per_sheet=61)
    sheets = to_csv_sheets(path, tmp_path / "csv")
    assert [len(sheets[name]) for name in ("Leads", "Leads (2)", "Leads (3)")] == [61, 61, 31]
    assert all(sheets[name][0] == HEADERS for name in ("Leads", "Leads (2)", "Leads (3)"))
    _, body = pivot_body(sheets["Pivot"], "cohort_week")
    assert body["Total Result"][0] == 60  # the pivot covers the first part (table Leads) only


def test_column_field_pivot(leads_rows: list[tuple[Any, ...]], tmp_path: Path) -> None:
    path = tmp_path / "cross.xlsx"
    spec = PivotSpec(
        sheet="Cross", source_table="Leads", name="Cross", rows=["manager"], columns=["source"],
        values=[Value("won")], filters=["pipeline"],
    )  # fmt: skip
    build_workbook(path, leads_rows, pivots=(spec,))
    rows = to_csv_sheets(path, tmp_path / "csv")["Cross"]
    header, body = pivot_body(rows, "manager")
    assert header == ["manager", "ads", "referral", "web", "Total Result"]
    for manager, numbers in body.items():
        mine = [r for r in leads_rows if manager in ("Total Result", r[MANAGER])]
        by_source = [sum(r[WON] for r in mine if r[HEADERS.index("source")] == s) for s in header[1:4]]
        assert numbers == [*by_source, sum(by_source)], manager
