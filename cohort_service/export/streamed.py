"""Stream a big flat table into xlsxwriter sheets in ``constant_memory`` mode.

xlsxwriter flushes each row to disk once a later row is written, so memory stays flat however many
rows there are, but in that mode it refuses ``add_table``. So this module only writes the cells
(typed: numbers as numbers, dates as dates) and records where each table sits; the Excel Table parts
are added to the package afterwards by :mod:`cohort_service.export.ooxml`.

The data rows themselves are serialised by :mod:`rowxml` (one writer per column, bound once per
sheet) and spliced into the sheet by the post-processor; a bad value is diagnosed only after the
serialiser refused it, so the happy path pays no per-cell checks. A table longer than a sheet is
split here and only here (``TableLayout.part_rows``: the caller's plan, e.g. whole cohort weeks).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cohort_service.export.names import (
    EXCEL_MAX_ROWS,
    SHEET_NAME_MAX,
    check_headers,
    check_table_name,
    range_ref,
)
from cohort_service.export.rowxml import BadRowError, RowSpool, SpooledRows, cell_writers
from cohort_service.schema.kinds import Kind, kind_of


@dataclass(frozen=True, slots=True)
class Column:
    """One table column; its kind (:mod:`cohort_service.schema.kinds`) gives the number format."""

    name: str
    kind: Kind = "text"
    width: float | None = None

    def __post_init__(self) -> None:
        kind_of(self.kind)

    @property
    def format_code(self) -> str | None:
        return kind_of(self.kind).excel_format


@dataclass(frozen=True, slots=True)
class TablePart:
    """Where one Excel Table sits; everything the package post-processor needs (0-based bounds)."""

    sheet: str
    name: str
    headers: tuple[str, ...]
    kinds: tuple[Kind, ...]
    first_row: int
    first_col: int
    last_row: int
    last_col: int
    data_rows: int
    style: str = "TableStyleMedium2"

    @property
    def ref(self) -> str:
        return range_ref(self.first_row, self.first_col, self.last_row, self.last_col)


@dataclass(frozen=True, slots=True)
class StreamedTable:
    """What one ``write_table`` call produced: one part per sheet."""

    name: str
    parts: tuple[TablePart, ...]
    rows_written: int
    spools: tuple[SpooledRows, ...] = ()

    @property
    def split(self) -> bool:
        return len(self.parts) > 1


FormatFor = Callable[[str | None], Format | None]
AddSheet = Callable[[str], Worksheet]


@dataclass(frozen=True, slots=True)
class TableLayout:
    """The fixed inputs of one streamed table (validated once)."""

    sheet: str
    table: str
    columns: tuple[Column, ...]
    max_rows_per_sheet: int = EXCEL_MAX_ROWS
    part_rows: tuple[int, ...] = ()  # planned data rows per sheet (Leads: whole weeks); else as many as fit
    style: str = "TableStyleMedium2"
    header_format: Format | None = None

    def __post_init__(self) -> None:
        check_table_name(self.table)
        check_headers(c.name for c in self.columns)
        if not 4 <= self.max_rows_per_sheet <= EXCEL_MAX_ROWS:
            raise ValueError(f"max_rows_per_sheet must be within 4..{EXCEL_MAX_ROWS}")
        if any(n > self.rows_per_part for n in self.part_rows):
            raise ValueError(f"a planned part exceeds {self.rows_per_part} rows per sheet")

    def sheet_name(self, index: int) -> str:
        if index == 1:
            return self.sheet
        suffix = f" ({index})"
        return self.sheet[: SHEET_NAME_MAX - len(suffix)] + suffix

    def table_name(self, index: int) -> str:
        return self.table if index == 1 else check_table_name(f"{self.table}_{index}")

    @property
    def rows_per_part(self) -> int:
        """Data rows a sheet holds below its header."""
        return self.max_rows_per_sheet - 1

    def rows_of_part(self, index: int) -> int:
        return self.part_rows[index - 1] if index <= len(self.part_rows) else self.rows_per_part


def stream_table(
    layout: TableLayout,
    rows: Iterable[Sequence[Any]],
    *,
    add_sheet: AddSheet,
    format_for: FormatFor,
    tmpdir: str | os.PathLike[str] | None = None,
) -> StreamedTable:
    """Write the header and every row, opening a continuation sheet (``Leads (2)``, table
    ``Leads_2``…) where ``layout`` plans a cut or a sheet is full: the one place a table is split.

    The data rows are spooled as XML for the post-processor to splice in (:mod:`rowxml`).
    """
    formats = tuple(format_for(c.format_code) for c in layout.columns)
    styles = [None if f is None else _xf_index(f) for f in formats]
    iterator = iter(rows)
    parts: list[TablePart] = []
    spools: list[SpooledRows] = []
    written = 0
    spool: RowSpool | None = None
    try:
        for index in itertools.count(1):
            sheet = layout.sheet_name(index)
            worksheet = add_sheet(sheet)
            _prepare_sheet(worksheet, layout, formats)
            writers = cell_writers([c.kind for c in layout.columns], styles)
            spool = RowSpool(worksheet.name, writers, tmpdir)
            try:
                count = spool.write(iterator, 1, layout.rows_of_part(index))
            except BadRowError as bad:
                raise _diagnose(bad.__cause__ or bad, sheet, bad.number, layout.columns, bad.values) from bad
            written += count
            parts.append(_part(layout, sheet, layout.table_name(index), count))
            spools.append(spool.close(len(layout.columns) - 1))
            spool = None
            more = next(iterator, None)
            if more is None:
                break
            iterator = itertools.chain((more,), iterator)
    except BaseException:
        if spool is not None:
            spool.discard()
        for spooled in spools:
            spooled.path.unlink(missing_ok=True)
        raise
    return StreamedTable(layout.table, tuple(parts), written, tuple(spools))


def _xf_index(fmt: Format) -> int:
    """The style index xlsxwriter gives this format; it assigns it on first use, as here.

    ``_get_xf_index`` is what xlsxwriter itself calls when it flushes a cell in constant_memory
    mode; the tests read the styles back, so a change in xlsxwriter would show there.
    """
    return int(fmt._get_xf_index())


def _prepare_sheet(worksheet: Worksheet, layout: TableLayout, formats: tuple[Format | None, ...]) -> None:
    """Widths and column formats first: in constant_memory mode they only apply to later rows."""
    for col, (column, fmt) in enumerate(zip(layout.columns, formats, strict=True)):
        if column.width is not None or fmt is not None:
            worksheet.set_column(col, col, column.width, fmt)
    worksheet.freeze_panes(1, 0)
    for col, column in enumerate(layout.columns):
        worksheet.write_string(0, col, column.name, layout.header_format)


def _part(layout: TableLayout, sheet: str, name: str, data_rows: int) -> TablePart:
    # Excel tables always have a data row, so an empty table keeps one blank row.
    return TablePart(
        sheet=sheet,
        name=name,
        headers=tuple(c.name for c in layout.columns),
        kinds=tuple(c.kind for c in layout.columns),
        first_row=0,
        first_col=0,
        last_row=max(data_rows, 1),
        last_col=len(layout.columns) - 1,
        data_rows=data_rows,
        style=layout.style,
    )


def _diagnose(
    exc: BaseException, sheet: str, row: int, columns: tuple[Column, ...], values: Sequence[Any]
) -> ValueError:
    """Name the first cell whose value does not fit its column's kind (``row`` is 1-based): checked
    only after the serialiser refused the row, so the happy path pays no per-cell checks."""
    for column, value in zip(columns, values, strict=False):
        problem = _misfit(column.kind, value)
        if problem:
            return ValueError(f"{sheet}!{column.name} row {row}: {problem} ({value!r:.80})")
    return ValueError(f"{sheet} row {row}: {exc}")


def _misfit(kind: str, value: Any) -> str | None:
    if value is None:
        return None
    write = kind_of(kind).write
    if write == "number":
        return _number_misfit(kind, value)
    if write in ("date", "datetime"):
        return _date_misfit(kind, value)
    return None if isinstance(value, str) else "a text column needs a str"


def _number_misfit(kind: str, value: Any) -> str | None:
    if isinstance(value, str) or not hasattr(value, "__float__"):
        return f"a {kind} column needs a number"
    return None if math.isfinite(float(value)) else "Excel cannot store NaN or infinity"


def _date_misfit(kind: str, value: Any) -> str | None:
    if not isinstance(value, dt.date):
        return f"a {kind} column needs a date or datetime"
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return "Excel has no time zones: convert to naive local time first"
    return None
