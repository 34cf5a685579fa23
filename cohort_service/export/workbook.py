"""The report workbook (DESIGN §6): ``write_workbook(report, path)``.

Sheets, in order: ``Cohorts`` (the meeting's table), ``Pivot`` (a native PivotTable over table
``Leads``, saved with its cache records and the cells it shows, refreshed again on open),
``Maturation`` (triangle and charts), ``Managers`` (funnels per manager, pipeline and dimension),
``Channels`` (spend and funnel per source, when spend is known), ``Leads`` (Excel Table ``Leads``,
one row per lead), ``Transitions`` (Excel Table ``Transitions``, the stage history), ``About``.

The file is written from a finished :class:`CohortReport` plus the stage history the report run
spooled to disk under its lock (:mod:`transitions`), so no database connection or lock is held
while writing. Big tables stream through :class:`StreamedWorkbook`; memory stays flat in the
number of rows written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from xlsxwriter.exceptions import FileCreateError

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.errors import first_line
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.cells import Styles
from cohort_service.export.files import check_file_target, private_tmpdir, replacing, sweep_partials
from cohort_service.export.leads_table import leads_columns, leads_rows, plan_parts
from cohort_service.export.names import EXCEL_MAX_ROWS
from cohort_service.export.pivot import PivotSpec, Value
from cohort_service.export.sheets_about import Contents, TableInfo, write_about
from cohort_service.export.sheets_attention import write_attention
from cohort_service.export.sheets_cohorts import title, write_cohorts
from cohort_service.export.sheets_maturation import write_maturation
from cohort_service.export.sheets_money import write_channels
from cohort_service.export.sheets_slices import write_slices
from cohort_service.export.streamed import StreamedTable
from cohort_service.export.transitions import COLUMNS as HISTORY_COLUMNS
from cohort_service.export.transitions import HistorySpool
from cohort_service.schema.leads import lead_columns, pivot_fields, yielded_name

LEADS = "Leads"
PIVOT_SHEET, PIVOT_NAME = "Pivot", "CohortPivot"
TRANSITIONS = "Transitions"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class WorkbookResult:
    path: Path
    contents: Contents

    @property
    def leads_split(self) -> bool:
        return len(self.contents.leads) > 1


def pivot_spec(report: CohortReport) -> PivotSpec:
    """Rows: cohort weeks; values: lead count, milestone sums, then each milestone's conversion as a
    ratio of sums (a calculated field ``<m> / lead``, right in every subtotal); filters: manager,
    dimensions, pipeline (the Leads columns' pivot roles in :mod:`cohort_service.schema.leads`)."""
    ctx = report.row_context
    sums = pivot_fields(ctx, "sum")
    caption = yielded_name(col.LEADS) if col.LEADS.casefold() in {s.casefold() for s in sums} else col.LEADS
    counted = [Value(name, "count", caption) for name in pivot_fields(ctx, "count")]
    values = [*counted, *(Value(name, "sum", name) for name in pivot_fields(ctx, "sum"))]
    columns = list(lead_columns(ctx))
    per = next(c.name(slot) for c, slot in columns if c.header == col.LEAD)  # '<lead> (report)' if taken
    reached = [c.name(slot) for c, slot in columns if c.per == "milestone" and c.kind == "flag"]
    values += [Value(m, "sum", f"{m}, % of leads", per=per) for m in reached]
    return PivotSpec(
        sheet=PIVOT_SHEET,
        source_table=LEADS,
        name=PIVOT_NAME,
        rows=pivot_fields(ctx, "rows"),
        values=values,
        filters=pivot_fields(ctx, "filter"),
    )


def write_workbook(
    report: CohortReport,
    path: str | os.PathLike[str],
    *,
    history: HistorySpool | None = None,
    csv_dir: Path | None = None,
    max_rows_per_sheet: int = EXCEL_MAX_ROWS,
    tmpdir: str | os.PathLike[str] | None = None,
    omitted: str | None = None,
    leads_since: date | None = None,
) -> WorkbookResult:
    """Write the workbook at ``path``: into a ``.partial`` file first, renamed when complete, so a
    failure never leaves a half-written file nor touches an older one (:mod:`files`).

    ``history``: the spooled stage history (without it the Transitions table is empty and About
    says so); ``csv_dir``: where this run's CSV files went, named on About. ``omitted``: a lighter
    copy (the e-mail's, under its size limit) without the Transitions sheet; the sentence saying so
    and naming the full file goes under the Cohorts table and on About. ``leads_since``: that copy's
    Leads table (and so the pivot) holds only the cohort weeks from that Monday on; Cohorts and the
    other sheets still cover every week.
    """
    target = Path(path)
    check_file_target(target, "workbook")
    sweep_partials(target.parent, {target.name})
    leads = report.leads_table()
    if leads_since is not None:
        leads = leads.loc[leads[col.COHORT_WEEK] >= pd.Timestamp(leads_since)].reset_index(drop=True)
    if not leads[col.COHORT_WEEK].is_monotonic_increasing:
        leads = leads.sort_values(col.COHORT_WEEK, kind="stable", ignore_index=True)
    with replacing([target], "workbook") as (partial,):
        try:
            with StreamedWorkbook(partial, tmpdir=tmpdir or private_tmpdir()) as book:
                contents = _write_sheets(
                    book,
                    report,
                    leads,
                    history=history,
                    csv_dir=csv_dir,
                    max_rows=max_rows_per_sheet,
                    omitted=omitted,
                )
        except FileCreateError as exc:  # xlsxwriter's wrapper of the OSError (a full disk)
            raise OSError(first_line(exc)) from exc
    return WorkbookResult(target, contents)


def _write_sheets(
    book: StreamedWorkbook,
    report: CohortReport,
    leads: pd.DataFrame,
    *,
    history: HistorySpool | None,
    csv_dir: Path | None,
    max_rows: int,
    omitted: str | None = None,
) -> Contents:
    parts = plan_parts(leads[col.COHORT_WEEK], max_rows - 1)
    styles = Styles(book)
    _properties(book, report)
    notes = [_split_note(leads, parts)] if len(parts) > 1 else []
    notes += [omitted] if omitted else []
    layout = write_cohorts(book, styles, report, notes=notes)
    book.add_pivot(pivot_spec(report))
    mature = write_maturation(book, styles, report, layout)
    write_slices(book, styles, report)
    write_attention(book, styles, report)
    write_channels(book, styles, report)
    lead_parts = _write_leads(book, report, leads, parts, max_rows)
    history_parts = _write_history(book, history, max_rows) if omitted is None else ()
    sheets = tuple(ws.name for ws in book.workbook.worksheets())
    contents = Contents(
        leads=lead_parts,
        transitions=history_parts if history is not None and omitted is None else None,
        mature_cohort=None if mature is None else str(report.cohorts[col.COHORT].iloc[mature]),
        sheets=(*sheets, "About"),
        csv_dir=csv_dir,
        omitted=omitted,
    )
    write_about(book, styles, report, contents)
    return contents


def _write_leads(
    book: StreamedWorkbook,
    report: CohortReport,
    leads: pd.DataFrame,
    parts: list[tuple[int, int]],
    max_rows: int,
) -> tuple[TableInfo, ...]:
    columns = leads_columns(leads, report.row_context)
    sizes = [stop - start for start, stop in parts]
    table = book.write_table(
        LEADS, LEADS, columns, leads_rows(leads, columns), max_rows_per_sheet=max_rows, part_rows=sizes
    )
    infos = []
    for part, (start, stop) in zip(table.parts, parts, strict=True):
        weeks = leads[col.COHORT_WEEK].iloc[start:stop]
        first, last = (_day(weeks.iloc[0]), _day(weeks.iloc[-1])) if len(weeks) else (None, None)
        infos.append(TableInfo(part.sheet, part.name, part.data_rows, first, last))
    return tuple(infos)


def _day(value: object) -> date:
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def _write_history(
    book: StreamedWorkbook, history: HistorySpool | None, max_rows: int
) -> tuple[TableInfo, ...]:
    rows = history.iter_rows() if history is not None else iter(())
    table: StreamedTable = book.write_table(
        TRANSITIONS, TRANSITIONS, HISTORY_COLUMNS, rows, max_rows_per_sheet=max_rows
    )
    return tuple(TableInfo(p.sheet, p.name, p.data_rows) for p in table.parts)


def _split_note(leads: pd.DataFrame, parts: list[tuple[int, int]]) -> str:
    start, stop = parts[0]
    first, last = _day(leads[col.COHORT_WEEK].iloc[start]), _day(leads[col.COHORT_WEEK].iloc[stop - 1])
    return (
        f"The Leads table is split over {len(parts)} sheets (Excel's row limit); the Pivot covers table "
        f"Leads, cohort weeks {first:%d.%m.%Y}–{last:%d.%m.%Y} — see About."
    )


def _properties(book: StreamedWorkbook, report: CohortReport) -> None:
    book.workbook.set_properties(
        {"title": title(report), "subject": "amoCRM lead cohorts", "comments": "Written by cohort-service"}
    )
    book.workbook.set_custom_property("as_of", report.as_of.isoformat())
    book.workbook.set_custom_property("timezone", report.timezone)
    book.workbook.set_custom_property("leads", int(report.cohorts[col.LEADS].sum()))
    book.workbook.set_custom_property("workbook_schema", SCHEMA_VERSION)
