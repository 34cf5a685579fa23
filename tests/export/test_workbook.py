"""The report workbook read back: Cohorts equal the engine and the hand numbers, Leads sums equal
Cohorts, types are real, the pivot and tables are wired up, and the package passes both checkers.

The account is tests/export/workbook_account.py (numbers worked out there by hand); the workbook
comes from ``run_report(…, out=…)``, the same call as ``cohort-service report --out``.
"""

from __future__ import annotations

import csv
import math
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openxml_audit import OpenXmlValidator, ValidationSeverity
from python_calamine import CalamineWorkbook
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cohort_service.app.report import ReportRequest, run_report
from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.config import Settings
from cohort_service.export.transitions import HistorySpool
from cohort_service.export.workbook import write_workbook
from tests.cohorts.rows import MILESTONES as MILESTONE_CONFIG
from tests.cohorts.rows import account
from tests.conftest import TEMPLATE, make_settings
from tests.export.workbook_account import AS_OF, DIMENSIONS, EXPECTED, MILESTONES, TRANSITIONS, WEEKS, fill
from tests.helpers.soffice import requires_soffice, to_csv_sheets
from tests.helpers.xlsx_package import package_problems

SHEETS = ["Cohorts", "Pivot", "Maturation", "Managers", "Attention", "Leads", "Transitions", "About"]
HEADER = 3  # the Cohorts header is on sheet row 3 (1-based)


@dataclass(frozen=True)
class Built:
    report: CohortReport
    path: Path
    csv_dir: Path
    settings: Settings


@pytest.fixture(scope="module")
def built(pg_admin_url: str, template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One account, one report run writing both the CSV files and the workbook (read-only for tests)."""
    del template_url
    name = f"t_wb_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url, poolclass=NullPool)
    acct = account(engine)
    fill(acct)
    acct.conn.close()
    report_section = {
        "timezone": "Europe/Moscow", "weeks": 3, "age_days": [7], "milestones": MILESTONE_CONFIG,
        "dimensions": DIMENSIONS,
    }  # fmt: skip
    folder = tmp_path_factory.mktemp("workbook")
    path, csv_dir = folder / "report.xlsx", folder / "csv"
    settings = make_settings(url, report=report_section)
    run = run_report(settings, ReportRequest(as_of=AS_OF), out=path, csv_dir=csv_dir)
    assert run.files[-1] == path
    yield Built(run.report, path, csv_dir, settings)
    from cohort_service.db.engine import dispose_all

    engine.dispose()
    dispose_all()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def book(built: Built) -> openpyxl.Workbook:
    return openpyxl.load_workbook(built.path)


@pytest.fixture(scope="module")
def cells(built: Built) -> dict[str, list[list[Any]]]:
    """Every sheet's values as python-calamine reads them (typed: float, date, datetime, str)."""
    workbook = CalamineWorkbook.from_path(str(built.path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}


def local(text: str) -> datetime:
    """A naive wall-clock time, as Excel stores it (no time zone)."""
    return datetime.fromisoformat(text)


def same(cell: Any, value: Any) -> bool:
    """A cell equals an engine value: blanks are NaN/None there and empty here."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return cell is None
    if isinstance(value, pd.Timestamp):
        return cell == value.to_pydatetime()
    if isinstance(value, float | int) and not isinstance(value, bool):
        return isinstance(cell, float | int) and math.isclose(cell, value, rel_tol=1e-12)
    return bool(cell == value)


def test_sheets_in_order(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == SHEETS


# The sheet's reading order (schema/cohorts_sheet.py), written out by hand for this report: the
# duplicates "target % of leads" (= target %) and "paid % of leads" (= lead→paid %) are left off;
# True marks a detail column, in a collapsed outline group after the column it qualifies.
SHEET_COLUMNS = [
    ("cohort", False), ("cohort_week", True), ("partial", True), ("leads", False),
    ("target", False), ("target %", False),
    ("qualified", False), ("qualified %", False), ("qualified % of leads", False),
    ("proposal", False), ("proposal %", False), ("proposal % of leads", False),
    ("paid", False), ("paid %", False), ("lead→paid %", False), ("Δ vs prev", False),
    ("≤7d %", False), ("Δ at 7d", True),
    ("mature", False),
    *((f"{m} forecast{end}", bool(end)) for m in MILESTONES for end in ("", " low", " high")),
    ("lead→paid % forecast", False), ("revenue", False), ("revenue forecast", False), ("avg check", False),
    ("won", False), ("lost", False), ("open", False), ("median days to final", False),
    ("top loss reasons", False),
]  # fmt: skip
DUPLICATES = {"target % of leads": "target %", "paid % of leads": "lead→paid %"}


def test_cohorts_equal_the_engine_and_the_hand_numbers(built: Built, book: openpyxl.Workbook) -> None:
    ws = book["Cohorts"]
    engine = built.report.cohorts
    assert ws["A1"].value == "Cohorts as of 26.09.2022 23:59 (Europe/Moscow)"
    head = [c.value for c in ws[HEADER]]
    assert head == [name for name, _ in SHEET_COLUMNS]
    assert len(set(head)) == len(head)
    # Every engine column is on the sheet, or is a true duplicate of one that is (cohorts.csv keeps all).
    assert set(engine.columns) == set(head) | set(DUPLICATES)
    for dropped, kept in DUPLICATES.items():
        assert engine[dropped].equals(engine[kept]), dropped
    for i, expected in enumerate(engine[head].itertuples(index=False, name=None)):
        got = [c.value for c in ws[HEADER + 1 + i]]
        for name, cell, value in zip(head, got, expected, strict=True):
            if name in {col.PARTIAL, col.MATURE}:
                assert cell == ("yes" if value else None)
            else:
                assert same(cell, value), (i, name, cell, value)
    rows = {ws.cell(r, 2).value.date(): r for r in range(HEADER + 1, HEADER + 4)}
    assert list(rows) == WEEKS
    for week, numbers in EXPECTED.items():
        r = rows[week]
        counts = [ws.cell(r, head.index(n) + 1).value for n in (col.LEADS, *MILESTONES)]
        assert counts == numbers
    final = [ws.cell(rows[w], head.index("lead→paid %") + 1).value for w in WEEKS]
    delta = [ws.cell(rows[w], head.index("Δ vs prev") + 1).value for w in WEEKS]
    week_old = [ws.cell(rows[w], head.index("≤7d %") + 1).value for w in WEEKS]
    assert final == pytest.approx([1 / 3, 1 / 2, 0.0])
    assert delta[0] is None
    assert delta[1] == pytest.approx(0.5)
    mature = [ws.cell(rows[w], head.index("mature") + 1).value for w in WEEKS]
    assert mature[2] is None  # the partial week is not mature: no Δ vs prev (was −100 %), …
    assert delta[2] is None  # … its comparison at equal age is Δ at Nd
    assert week_old[0] == pytest.approx(1 / 3)
    assert week_old[1:] == [None, None]  # too young: blank, never 0 and never NaN
    assert [ws.cell(rows[w], head.index("revenue") + 1).value for w in WEEKS] == [1000, 2500, 0]


def column_spans(ws: Any) -> dict[str, Any]:
    """Letter → its <col> entry (openpyxl keeps a run of equal entries under its first letter)."""
    spans = {}
    for dim in ws.column_dimensions.values():
        for index in range(dim.min, dim.max + 1):
            spans[openpyxl.utils.get_column_letter(index)] = dim
    return spans


def column_widths(ws: Any) -> dict[str, float]:
    return {letter: dim.width for letter, dim in column_spans(ws).items()}


def test_cohorts_layout_widths_groups_and_print(book: openpyxl.Workbook) -> None:
    """What a reader sees: every header word fits its column, the detail columns are collapsed
    behind a + on the column they qualify, and the printout goes section by section."""
    ws = book["Cohorts"]
    head = [c.value for c in ws[HEADER]]
    letters = [openpyxl.utils.get_column_letter(i + 1) for i in range(len(head))]
    spans = column_spans(ws)
    for letter, name, (_, detail) in zip(letters, head, SHEET_COLUMNS, strict=True):
        dim = spans[letter]
        longest = max(name.split(), key=len)
        # Excel's unit is one digit of the default font: a word of n letters needs about n of them
        # (less for narrow letters), plus the cell's margins.
        assert dim.width >= len(longest) * 0.9 + 1.5, (name, dim.width)
        assert bool(dim.hidden) is detail, name
        assert dim.outlineLevel == (1 if detail else 0), name
    assert spans["A"].width >= len("26.09–02.10.2022")
    # Headers wrap between words and the header row is tall enough for the longest wrap.
    assert ws.cell(HEADER, 1).alignment.wrap_text
    assert ws.row_dimensions[HEADER].height >= 2 * 15
    assert ws.freeze_panes == "B4"
    fills = {name: ws.cell(HEADER, i + 1).fill.fgColor.rgb for i, name in enumerate(head)}
    assert fills["cohort"] == fills["≤7d %"] == "FFDDEBF7"  # conversion
    assert fills["mature"] == fills["avg check"] == "FFFFF2CC"  # forecast (with the money it forecasts)
    assert fills["won"] == fills["top loss reasons"] == "FFEDEDED"  # outcome
    assert ws.sheet_properties.outlinePr.summaryRight is False  # the + sits over the qualified column
    setup = ws.page_setup
    assert (setup.orientation, setup.paperSize) == ("landscape", 9)
    assert not ws.sheet_properties.pageSetUpPr.fitToPage  # a fixed scale: the page breaks hold
    assert 10 <= setup.scale <= 100
    assert (ws.print_title_rows, ws.print_title_cols) == ("$3:$3", "$A:$A")
    breaks = [b.id for b in ws.col_breaks.brk]
    assert breaks
    assert set(breaks) <= {head.index("mature"), head.index("won")}
    assert setup.cellComments in (None, "none")  # header notes are never printed


def test_no_header_breaks_a_word_on_any_sheet(book: openpyxl.Workbook) -> None:
    """Every header cell (bold, wrapping, boxed) of the human sheets is at least as wide as its
    longest word, and its row tall enough for the lines its words need at that width."""
    checked = 0
    for name in ("Cohorts", "Maturation", "Managers", "Attention"):
        ws = book[name]
        widths = column_widths(ws)
        for row in ws.iter_rows():
            for cell in row:
                if not (cell.value and cell.font.b and cell.alignment.wrap_text and cell.border.left.style):
                    continue
                words = str(cell.value).split()
                width = widths.get(cell.column_letter, 8.43)
                assert width >= max(len(w) for w in words) * 0.9 + 1.5, (name, cell.coordinate, cell.value)
                lines = 1 + sum(len(w) for w in words) // max(int(width), 1)  # a floor: no word split
                assert (ws.row_dimensions[cell.row].height or 15) >= 15 * min(lines, 2), (name, cell.value)
                checked += 1
    assert checked > 100


def test_cohorts_formats_marks_and_notes(book: openpyxl.Workbook) -> None:
    ws = book["Cohorts"]
    head = [c.value for c in ws[HEADER]]
    first = HEADER + 1

    def fmt(name: str) -> str:
        return str(ws.cell(first, head.index(name) + 1).number_format)

    assert fmt("target %") == fmt("lead→paid %") == fmt("≤7d %") == "0.0%"
    assert fmt("Δ vs prev") == "+0%;-0%;0%"
    assert fmt("cohort_week") == "dd.mm.yyyy"
    partial = ws.cell(first + 2, 1)
    assert partial.font.i
    assert not ws.cell(first, 1).font.i
    assert ws.cell(first + 2, head.index("partial") + 1).value == "yes"
    comment = ws.cell(HEADER, head.index("≤7d %") + 1).comment
    assert comment is not None
    assert "younger than 14 days" in comment.text
    rules = {str(cf.sqref): [r.type for r in cf.rules] for cf in ws.conditional_formatting}
    pct = [i for i, n in enumerate(head) if "%" in n and "forecast" not in n]
    # step % per milestone, % of leads for the middle two, lead→paid, ≤7d
    assert len(pct) == len(MILESTONES) + 2 + 2
    letters = [openpyxl.utils.get_column_letter(i + 1) for i in pct]
    assert letters
    # No colour scale across rows: cells are coloured one by one against earlier weeks at the same
    # age (cohorts/colours.py), and three weeks are too few for any verdict.
    assert not [k for k, v in rules.items() if v == ["colorScale"]]
    assert all(ws.cell(r, c + 1).fill.fgColor.rgb in (None, "00000000") for r in (4, 5, 6) for c in pct)
    delta = openpyxl.utils.get_column_letter(head.index("Δ vs prev") + 1)
    assert rules[f"{delta}4:{delta}6"] == ["cellIs", "cellIs"]
    notes = [ws.cell(r, 1).value for r in range(first + 4, first + 9)]
    assert "Partial week (in progress, italic grey): 26.09–02.10.2022; its numbers will still grow." in notes
    assert any(n and "≤7d % is blank until a cohort is 14 days old" in n for n in notes)


def test_leads_table_sums_by_week_equal_cohorts(
    built: Built, book: openpyxl.Workbook, cells: dict[str, list[list[Any]]]
) -> None:
    leads = cells["Leads"]
    expected_columns = list(built.report.leads_table().columns)
    assert leads[0] == expected_columns
    last = openpyxl.utils.get_column_letter(len(expected_columns))
    assert book["Leads"].tables["Leads"].ref == f"A1:{last}7"  # header + 6 leads, exactly
    week = expected_columns.index(col.COHORT_WEEK)
    sums: dict[date, list[float]] = defaultdict(lambda: [0.0] * (1 + len(MILESTONES)))
    for row in leads[1:]:
        assert isinstance(row[week], date)
        assert not isinstance(row[week], datetime)
        sums[row[week]][0] += 1
        for k, name in enumerate(MILESTONES, start=1):
            sums[row[week]][k] += row[expected_columns.index(name)]
    assert dict(sums) == EXPECTED
    cohorts = cells["Cohorts"]
    head = cohorts[HEADER - 1]
    for row in cohorts[HEADER : HEADER + 3]:
        assert sums[row[1]] == [row[head.index(n)] for n in (col.LEADS, *MILESTONES)]


def test_leads_rows_are_typed_and_cyrillic_survives(cells: dict[str, list[list[Any]]]) -> None:
    head, *rows = cells["Leads"]
    first = dict(zip(head, rows[0], strict=True))
    assert first["lead_id"] == 1
    assert first["created_at"] == local("2022-09-12 10:00")
    assert first["target at"] == local("2022-09-12 12:00")
    assert (first["manager"], first["source"], first["product"]) == ("Анна", "Яндекс", "Курс")
    assert (first["pipeline"], first["status"]) == ("Воронка", "Успешно реализовано")
    assert (first["paid"], first["won"], first["price"], first["revenue"]) == (1, 1, 1000, 1000)
    second = dict(zip(head, rows[1], strict=True))
    assert (second["lost"], second["lost from stage"], second["loss reason"]) == (1, "target", "Дорого")
    assert second["paid at"] == ""  # blank, not 0 and not "nan"
    assert second["days to final"] == ""
    for name in (*MILESTONES, "won", "lost", "lead_id", "price", "revenue"):
        column = head.index(name)
        assert all(isinstance(r[column], float | int) for r in rows), name


def test_no_number_is_stored_as_text(cells: dict[str, list[list[Any]]]) -> None:
    def numeric(text: str) -> bool:
        try:
            float(text.replace(",", "").replace("%", ""))
        except ValueError:
            return False
        return True

    offenders = [
        (sheet, value)
        for sheet, rows in cells.items()
        for row in rows
        for value in row
        if isinstance(value, str) and value.strip() and (numeric(value) or value.lower() in ("nan", "nat"))
    ]
    assert offenders == []


def test_transitions_table_is_the_history_up_to_as_of(book: openpyxl.Workbook, cells: dict[str, Any]) -> None:
    head, *rows = cells["Transitions"]
    assert head == ["lead_id", "time", "from pipeline", "from status", "to pipeline", "to status", "author"]
    expected = [(lead, local(at), *names[:4], names[4] or "") for lead, at, *names in TRANSITIONS]
    assert [tuple(r) for r in rows] == expected
    assert book["Transitions"].tables["Transitions"].ref == "A1:G11"


def test_pivot_is_defined_over_the_leads_table(book: openpyxl.Workbook) -> None:
    pivot = book["Pivot"]._pivots[0]
    fields = [f.name for f in pivot.cache.cacheFields]
    assert pivot.cache.cacheSource.worksheetSource.name == "Leads"
    assert pivot.cache.refreshOnLoad
    assert pivot.cache.saveData is not False  # kept, with a record per Leads row
    assert len(pivot.cache.records.r) == book["Leads"].max_row - 1
    header = [c.value for c in book["Leads"][1]]
    assert fields == [*header, *(f"{m} / lead" for m in MILESTONES)]  # calculated conversions last
    assert [f.formula for f in pivot.cache.cacheFields[len(header) :]] == [
        f"'{m}'/'lead'" for m in MILESTONES
    ]
    assert [fields[f.x] for f in pivot.rowFields] == ["cohort_week"]
    assert [fields[f.fld] for f in pivot.pageFields] == ["manager", "source", "product", "pipeline"]
    assert [(fields[d.fld], d.subtotal) for d in pivot.dataFields] == [
        ("lead_id", "count"),
        *((m, "sum") for m in MILESTONES),
        *((f"{m} / lead", "sum") for m in MILESTONES),
    ]
    assert all(item.h is None for f in pivot.pivotFields for item in (f.items or []))  # no filter preset


def test_maturation_triangle_funnel_and_charts(book: openpyxl.Workbook) -> None:
    ws = book["Maturation"]
    assert [c.value for c in ws[4]][:5] == ["cohort", "cohort_week", "week 0", "week 1", "week 2"]
    triangle = [[c.value for c in ws[r]][2:5] for r in (5, 6, 7)]
    assert triangle[0][:2] == pytest.approx([1 / 3, 1 / 3])
    assert triangle[0][2] is None  # week 2 of 12.09 ends 03.10, after the as-of moment
    assert triangle[1][0] == 0.5
    assert triangle[1][1:] == [None, None]
    assert triangle[2] == [None, None, None]
    assert ws["A9"].value == "Funnel of the latest mature cohort: 12.09–18.09.2022"
    funnel = [[c.value for c in ws[r]][:2] for r in range(11, 16)]
    assert funnel == [["leads", 3], ["target", 2], ["qualified", 1], ["proposal", 1], ["paid", 1]]
    kinds = sorted(type(chart).__name__ for chart in ws._charts)
    assert kinds == ["BarChart", "LineChart"]
    bar = next(chart for chart in ws._charts if type(chart).__name__ == "BarChart")
    assert bar.barDir == "bar"  # horizontal bars


def test_managers_sheet_has_each_slice(book: openpyxl.Workbook) -> None:
    ws = book["Managers"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    titles = [row[0] for row in values if row[0] and str(row[0]).startswith(("Funnel by", "Loss reasons"))]
    assert titles == [
        "Funnel by manager",
        "Funnel by pipeline (at creation)",
        "Funnel by source (latest synced values)",
        "Funnel by product (latest synced values)",
        "Loss reasons (leads lost as of the report moment)",
    ]
    head = values[3]
    # Each header says what it is, once: the duplicates of the Cohorts sheet are left off here too.
    assert head[:4] == ["manager", "leads", "target", "target %"]
    assert head[4:7] == ["qualified", "qualified %", "qualified % of leads"]
    assert "lead→paid %" in head
    assert "paid % of leads" not in head
    assert "target % of leads" not in head
    assert len(set(head)) == len(head)
    widths = column_widths(ws)
    assert widths["C"] >= len("qualified")
    assert widths["G"] >= len("qualified")
    assert ws.row_dimensions[4].height >= 2 * 15  # "qualified % of leads" wraps onto a second line
    by_manager = {row[0]: dict(zip(head, row, strict=True)) for row in values[4:6]}
    assert {m: (r["leads"], r["target"], r["paid"], r["revenue"]) for m, r in by_manager.items()} == {
        "Анна": (3, 2, 1, 1000),
        "Борис": (3, 3, 1, 2500),
    }


def test_about_says_when_what_and_how(cells: dict[str, list[list[Any]]]) -> None:
    about: dict[str, Any] = {}
    for row in cells["About"]:  # the first section naming a label wins (milestones before columns)
        if row[0]:
            about.setdefault(row[0], row[1])
    assert about["As of"] == local("2022-09-26 23:59:59")
    assert about["Time zone"] == "Europe/Moscow"
    assert about["Last successful sync (data freshness)"] == local("2022-09-26 06:00")
    assert about["qualified"] == "Воронка/Квалификация, Партнёры/Квалификация"
    assert about["paid"] == "won (142)"
    assert about["target: reached only via a later milestone (imputed)"] == 1
    assert about["Leads"] == "6 leads, one row per lead: table Leads on sheet Leads"
    assert about["Transitions"].startswith("10 stage changes of these leads up to the as-of moment")
    assert about["All leads as CSV"].endswith("leads.csv")
    layout = about["On the Cohorts sheet"]
    assert "target % of leads (= target %), paid % of leads (= lead→paid %)" in layout
    assert layout.endswith(
        "(the + over the column before opens them): cohort_week, partial, Δ at 7d, target forecast low, "
        "target forecast high, qualified forecast low, qualified forecast high, proposal forecast low, "
        "proposal forecast high, paid forecast low, paid forecast high."
    )
    slicing = [row[1] for row in cells["About"] if str(row[1]).startswith(("1. ", "2. ", "3. "))]
    assert len(slicing) == 3
    assert "(manager, source, product, pipeline)" in slicing[1]


def test_document_properties(book: openpyxl.Workbook) -> None:
    custom = {p.name: p.value for p in book.custom_doc_props.props}
    assert custom["timezone"] == "Europe/Moscow"
    assert custom["leads"] == 6
    assert book.properties.title == "Cohorts as of 26.09.2022 23:59 (Europe/Moscow)"


def test_package_and_schema_checks_pass(built: Built) -> None:
    assert package_problems(built.path) == []
    result = OpenXmlValidator().validate(built.path)
    errors = [e for e in result.errors if e.severity == ValidationSeverity.ERROR]
    assert [f"{e.part_uri}: {e.description}" for e in errors] == []


def history_spool(path: Path, rows: list[tuple[Any, ...]]) -> HistorySpool:
    """A spool in the format ``spool_history`` copies out of Postgres (CSV: lead, local µs, names)."""
    epoch = datetime(1970, 1, 1)  # noqa: DTZ001 - the spool holds naive wall-clock microseconds
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for lead, at, *names in rows:
            micros = (local(at) - epoch) // timedelta(microseconds=1)
            writer.writerow([lead, micros, *("" if n is None else n for n in names)])
    return HistorySpool(path, len(rows))


@pytest.fixture(scope="module")
def split_book(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same report, at most 4 rows per sheet: Leads splits between whole weeks, Transitions anywhere."""
    folder = tmp_path_factory.mktemp("split")
    spool = history_spool(folder / "history.csv", TRANSITIONS)
    result = write_workbook(built.report, folder / "split.xlsx", history=spool, max_rows_per_sheet=4)
    assert result.leads_split
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "split.xlsx"]  # no temp files left
    return result.path


def test_split_leads_keep_whole_weeks(split_book: Path) -> None:
    book = openpyxl.load_workbook(split_book)
    assert book.sheetnames == [
        "Cohorts", "Pivot", "Maturation", "Managers", "Attention", "Leads", "Leads (2)",
        "Transitions", "Transitions (2)", "Transitions (3)", "Transitions (4)", "About",
    ]  # fmt: skip
    weeks = {
        name: sorted({row[1].date() for row in book[name].iter_rows(min_row=2, values_only=True)})
        for name in ("Leads", "Leads (2)")
    }
    assert weeks == {"Leads": WEEKS[:1], "Leads (2)": WEEKS[1:]}  # 3 + 3 rows; a week never straddles
    assert book["Leads"].tables["Leads"].ref.endswith("4")
    assert book["Leads (2)"].tables["Leads_2"].ref.endswith("4")
    history = [
        row for name in book.sheetnames if name.startswith("Transitions")
        for row in book[name].iter_rows(min_row=2, values_only=True) if row[0] is not None
    ]  # fmt: skip
    assert len(history) == len(TRANSITIONS)
    assert book["Transitions (4)"].tables["Transitions_4"].ref == "A1:G2"
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row[0]}
    assert about["Pivot coverage"] == (
        "The Pivot covers table Leads only, cohort week 12.09.2022; the Cohorts sheet counts every lead."
    )
    assert "split into 2 tables on 2 sheets" in about["Leads (split)"]
    notes = [row[0] for row in book["Cohorts"].iter_rows(values_only=True) if row[0]]
    assert any(str(n).startswith("The Leads table is split over 2 sheets") for n in notes)
    assert package_problems(split_book) == []


def test_a_failed_write_keeps_the_previous_file(built: Built, tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"last week's workbook")
    broken = tmp_path / "history.csv"
    broken.write_text("1,not-a-time,a,b,c,d,e\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not-a-time"):
        write_workbook(built.report, target, history=HistorySpool(broken, 1))
    assert target.read_bytes() == b"last week's workbook"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "report.xlsx"]


def pivot_body(rows: list[list[str]]) -> dict[str, list[float]]:
    """Label → numbers of a LibreOffice-refreshed pivot, from the header row down to 'Total Result'."""
    start = next(i for i, row in enumerate(rows) if row and row[0] == "cohort_week")
    body: dict[str, list[float]] = {}
    for row in rows[start + 1 :]:
        body[row[0]] = [float(v) for v in row[1:] if v != ""]
        if row[0] == "Total Result":
            break
    return body


@pytest.mark.soffice
@requires_soffice
def test_libreoffice_pivot_equals_cohorts(built: Built, tmp_path: Path) -> None:
    sheets = to_csv_sheets(built.path, tmp_path / "csv")
    assert set(SHEETS) <= set(sheets)
    body = pivot_body(sheets["Pivot"])
    expected = {week.isoformat(): [float(n) for n in numbers] for week, numbers in EXPECTED.items()}
    expected["Total Result"] = [float(sum(column)) for column in zip(*EXPECTED.values(), strict=True)]
    assert body == expected
    cohorts = sheets["Cohorts"]
    head = cohorts[HEADER - 1]
    for week, row in zip(WEEKS, cohorts[HEADER : HEADER + 3], strict=True):  # as LibreOffice shows it
        assert row[0].startswith(f"{week:%d.%m}–")
        assert body[week.isoformat()] == [float(row[head.index(n)]) for n in (col.LEADS, *MILESTONES)]


@pytest.mark.soffice
@requires_soffice
def test_libreoffice_opens_the_split_workbook(split_book: Path, tmp_path: Path) -> None:
    sheets = to_csv_sheets(split_book, tmp_path / "csv")
    assert len(sheets["Leads"]) == 4
    assert len(sheets["Leads (2)"]) == 4
    body = pivot_body(sheets["Pivot"])
    assert body == {"2022-09-12": [3.0, 2.0, 1.0, 1.0, 1.0], "Total Result": [3.0, 2.0, 1.0, 1.0, 1.0]}


def test_a_report_without_leads_still_makes_a_sound_workbook(built: Built, tmp_path: Path) -> None:
    """A brand-new account: as of a day before the first lead, every sheet is there and nothing breaks."""
    path = tmp_path / "empty.xlsx"
    run = run_report(built.settings, ReportRequest(as_of=date(2022, 8, 1)), out=path)
    assert int(run.report.cohorts[col.LEADS].sum()) == 0
    assert package_problems(path) == []
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == SHEETS
    assert book["Leads"].tables["Leads"].ref.endswith("2")  # an Excel table keeps one (blank) data row
    assert book["Transitions"].tables["Transitions"].ref == "A1:G2"
    assert book["Leads"]["A2"].value is None
    maturation = [row[0] for row in book["Maturation"].iter_rows(values_only=True)]
    assert "No cohort is mature yet: no funnel chart." in maturation
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True) if row[0]}
    assert about["Leads in the report"] == 0
    assert about["Transitions"].startswith("0 stage changes")
