"""Package and pivot integrity checks that need no spreadsheet program.

``package_problems(path)`` returns a list of human-readable problems (empty: the package is sound):
parts parse, content types cover every part, relationships resolve, schema element order holds for
the parts we write, tables match their header cells, and pivots are consistent with their cache
and source table. Schema validation proper is openxml-audit's job; this covers what it misses.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"

ORDER = {
    "worksheet": (
        "sheetPr dimension sheetViews sheetFormatPr cols sheetData sheetCalcPr sheetProtection "
        "protectedRanges scenarios autoFilter sortState dataConsolidate customSheetViews mergeCells "
        "phoneticPr conditionalFormatting dataValidations hyperlinks printOptions pageMargins pageSetup "
        "headerFooter rowBreaks colBreaks customProperties cellWatches ignoredErrors smartTags drawing "
        "legacyDrawing legacyDrawingHF drawingHF picture oleObjects controls webPublishItems tableParts "
        "extLst"
    ),
    "workbook": (
        "fileVersion fileSharing workbookPr AlternateContent workbookProtection bookViews sheets "
        "functionGroups externalReferences definedNames calcPr oleSize customWorkbookViews pivotCaches "
        "smartTagPr smartTagTypes webPublishing fileRecoveryPr webPublishObjects extLst"
    ),
    "pivotTableDefinition": (
        "location pivotFields rowFields rowItems colFields colItems pageFields dataFields formats "
        "conditionalFormats chartFormats pivotHierarchies pivotTableStyleInfo filters "
        "rowHierarchiesUsage colHierarchiesUsage extLst"
    ),
    "pivotCacheDefinition": (
        "cacheSource cacheFields cacheHierarchies kpis tupleCache calculatedItems calculatedMembers "
        "dimensions measureGroups maps extLst"
    ),
    "table": "autoFilter sortState tableColumns tableStyleInfo extLst",
}


def q(tag: str, ns: str = MAIN) -> str:
    return f"{{{ns}}}{tag}"


def rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


class PackageView:
    """Parsed XML parts (all of them: test fixtures are small) and relationship lookups."""

    def __init__(self, path: Path) -> None:
        self.problems: list[str] = []
        with zipfile.ZipFile(path) as archive:
            self.names = archive.namelist()
            self.xml: dict[str, etree._Element] = {}
            for name in self.names:
                if name.endswith((".xml", ".rels")):
                    try:
                        self.xml[name] = etree.fromstring(archive.read(name))
                    except etree.XMLSyntaxError as exc:
                        self.problems.append(f"{name}: not well-formed: {exc}")

    def rels(self, part: str, rel_type: str | None = None) -> dict[str, str]:
        """rId → target part name for internal relationships of ``part``."""
        root = self.xml.get(rels_of(part))
        if root is None:
            return {}
        result = {}
        for rel in root.iter(q("Relationship", PKG_REL)):
            if rel.get("TargetMode") == "External" or (
                rel_type and not rel.get("Type", "").endswith(rel_type)
            ):
                continue
            target = rel.get("Target", "")
            name = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
            )
            result[rel.get("Id", "")] = name
        return result

    def parts_named(self, folder: str) -> Iterator[str]:
        return (n for n in self.names if n.startswith(folder) and n.endswith(".xml"))


def package_problems(path: Path) -> list[str]:
    view = PackageView(path)
    for check in (_content_types, _relationships, _element_order, _tables, _pivots, _records):
        check(view)
    return view.problems


SML = "application/vnd.openxmlformats-officedocument.spreadsheetml."
EXPECTED_TYPES = {
    "xl/worksheets/sheet": SML + "worksheet+xml",
    "xl/tables/table": SML + "table+xml",
    "xl/pivotTables/pivotTable": SML + "pivotTable+xml",
    "xl/pivotCache/pivotCacheDefinition": SML + "pivotCacheDefinition+xml",
    "xl/pivotCache/pivotCacheRecords": SML + "pivotCacheRecords+xml",
}


def _content_types(view: PackageView) -> None:
    """Every part has a content type, and the parts Excel reads by type have their specific one."""
    types = view.xml["[Content_Types].xml"]
    defaults = {d.get("Extension", "").lower(): d.get("ContentType") for d in types.iter(q("Default", CT))}
    overrides = {
        o.get("PartName", "").lstrip("/"): o.get("ContentType") for o in types.iter(q("Override", CT))
    }
    for name in view.names:
        if name == "[Content_Types].xml":
            continue
        content_type = overrides.get(name) or defaults.get(name.rsplit(".", 1)[-1].lower())
        expected = next((t for prefix, t in EXPECTED_TYPES.items() if name.startswith(prefix)), None)
        if content_type is None or (expected is not None and content_type != expected):
            view.problems.append(f"{name}: no content type (or a generic one)")
    missing = set(overrides) - set(view.names)
    view.problems.extend(f"content type override for missing part {o}" for o in sorted(missing))


def _relationships(view: PackageView) -> None:
    for name in view.names:
        if not name.endswith(".rels"):
            continue
        folder = posixpath.dirname(posixpath.dirname(name))
        source = posixpath.join(folder, posixpath.basename(name)[: -len(".rels")])
        ids = [r.get("Id") for r in view.xml[name].iter(q("Relationship", PKG_REL))]
        if len(ids) != len(set(ids)):
            view.problems.append(f"{name}: duplicate relationship ids")
        for rel_id, target in view.rels(source).items():
            if target not in view.names:
                view.problems.append(f"{name}: {rel_id} targets missing part {target}")


def _element_order(view: PackageView) -> None:
    for name, root in view.xml.items():
        local = etree.QName(root).localname
        if local not in ORDER:
            continue
        order = ORDER[local].split()
        last = -1
        for child in root:
            child_name = etree.QName(child).localname
            if child_name not in order:
                view.problems.append(f"{name}: unexpected element {child_name}")
                continue
            if order.index(child_name) < last:
                view.problems.append(f"{name}: {child_name} is out of schema order")
            last = order.index(child_name)


def header_cells(view: PackageView, sheet: str, row: int) -> dict[int, str]:
    """Text of the cells in 1-based ``row`` of a sheet part (inline, shared or formula strings)."""
    shared = view.xml.get("xl/sharedStrings.xml")
    strings = ["".join(si.itertext()) for si in shared] if shared is not None else []
    cells: dict[int, str] = {}
    for row_el in view.xml[sheet].iter(q("row")):
        if row_el.get("r") != str(row):
            continue
        for cell in row_el.iter(q("c")):
            ref = cell.get("r", "")
            col = 0
            for ch in ref.rstrip("0123456789"):
                col = col * 26 + ord(ch) - 64
            value = cell.find(q("v"))
            if cell.get("t") == "s" and value is not None:
                cells[col - 1] = strings[int(value.text or 0)]
            elif cell.get("t") == "inlineStr":
                cells[col - 1] = "".join(cell.find(q("is")).itertext())  # type: ignore[union-attr]
            elif value is not None:
                cells[col - 1] = value.text or ""
    return cells


def _tables(view: PackageView) -> None:
    names: set[str] = set()
    ids: set[str] = set()
    for sheet in view.parts_named("xl/worksheets/sheet"):
        table_rels = view.rels(sheet, "/table")
        parts = view.xml[sheet].find(q("tableParts"))
        listed = [] if parts is None else [p.get(q("id", REL)) for p in parts]
        if parts is not None and parts.get("count") != str(len(listed)):
            view.problems.append(f"{sheet}: tableParts count is wrong")
        if sorted(map(str, listed)) != sorted(table_rels):
            view.problems.append(f"{sheet}: tableParts {listed} do not match table relationships")
        for table_part in table_rels.values():
            if table_part not in view.xml:
                continue  # reported as a dangling relationship
            table = view.xml[table_part]
            name, table_id = table.get("name", ""), table.get("id", "")
            if name.casefold() in names or table_id in ids or name != table.get("displayName"):
                view.problems.append(f"{table_part}: duplicate or inconsistent name/id {name!r}/{table_id}")
            names.add(name.casefold())
            ids.add(table_id)
            _table_header(view, sheet, table_part, table)


def _table_header(view: PackageView, sheet: str, part: str, table: etree._Element) -> None:
    first, _, last = table.get("ref", "").partition(":")
    first_col = _col(first)
    columns = [c.get("name", "") for c in table.iter(q("tableColumn"))]
    if len(columns) != _col(last) - first_col + 1:
        view.problems.append(f"{part}: {len(columns)} columns for ref {table.get('ref')}")
    auto = table.find(q("autoFilter"))
    if auto is not None and auto.get("ref") != table.get("ref"):
        view.problems.append(f"{part}: autoFilter ref differs from the table ref")
    header = header_cells(view, sheet, int(first.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")))
    actual = [header.get(first_col + i) for i in range(len(columns))]
    if actual != columns:
        view.problems.append(f"{part}: header cells {actual} differ from table columns {columns}")


def _col(ref: str) -> int:
    col = 0
    for ch in ref.rstrip("0123456789"):
        col = col * 26 + ord(ch) - 64
    return col - 1


def _pivots(view: PackageView) -> None:
    workbook_caches = {
        c.get("cacheId"): view.rels("xl/workbook.xml").get(c.get(q("id", REL), ""))
        for c in view.xml["xl/workbook.xml"].iter(q("pivotCache"))
    }
    if None in workbook_caches.values():
        view.problems.append("workbook.xml: a pivotCache r:id does not resolve")
    sheet_pivots = {
        p for s in view.parts_named("xl/worksheets/sheet") for p in view.rels(s, "/pivotTable").values()
    }
    for part in view.parts_named("xl/pivotTables/pivotTable"):
        if part not in sheet_pivots:
            view.problems.append(f"{part}: no sheet relates to it")
        caches = list(view.rels(part, "/pivotCacheDefinition").values())
        pivot = view.xml[part]
        if len(caches) != 1 or workbook_caches.get(pivot.get("cacheId")) != caches[0]:
            view.problems.append(f"{part}: cacheId {pivot.get('cacheId')} does not match its cache {caches}")
            continue
        _pivot_fields(view, part, pivot, view.xml[caches[0]])


def _pivot_fields(view: PackageView, part: str, pivot: etree._Element, cache: etree._Element) -> None:
    keeps_data = cache.get("saveData", "1") not in ("0", "false")
    if keeps_data and cache.get("invalid", "0") in ("0", "false") and not cache.get(q("id", REL)):
        view.problems.append(f"{part}: cache keeps data (saveData) but has no records part")
    cache_names = [f.get("name") for f in cache.iter(q("cacheField"))]
    from_table = [f.get("name") for f in cache.iter(q("cacheField")) if f.get("databaseField") != "0"]
    field_list = pivot.find(q("pivotFields"))
    fields = list(field_list) if field_list is not None else []
    for element, children in (
        (cache.find(q("cacheFields")), cache_names),
        (pivot.find(q("pivotFields")), fields),
    ):
        if element is None or element.get("count") != str(len(children)):
            view.problems.append(f"{part}: a field count attribute is wrong")
    if len(fields) != len(cache_names):
        view.problems.append(f"{part}: {len(fields)} pivotFields for {len(cache_names)} cacheFields")
    source = cache.find(f"{q('cacheSource')}/{q('worksheetSource')}")
    table_columns = _table_columns(view, source.get("name") if source is not None else None)
    if table_columns is not None and table_columns != from_table:
        view.problems.append(
            f"{part}: cacheField names {cache_names} differ from table columns {table_columns}"
        )
    _axis_refs(view, part, pivot, fields)


def _records(view: PackageView) -> None:
    """Each saved record has one item per cache field, an index within its field's shared items where
    the field has them, and the counts agree (cache recordCount, records count, number of <r>)."""
    for part in view.parts_named("xl/pivotCache/pivotCacheDefinition"):
        cache = view.xml[part]
        targets = list(view.rels(part, "/pivotCacheRecords").values())
        if not targets:
            continue
        records = view.xml[targets[0]]
        from_table = [f for f in cache.iter(q("cacheField")) if f.get("databaseField") != "0"]
        shared = [f.find(q("sharedItems")) for f in from_table]  # calculated fields have no records
        sizes = [None if s is None or s.get("count") is None else len(s) for s in shared]
        rows = list(records.iter(q("r")))
        if not (cache.get("recordCount") == records.get("count") == str(len(rows))):
            view.problems.append(f"{targets[0]}: {len(rows)} records, count {records.get('count')}, "
                                 f"recordCount {cache.get('recordCount')}")  # fmt: skip
        for n, row in enumerate(rows):
            items = list(row)
            if len(items) != len(sizes):
                view.problems.append(
                    f"{targets[0]}: record {n} has {len(items)} items for {len(sizes)} fields"
                )
                break
            bad = [
                i for i, (item, size) in enumerate(zip(items, sizes, strict=True))
                if (etree.QName(item).localname == "x") != (size is not None)
                or (size is not None and not 0 <= int(item.get("v", "0")) < size)
            ]  # fmt: skip
            if bad:
                view.problems.append(
                    f"{targets[0]}: record {n} field {bad[0]} does not match its shared items"
                )
                break


def _table_columns(view: PackageView, table_name: str | None) -> list[str | None] | None:
    for table_part in view.parts_named("xl/tables/table"):
        table = view.xml[table_part]
        if table_name is not None and table.get("name", "").casefold() == table_name.casefold():
            return [c.get("name") for c in table.iter(q("tableColumn"))]
    return None


def _axis_refs(view: PackageView, part: str, pivot: etree._Element, fields: list[etree._Element]) -> None:
    def field_attr(index: int, name: str) -> str | None:
        return fields[index].get(name) if 0 <= index < len(fields) else "<missing>"

    lists = {
        "rowFields": ("field", "x", "axisRow"),
        "colFields": ("field", "x", "axisCol"),
        "pageFields": ("pageField", "fld", "axisPage"),
    }
    values_field = False
    for tag, (child, attr, axis) in lists.items():
        element = pivot.find(q(tag))
        if element is None:
            continue
        entries = list(element.iter(q(child)))
        if element.get("count") != str(len(entries)):
            view.problems.append(f"{part}: {tag} count is wrong")
        for entry in entries:
            index = int(entry.get(attr, "-99"))
            if index == -2 and tag != "pageFields":
                values_field = True
            elif field_attr(index, "axis") != axis:
                view.problems.append(f"{part}: {tag} points at field {index}, which is not {axis}")
    data = list(pivot.iter(q("dataField")))
    for entry in data:
        if field_attr(int(entry.get("fld", "-99")), "dataField") not in ("1", "true"):
            view.problems.append(f"{part}: dataField fld={entry.get('fld')} is not a data pivotField")
    if len(data) > 1 and not values_field:
        view.problems.append(f"{part}: several data fields but no -2 (Values) field on rows or columns")
