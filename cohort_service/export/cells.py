"""Typed cells and shared styles for the small, human-facing sheets (Cohorts, Maturation, Managers, About).

Every value goes through :func:`plain`, so a NaN, NaT or ``pd.NA`` from the engine becomes an empty
cell, never ``#NUM!`` or the text "nan". Numbers are written as numbers with a number format
(shares as fractions with ``0.0%``), dates as Excel dates: nothing is ever stored as text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.measure import header_height as measured_height
from cohort_service.export.measure import header_width
from cohort_service.schema.kinds import kind_of

# Red → yellow → green, Excel's own 3-colour preset: low conversion reads as bad.
HEAT = {"type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B"}
GREEN, RED, GREY = "#006100", "#9C0006", "#808080"
EXTRA_WIDTH = 9.0  # a column only a later block on the sheet has (its kind is not known up front)


def plain(value: Any) -> Any:
    """A value Excel can hold, or None for every flavour of blank (None, NaN, NaT, pd.NA)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


class Styles:
    """The workbook's formats by role; ``partial=True`` gives the italic grey of an unfinished week."""

    def __init__(self, book: StreamedWorkbook) -> None:
        self.book = book
        self.title = book.format(bold=True, font_size=13)
        self.subtitle = book.format(italic=True, font_color=GREY)
        self.section = book.format(bold=True, font_size=11)
        self.header = self.header_in("#DDEBF7")
        self.note = book.format(italic=True, font_color=GREY)
        self.label = book.format(bold=True, valign="top", text_wrap=True)
        self.wrap = book.format(text_wrap=True, valign="top")
        self.green = book.format(font_color=GREEN)
        self.red = book.format(font_color=RED)

    def header_in(self, fill: str) -> Format:
        """A header cell on ``fill``: bold, wrapping between words, boxed."""
        return self.book.format(bold=True, text_wrap=True, valign="top", bg_color=fill, border=1)

    def shaded(self, kind: str, fill: str) -> Format:
        """The kind's number format on a background colour (same-age colours)."""
        return self.book.format(kind_of(kind).excel_format, bg_color=fill)

    def cell(self, kind: str, *, partial: bool = False) -> Format | None:
        props: dict[str, Any] = {"italic": True, "font_color": GREY} if partial else {}
        code = kind_of(kind).excel_format
        if code is None and not props:
            return None
        return self.book.format(code, **props)


def write_value(ws: Worksheet, row: int, col: int, value: Any, kind: str, *, fmt: Format | None) -> None:
    """One typed cell; a blank still carries ``fmt`` (the partial row stays grey end to end)."""
    value = plain(value)
    write = kind_of(kind).write
    if value is None:
        if fmt is not None:
            ws.write_blank(row, col, None, fmt)
    elif write == "text":
        ws.write_string(row, col, str(value), fmt)
    elif write in ("date", "datetime"):
        if write == "date" and isinstance(value, dt.datetime):
            value = value.date()
        ws.write_datetime(row, col, value, fmt)
    else:
        ws.write_number(row, col, float(value) if isinstance(value, bool) else value, fmt)


@dataclass(frozen=True)
class Block:
    """Where a header-plus-rows block landed (0-based rows; ``last_row == header_row`` when empty)."""

    header_row: int
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    rows: int

    @property
    def first_data_row(self) -> int:
        return self.header_row + 1

    @property
    def last_row(self) -> int:
        return self.header_row + self.rows

    def col(self, name: str) -> int:
        return self.columns.index(name)

    def cols(self, kind: str) -> list[int]:
        return [i for i, k in enumerate(self.kinds) if k == kind]


def set_widths(
    ws: Worksheet,
    kinds: Sequence[str],
    overrides: Mapping[int, float] | None = None,
    *,
    headers: Iterable[Sequence[str]] = (),
    detail: Sequence[bool] = (),
    fit_width: bool = True,
) -> list[float]:
    """Column widths (call before any row is written: constant_memory), and a landscape A4 page one
    sheet wide, so a printout or PDF of the sheet stays readable.

    A column is as wide as its kind's numbers and as the longest word of every header written in it
    (``headers``: the name lists of the blocks on the sheet, which may run wider than ``kinds``), so
    a header wraps between words, never inside one; ``overrides`` win. ``detail[i]``: column i goes
    in a collapsed outline group, opened by the ``+`` over the column left of the group (the one it
    qualifies). ``fit_width=False``: the caller sets the print scale (a sheet printed section by
    section). Returns the widths.
    """
    heads = [list(names) for names in headers]
    widths = [kind_of(kind).width for kind in kinds]
    widths += [EXTRA_WIDTH] * (max((len(names) for names in heads), default=0) - len(widths))
    for names in heads:
        for col, name in enumerate(names):
            widths[col] = max(widths[col], header_width(name, widths[col]))
    widths = [(overrides or {}).get(col, width) for col, width in enumerate(widths)]
    hidden = [bool(flag) for flag in detail] + [False] * (len(widths) - len(detail))
    for col, width in enumerate(widths):
        if hidden[col]:
            ws.set_column(col, col, width, None, {"level": 1, "hidden": True})
        elif col + 1 < len(hidden) and hidden[col + 1]:
            ws.set_column(col, col, width, None, {"collapsed": True})
        else:
            ws.set_column(col, col, width)
    if any(hidden):
        ws.outline_settings(True, True, False, False)  # the + sits over the column the group qualifies
    ws.set_landscape()
    ws.set_paper(9)  # A4
    if fit_width:
        ws.fit_to_pages(1, 0)
    return widths


def write_header(
    ws: Worksheet, row: int, names: Sequence[str], styles: Styles, formats: Sequence[Format] | None = None
) -> None:
    for col, name in enumerate(names):
        ws.write_string(row, col, name, formats[col] if formats is not None else styles.header)


def write_block(
    ws: Worksheet,
    styles: Styles,
    top: int,
    frame: pd.DataFrame,
    kinds: Sequence[str],
    *,
    partial_rows: Iterable[int] = (),
    notes: Mapping[str, str] | None = None,
    header_height: float = 30,
    widths: Sequence[float] | None = None,
    header_formats: Sequence[Format] | None = None,
    cell_formats: Mapping[tuple[int, int], Format] | None = None,
) -> Block:
    """The frame's header at row ``top`` (``notes``: header comments) and its rows, typed per ``kinds``.

    Headers wrap; the header row gets an explicit height because no spreadsheet re-measures rows on open:
    with ``widths`` (the columns' widths) it is the height that shows every header in full.
    ``cell_formats``: (data row, column) → a format replacing the kind's for that one cell.
    """
    names = [str(c) for c in frame.columns]
    if widths is not None:
        header_height = max(header_height, measured_height(zip(names, widths, strict=False)))
    ws.set_row(top, header_height)
    write_header(ws, top, names, styles, header_formats)
    for name, note in (notes or {}).items():
        if name in names:
            ws.write_comment(top, names.index(name), note, {"x_scale": 2.2, "y_scale": 1.6})
    partial = set(partial_rows)
    normal = [styles.cell(k) for k in kinds]
    grey = [styles.cell(k, partial=True) for k in kinds]
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        formats = grey if i in partial else normal
        for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            fmt = (cell_formats or {}).get((i, col), formats[col])
            write_value(ws, top + 1 + i, col, value, kind, fmt=fmt)
    return Block(header_row=top, columns=tuple(names), kinds=tuple(kinds), rows=len(frame))


def heat_map(ws: Worksheet, first_row: int, last_row: int, cols: Iterable[int]) -> None:
    """One 3-colour scale per column (each % column has its own range of values)."""
    if last_row < first_row:
        return
    for col in cols:
        ws.conditional_format(first_row, col, last_row, col, dict(HEAT))


def sign_colours(ws: Worksheet, styles: Styles, first_row: int, last_row: int, col: int) -> None:
    """Δ in green above zero and red below (a blank stays blank: no rule matches it)."""
    if last_row < first_row:
        return
    for criteria, fmt in ((">", styles.green), ("<", styles.red)):
        rule = {"type": "cell", "criteria": criteria, "value": 0, "format": fmt}
        ws.conditional_format(first_row, col, last_row, col, rule)


def write_lines(ws: Worksheet, row: int, lines: Iterable[str], fmt: Format | None) -> int:
    """Text lines in column A, one per row; returns the next free row."""
    for line in lines:
        ws.write_string(row, 0, line, fmt)
        row += 1
    return row
