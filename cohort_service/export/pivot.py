"""Native PivotTable parts: the cache definition and the pivot definition.

xlsxwriter cannot write pivots. When the source rows were captured as they streamed
(:mod:`pivot_cache`), the cache holds its records and shared items and the pivot lists its items,
rows and columns exactly as the rendered cells show them (:mod:`pivot_render`), so the saved file is
complete without a refresh. Otherwise the parts are a recipe (``saveData="0"``, no records) with the
minimal placeholder ``rowItems``/``colItems`` (Excel for Mac rejects richer placeholders). Either way
the cache says ``refreshOnLoad="1"``. Element order follows the schema (CT_PivotCacheDefinition,
CT_pivotTableDefinition).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args
from xml.sax.saxutils import escape

from cohort_service.export.names import check_caption, parse_cell, range_ref
from cohort_service.export.streamed import TablePart
from cohort_service.export.xmlns import MAIN_NS, REL_NS
from cohort_service.schema.kinds import kind_of

Function = Literal[
    "sum", "count", "average", "max", "min", "product", "countNums", "stdDev", "stdDevp", "var", "varp"
]
_PLACEHOLDER_COLUMNS = '<colItems count="1"><i/></colItems>'
_VALUES_FIELD = -2  # the "Σ Values" pseudo-field that lays several data fields side by side
_FUNCTION_LABEL = {"sum": "Sum", "count": "Count", "average": "Average", "countNums": "Count"}


def attr(value: object) -> str:
    """Escape a value for a double-quoted XML attribute."""
    return escape(str(value), {'"': "&quot;"})


@dataclass(frozen=True, slots=True)
class Value:
    """A data field: ``function`` of a source column, shown under ``caption``."""

    field: str
    function: Function = "sum"
    caption: str | None = None
    per: str | None = None  # a ratio of sums: SUM(field) / SUM(per), through a calculated field

    def __post_init__(self) -> None:
        if self.function not in get_args(Function):
            raise ValueError(f"unknown pivot function {self.function!r}")
        if self.per is not None and self.function != "sum":
            raise ValueError("a ratio value is a sum of a calculated field: function must be 'sum'")

    @property
    def label(self) -> str:
        if self.caption is not None:
            return self.caption
        if self.per is not None:
            return f"{self.field} per {self.per}"
        return f"{_FUNCTION_LABEL.get(self.function, self.function.capitalize())} of {self.field}"


@dataclass(frozen=True, slots=True)
class PivotSpec:
    """One pivot table on an empty sheet over a table (by table name, so it follows the table).

    ``location`` is the top-left cell of the pivot body; report filters sit above it, one per row,
    followed by one blank row, so it must leave ``len(filters) + 1`` rows free above. By default it
    is the first cell that does.
    """

    sheet: str
    source_table: str
    name: str
    rows: Sequence[str]
    values: Sequence[Value]
    filters: Sequence[str] = ()
    columns: Sequence[str] = ()
    location: str | None = None
    style: str = "PivotStyleLight16"

    def __post_init__(self) -> None:
        check_caption(self.name, "pivot name")
        if not self.values:
            raise ValueError(f"pivot {self.name!r} needs at least one value")
        axes = [*self.rows, *self.columns, *self.filters]
        if len({a.casefold() for a in axes}) != len(axes):
            raise ValueError(f"pivot {self.name!r}: a field may sit on only one of rows/columns/filters")
        labels = [v.label.casefold() for v in self.values]
        if len(set(labels)) != len(labels):
            raise ValueError(f"pivot {self.name!r}: value captions must be unique")
        for value in self.values:
            check_caption(value.label, "value caption")
        top_row, _ = self.origin
        if top_row < self.filter_rows:
            raise ValueError(
                f"pivot {self.name!r} at {self.location}: {len(self.filters)} filters need "
                f"the body to start at row {self.filter_rows + 1} or lower"
            )

    @property
    def filter_rows(self) -> int:
        return len(self.filters) + 1 if self.filters else 0

    @property
    def origin(self) -> tuple[int, int]:
        if self.location is None:
            return self.filter_rows, 0
        return parse_cell(self.location)


def cache_definition_xml(
    table: TablePart,
    *,
    records_rel: str | None = None,
    record_count: int = 0,
    shared_items: Sequence[str] | None = None,
    numfmts: Mapping[str, int] | None = None,
    calculated: Sequence[Ratio] = (),
) -> bytes:
    """One cacheField per table column, in table order, then one calculated field per ratio.

    Without ``records_rel`` the shared items are empty (rebuilt on refresh) and ``saveData="0"``;
    with it, ``shared_items`` holds each field's ``<sharedItems>`` and the records part is related.
    ``numfmts``: kind → the workbook's own number format id, so pivot dates read like the sheets'.
    """
    fmts = numfmts or {}
    empty = '<sharedItems containsBlank="1" count="1"><m/></sharedItems>'
    fields = "".join(
        f'<cacheField name="{attr(header)}" numFmtId="{fmts.get(kind, kind_of(kind).cache_numfmt)}">'
        f"{shared_items[i] if shared_items is not None else empty}</cacheField>"
        for i, (header, kind) in enumerate(zip(table.headers, table.kinds, strict=True))
    )
    fields += "".join(
        f'<cacheField name="{attr(ratio.name)}" numFmtId="10" formula="{attr(ratio.formula)}" '
        'databaseField="0"/>'
        for ratio in calculated
    )
    count = len(table.headers) + len(calculated)
    saved = (
        f'r:id="{records_rel}" recordCount="{record_count}"' if records_rel is not None else 'saveData="0"'
    )
    return _document(
        f'<pivotCacheDefinition xmlns="{MAIN_NS}" xmlns:r="{REL_NS}" {saved} refreshOnLoad="1" '
        'createdVersion="3" refreshedVersion="3" minRefreshableVersion="3">'
        f'<cacheSource type="worksheet"><worksheetSource name="{attr(table.name)}"/></cacheSource>'
        f'<cacheFields count="{count}">{fields}</cacheFields>'
        "</pivotCacheDefinition>"
    )


@dataclass(frozen=True, slots=True)
class Ratio:
    """A calculated cache field ``numerator / denominator``: Excel sums each over the cell's rows
    before dividing, so every subtotal and the grand total are ratios of sums, never sums of ratios."""

    numerator: str
    denominator: str

    @property
    def name(self) -> str:
        return f"{self.numerator} / {self.denominator}"

    @property
    def formula(self) -> str:
        return f"{_quote(self.numerator)}/{_quote(self.denominator)}"

    def key(self) -> tuple[str, str]:
        return (self.numerator.casefold(), self.denominator.casefold())


def _quote(field_name: str) -> str:
    return "'" + field_name.replace("'", "''") + "'"


def calculated_fields(specs: Sequence[PivotSpec]) -> tuple[Ratio, ...]:
    """The calculated fields a shared cache needs for ``specs``' ratio values, in first-use order."""
    seen: dict[tuple[str, str], Ratio] = {}
    for spec in specs:
        for value in spec.values:
            if value.per is not None:
                ratio = Ratio(value.field, value.per)
                seen.setdefault(ratio.key(), ratio)
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class Layout:
    """What a pivot with captured data shows: items per axis field (shared-item indices in display
    order) and the rendered extent's ``location``, ``rowItems`` and ``colItems`` elements (None: the
    placeholder)."""

    items: Mapping[int, Sequence[int]]
    location: str | None = None
    row_items: str | None = None
    col_items: str | None = None


@dataclass(frozen=True, slots=True)
class Resolved:
    """The spec with field names turned into cache field indices."""

    rows: tuple[int, ...]
    columns: tuple[int, ...]
    filters: tuple[int, ...]
    values: tuple[tuple[int, Value, str], ...]  # a ratio's index is its calculated field's
    ratios: Mapping[int, tuple[int, int]]  # calculated field → (numerator, denominator) columns
    field_count: int  # table columns plus calculated fields


def pivot_table_xml(
    spec: PivotSpec,
    table: TablePart,
    cache_id: int,
    layout: Layout | None = None,
    calculated: Sequence[Ratio] = (),
) -> bytes:
    r = resolve(spec, table.headers, calculated)
    location, row_items, col_items = (
        _location(spec, r),
        _placeholder_rows(r),
        '<colItems count="1"><i/></colItems>',
    )
    captions = ""
    if layout is not None and layout.location is not None:
        location, row_items, col_items = layout.location, layout.row_items or "", layout.col_items or ""
        captions = f' rowHeaderCaption="{attr(spec.rows[0])}"' if spec.rows else ""
        captions += f' colHeaderCaption="{attr(spec.columns[0])}"' if spec.columns else ""
    parts = [
        f'<pivotTableDefinition xmlns="{MAIN_NS}" name="{attr(spec.name)}" cacheId="{cache_id}"{captions} '
        'applyNumberFormats="0" applyBorderFormats="0" applyFontFormats="0" applyPatternFormats="0" '
        'applyAlignmentFormats="0" applyWidthHeightFormats="1" dataCaption="Values" updatedVersion="3" '
        'minRefreshableVersion="3" useAutoFormatting="1" itemPrintTitles="1" createdVersion="3" '
        'indent="0" outline="1" outlineData="1" multipleFieldFilters="0">',
        location,
        _pivot_fields(table, r, layout.items if layout is not None else {}),
        _field_list("rowFields", r.rows),
        row_items,
        _field_list("colFields", _col_fields(r)),
        col_items,
    ]
    if r.filters:
        pages = "".join(f'<pageField fld="{i}" hier="-1"/>' for i in r.filters)
        parts.append(f'<pageFields count="{len(r.filters)}">{pages}</pageFields>')
    data = "".join(
        f'<dataField name="{attr(caption)}" fld="{i}" subtotal="{v.function}" baseField="0" baseItem="0"'
        + (' numFmtId="10"/>' if v.per is not None else "/>")
        for i, v, caption in r.values
    )
    parts.append(f'<dataFields count="{len(r.values)}">{data}</dataFields>')
    parts.append(
        f'<pivotTableStyleInfo name="{attr(spec.style)}" showRowHeaders="1" showColHeaders="1" '
        'showRowStripes="0" showColStripes="0" showLastColumn="1"/></pivotTableDefinition>'
    )
    return _document("".join(parts))


def _placeholder_rows(r: Resolved) -> str:
    return '<rowItems count="1"><i><x/></i></rowItems>' if r.rows else ""


def resolve(spec: PivotSpec, headers: Sequence[str], calculated: Sequence[Ratio] = ()) -> Resolved:
    """The spec's field names as indices into the source's columns (``headers``), ratios as indices
    of the cache's ``calculated`` fields (after the columns)."""
    index = {h.casefold(): i for i, h in enumerate(headers)}
    table_name = spec.source_table

    def find(name: str) -> int:
        try:
            return index[name.casefold()]
        except KeyError:
            raise ValueError(f"pivot {spec.name!r}: table {table_name!r} has no column {name!r}") from None

    folded = {h.casefold() for h in headers} | {c.name.casefold() for c in calculated}
    slots = {c.key(): len(headers) + k for k, c in enumerate(calculated)}
    ratios: dict[int, tuple[int, int]] = {}
    values = []
    for v in spec.values:
        if v.per is None:
            values.append((find(v.field), v, _caption(v.label, folded)))
            continue
        ratio = Ratio(v.field, v.per)
        if ratio.key() not in slots:
            raise ValueError(f"pivot {spec.name!r}: the cache has no calculated field {ratio.name!r}")
        ratios[slots[ratio.key()]] = (find(v.field), find(v.per))
        values.append((slots[ratio.key()], v, _caption(v.label, folded)))
    return Resolved(
        rows=tuple(find(n) for n in spec.rows),
        columns=tuple(find(n) for n in spec.columns),
        filters=tuple(find(n) for n in spec.filters),
        values=tuple(values),
        ratios=ratios,
        field_count=len(headers) + len(calculated),
    )


def _caption(label: str, headers: set[str]) -> str:
    """Excel refuses a data field named like a source field; a trailing space is its own workaround."""
    return label + " " if label.casefold() in headers else label


def _col_fields(r: Resolved) -> tuple[int, ...]:
    return (*r.columns, _VALUES_FIELD) if len(r.values) > 1 else r.columns


def _location(spec: PivotSpec, r: Resolved) -> str:
    """A placeholder extent (Excel resizes it on refresh): compact layout, header row plus one item row."""
    top, left = spec.origin
    first_data_col = 1 if r.rows else 0
    first_header_row = 0 if len(r.values) > 1 and not r.columns else 1
    first_data_row = 2 if r.columns else 1
    ref = range_ref(top, left, top + first_data_row, left + first_data_col + len(r.values) - 1)
    pages = f' rowPageCount="{len(r.filters)}" colPageCount="1"' if r.filters else ""
    return (
        f'<location ref="{ref}" firstHeaderRow="{first_header_row}" firstDataRow="{first_data_row}" '
        f'firstDataCol="{first_data_col}"{pages}/>'
    )


def _pivot_fields(table: TablePart, r: Resolved, shown_items: Mapping[int, Sequence[int]]) -> str:
    axis = dict.fromkeys(r.rows, "axisRow") | dict.fromkeys(r.columns, "axisCol")
    axis |= dict.fromkeys(r.filters, "axisPage")
    data = {i for i, _, _ in r.values}
    fields = []
    for i in range(r.field_count):
        attrs = (f' axis="{axis[i]}"' if i in axis else "") + (' dataField="1"' if i in data else "")
        if i >= len(table.headers):  # a calculated field: values only
            fields.append(f'<pivotField{attrs} dragToRow="0" dragToCol="0" dragToPage="0" showAll="0"/>')
            continue
        order = shown_items.get(i) if i in axis else None
        if order is not None:
            listed = "".join(f'<item x="{x}"/>' for x in order)
            items = f'<items count="{len(order) + 1}">{listed}<item t="default"/></items>'
            attrs += ' sortType="ascending"'
        else:
            items = '<items count="1"><item t="default"/></items>' if i in axis else ""
        fields.append(
            f'<pivotField{attrs} showAll="0">{items}</pivotField>'
            if items
            else f'<pivotField{attrs} showAll="0"/>'
        )
    return f'<pivotFields count="{len(fields)}">{"".join(fields)}</pivotFields>'


def _field_list(tag: str, indices: Sequence[int]) -> str:
    if not indices:
        return ""
    inner = "".join(f'<field x="{i}"/>' for i in indices)
    return f'<{tag} count="{len(indices)}">{inner}</{tag}>'


def _document(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body).encode("utf-8")
