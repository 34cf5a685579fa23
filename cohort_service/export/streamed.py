"""Stream a big flat table into xlsxwriter sheets in ``constant_memory`` mode.

xlsxwriter flushes each row to disk once a later row is written, so memory stays flat however many
rows there are, but in that mode it refuses ``add_table``. So this module only writes the cells
(typed: numbers as numbers, dates as dates) and records where each table sits; the Excel Table parts
are added to the package afterwards by :mod:`cohort_service.export.ooxml`.

The hot loop makes one typed ``write_*`` call per non-empty cell and nothing else: the column plan
(method and format per column) is bound once per sheet, and a bad value is diagnosed only after
xlsxwriter has rejected it, so the happy path pays no per-cell checks.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cohort_service.export.names import (
    EXCEL_MAX_ROWS,
    SHEET_NAME_MAX,
    check_headers,
    check_table_name,
    range_ref,
)
from cohort_service.export.rowxml import BadRowError, RowSpool, SpooledRows, cell_writers, check_width
from cohort_service.schema.kinds import Kind, kind_of

Overflow = Literal["split", "truncate"]
Engine = Literal["direct", "xlsxwriter"]

DEFAULT_OVERFLOW_NOTE = (
    "{dropped} more rows are not shown here: Excel allows {limit} rows per sheet "
    "(this table shows the first {shown})."
)


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
    """What one ``write_table`` call produced: one part per sheet, and what did not fit."""

    name: str
    parts: tuple[TablePart, ...]
    rows_written: int
    rows_dropped: int
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
    overflow: Overflow = "split"
    overflow_note: str = DEFAULT_OVERFLOW_NOTE
    style: str = "TableStyleMedium2"
    header_format: Format | None = None

    def __post_init__(self) -> None:
        check_table_name(self.table)
        check_headers(c.name for c in self.columns)
        if not 4 <= self.max_rows_per_sheet <= EXCEL_MAX_ROWS:
            raise ValueError(f"max_rows_per_sheet must be within 4..{EXCEL_MAX_ROWS}")
        if self.overflow not in get_args(Overflow):
            raise ValueError(f"overflow must be 'split' or 'truncate', not {self.overflow!r}")

    def sheet_name(self, index: int) -> str:
        if index == 1:
            return self.sheet
        suffix = f" ({index})"
        return self.sheet[: SHEET_NAME_MAX - len(suffix)] + suffix

    def table_name(self, index: int) -> str:
        return self.table if index == 1 else check_table_name(f"{self.table}_{index}")

    @property
    def rows_per_part(self) -> int:
        """Data rows per sheet; truncation keeps a blank row and the note row below the table."""
        return self.max_rows_per_sheet - (1 if self.overflow == "split" else 3)


def stream_table(
    layout: TableLayout,
    rows: Iterable[Sequence[Any]],
    *,
    add_sheet: AddSheet,
    format_for: FormatFor,
    engine: Engine = "direct",
    tmpdir: str | os.PathLike[str] | None = None,
) -> StreamedTable:
    """Write the header and every row, opening continuation sheets (or truncating) at the limit.

    ``engine="direct"`` spools the data rows as XML for the post-processor to splice in (fast);
    ``"xlsxwriter"`` makes one typed ``write_*`` call per cell (slower; kept as the reference).
    """
    formats = tuple(format_for(c.format_code) for c in layout.columns)
    iterator = iter(rows)
    parts: list[TablePart] = []
    spools: list[SpooledRows] = []
    written = dropped = 0
    writer: _SheetRows | None = None
    try:
        for index in itertools.count(1):
            sheet = layout.sheet_name(index)
            worksheet = add_sheet(sheet)
            _prepare_sheet(worksheet, layout, formats)
            writer = _SheetRows(engine, worksheet, layout, formats, tmpdir)
            count = writer.write(iterator, layout.rows_per_part)
            written += count
            parts.append(_part(layout, sheet, layout.table_name(index), count))
            more = _peek(iterator)
            if more is not None and layout.overflow == "truncate":
                dropped = 1 + sum(1 for _ in iterator)
                writer.note(
                    count + 2, layout.overflow_note.format(dropped=dropped, limit=EXCEL_MAX_ROWS, shown=count)
                )
                more = None
            if (spooled := writer.close()) is not None:
                spools.append(spooled)
            if more is None:
                break
            iterator = itertools.chain((more,), iterator)
    except BaseException:
        if writer is not None:
            writer.discard()
        for spooled in spools:
            spooled.path.unlink(missing_ok=True)
        raise
    return StreamedTable(layout.table, tuple(parts), written, dropped, tuple(spools))


class _SheetRows:
    """The data rows of one sheet, through either engine; errors name the offending cell."""

    def __init__(
        self,
        engine: Engine,
        worksheet: Worksheet,
        layout: TableLayout,
        formats: tuple[Format | None, ...],
        tmpdir: str | os.PathLike[str] | None,
    ) -> None:
        if engine not in get_args(Engine):
            raise ValueError(f"unknown engine {engine!r}")
        self.worksheet, self.columns, self.formats = worksheet, layout.columns, formats
        self.spool: RowSpool | None = None
        if engine == "direct":
            styles = [None if f is None else _xf_index(f) for f in formats]
            writers = cell_writers([c.kind for c in layout.columns], styles)
            self.spool = RowSpool(worksheet.name, writers, tmpdir)

    def write(self, rows: Iterator[Sequence[Any]], limit: int) -> int:
        try:
            if self.spool is not None:
                return self.spool.write(rows, 1, limit)
            return _write_cells(self.worksheet, self.columns, self.formats, rows, limit)
        except BadRowError as bad:
            raise _diagnose(
                bad.__cause__ or bad, self.worksheet.name, bad.number, self.columns, bad.values
            ) from bad

    def note(self, row: int, text: str) -> None:
        if self.spool is not None:
            self.spool.write_note(row, text)
        else:
            self.worksheet.write_string(row, 0, text)

    def close(self) -> SpooledRows | None:
        spool, self.spool = self.spool, None
        return None if spool is None else spool.close(len(self.columns) - 1)

    def discard(self) -> None:
        if self.spool is not None:
            self.spool.discard()


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


def _peek(iterator: Iterator[Sequence[Any]]) -> Sequence[Any] | None:
    return next(iterator, None)


def _write_cells(
    worksheet: Worksheet,
    columns: tuple[Column, ...],
    formats: tuple[Format | None, ...],
    rows: Iterator[Sequence[Any]],
    limit: int,
) -> int:
    """The reference engine: one typed xlsxwriter call per non-empty cell."""
    plan = tuple(
        (col, _method(worksheet, column.kind), fmt)
        for col, (column, fmt) in enumerate(zip(columns, formats, strict=True))
    )
    width = len(plan)
    row = 0
    values: Sequence[Any] = ()
    try:
        for values in itertools.islice(rows, limit):
            row += 1
            check_width(values, width)
            for (col, write, fmt), value in zip(plan, values, strict=False):
                if value is not None:
                    write(row, col, value, fmt)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise BadRowError(row + 1, values) from exc
    return row


def _method(worksheet: Worksheet, kind: str) -> Callable[..., Any]:
    write = kind_of(kind).write
    if write == "number":
        return worksheet.write_number  # type: ignore[no-any-return]
    if write in ("date", "datetime"):
        return worksheet.write_datetime  # type: ignore[no-any-return]
    return worksheet.write_string  # type: ignore[no-any-return]


def _diagnose(
    exc: BaseException, sheet: str, row: int, columns: tuple[Column, ...], values: Sequence[Any]
) -> ValueError:
    """Name the first cell whose value does not fit its column's kind (``row`` is 1-based)."""
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
