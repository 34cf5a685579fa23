"""The ``Leads`` table: typed columns, fast row tuples from the engine's frame, and the sheet split.

Rows are converted a chunk at a time, column by column with numpy (one ``tolist()`` per column, NaN
and NaT turned into None on the way), so the per-cell work left is the layer's XML serialiser, and
memory beyond the report's own frame is one chunk.

**Beyond Excel's row limit** the table is split, never truncated: whole cohort weeks go to each
sheet (``Leads``, ``Leads (2)``… holding tables ``Leads``, ``Leads_2``…), so the pivot over table
``Leads`` shows exact numbers for the weeks it covers rather than a week cut in half. Only a single
week larger than a sheet is cut, at the sheet's capacity.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.export.streamed import Column, ColumnKind

CHUNK_ROWS = 50_000
_FIXED = {
    col.LEAD_ID: Column(col.LEAD_ID, "int", 11),
    col.COHORT_WEEK: Column(col.COHORT_WEEK, "date", 12),
    col.CREATED_AT: Column(col.CREATED_AT, "datetime", 17),
    col.WON: Column(col.WON, "bool01", 6),
    col.LOST: Column(col.LOST, "bool01", 6),
    col.PRICE: Column(col.PRICE, "float", 12, "#,##0.00"),
    col.REVENUE: Column(col.REVENUE, "float", 12, "#,##0.00"),
    col.DAYS_TO_FINAL: Column(col.DAYS_TO_FINAL, "float", 9, "0.0"),
}


def leads_columns(frame: pd.DataFrame, milestones: Sequence[str]) -> list[Column]:
    """One Column per frame column, in frame order: the contract's kinds, else by dtype."""
    flags = set(milestones)
    reached = {col.reached_at(m) for m in milestones}
    columns = []
    for name in map(str, frame.columns):
        if name in _FIXED:
            columns.append(_FIXED[name])
        elif name in flags:
            columns.append(Column(name, "bool01", max(8.0, min(len(name) + 2.0, 18.0))))
        elif name in reached:
            columns.append(Column(name, "datetime", 17))
        else:
            columns.append(Column(name, _kind(frame[name]), 18))
    return columns


def _kind(series: pd.Series) -> ColumnKind:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_numeric_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"


def leads_rows(
    frame: pd.DataFrame, columns: Sequence[Column], chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[Any, ...]]:
    """Row tuples for the layer: ints, floats, dates, naive datetimes, str; None for every blank."""
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        yield from zip(*(column_values(chunk[c.name], c.kind) for c in columns), strict=True)


def column_values(series: pd.Series, kind: str) -> list[Any]:
    if kind in ("int", "bool01") and not series.isna().any():
        return series.to_numpy(dtype="int64").tolist()
    if kind in ("int", "bool01", "float", "percent"):
        return _floats(series)
    if kind == "datetime":
        if getattr(series.dt, "tz", None) is not None:
            raise ValueError(f"column {series.name!r}: Excel has no time zones; convert to local naive time")
        return series.to_numpy(dtype="datetime64[us]").astype(object).tolist()
    if kind == "date":
        codes, uniques = pd.factorize(series)
        days = [pd.Timestamp(u).date() for u in uniques]
        return [days[c] if c >= 0 else None for c in codes.tolist()]
    return series.astype(object).where(series.notna(), None).tolist()


def _floats(series: pd.Series) -> list[Any]:
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    out: list[Any] = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        out[i] = None
    return out


def plan_parts(weeks: pd.Series, capacity: int) -> list[tuple[int, int]]:
    """[start, stop) row ranges of at most ``capacity`` rows each, cut between cohort weeks.

    ``weeks`` must be sorted; a week longer than ``capacity`` on its own is cut at the capacity.
    """
    n = len(weeks)
    if n <= capacity:
        return [(0, n)]
    values = weeks.to_numpy()
    edges = [*(np.flatnonzero(values[1:] != values[:-1]) + 1).tolist(), n]
    parts: list[tuple[int, int]] = []
    start = end = 0
    for edge in edges:
        if edge - start > capacity:
            if end > start:
                parts.append((start, end))
                start = end
            while edge - start > capacity:
                parts.append((start, start + capacity))
                start += capacity
        end = edge
    parts.append((start, end))
    return parts
