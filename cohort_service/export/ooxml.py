"""Post-process a closed xlsxwriter package: add Excel Table parts and native PivotTables.

xlsxwriter cannot write a table in ``constant_memory`` mode nor a pivot at all, so after it closes
the file we rewrite the zip once (:mod:`package`: parsed small parts, stream-copied big ones).
Sheets are found by name through ``workbook.xml`` and its relationships, never by guessing
``sheetN.xml``; new parts take the first free number.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lxml import etree

from cohort_service.export.package import WORKBOOK, Package, q, write_package
from cohort_service.export.pivot import (
    Layout,
    PivotSpec,
    Ratio,
    attr,
    cache_definition_xml,
    calculated_fields,
    pivot_table_xml,
    resolve,
)
from cohort_service.export.pivot_cache import CacheData, item_order, shared_items_xml
from cohort_service.export.pivot_render import Rendered
from cohort_service.export.rowxml import SpooledRows
from cohort_service.export.sheet_tail import SheetEdit
from cohort_service.export.streamed import TablePart
from cohort_service.export.xmlns import MAIN_NS, REL_NS
from cohort_service.schema.kinds import KINDS

REL_TABLE = REL_NS + "/table"
REL_PIVOT_TABLE = REL_NS + "/pivotTable"
REL_PIVOT_CACHE = REL_NS + "/pivotCacheDefinition"
REL_PIVOT_RECORDS = REL_NS + "/pivotCacheRecords"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml."
CT_TABLE = _SML + "table+xml"
CT_PIVOT_TABLE = _SML + "pivotTable+xml"
CT_PIVOT_CACHE = _SML + "pivotCacheDefinition+xml"
CT_PIVOT_RECORDS = _SML + "pivotCacheRecords+xml"
# CT_Workbook children that must come after <pivotCaches>.
_AFTER_PIVOT_CACHES = frozenset(
    {"smartTagPr", "smartTagTypes", "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"}
)


def finalize_package(
    path: str | os.PathLike[str],
    tables: Sequence[TablePart],
    pivots: Sequence[PivotSpec] = (),
    rows: Sequence[SpooledRows] = (),
    *,
    captured: Mapping[str, CacheData] | None = None,
    rendered: Mapping[str, Rendered] | None = None,
) -> None:
    """Add spooled ``rows``, ``tables`` and ``pivots`` to the xlsx at ``path``, replacing it atomically.

    ``captured``: table name (casefolded) → its rows as cache records; ``rendered``: pivot name → the
    cells already written in its sheet (both from :class:`~cohort_service.export.book.StreamedWorkbook`).
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".finalizing")
    try:
        with zipfile.ZipFile(path) as zin:
            package = Package.read(zin)
            _add_rows(package, rows)
            _add_tables(package, zin, tables)
            _add_pivots(package, tables, pivots, _Captured(captured or {}, rendered or {}, _numfmts(zin)))
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zout:
                write_package(package, zin, zout)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _add_rows(package: Package, rows: Sequence[SpooledRows]) -> None:
    sheets = package.sheet_parts()
    for spooled in rows:
        sheet = sheets.get(spooled.sheet)
        if sheet is None:
            raise ValueError(f"no sheet named {spooled.sheet!r} for spooled rows")
        if sheet in package.sheet_edits:
            raise ValueError(f"rows for sheet {spooled.sheet!r} spooled twice")
        package.sheet_edits[sheet] = SheetEdit(rows=spooled)


def _add_tables(package: Package, zin: zipfile.ZipFile, tables: Sequence[TablePart]) -> None:
    sheets = package.sheet_parts()
    taken_ids, taken_names = _existing_tables(package, zin)
    next_id = max(taken_ids, default=0) + 1
    for table in tables:
        if table.name.casefold() in taken_names:
            raise ValueError(f"table name {table.name!r} is already used in the workbook")
        taken_names.add(table.name.casefold())
        sheet = sheets.get(table.sheet)
        if sheet is None:
            raise ValueError(f"no sheet named {table.sheet!r} for table {table.name!r}")
        part = package.free_part("xl/tables/table{}.xml")
        package.add_part(part, CT_TABLE, table_xml(table, next_id))
        rel_id = package.relate(sheet, REL_TABLE, part)
        edit = package.sheet_edits.get(sheet, SheetEdit())
        package.sheet_edits[sheet] = replace(edit, table_rel_ids=(*edit.table_rel_ids, rel_id))
        next_id += 1


def _existing_tables(package: Package, zin: zipfile.ZipFile) -> tuple[set[int], set[str]]:
    """Ids and names (casefolded) Excel already knows: tables and workbook-level defined names."""
    ids: set[int] = set()
    names = {d.get("name", "").casefold() for d in package.xml[WORKBOOK].iter(q(MAIN_NS, "definedName"))}
    for name in package.names:
        if name.startswith("xl/tables/") and name.endswith(".xml"):
            root = etree.fromstring(zin.read(name))
            ids.add(int(root.get("id", "0")))
            names.add(root.get("name", "").casefold())
    return ids, names


def table_xml(table: TablePart, table_id: int) -> bytes:
    columns = "".join(
        f'<tableColumn id="{i}" name="{attr(h)}"/>' for i, h in enumerate(table.headers, start=1)
    )
    body = (
        f'<table xmlns="{MAIN_NS}" id="{table_id}" name="{attr(table.name)}" '
        f'displayName="{attr(table.name)}" ref="{table.ref}" totalsRowShown="0">'
        f'<autoFilter ref="{table.ref}"/>'
        f'<tableColumns count="{len(table.headers)}">{columns}</tableColumns>'
        f'<tableStyleInfo name="{attr(table.style)}" showFirstColumn="0" showLastColumn="0" '
        'showRowStripes="1" showColumnStripes="0"/></table>'
    )
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body).encode("utf-8")


@dataclass(frozen=True)
class _Captured:
    """What the workbook captured for the pivots: records per table, cells per pivot, number formats."""

    data: Mapping[str, CacheData]
    rendered: Mapping[str, Rendered]
    numfmts: Mapping[str, int]


def _add_pivots(
    package: Package, tables: Sequence[TablePart], pivots: Sequence[PivotSpec], captured: _Captured
) -> None:
    """One cache per source table (shared by its pivots), one pivot part per spec."""
    if not pivots:
        return
    by_name = {t.name.casefold(): t for t in tables}
    sheets = package.sheet_parts()
    caches: dict[str, tuple[int, str]] = {}
    next_cache_id = _max_cache_id(package) + 1
    calculated = {
        key: calculated_fields([p for p in pivots if p.source_table.casefold() == key])
        for key in {p.source_table.casefold() for p in pivots}
    }
    for spec in pivots:
        key = spec.source_table.casefold()
        source = by_name.get(key)
        if source is None:
            raise ValueError(f"pivot {spec.name!r}: no streamed table named {spec.source_table!r}")
        sheet = sheets.get(spec.sheet)
        if sheet is None:
            raise ValueError(f"pivot {spec.name!r}: no sheet named {spec.sheet!r}")
        data = captured.data.get(key)
        if key not in caches:
            added = _add_cache(package, source, next_cache_id, data, captured.numfmts, calculated[key])
            caches[key] = (next_cache_id, added)
            next_cache_id += 1
        cache_id, cache_part = caches[key]
        part = package.free_part("xl/pivotTables/pivotTable{}.xml")
        layout = _layout(spec, source, data, captured.rendered.get(spec.name), calculated[key])
        xml = pivot_table_xml(spec, source, cache_id, layout, calculated[key])
        package.add_part(part, CT_PIVOT_TABLE, xml)
        package.relate(part, REL_PIVOT_CACHE, cache_part)
        package.relate(sheet, REL_PIVOT_TABLE, part)


def _layout(
    spec: PivotSpec,
    source: TablePart,
    data: CacheData | None,
    shown: Rendered | None,
    calculated: Sequence[Ratio],
) -> Layout | None:
    if data is None:
        return None
    r = resolve(spec, source.headers, calculated)
    items = {i: item_order(data.shared[i]) for i in (*r.rows, *r.columns, *r.filters)}
    if shown is None:
        return Layout(items)
    return Layout(items, shown.location, shown.row_items, shown.col_items)


def _numfmts(zin: zipfile.ZipFile) -> dict[str, int]:
    """Schema kind → the id of its number format in this workbook's styles (custom ids are per file)."""
    try:
        styles = etree.fromstring(zin.read("xl/styles.xml"))
    except KeyError:
        return {}
    ids = {n.get("formatCode"): int(n.get("numFmtId", "0")) for n in styles.iter(q(MAIN_NS, "numFmt"))}
    return {kind: ids[spec.excel_format] for kind, spec in KINDS.items() if spec.excel_format in ids}


def _max_cache_id(package: Package) -> int:
    return max(
        (int(c.get("cacheId", "0")) for c in package.xml[WORKBOOK].iter(q(MAIN_NS, "pivotCache"))),
        default=0,
    )


def _add_cache(  # noqa: PLR0917
    package: Package,
    source: TablePart,
    cache_id: int,
    data: CacheData | None,
    numfmts: Mapping[str, int],
    calculated: Sequence[Ratio],
) -> str:
    part = package.free_part("xl/pivotCache/pivotCacheDefinition{}.xml")
    if data is None:
        xml = cache_definition_xml(source, numfmts=numfmts, calculated=calculated)
        package.add_part(part, CT_PIVOT_CACHE, xml)
    else:
        records = package.free_part("xl/pivotCache/pivotCacheRecords{}.xml")
        package.records_parts[records] = data
        package.declare(records, CT_PIVOT_RECORDS)
        rel = package.relate(part, REL_PIVOT_RECORDS, records)
        shared = [shared_items_xml(s, data.shared.get(i)) for i, s in enumerate(data.stats)]
        xml = cache_definition_xml(
            source,
            records_rel=rel,
            record_count=data.count,
            shared_items=shared,
            numfmts=numfmts,
            calculated=calculated,
        )
        package.add_part(part, CT_PIVOT_CACHE, xml)
    rel_id = package.relate(WORKBOOK, REL_PIVOT_CACHE, part)
    caches = _pivot_caches_element(package.xml[WORKBOOK])
    etree.SubElement(caches, q(MAIN_NS, "pivotCache"), {"cacheId": str(cache_id), q(REL_NS, "id"): rel_id})
    return part


def _pivot_caches_element(workbook: etree._Element) -> etree._Element:
    """The workbook's <pivotCaches>, created at its CT_Workbook position if missing."""
    existing = workbook.find(q(MAIN_NS, "pivotCaches"))
    if existing is not None:
        return existing
    element = etree.Element(q(MAIN_NS, "pivotCaches"))
    later = next((c for c in workbook if etree.QName(c).localname in _AFTER_PIVOT_CACHES), None)
    if later is None:
        workbook.append(element)
    else:
        later.addprevious(element)
    return element
