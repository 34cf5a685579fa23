"""Edit a worksheet part while stream-copying it between two zip files.

A streamed sheet can hold a million rows (hundreds of MB of XML), so it is never read whole: the
head (root, dimension, views, cols) is read up to ``<sheetData``, rows pass through in chunks,
spooled rows are copied in before ``</sheetData>``, and only what follows (page setup, drawings,
``extLst``: a few KB) is kept and edited. CT_Worksheet puts ``tableParts`` after every other child
except ``extLst``, so that is where it goes.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from lxml import etree

from cohort_service.export.names import cell_ref, parse_cell
from cohort_service.export.rowxml import SpooledRows
from cohort_service.export.xmlns import REL_NS

CHUNK = 1 << 20
_CARRY = 64  # longer than any marker searched across a chunk boundary
_ROOT = re.compile(rb"<(?:[\w.-]+:)?worksheet\b[^>]*>")
_SHEETDATA_START = re.compile(rb"<(?:[\w.-]+:)?sheetData\b")
_DIMENSION = re.compile(rb'(<(?:[\w.-]+:)?dimension\s+ref=")([^"]*)("\s*/>)')
_SHEETDATA_END = re.compile(rb"</(?:[\w.-]+:)?sheetData\s*>|<(?:[\w.-]+:)?sheetData\s*/>")
_TAG = re.compile(r"<(/?)([\w.:-]+)[^>]*?(/?)>")
_TABLE_PART = re.compile(r"<(?:[\w.-]+:)?tablePart\b[^>]*/>")
_AFTER_TABLE_PARTS = frozenset({"extLst"})


@dataclass(frozen=True, slots=True)
class SheetEdit:
    """What to add to one worksheet part: spooled data rows and/or table relationship ids."""

    table_rel_ids: tuple[str, ...] = ()
    rows: SpooledRows | None = None


def copy_sheet(src: IO[bytes], dst: IO[bytes], edit: SheetEdit, *, chunk: int = CHUNK) -> None:
    """Copy a worksheet part, splicing ``edit.rows`` in before ``</sheetData>`` and adding tableParts."""
    head, pending = _read_head(src, chunk)
    root = _ROOT.search(head)
    if root is None:
        raise ValueError("worksheet part has no <worksheet> root before sheetData")
    dst.write(_patch_dimension(head, edit.rows) if edit.rows else head)
    while not (end := _SHEETDATA_END.search(pending)):
        block = src.read(chunk)
        if not block:
            raise ValueError("worksheet part has no end of sheetData")
        dst.write(pending[:-_CARRY])
        pending = pending[-_CARRY:] + block
    dst.write(pending[: end.start()])
    if end.group(0).endswith(b"/>"):
        dst.write(b"<sheetData>")
    if edit.rows:
        with edit.rows.path.open("rb") as rows:
            shutil.copyfileobj(rows, dst, chunk)
    dst.write(b"</sheetData>")
    tail = bytearray(pending[end.end() :])
    while block := src.read(chunk):
        tail += block
    text = tail.decode("utf-8")
    if edit.table_rel_ids:
        text = patch_tail(root.group(0).decode("utf-8"), text, edit.table_rel_ids)
    dst.write(text.encode("utf-8"))


def _read_head(src: IO[bytes], chunk: int) -> tuple[bytes, bytes]:
    """Everything before ``<sheetData`` (root, dimension, views, cols: small) and what was read after."""
    buffer = b""
    while not (start := _SHEETDATA_START.search(buffer)):
        block = src.read(chunk)
        if not block:
            raise ValueError("worksheet part has no sheetData")
        buffer += block
    return buffer[: start.start()], buffer[start.start() :]


def _patch_dimension(head: bytes, rows: SpooledRows) -> bytes:
    """Widen ``<dimension ref>``: xlsxwriter only saw the header row."""

    def widen(match: re.Match[bytes]) -> bytes:
        first, _, last = match.group(2).decode("ascii").partition(":")
        last_row, last_col = parse_cell(last or first)
        ref = f"{first}:{cell_ref(max(last_row, rows.last_row), max(last_col, rows.last_col))}"
        return match.group(1) + ref.encode("ascii") + match.group(3)

    return _DIMENSION.sub(widen, head, count=1)


def patch_tail(root_tag: str, tail: str, rel_ids: Sequence[str]) -> str:
    """Insert or extend ``tableParts`` among the top-level elements that follow ``sheetData``."""
    children = _top_level(tail)
    prefix = _rel_prefix(root_tag)
    existing = next(((s, e) for name, s, e in children if _local(name) == "tableParts"), None)
    old_parts = _TABLE_PART.findall(tail[existing[0] : existing[1]]) if existing else []
    declare = "" if prefix else f' xmlns:r="{REL_NS}"'
    new_parts = [f'<tablePart {prefix or "r"}:id="{rid}"/>' for rid in rel_ids]
    element = (
        f'<tableParts count="{len(old_parts) + len(new_parts)}"{declare}>'
        f"{''.join(old_parts)}{''.join(new_parts)}</tableParts>"
    )
    if existing:
        patched = tail[: existing[0]] + element + tail[existing[1] :]
    else:
        at = next((s for name, s, _ in children if _local(name) in _AFTER_TABLE_PARTS), None)
        if at is None:
            at = tail.rindex("</")
        patched = tail[:at] + element + tail[at:]
    etree.fromstring((root_tag + patched).encode("utf-8"))  # well-formed, or raise before writing
    return patched


def _top_level(tail: str) -> list[tuple[str, int, int]]:
    """(qualified name, start, end) of each element directly inside the root, up to its end tag."""
    children: list[tuple[str, int, int]] = []
    depth = 0
    start = 0
    name = ""
    for match in _TAG.finditer(tail):
        closing, qname, empty = match.group(1), match.group(2), match.group(3)
        if closing:
            if depth == 0:  # the root's own end tag
                break
            depth -= 1
            if depth == 0:
                children.append((name, start, match.end()))
        elif empty:
            if depth == 0:
                children.append((qname, match.start(), match.end()))
        else:
            if depth == 0:
                name, start = qname, match.start()
            depth += 1
    return children


def _local(qname: str) -> str:
    return qname.rsplit(":", 1)[-1]


def _rel_prefix(root_tag: str) -> str | None:
    match = re.search(r'xmlns:([\w.-]+)="' + re.escape(REL_NS) + '"', root_tag)
    return match.group(1) if match else None


def open_for_copy(zout: zipfile.ZipFile, info: zipfile.ZipInfo, extra: int = 0) -> IO[bytes]:
    """An entry with the source's name and date; zip64 when the copy may pass 2 GiB."""
    target = zipfile.ZipInfo(info.filename, info.date_time)
    target.compress_type = zipfile.ZIP_DEFLATED
    target.file_size = info.file_size + extra
    return zout.open(target, "w", force_zip64=target.file_size > (1 << 31))
