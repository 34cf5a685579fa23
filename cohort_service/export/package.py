"""The xlsx package as this exporter edits it: parsed small parts, new parts, patched big sheets.

Read once from the closed xlsxwriter file; the small parts we edit (content types, workbook,
relationships) are parsed, new parts are kept as bytes, and :func:`write_package` copies everything
in one pass: a big sheet is stream-copied and only its tail patched (:mod:`sheet_tail`), pivot cache
records are streamed from their spool. Parts are named through the relationships, never guessed.
"""

from __future__ import annotations

import posixpath
import shutil
import zipfile
from dataclasses import dataclass, field

from lxml import etree

from cohort_service.export.pivot_cache import CacheData
from cohort_service.export.sheet_tail import CHUNK, SheetEdit, copy_sheet, open_for_copy
from cohort_service.export.xmlns import CT_NS, MAIN_NS, PKG_REL_NS, REL_NS

CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK = "xl/workbook.xml"


@dataclass
class Package:
    """The small, editable parts of a package, parsed; big parts stay in the zip until the copy."""

    names: list[str]
    xml: dict[str, etree._Element] = field(default_factory=dict)
    new_parts: dict[str, bytes] = field(default_factory=dict)
    records_parts: dict[str, CacheData] = field(default_factory=dict)
    sheet_edits: dict[str, SheetEdit] = field(default_factory=dict)

    @classmethod
    def read(cls, zin: zipfile.ZipFile) -> Package:
        package = cls(names=zin.namelist())
        for name in package.names:
            if name in (CONTENT_TYPES, WORKBOOK) or name.endswith(".rels"):
                package.xml[name] = etree.fromstring(zin.read(name))
        return package

    def exists(self, part: str) -> bool:
        return part in self.xml or part in self.new_parts or part in self.names

    def free_part(self, pattern: str) -> str:
        """``xl/tables/table{}.xml`` → the first such name not yet in the package."""
        n = 1
        while self.exists(pattern.format(n)):
            n += 1
        return pattern.format(n)

    def rels(self, part: str) -> etree._Element:
        name = rels_part(part)
        if name not in self.xml:
            self.xml[name] = etree.fromstring(f'<Relationships xmlns="{PKG_REL_NS}"/>')
        return self.xml[name]

    def relate(self, source: str, rel_type: str, target_part: str) -> str:
        """Add a relationship from ``source`` to ``target_part``; return its new, unused id."""
        rels = self.rels(source)
        used = {r.get("Id") for r in rels}
        n = 1
        while f"rId{n}" in used:
            n += 1
        rel_id = f"rId{n}"
        target = posixpath.relpath(target_part, posixpath.dirname(source))
        etree.SubElement(rels, q(PKG_REL_NS, "Relationship"), Id=rel_id, Type=rel_type, Target=target)
        return rel_id

    def targets(self, source: str, rel_type: str) -> dict[str, str]:
        rels = self.xml.get(rels_part(source))
        if rels is None:
            return {}
        return {
            r.get("Id", ""): resolve_target(source, r.get("Target", ""))
            for r in rels
            if r.get("Type") == rel_type and r.get("TargetMode") != "External"
        }

    def add_part(self, name: str, content_type: str, data: bytes) -> None:
        self.new_parts[name] = data
        self.declare(name, content_type)

    def declare(self, name: str, content_type: str) -> None:
        """The part's content type in ``[Content_Types].xml`` (written by whoever adds the part)."""
        types = self.xml[CONTENT_TYPES]
        etree.SubElement(types, q(CT_NS, "Override"), PartName="/" + name, ContentType=content_type)

    def sheet_parts(self) -> dict[str, str]:
        """Sheet name → worksheet part, from workbook.xml and its relationships."""
        targets = self.targets(WORKBOOK, REL_NS + "/worksheet")
        sheets = self.xml[WORKBOOK].find(q(MAIN_NS, "sheets"))
        result: dict[str, str] = {}
        for sheet in sheets if sheets is not None else ():
            rel_id = sheet.get(q(REL_NS, "id"), "")
            if rel_id in targets:
                result[sheet.get("name", "")] = targets[rel_id]
        return result


def rels_part(part: str) -> str:
    """The relationships part of ``part``: ``xl/workbook.xml`` → ``xl/_rels/workbook.xml.rels``."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve_target(source_part: str, target: str) -> str:
    """A relationship target as a package part name (no leading slash)."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def write_package(package: Package, zin: zipfile.ZipFile, zout: zipfile.ZipFile) -> None:
    """Every part of ``zin`` (edited where the package says) and the new ones, into ``zout``."""
    _ensure_rels_default(package.xml[CONTENT_TYPES])
    for info in zin.infolist():
        name = info.filename
        if name in package.xml:
            zout.writestr(_info(name, info), _serialize(package.xml.pop(name)))
        elif name in package.sheet_edits:
            edit = package.sheet_edits[name]
            extra = 4096 + (edit.rows.path.stat().st_size if edit.rows else 0)
            with zin.open(info) as src, open_for_copy(zout, info, extra=extra) as dst:
                copy_sheet(src, dst, edit)
        else:
            with zin.open(info) as src, open_for_copy(zout, info) as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    for name, root in package.xml.items():  # relationship parts that did not exist before
        zout.writestr(_info(name), _serialize(root))
    for name, data in package.new_parts.items():
        zout.writestr(_info(name), data)
    for name, cache in package.records_parts.items():
        _write_records(zout, name, cache)


def _write_records(zout: zipfile.ZipFile, name: str, cache: CacheData) -> None:
    """The spooled ``<r>`` elements wrapped in their part, streamed (a record per source row)."""
    with zout.open(_info(name), "w", force_zip64=True) as dst:
        dst.write(
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            + f'<pivotCacheRecords xmlns="{MAIN_NS}" xmlns:r="{REL_NS}" count="{cache.count}">'.encode()
        )
        with cache.records.open("rb") as src:
            shutil.copyfileobj(src, dst, CHUNK)
        dst.write(b"</pivotCacheRecords>")


_RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"


def _ensure_rels_default(types: etree._Element) -> None:
    """Relationship parts need their content type declared once, by extension."""
    if not any(d.get("Extension", "").lower() == "rels" for d in types.iter(q(CT_NS, "Default"))):
        types.insert(0, etree.Element(q(CT_NS, "Default"), Extension="rels", ContentType=_RELS_TYPE))


def _info(name: str, source: zipfile.ZipInfo | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, source.date_time if source else (1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
