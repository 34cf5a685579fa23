"""Per-lead facts as of A: computed in Postgres (:mod:`facts_sql`), streamed into one DataFrame.

The rows go through ``COPY … TO STDOUT`` (CSV) straight into pandas' C parser, chunk by chunk, so a
million leads cost seconds and roughly the size of the final frame in memory. The same rows land in
``lead_facts`` for BI tools (:mod:`store`).

Frame columns (ids; :func:`cohort_service.cohorts.labels.label_facts` adds the names):
``lead_id``, ``cohort_week`` (datetime64, the local Monday), ``created_at`` (UTC-aware),
``pipeline_id`` (at creation), ``initial_status_id``, ``status_pipeline_id``/``status_id`` (as of A),
``manager_id``, ``price``, ``revenue``, ``loss_reason_id``, ``won``, ``lost`` (bool, status at A),
``reached_level`` (highest milestone reached, 0 = none), ``lost_level`` (for lost leads),
``days_to_final``, ``changes`` (status changes at or before A), ``unknown_initial``,
``unknown_status``, then per milestone k ``at_k`` (UTC-aware, NaT when not reached) and
``imputed_k`` (bool), then per dimension ``dim_i`` (text): :data:`cohort_service.schema.leads.FACTS`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from cohort_service.cohorts.dimensions import DimensionSpec
from cohort_service.cohorts.facts_sql import facts_copy_sql, facts_insert_sql
from cohort_service.cohorts.milestones import Funnel
from cohort_service.cohorts.weeks import local_midnight
from cohort_service.schema.leads import Fact, at_col, copy_order, dim_col, imputed_col

__all__ = [
    "FactsRequest", "at_col", "compute_facts", "copy_facts", "dim_col", "imputed_col", "read_facts",
]  # fmt: skip

SCRATCH = "cohort_facts_scratch"
WORK_MEM = "256MB"


@dataclass(frozen=True)
class FactsRequest:
    as_of: datetime  # aware
    timezone: str
    first_week: date  # the oldest Monday shown
    funnel: Funnel
    dimensions: tuple[DimensionSpec, ...] = ()

    def params(self) -> dict[str, Any]:
        from zoneinfo import ZoneInfo

        lv_p, lv_s, lv_l = self.funnel.level_arrays()
        pipes = list(self.funnel.pipeline_ids) if self.funnel.pipeline_ids is not None else None
        return {
            "as_of": self.as_of,
            "from_ts": local_midnight(self.first_week, ZoneInfo(self.timezone)),
            "tz": self.timezone,
            "lv_p": lv_p,
            "lv_s": lv_s,
            "lv_l": lv_l,
            "pipes": pipes,
        }


class _CopyReader(io.RawIOBase):
    """A file-like view of ``COPY … TO STDOUT`` data, so pandas parses while rows arrive."""

    def __init__(self, blocks: Iterator[Any]) -> None:
        self._blocks = blocks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = len(buffer)
        parts = [self._pending]
        size = len(self._pending)
        while size < want:
            block = next(self._blocks, None)
            if block is None:
                break
            parts.append(bytes(block))
            size += len(parts[-1])
        data = b"".join(parts)
        chunk, self._pending = data[:want], data[want:]
        buffer[: len(chunk)] = chunk
        return len(chunk)


def fill_facts(conn: Connection, request: FactsRequest, table: str | None = None) -> str:
    """Compute the facts into ``table`` (shaped like ``lead_facts``, empty), or into a temporary
    table dropped at commit; returns the table used. The caller owns the transaction."""
    conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    if table is None:
        table = SCRATCH
        conn.execute(text(f"DROP TABLE IF EXISTS {SCRATCH}"))
        conn.execute(text(f"CREATE TEMP TABLE {SCRATCH} (LIKE lead_facts) ON COMMIT DROP"))
    sql = facts_insert_sql(table, len(request.funnel.milestones), request.dimensions)
    conn.execute(text(sql), request.params())
    return table


_READ_AS: dict[str, Any] = {
    "int64": "int64", "Int64": "Int64", "float64": "float64", "bool": "int64", "moment": "float64",
    "week": object, "text": object,
}  # fmt: skip


def _frame_columns(k: int, n_dims: int) -> list[tuple[str, Fact]]:
    slots = {"lead": 1, "milestone": k, "dimension": n_dims}
    return [(name, fact) for fact in copy_order() for name in fact.frame_names(slots[fact.per])]


def read_facts(conn: Connection, request: FactsRequest, table: str = SCRATCH) -> pd.DataFrame:
    k, n_dims = len(request.funnel.milestones), len(request.dimensions)
    return copy_facts(conn, request, facts_copy_sql(table, k, n_dims))


def copy_facts(
    conn: Connection, request: FactsRequest, copy_sql: str, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The frame from a ``COPY … TO STDOUT`` whose rows are in :func:`facts_copy_sql`'s columns.

    ``copy_sql`` may hold SQLAlchemy ``:name`` parameters (``params``): Postgres takes none in a
    COPY, so they are bound client-side, as literals of their types, by psycopg.
    """
    k, n_dims = len(request.funnel.milestones), len(request.dimensions)
    columns = _frame_columns(k, n_dims)
    names = [name for name, _ in columns]
    dtypes = {name: _READ_AS[fact.dtype] for name, fact in columns}
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - an open Connection always has one
        raise RuntimeError("no DBAPI connection")
    compiled = text(copy_sql).compile(dialect=conn.dialect)
    bound = compiled.construct_params(params or {})
    with raw.cursor() as cur, cur.copy(str(compiled), bound) as copy:  # type: ignore[attr-defined]
        stream = io.BufferedReader(_CopyReader(iter(copy)), buffer_size=1 << 20)
        frame = pd.read_csv(
            stream, header=None, names=names, dtype=dtypes, keep_default_na=False, na_values=[""]
        )
    return _typed(frame, columns)


def _moments(seconds: pd.Series) -> pd.Series:
    """Unix seconds (float, NaN for none) → UTC timestamps with the exact stored microseconds."""
    micros = np.round(seconds.to_numpy(dtype="float64") * 1e6)
    moments: pd.Series = pd.Series(pd.to_datetime(micros, unit="us", utc=True), index=seconds.index)
    return moments.astype("datetime64[us, UTC]")


def _typed(frame: pd.DataFrame, columns: list[tuple[str, Fact]]) -> pd.DataFrame:
    for name, fact in columns:
        if fact.dtype == "week":
            frame[name] = pd.to_datetime(frame[name], format="%Y-%m-%d")
        elif fact.dtype == "moment":
            frame[name] = _moments(frame[name])
        elif fact.dtype == "bool":
            frame[name] = frame[name].astype(bool)
        elif fact.dtype == "text":
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame.sort_values(["created_at", "lead_id"], ignore_index=True)


def compute_facts(conn: Connection, request: FactsRequest, table: str | None = None) -> pd.DataFrame:
    """Facts as of ``request.as_of``, in the caller's transaction (see :func:`fill_facts`)."""
    return read_facts(conn, request, fill_facts(conn, request, table))


def events_only_leads(conn: Connection, facts: pd.DataFrame) -> int:
    """Leads of the report known only from events (deleted before the first sync)."""
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM unnest(CAST(:ids AS bigint[])) i"
                " WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = i)"
            ),
            {"ids": facts["lead_id"].astype("int64").tolist()},
        ).scalar_one()
    )


def orphan_leads(conn: Connection, request: FactsRequest) -> int:
    """Leads with stage history or lead events in the report window that cannot be placed: the
    leads API never returned them and no ``lead_added`` event says when they were created."""
    params = request.params()
    return int(
        conn.execute(
            text(
                "SELECT count(DISTINCT e.lead_id) FROM ("
                " SELECT lead_id FROM lead_status_changes"
                " WHERE created_at >= :from_ts AND created_at <= :as_of"
                " UNION ALL"
                " SELECT lead_id FROM lead_events WHERE created_at >= :from_ts AND created_at <= :as_of"
                ") e WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = e.lead_id)"
                " AND NOT EXISTS (SELECT 1 FROM lead_events a"
                " WHERE a.lead_id = e.lead_id AND a.type = 'lead_added')"
            ),
            {"from_ts": params["from_ts"], "as_of": params["as_of"]},
        ).scalar_one()
    )
