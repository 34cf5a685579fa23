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

from cohort_service.export.streamed import Column
from cohort_service.schema.kinds import kind_of
from cohort_service.schema.leads import RowContext, lead_columns

CHUNK_ROWS = 50_000


def leads_columns(frame: pd.DataFrame, ctx: RowContext) -> list[Column]:
    """One Column per frame column, in frame order, as :mod:`cohort_service.schema.leads` declares it."""
    declared = {}
    for column, slot in lead_columns(ctx):
        name = column.name(slot)
        declared[name] = Column(name, column.kind, column.width_for(name))
    return [declared[str(name)] for name in frame.columns]


def leads_rows(
    frame: pd.DataFrame, columns: Sequence[Column], chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[Any, ...]]:
    """Row tuples for the layer: ints, floats, dates, naive datetimes, str; None for every blank."""
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        yield from zip(*(column_values(chunk[c.name], c.kind) for c in columns), strict=True)


def column_values(series: pd.Series, kind: str) -> list[Any]:
    spec = kind_of(kind)
    if spec.integral and not series.isna().any():
        return series.to_numpy(dtype="int64").tolist()
    if spec.write == "number":
        return _floats(series)
    if spec.write == "datetime":
        if getattr(series.dt, "tz", None) is not None:
            raise ValueError(f"column {series.name!r}: Excel has no time zones; convert to local naive time")
        return series.to_numpy(dtype="datetime64[us]").astype(object).tolist()
    if spec.write == "date":
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
