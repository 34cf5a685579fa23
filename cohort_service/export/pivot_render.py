"""The cells a refreshed pivot would show, laid out as Excel lays out a compact pivot, and the
``location``/``rowItems``/``colItems`` that describe exactly those cells.

Written into the pivot's sheet, they make the saved file readable where nothing refreshes the pivot
(Protected View, previews, phones); Excel and LibreOffice recompute them on open. Rendered layouts:
one row field with any number of values, or one row field and one column field with one value.
Any other layout keeps the placeholder and relies on the refresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cohort_service.export.names import range_ref
from cohort_service.export.pivot import PivotSpec, Resolved
from cohort_service.export.pivot_cache import CacheData, Tally, item_order

GRAND_TOTAL = "Grand Total"
ALL_ITEMS = "(All)"
BLANK_ITEM = "(blank)"


@dataclass(frozen=True, slots=True)
class Cell:
    """One rendered cell (0-based); ``kind`` (a schema kind) gives its number format, None: none."""

    row: int
    col: int
    value: Any  # None: an empty cell (a ratio over no rows)
    kind: str | None = None


@dataclass(frozen=True)
class Rendered:
    location: str
    row_items: str
    col_items: str
    cells: tuple[Cell, ...]
    grand_total: tuple[float | None, ...]


def renderable(r: Resolved) -> bool:
    one_value_or_no_columns = not r.columns or len(r.values) == 1
    functions = all(v.function in ("count", "sum") for _, v, _ in r.values)
    return len(r.rows) == 1 and len(r.columns) <= 1 and one_value_or_no_columns and functions


_ANY = object()  # no condition on this axis: a total


def render(spec: PivotSpec, r: Resolved, tally: Tally, data: CacheData, kinds: Sequence[str]) -> Rendered:
    """The rendered pivot of ``tally`` (all filters at "(All)"); ``kinds``: the source columns' kinds."""
    top, left = spec.origin
    cells = [
        Cell(top - len(r.filters) - 1 + n, left + side, text)
        for n, f in enumerate(r.filters)
        for side, text in enumerate((data.columns[f].name, ALL_ITEMS))
    ]

    def measure(k: int, row_value: Any = _ANY, col_value: Any = _ANY) -> float | None:
        chosen = [
            acc
            for (row, col), acc in tally.cells.items()
            if (row_value is _ANY or row == row_value) and (col_value is _ANY or col == col_value)
        ]
        index, value, _ = r.values[k]
        if index in r.ratios:  # a ratio of sums, as Excel computes a calculated field
            numerator, denominator = r.ratios[index]
            below = sum(tally.sum(acc, denominator) for acc in chosen)
            return sum(tally.sum(acc, numerator) for acc in chosen) / below if below else None
        if value.function == "count":
            return sum(tally.count(acc, index) for acc in chosen)
        return sum(tally.sum(acc, index) for acc in chosen)

    def label(field: int, value: Any, row: int, col: int) -> Cell:
        return Cell(row, col, BLANK_ITEM if value is None else value, None if value is None else kinds[field])

    def value_cell(row: int, col: int, k: int, value: float | None) -> Cell:
        ratio = r.values[k][0] in r.ratios
        return Cell(row, col, value, "pct" if ratio and value is not None else None)

    row_field = r.rows[0]
    rows = [data.shared[row_field][s] for s in item_order(data.shared[row_field])]
    if not r.columns:
        header = [spec.rows[0], *(caption for _, _, caption in r.values)]
        cells += [Cell(top, left + c, text) for c, text in enumerate(header)]
        for n, item in enumerate(rows, start=top + 1):
            cells.append(label(row_field, item, n, left))
            cells += [value_cell(n, left + 1 + k, k, measure(k, item)) for k in range(len(r.values))]
        last = top + 1 + len(rows)
        totals = tuple(measure(k) for k in range(len(r.values)))
        cells.append(Cell(last, left, GRAND_TOTAL))
        cells += [value_cell(last, left + 1 + k, k, total) for k, total in enumerate(totals)]
        ref = range_ref(top, left, last, left + len(r.values))
        location = _location(ref, 1 if len(r.values) == 1 else 0, 1, r)
        col_items = _col_items_values(len(r.values))
    else:
        col_field = r.columns[0]
        cols = [data.shared[col_field][s] for s in item_order(data.shared[col_field])]
        cells += [Cell(top, left, r.values[0][2]), Cell(top, left + 1, spec.columns[0])]
        cells.append(Cell(top + 1, left, spec.rows[0]))
        cells += [label(col_field, item, top + 1, left + 1 + c) for c, item in enumerate(cols)]
        cells.append(Cell(top + 1, left + 1 + len(cols), GRAND_TOTAL))
        for n, item in enumerate([*rows, _ANY], start=top + 2):
            cells.append(Cell(n, left, GRAND_TOTAL) if item is _ANY else label(row_field, item, n, left))
            cells += [
                value_cell(n, left + 1 + c, 0, measure(0, item, v)) for c, v in enumerate([*cols, _ANY])
            ]
        last = top + 2 + len(rows)
        totals = (measure(0),)
        ref = range_ref(top, left, last, left + len(cols) + 1)
        location = _location(ref, 1, 2, r)
        inner = "".join(_x(c) for c in range(len(cols)))
        col_items = f'<colItems count="{len(cols) + 1}">{inner}<i t="grand"><x/></i></colItems>'
    inner = "".join(_x(n) for n in range(len(rows)))
    row_items = f'<rowItems count="{len(rows) + 1}">{inner}<i t="grand"><x/></i></rowItems>'
    return Rendered(location, row_items, col_items, tuple(cells), totals)


def _x(v: int) -> str:
    return f'<i><x v="{v}"/></i>' if v else "<i><x/></i>"


def _col_items_values(count: int) -> str:
    if count == 1:
        return '<colItems count="1"><i/></colItems>'
    inner = "".join(f'<i i="{k}"><x v="{k}"/></i>' if k else "<i><x/></i>" for k in range(count))
    return f'<colItems count="{count}">{inner}</colItems>'


def _location(ref: str, first_header: int, first_data_row: int, r: Resolved) -> str:
    pages = f' rowPageCount="{len(r.filters)}" colPageCount="1"' if r.filters else ""
    return (
        f'<location ref="{ref}" firstHeaderRow="{first_header}" firstDataRow="{first_data_row}" '
        f'firstDataCol="1"{pages}/>'
    )
