"""A pivot's cache records and sums, captured while its source table streams by.

A cache with ``saveData="0"`` and no records renders only where something refreshes it: Excel's
Protected View (every e-mailed file), mail previews, phones and Google Sheets show an empty sheet. So
the rows of a pivot's source table are tapped on their way to the sheet: each becomes a cache record
(spooled to a temp file, one ``<r>`` per row, axis fields as indices into their shared items), and
each pivot over the table adds the row to its cells' counts and sums (:mod:`pivot_render` lays them
out). Only the first part of a split table is the pivot's source, so the tap stops at ``limit``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cohort_service.export.files import private_tmpdir
from cohort_service.export.pivot import PivotSpec, Resolved, calculated_fields, resolve
from cohort_service.export.streamed import Column
from cohort_service.schema.kinds import kind_of

_BAD_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_ATTR_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\t": "&#9;",
    "\n": "&#10;",
    "\r": "&#13;",
}
_ATTR_SPECIAL = re.compile(r'[&<>"\t\n\r]')


def xml_attr(text: str) -> str:
    """A string as an attribute value: XML escapes, and characters XML 1.0 cannot hold dropped."""
    text = _BAD_XML.sub("", text)
    return _ATTR_SPECIAL.sub(lambda m: _ATTR_ESCAPES[m.group(0)], text)


def cache_value(value: Any) -> str:
    """One cache item (record or shared item): ``<n>``, ``<d>``, ``<s>`` or ``<m/>`` for a blank."""
    if value is None:
        return "<m/>"
    if isinstance(value, str):
        return f'<s v="{xml_attr(value)}"/>'
    if isinstance(value, dt.date):
        return f'<d v="{iso_moment(value)}"/>'
    return f'<n v="{value:.16G}"/>'


def iso_moment(value: dt.date) -> str:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat()
    return f"{value.isoformat()}T00:00:00"


@dataclass
class FieldStats:
    """What the cache definition must say about one field's values (CT_SharedItems attributes)."""

    write: str
    blank: bool = False
    integral: bool = True
    low: Any = None
    high: Any = None

    def add(self, value: Any) -> None:
        if value is None:
            self.blank = True
            return
        if self.write == "text":
            return
        if self.write == "number" and self.integral and not float(value).is_integer():
            self.integral = False
        if self.low is None or value < self.low:
            self.low = value
        if self.high is None or value > self.high:
            self.high = value


@dataclass
class Tally:
    """One pivot's sums: (row item, column item) → [count, sum] per source field in ``fields``."""

    spec: PivotSpec
    resolved: Resolved
    row: int | None
    col: int | None
    fields: tuple[int, ...]
    cells: dict[tuple[Any, Any], list[float]] = field(default_factory=dict)

    def count(self, acc: list[float], source: int) -> float:
        return acc[2 * self.fields.index(source)]

    def sum(self, acc: list[float], source: int) -> float:
        return acc[2 * self.fields.index(source) + 1]

    def add(self, values: Sequence[Any]) -> None:
        key = (None if self.row is None else values[self.row], None if self.col is None else values[self.col])
        acc = self.cells.get(key)
        if acc is None:
            acc = self.cells[key] = [0.0] * (2 * len(self.fields))
        for k, i in enumerate(self.fields):
            value = values[i]
            if value is not None:
                acc[2 * k] += 1
                if not isinstance(value, str | dt.date):
                    acc[2 * k + 1] += value


@dataclass(frozen=True)
class CacheData:
    """Everything the package needs to write a complete cache for one source table."""

    records: Path
    count: int
    columns: tuple[Column, ...]
    stats: tuple[FieldStats, ...]
    shared: dict[int, list[Any]]  # axis field → its items in shared-item order
    tallies: tuple[Tally, ...]

    def index_of(self, field_index: int) -> dict[Any, int]:
        return {v: i for i, v in enumerate(self.shared[field_index])}


class CacheCapture:
    """Taps a table's rows (the first ``limit``) for the pivots over it."""

    def __init__(
        self,
        columns: Sequence[Column],
        pivots: Sequence[PivotSpec],
        limit: int,
        tmpdir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.columns = tuple(columns)
        headers = tuple(c.name for c in self.columns)
        self.limit = limit
        axes: set[int] = set()
        tallies = []
        calculated = calculated_fields(pivots)
        for spec in pivots:
            r = resolve(spec, headers, calculated)
            axes.update((*r.rows, *r.columns, *r.filters))
            sources = [i for i, _, _ in r.values if i not in r.ratios]
            sources += [i for pair in r.ratios.values() for i in pair]
            tallies.append(
                Tally(spec, r, r.rows[0] if r.rows else None, r.columns[0] if r.columns else None,
                      tuple(dict.fromkeys(sources)))
            )  # fmt: skip
        self.tallies = tuple(tallies)
        self.axes = frozenset(axes)
        self.stats = tuple(FieldStats(kind_of(c.kind).write) for c in self.columns)
        self.shared: dict[int, dict[Any, int]] = {i: {} for i in sorted(self.axes)}
        fd, name = tempfile.mkstemp(prefix="pivot-records-", suffix=".xml", dir=tmpdir or private_tmpdir())
        self.path = Path(name)
        self._file = os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20)
        self.count = 0

    def tap(self, rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        """Pass ``rows`` through unchanged, recording the first ``limit`` of them."""
        for values in rows:
            if self.count < self.limit:
                self._record(values)
            yield values

    def _record(self, values: Sequence[Any]) -> None:
        items = []
        for i, value in enumerate(values):
            self.stats[i].add(value)
            shared = self.shared.get(i)
            if shared is None:
                items.append(cache_value(value))
            else:
                index = shared.setdefault(value, len(shared))
                items.append(f'<x v="{index}"/>' if index else "<x/>")
        for tally in self.tallies:
            tally.add(values)
        self._file.write(f"<r>{''.join(items)}</r>")
        self.count += 1

    def finish(self) -> CacheData:
        self._file.close()
        shared = {i: list(items) for i, items in self.shared.items()}
        return CacheData(self.path, self.count, self.columns, self.stats, shared, self.tallies)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


def shared_items_xml(stats: FieldStats, items: list[Any] | None) -> str:
    """CT_SharedItems: the type flags Excel checks against the records, and the items of an axis field."""
    attrs: list[str] = []
    if stats.write == "number" and stats.low is not None:
        attrs += ['containsSemiMixedTypes="0"'] if not stats.blank else []
        attrs += ['containsString="0"', 'containsNumber="1"']
        attrs += ['containsInteger="1"'] if stats.integral else []
        attrs += [f'minValue="{stats.low:.16G}"', f'maxValue="{stats.high:.16G}"']
    elif stats.write in ("date", "datetime") and stats.low is not None:
        attrs += ['containsSemiMixedTypes="0"'] if not stats.blank else []
        attrs += ['containsNonDate="0"', 'containsDate="1"', 'containsString="0"']
        attrs += [f'minDate="{iso_moment(stats.low)}"', f'maxDate="{iso_moment(stats.high)}"']
    if stats.blank:
        attrs.append('containsBlank="1"')
    if items is None:
        return f"<sharedItems {' '.join(attrs)}/>" if attrs else "<sharedItems/>"
    attrs.append(f'count="{len(items)}"')
    return f"<sharedItems {' '.join(attrs)}>{''.join(cache_value(v) for v in items)}</sharedItems>"


def item_order(items: list[Any]) -> list[int]:
    """Shared-item indices in the order the pivot shows them: ascending, blank last."""

    def key(i: int) -> tuple[bool, Any]:
        value = items[i]
        if value is None:
            return (True, "")
        return (False, (value.casefold(), value) if isinstance(value, str) else value)

    return sorted(range(len(items)), key=key)
