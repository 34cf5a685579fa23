"""The ``About`` sheet: what the numbers mean and how far to trust them.

Written last, when the other sheets are done, so it can say exactly what the workbook holds — in
particular whether the Leads table had to be split for Excel's row limit and what the pivot covers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from xlsxwriter.worksheet import Worksheet

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.outlook import mature_label
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.cells import Styles
from cohort_service.export.names import EXCEL_MAX_ROWS
from cohort_service.schema.cohorts import cohort_about
from cohort_service.schema.cohorts_sheet import duplicates, sheet_columns

SHEET = "About"
Pair = tuple[str, Any]


@dataclass(frozen=True)
class TableInfo:
    """One part of a streamed table: its sheet, table name, rows and the cohort weeks it holds."""

    sheet: str
    table: str
    rows: int
    first_week: date | None = None
    last_week: date | None = None

    def weeks(self) -> str:
        if self.first_week is None or self.last_week is None:
            return ""
        if self.first_week == self.last_week:
            return f", cohort week {self.first_week:%d.%m.%Y}"
        return f", cohort weeks {self.first_week:%d.%m.%Y}–{self.last_week:%d.%m.%Y}"


@dataclass(frozen=True)
class Contents:
    """What the other sheets ended up holding."""

    leads: tuple[TableInfo, ...]
    transitions: tuple[TableInfo, ...] | None  # None: the stage history was not read
    mature_cohort: str | None
    sheets: tuple[str, ...]
    csv_dir: Path | None = None
    omitted: str | None = None  # a lighter copy: what it leaves out and where the full file is


def slicing_lines(report: CohortReport) -> list[str]:
    filters = ", ".join([col.MANAGER, *report.dimension_names, col.PIPELINE])
    return [
        "1. Sheet Pivot: rows are cohort weeks; values are the count of leads, per milestone how many "
        "reached it (the sum of its 0/1 column), then '<milestone>, % of leads': a calculated field "
        "SUM(milestone) ÷ SUM(lead) (column lead is 1 on every row), so every subtotal and total is a ratio "
        "of sums, never an average of percentages. Unfiltered, it equals the Cohorts sheet. The file is "
        "saved with the pivot's numbers, so it reads before any refresh.",
        f"2. Pick a value in a report filter above it ({filters}) to see one manager, source, product or "
        "pipeline; tick 'Select Multiple Items' for several.",
        "3. To compare side by side, drag a filter field to Columns (the % columns stay right in every "
        "cell). The pivot refreshes when the file opens; after editing Leads, Data → Refresh All. "
        "LibreOffice does not show calculated fields: there, divide the sums.",
    ]


def table_lines(contents: Contents) -> list[Pair]:
    leads = contents.leads
    total = sum(part.rows for part in leads)
    pairs: list[Pair] = []
    if len(leads) == 1:
        pairs.append(("Leads", f"{total:,} leads, one row per lead: table Leads on sheet Leads"))
    else:
        pairs.append(
            (
                "Leads (split)",
                f"{total:,} leads do not fit one sheet (Excel allows {EXCEL_MAX_ROWS:,} rows), so the table "
                f"is split into {len(leads)} tables on {len(leads)} sheets, whole cohort weeks per sheet:",
            )
        )
        pairs += [("", f"{p.sheet}: table {p.table}, {p.rows:,} leads{p.weeks()}") for p in leads]
        pairs.append(
            (
                "Pivot coverage",
                f"The Pivot covers table {leads[0].table} only{leads[0].weeks()}; "
                "the Cohorts sheet counts every lead.",
            )
        )
    history = contents.transitions
    if history is None:
        pairs.append(
            ("Transitions", contents.omitted or "not included in this file (the stage history was not read)")
        )
    else:
        rows = sum(p.rows for p in history)
        where = ", ".join(f"{p.sheet} ({p.rows:,})" for p in history)
        pairs.append(
            (
                "Transitions",
                f"{rows:,} stage changes of these leads up to the as-of moment, read in the same "
                f"database transaction as the facts: {where}",
            )
        )
    if contents.csv_dir is not None:
        pairs.append(("All leads as CSV", str(contents.csv_dir / "leads.csv")))
    else:
        pairs.append(("All leads as CSV", "cohort-service report --csv DIR writes DIR/leads.csv"))
    return pairs


def report_lines(report: CohortReport) -> list[Pair]:
    tz = ZoneInfo(report.timezone)
    weeks = report.cohorts[col.COHORT].tolist()
    partial = report.partial_week
    span = f"{weeks[0]} … {weeks[-1]} ({len(weeks)} weeks, Monday–Sunday)" if weeks else "none"
    if partial is not None:
        span += "; the last one is partial (in progress)"
    synced: Any = "no successful sync recorded"
    if report.last_sync is not None:
        synced = _local(report.last_sync, tz)
    return [
        ("As of", _local(report.as_of, tz)),
        ("Time zone", report.timezone),
        ("Cohort weeks", span),
        ("Pipelines", ", ".join(report.pipelines) or "all pipelines"),
        ("Last successful sync (data freshness)", synced),
        ("Leads in the report", int(report.cohorts[col.LEADS].sum())),
    ]


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    """Wall-clock time to the second: 23:59:59.999999 would round up to the next day on display."""
    local = moment.astimezone(tz).replace(tzinfo=None) if moment.tzinfo else moment
    return local.replace(microsecond=0)


def definition_lines(report: CohortReport) -> list[Pair]:
    pairs: list[Pair] = [(m.name, m.describe() or "(no statuses resolved)") for m in report.milestones]
    pairs.append(
        (
            "",
            "A lead reaches a milestone at one of its statuses, at a later status of the same pipeline, or "
            "when won; a reached milestone stays reached, and reaching one counts every earlier one.",
        )
    )
    return pairs


def forecast_lines(report: CohortReport) -> list[Pair]:
    """How the forecast is made, the mature age, and how far it was off on this account's past."""
    view = report.forecast
    if view is None:
        return []
    pairs: list[Pair] = [
        (
            "Method",
            "A life table of conversion time per milestone: the daily chance of getting through at each "
            "age band of a lead, measured over the recent weeks (so a change of process is followed); a "
            "young cohort's forecast is what it has plus each open lead's chance at its own age, leaning "
            "towards the cohort's own pace as evidence accumulates. 80 % interval: simulated (uncertainty "
            "of the rates, week-to-week differences, and the luck of small counts).",
        ),
        ("Mature age", mature_label(view)),
        (
            "Average check (revenue forecast)",
            view.avg_check if view.avg_check is not None else "no won leads",
        ),
    ]
    for row in view.backtest.itertuples(index=False):
        after, count, err, naive, inside = (float(v) for v in row)
        if count == 0:
            continue
        pairs.append(
            (
                f"Forecast check, {after:.0f} weeks after the cohort week",
                f"off by {err * 100:.0f} % on the last {count:.0f} mature cohorts (the as-of reading taken "
                f"as final: {naive * 100:.0f} %); {inside * 100:.0f} % ended inside the 80 % interval",
            )
        )
    pairs += [
        (
            "Colours (Cohorts)",
            "each % cell against earlier cohorts of the report at the same age (time since their Monday): "
            "red or green when outside the 90 % range they make (strong outside 98 %), uncoloured inside; "
            "the partial week is never coloured. Maturation: each column on its own scale.",
        ),
        (
            "Flags",
            "a step outside the same-age prediction interval of up to 8 earlier cohorts after the "
            "Benjamini–Hochberg correction (5 %), or a team target missed by the 95 % interval of the step "
            f"expected at maturity; never on a base under {report_min_leads(report)} leads.",
        ),
        *((f"Flag: {f.week:%d.%m.%Y}", f.evidence) for f in report.flags),
    ]
    return pairs


def report_min_leads(report: CohortReport) -> int:
    return report.flag_min_leads


def quality_lines(report: CohortReport) -> list[Pair]:
    pairs: list[Pair] = list(report.quality.rows())
    warnings = report.quality.warnings()
    pairs += [("Warning", w) for w in warnings] or [("Warnings", "none")]
    return pairs


def write_about(book: StreamedWorkbook, styles: Styles, report: CohortReport, contents: Contents) -> None:
    ws = book.add_worksheet(SHEET)
    ws.set_column(0, 0, 64, styles.wrap)
    ws.set_column(1, 1, 100, styles.wrap)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.write_string(0, 0, "About this workbook", styles.title)
    sections: list[tuple[str, Sequence[Pair]]] = [
        ("Report", report_lines(report)),
        ("Milestones, in funnel order (statuses that mark each, per pipeline)", definition_lines(report)),
        ("Dimensions (latest synced values)", [(d.name, d.describe()) for d in report.dimensions]),
        ("Cohorts columns", _ages(report)),
        ("Forecast of young cohorts, colours and flags", forecast_lines(report)),
        ("Data quality", quality_lines(report)),
        ("Money (ad spend)", [("", report.money.describe())] if report.money is not None else []),
        ("Notes", [("", n) for n in report.notes]),
        ("How to slice the pivot", [("", line) for line in slicing_lines(report)]),
        ("What this file holds", [*table_lines(contents), *_sheets(report, contents)]),
    ]
    row = 2
    for title, pairs in sections:
        if not pairs:
            continue
        ws.write_string(row, 0, title, styles.section)
        row = _write_pairs(ws, row + 1, pairs, styles) + 1


def _ages(report: CohortReport) -> list[Pair]:
    return [
        ("On the Cohorts sheet", sheet_layout_line(report)),
        *cohort_about(report.milestone_names, report.age_days),
    ]


def sheet_layout_line(report: CohortReport) -> str:
    """How the sheet differs from cohorts.csv: what it leaves off and what it folds away."""
    placed = sheet_columns(list(report.cohorts.columns), report.milestone_names, report.age_days)
    shown = {c.name for c in placed}
    same = [f"{a} (= {b})" for a, b in duplicates(report.milestone_names).items() if b in shown]
    folded = ", ".join(c.name for c in placed if c.detail)
    return (
        "left to right: the cohort, leads, each milestone (count, % of the previous step, % of leads), "
        "lead→final % with its Δ and same-age ≤Nd %, then the forecast, the money and the outcome. "
        f"Left off as the same number as another column (cohorts.csv keeps them): {', '.join(same)}. "
        f"Folded away (the + over the column before opens them): {folded or 'none'}."
    )


def _sheets(report: CohortReport, contents: Contents) -> list[Pair]:
    mature = contents.mature_cohort or "none yet"
    return [
        ("Sheets", ", ".join(contents.sheets)),
        (
            "Funnel chart (Maturation)",
            f"latest mature cohort: {mature} — the newest complete week old "
            "enough for every equal-age column",
        )
        if report.age_days
        else ("Funnel chart (Maturation)", f"latest complete cohort: {mature}"),
    ]


def _write_pairs(ws: Worksheet, row: int, pairs: Iterable[Pair], styles: Styles) -> int:
    datetime_format = styles.book.format("dd.mm.yyyy hh:mm:ss", align="left")
    number_format = styles.book.format("#,##0", align="left")
    for label, value in pairs:
        if label:
            ws.write_string(row, 0, label, styles.label)
        if isinstance(value, datetime):
            ws.write_datetime(row, 1, value, datetime_format)
        elif isinstance(value, int | float):
            ws.write_number(row, 1, value, number_format)
        else:
            ws.write_string(row, 1, str(value), styles.wrap)
        row += 1
    return row
