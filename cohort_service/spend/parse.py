"""Read an ad-spend file (CSV or XLSX) into rows, or into every problem it has.

Ad platforms and accountants export spend in many shapes: ``,`` ``;`` or TAB separators, a BOM or
not, decimal commas, ``DD.MM.YYYY`` dates, a spreadsheet. One file is judged as a whole: every bad
cell becomes one line ``FILE:LINE: column: problem`` and a file with any problem imports nothing,
so a half-fixed export can never leave half its days in the table. No I/O but reading the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

DATE, SOURCE, COST = "date", "source", "cost"
CAMPAIGN, IMPRESSIONS, CLICKS, CURRENCY = "campaign", "impressions", "clicks", "currency"
REQUIRED = (DATE, SOURCE, COST)
OPTIONAL = (CAMPAIGN, IMPRESSIONS, CLICKS, CURRENCY)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
SPEND_SUFFIXES = (".csv", ".tsv", ".txt", *XLSX_SUFFIXES)
MAX_TEXT = 200  # a source or campaign name longer than this is a broken export, not a name
_DELIMITERS = (",", ";", "\t")
_SPACES = re.compile(r"[\s\u00a0\u202f']+")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MIDNIGHT = re.compile(r"[ T]00:00(:00(\.0+)?)?$")
_ANY_TIME = re.compile(r"[ T]\d{1,2}:\d{2}")


@dataclass(frozen=True)
class SpendRow:
    """One day × source × campaign of spend; ``campaign`` is ``""`` when the file has none."""

    line: int
    day: date
    source: str
    campaign: str
    cost: Decimal
    impressions: int | None = None
    clicks: int | None = None
    currency: str | None = None

    @property
    def key(self) -> tuple[date, str, str]:
        return (self.day, self.source, self.campaign)


@dataclass(frozen=True)
class SpendFile:
    """What one file holds: rows with a unique key (repeats added up), or its problems."""

    name: str
    sha256: str
    rows: tuple[SpendRow, ...] = ()
    problems: tuple[str, ...] = ()
    merged: int = 0  # rows added to an earlier row of the same date, source and campaign

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Collector:
    name: str
    found: list[tuple[int, str]] = field(default_factory=list)
    currencies: list[tuple[int, str]] = field(default_factory=list)  # (line, code), bad rows too

    def add(self, line: int, column: str, problem: str) -> None:
        self.found.append((line, f"{self.name}:{line}: {column}: {problem}"))

    @property
    def problems(self) -> tuple[str, ...]:
        """In line order (stable within a line), whatever check found them."""
        return tuple(text for _line, text in sorted(self.found, key=lambda item: item[0]))


_Where = tuple[_Collector, int]  # the file's problem list and the line being read


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_decimal(value: object) -> Decimal:
    """``1 234,56`` / ``1234.56`` / ``1.234,56`` / a spreadsheet number → Decimal; ValueError if not."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a number")
        return Decimal(repr(value))
    text = _SPACES.sub("", str(value))
    if "," in text and "." in text:  # the later mark is the decimal one, the other groups thousands
        decimal_comma = text.rfind(",") > text.rfind(".")
        text = text.replace(".", "").replace(",", ".") if decimal_comma else text.replace(",", "")
    else:
        text = text.replace(",", ".")
    if not _NUMBER.match(text):
        raise ValueError("not a number")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError("not a number") from None


def parse_day(value: object) -> date:
    """``2026-12-07``, ``07.12.2026`` or a spreadsheet date cell (at midnight) → date. A text date
    followed by a midnight time (``2026-12-07 00:00:00``, how some tools export a day) is that day;
    any other time is not a day."""
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise ValueError("must be a day, not a moment with a time")
        return value.date()
    if isinstance(value, date):
        return value
    text = _MIDNIGHT.sub("", str(value).strip())
    if _ANY_TIME.search(text):
        raise ValueError("must be a day, not a moment with a time")
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar day, no zone
        except ValueError:
            continue
    raise ValueError("not a date (use YYYY-MM-DD or DD.MM.YYYY)")


def _count(value: object) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise ValueError("must be a whole number")
    if number < 0:
        raise ValueError("must not be negative")
    return int(number)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a numeric campaign id read from a spreadsheet
    return " ".join(str(value).split())


def _header_key(cell: object) -> str:
    return str(cell or "").replace("\ufeff", "").strip().casefold()


def _columns(header: Sequence[object], out: _Collector, line: int) -> dict[str, int] | None:
    """Column positions by name; every missing required column and every repeat is a problem."""
    found: dict[str, int] = {}
    for position, cell in enumerate(header):
        key = _header_key(cell)
        if key in (*REQUIRED, *OPTIONAL):
            if key in found:
                out.add(line, key, "the column appears twice")
            found.setdefault(key, position)
    shown = ", ".join(str(c).strip() for c in header if not _blank(c)) or "nothing"
    for name in REQUIRED:
        if name not in found:
            out.add(line, name, f"missing column (the header row has: {shown})")
    return None if any(name not in found for name in REQUIRED) else found


def _parse_into(
    values: dict[str, object], name: str, raw: object, parse: Callable[[object], object], *, at: _Where
) -> None:
    try:
        values[name] = parse(raw)
    except ValueError as exc:
        at[0].add(at[1], name, f"{exc}: {_shown(raw)}" if str(exc) == "not a number" else str(exc))


def _row(cells: Sequence[object], line: int, cols: dict[str, int], out: _Collector) -> SpendRow | None:
    def cell(name: str) -> object:
        position = cols.get(name)
        return cells[position] if position is not None and position < len(cells) else None

    before = len(out.found)
    values: dict[str, object] = {}
    for name, parse in ((DATE, parse_day), (COST, parse_decimal)):
        if _blank(cell(name)):
            out.add(line, name, "empty")
        else:
            _parse_into(values, name, cell(name), parse, at=(out, line))
    cost = values.get(COST)
    if isinstance(cost, Decimal) and cost < 0:
        out.add(line, COST, "must not be negative")
    for name in (SOURCE, CAMPAIGN):
        text = "" if _blank(cell(name)) else _text(cell(name))
        if name == SOURCE and not text:
            out.add(line, SOURCE, "empty")
        elif len(text) > MAX_TEXT:
            out.add(line, name, f"longer than {MAX_TEXT} characters")
        values[name] = text
    for name in (IMPRESSIONS, CLICKS):
        if not _blank(cell(name)):
            _parse_into(values, name, cell(name), _count, at=(out, line))
    if not _blank(cell(CURRENCY)):
        _parse_into(values, CURRENCY, cell(CURRENCY), _currency, at=(out, line))
        if CURRENCY in values:
            out.currencies.append((line, str(values[CURRENCY])))
    if len(out.found) > before:
        return None
    return SpendRow(
        line=line,
        day=values[DATE],  # type: ignore[arg-type]
        source=str(values[SOURCE]),
        campaign=str(values[CAMPAIGN]),
        cost=values[COST],  # type: ignore[arg-type]
        impressions=values.get(IMPRESSIONS),  # type: ignore[arg-type]
        clicks=values.get(CLICKS),  # type: ignore[arg-type]
        currency=values.get(CURRENCY),  # type: ignore[arg-type]
    )


def _currency(value: object) -> str:
    code = str(value).strip().upper()
    if not _CURRENCY.match(code):
        raise ValueError(f"not a 3-letter currency code: {_shown(value)}")
    return code


def _one_currency(out: _Collector) -> None:
    if not out.currencies:
        return
    first_line, first = out.currencies[0]
    for line, code in out.currencies[1:]:
        if code != first:
            why = f"{code} differs from {first} on line {first_line} (one currency per account)"
            out.add(line, CURRENCY, why)


def _merge(rows: Sequence[SpendRow]) -> tuple[tuple[SpendRow, ...], int]:
    """Rows of one key are added up (an export by ad group without a campaign column)."""
    merged: dict[tuple[date, str, str], SpendRow] = {}
    repeats = 0
    for row in rows:
        prior = merged.get(row.key)
        if prior is None:
            merged[row.key] = row
            continue
        repeats += 1
        merged[row.key] = SpendRow(
            line=prior.line,
            day=prior.day,
            source=prior.source,
            campaign=prior.campaign,
            cost=prior.cost + row.cost,
            impressions=_add(prior.impressions, row.impressions),
            clicks=_add(prior.clicks, row.clicks),
            currency=prior.currency or row.currency,
        )
    return tuple(merged.values()), repeats


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


def _numbered_rows(lines: Iterable[tuple[int, Sequence[object]]]) -> Iterator[tuple[int, Sequence[object]]]:
    for line, cells in lines:
        if not all(_blank(c) for c in cells):
            yield line, cells


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Rows with the line each starts on; the separator is the one that finds most known columns."""
    first = text.split("\n", 1)[0]
    best = max(
        _DELIMITERS,
        key=lambda d: (sum(_header_key(c) in (*REQUIRED, *OPTIONAL) for c in first.split(d)), first.count(d)),
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=best)
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def _decode(data: bytes, out: _Collector) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        out.add(line, "file", "not UTF-8 text (save the export as UTF-8 CSV or as .xlsx)")
        return None


def _xlsx_rows(data: bytes, out: _Collector) -> Iterator[tuple[int, list[object]]] | None:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
        grid = sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        out.add(1, "file", f"not a readable .xlsx workbook ({type(exc).__name__})")
        return None
    return ((number, list(cells)) for number, cells in enumerate(grid, start=1))


def read_spend_file(path: Path, *, name: str | None = None) -> SpendFile:
    """Parse ``path``; ``name`` is how problems name the file (default: the path as given)."""
    label = name or str(path)
    out = _Collector(label)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return SpendFile(label, "", problems=(f"{label}:0: file: cannot read ({exc.strerror})",))
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() in XLSX_SUFFIXES:
        grid: Iterable[tuple[int, Sequence[object]]] | None = _xlsx_rows(data, out)
    else:
        text = _decode(data, out)
        grid = None if text is None else _csv_rows(text)
    if grid is None:
        return SpendFile(label, digest, problems=out.problems)
    rows = _numbered_rows(grid)
    head = next(rows, None)
    if head is None:
        out.add(1, "file", f"empty (a header row with {', '.join(REQUIRED)} is required)")
        return SpendFile(label, digest, problems=out.problems)
    cols = _columns(head[1], out, head[0])
    if cols is None:
        return SpendFile(label, digest, problems=out.problems)
    parsed = [row for line, cells in rows if (row := _row(cells, line, cols, out)) is not None]
    _one_currency(out)
    if out.problems:
        return SpendFile(label, digest, problems=out.problems)
    merged, repeats = _merge(parsed)
    return SpendFile(label, digest, rows=merged, merged=repeats)
