"""A workbook that streams big tables and still ends up with real Excel Tables and PivotTables.

``StreamedWorkbook`` wraps an ``xlsxwriter.Workbook`` in ``constant_memory`` mode, so every sheet
must be written top to bottom (a row is flushed to disk when a later row is written). Big tables go
through :meth:`write_table`; pivots are declared with :meth:`add_pivot`; ``close()`` lets xlsxwriter
write the file and then adds the table and pivot parts (:func:`ooxml.finalize_package`).

    with StreamedWorkbook(path) as book:
        cohorts = book.add_worksheet("Cohorts")            # small sheets: plain xlsxwriter, row by row
        leads = book.write_table("Leads", "Leads", columns, rows)   # rows: any iterable of tuples
        book.add_pivot(PivotSpec(sheet="Pivot", source_table="Leads", name="CohortPivot",
                                 rows=["cohort_week"], values=[Value("lead_id", "count", "Leads")],
                                 filters=["manager"]))
    # leaving the block closes the file; an exception inside it removes the file instead
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cohort_service.export.files import private_tmpdir
from cohort_service.export.measure import line_width
from cohort_service.export.names import EXCEL_MAX_ROWS, check_sheet_name
from cohort_service.export.ooxml import finalize_package
from cohort_service.export.pivot import PivotSpec
from cohort_service.export.pivot_cache import CacheCapture, CacheData
from cohort_service.export.pivot_render import Rendered, render, renderable
from cohort_service.export.streamed import (
    Column,
    StreamedTable,
    TableLayout,
    TablePart,
    stream_table,
)
from cohort_service.schema.kinds import kind_of


class StreamedWorkbook:
    """Context manager: on a clean exit the file is complete; on an exception it is removed."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tmpdir: str | os.PathLike[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self._tmpdir = tmpdir or private_tmpdir()  # xlsxwriter's temp files hold cell data too
        settings: dict[str, Any] = {"constant_memory": True, "nan_inf_to_errors": False}
        settings["tmpdir"] = str(self._tmpdir)
        settings.update(options or {})
        if not settings["constant_memory"] or settings.get("in_memory"):
            raise ValueError("StreamedWorkbook only works in constant_memory mode")
        self.workbook: Any = xlsxwriter.Workbook(str(self.path), settings)
        self._formats: dict[tuple[tuple[str, Any], ...], Format] = {}
        self._tables: list[StreamedTable] = []
        self._pivots: list[PivotSpec] = []
        self._pivot_sheets: dict[str, Worksheet] = {}
        self._captures: dict[str, CacheCapture] = {}
        self._closed = False

    def add_worksheet(self, name: str) -> Worksheet:
        """A plain xlsxwriter worksheet (constant_memory: write its rows in order)."""
        return self.workbook.add_worksheet(check_sheet_name(name))

    def format(self, num_format: str | None = None, **properties: Any) -> Format:
        """One shared Format per distinct set of properties (Excel caps distinct styles)."""
        props = dict(properties)
        if num_format is not None:
            props["num_format"] = num_format
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.workbook.add_format(props)
        return self._formats[key]

    def write_table(
        self,
        sheet: str,
        table: str,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Any]],
        *,
        max_rows_per_sheet: int = EXCEL_MAX_ROWS,
        part_rows: Sequence[int] = (),
        style: str = "TableStyleMedium2",
        header_format: Format | None = None,
    ) -> StreamedTable:
        """Add sheet ``sheet`` (then ``sheet (2)``… if split) holding Excel Table ``table`` (``table_2``…).

        ``part_rows``: planned rows per sheet (the Leads table cuts between cohort weeks); without a
        plan, a sheet is cut when full.

        The rows of a table that pivots declared earlier read from are also captured for their cache
        and cells (:mod:`pivot_cache`); a pivot declared after its table is saved as a recipe only.
        """
        layout = TableLayout(
            sheet=check_sheet_name(sheet),
            table=table,
            columns=tuple(columns),
            max_rows_per_sheet=max_rows_per_sheet,
            part_rows=tuple(part_rows),
            style=style,
            header_format=header_format,
        )
        over = [p for p in self._pivots if p.source_table.casefold() == table.casefold()]
        if over and table.casefold() not in self._captures:
            capture = CacheCapture(layout.columns, over, layout.rows_per_part, self._tmpdir)
            self._captures[table.casefold()] = capture
            rows = capture.tap(rows)
        result = stream_table(
            layout,
            rows,
            add_sheet=self.add_worksheet,
            format_for=self._num_format,
            tmpdir=self._tmpdir,
        )
        self._tables.append(result)
        return result

    def add_pivot(self, spec: PivotSpec, *, widths: Sequence[float] | None = None) -> Worksheet:
        """Add the (empty) pivot sheet now, in sheet order, and the pivot itself at ``close()``.

        ``widths`` sets the first columns' widths (default: 16 for the row labels, and each value's
        caption on one line, at least 12), so the refreshed pivot is readable without resizing (a
        pivot's captions do not wrap); write nothing in the pivot's area.
        """
        worksheet = self.add_worksheet(spec.sheet)
        _, left = spec.origin
        for offset, width in enumerate(widths or (16.0, *(line_width(v.label, 12.0) for v in spec.values))):
            worksheet.set_column(left + offset, left + offset, width)
        worksheet.set_landscape()
        worksheet.set_paper(9)  # A4
        worksheet.fit_to_pages(1, 0)
        self._pivots.append(spec)
        self._pivot_sheets[spec.name] = worksheet
        return worksheet

    @property
    def tables(self) -> tuple[StreamedTable, ...]:
        return tuple(self._tables)

    @property
    def table_parts(self) -> tuple[TablePart, ...]:
        return tuple(part for table in self._tables for part in table.parts)

    def close(self) -> None:
        """Write the file; if that fails, nothing is left at ``path``."""
        if self._closed:
            return
        self._closed = True
        try:
            captured = {name: capture.finish() for name, capture in self._captures.items()}
            rendered = self._render_pivots(captured)
            self.workbook.close()
            spools = [s for table in self._tables for s in table.spools]
            finalize_package(
                self.path, self.table_parts, self._pivots, spools, captured=captured, rendered=rendered
            )
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        finally:
            self._remove_spools()

    def _render_pivots(self, captured: Mapping[str, CacheData]) -> dict[str, Rendered]:
        """Write what each pivot over a captured table shows into its sheet (all filters at (All))."""
        result: dict[str, Rendered] = {}
        for spec in self._pivots:
            data = captured.get(spec.source_table.casefold())
            if data is None:
                continue
            tally = next(t for t in data.tallies if t.spec is spec)
            r = tally.resolved
            if not renderable(r):
                continue
            shown = render(spec, r, tally, data, [c.kind for c in data.columns])
            worksheet = self._pivot_sheets[spec.name]
            for cell in sorted(shown.cells, key=lambda c: (c.row, c.col)):
                self._write_cell(worksheet, cell.row, cell.col, cell.value, cell.kind)
            result[spec.name] = shown
        return result

    def _write_cell(self, worksheet: Worksheet, row: int, col: int, value: Any, kind: str | None) -> None:
        if value is None:
            return
        fmt = self._num_format(kind_of(kind).excel_format) if kind is not None else None
        if isinstance(value, str):
            worksheet.write_string(row, col, value, fmt)
        elif isinstance(value, dt.date):
            worksheet.write_datetime(row, col, value, fmt)
        else:
            worksheet.write_number(row, col, value, fmt)

    def abort(self) -> None:
        """Release xlsxwriter's temp files and remove the half-written file."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self.workbook.close()
            self.path.unlink(missing_ok=True)
        self._remove_spools()

    def _remove_spools(self) -> None:
        for capture in self._captures.values():
            capture.discard()
        for table in self._tables:
            for spooled in table.spools:
                spooled.path.unlink(missing_ok=True)
        self._remove_empty_sheet_temp_files()

    def _remove_empty_sheet_temp_files(self) -> None:
        """xlsxwriter 3.3 leaves the row temp file of a sheet with no cells (our pivot sheets) behind.

        It deletes the file only after copying rows out of it; ``row_data_filename`` is its own
        attribute, read defensively so a future xlsxwriter without it changes nothing.
        """
        for worksheet in self.workbook.worksheets():
            leftover = getattr(worksheet, "row_data_filename", None)
            if isinstance(leftover, str):
                Path(leftover).unlink(missing_ok=True)

    def __enter__(self) -> StreamedWorkbook:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _num_format(self, code: str | None) -> Format | None:
        return None if code is None else self.format(code)
