"""Excel's rules for names and cell references, checked before a file is written.

Excel does not report a bad table name or column header politely: it "repairs" the file and drops
the table (and every pivot built on it). So every name that reaches the package is checked here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
SHEET_NAME_MAX = 31
NAME_MAX = 255

_TABLE_NAME = re.compile(r"(?:[^\W\d]|[_\\])[\w.]*")
_LOOKS_LIKE_A1 = re.compile(r"[A-Za-z]{1,3}\d+")
_LOOKS_LIKE_R1C1 = re.compile(r"[Rr]\d*(?:[Cc]\d*)?|[Cc]\d*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


def check_table_name(name: str) -> str:
    """Raise ValueError unless Excel accepts ``name`` as a table (or pivot) name."""
    if not _TABLE_NAME.fullmatch(name) or len(name) > NAME_MAX:
        raise ValueError(
            f"invalid Excel table name {name!r}: start with a letter or '_', then letters, digits, '_' or '.'"
        )
    if _LOOKS_LIKE_A1.fullmatch(name) or _LOOKS_LIKE_R1C1.fullmatch(name):
        raise ValueError(f"invalid Excel table name {name!r}: it reads as a cell reference")
    return name


def check_caption(name: str, what: str) -> str:
    """Pivot names and value captions: free text, but non-empty, short and without control characters."""
    if not name.strip() or len(name) > NAME_MAX or _CONTROL.search(name):
        raise ValueError(f"invalid {what} {name!r}: empty, too long or has control characters")
    return name


def check_headers(headers: Iterable[str]) -> tuple[str, ...]:
    """Table headers: non-empty, unique ignoring case, no control characters, at most 255 chars.

    Excel compares a table's column names with its header cells; any mismatch (including one it
    creates itself by renaming a duplicate) makes it repair the file.
    """
    result = tuple(headers)
    seen: set[str] = set()
    for header in result:
        if not header.strip() or len(header) > NAME_MAX or _CONTROL.search(header):
            raise ValueError(f"invalid table header {header!r}: empty, too long or has control characters")
        key = header.casefold()
        if key in seen:
            raise ValueError(f"duplicate table header {header!r} (Excel ignores case)")
        seen.add(key)
    if not result:
        raise ValueError("a table needs at least one column")
    if len(result) > EXCEL_MAX_COLS:
        raise ValueError(f"{len(result)} columns exceed Excel's {EXCEL_MAX_COLS}")
    return result


def check_sheet_name(name: str) -> str:
    if not name or len(name) > SHEET_NAME_MAX or _SHEET_FORBIDDEN.search(name):
        raise ValueError(f"invalid sheet name {name!r}: 1-31 characters, none of []:*?/\\")
    if name.startswith("'") or name.endswith("'"):
        raise ValueError(f"invalid sheet name {name!r}: it may not start or end with an apostrophe")
    return name


def col_letters(col: int) -> str:
    """0-based column index to letters: 0 → A, 26 → AA."""
    letters = ""
    n = col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row: int, col: int) -> str:
    """0-based (row, col) to an A1 reference."""
    return f"{col_letters(col)}{row + 1}"


def range_ref(first_row: int, first_col: int, last_row: int, last_col: int) -> str:
    return f"{cell_ref(first_row, first_col)}:{cell_ref(last_row, last_col)}"


def parse_cell(ref: str) -> tuple[int, int]:
    """A1 reference to 0-based (row, col)."""
    match = _CELL.fullmatch(ref.strip())
    if not match:
        raise ValueError(f"not a cell reference: {ref!r}")
    col = 0
    for ch in match.group(1).upper():
        col = col * 26 + ord(ch) - 64
    row = int(match.group(2))
    if row < 1 or row > EXCEL_MAX_ROWS or col > EXCEL_MAX_COLS:
        raise ValueError(f"cell reference out of Excel's bounds: {ref!r}")
    return row - 1, col - 1
