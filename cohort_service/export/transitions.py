"""The stage history of the report's leads (the ``Transitions`` table), read under the report's lock.

The workbook is written after the run lock is released, but the history must describe the same
data as the facts (a sync in between could add late events). So :func:`spool_history` runs inside
the report's own transaction, right after the facts are read (``app.report``), and copies the rows
with ``COPY … TO STDOUT`` into a temporary CSV file: a few seconds for millions of rows, and nothing
held in memory. The workbook writer later streams that file in chunks.

Only points with ``t ≤ A`` of exactly the leads in the facts frame are copied; times are the report
zone's wall clock, names come from the synced pipelines, statuses and users (ids nobody synced stay
visible as ``(user 12)``, the same labels as the Leads table).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import Connection

from cohort_service.cohorts.catalog import LOST, LOST_NAME, WON, WON_NAME
from cohort_service.cohorts.facts import FactsRequest
from cohort_service.db.event_order import event_order
from cohort_service.errors import DatabaseError, first_line
from cohort_service.export.files import private_tmpdir
from cohort_service.export.streamed import Column

LEAD, TIME = "lead_id", "time"
FROM_PIPELINE, FROM_STATUS = "from pipeline", "from status"
TO_PIPELINE, TO_STATUS = "to pipeline", "to status"
AUTHOR = "author"
COLUMNS = (
    Column(LEAD, "int", 11),
    Column(TIME, "iso_seconds", 17),
    Column(FROM_PIPELINE, "text", 18),
    Column(FROM_STATUS, "text", 24),
    Column(TO_PIPELINE, "text", 18),
    Column(TO_STATUS, "text", 24),
    Column(AUTHOR, "text", 20),
)
SYSTEM_AUTHOR = "(system)"  # amoCRM writes created_by = 0 for robots and automations
CHUNK_ROWS = 100_000
_TEXT = (FROM_PIPELINE, FROM_STATUS, TO_PIPELINE, TO_STATUS, AUTHOR)
_IDS_TABLE = "report_history_leads"


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _status(alias: str, status: str) -> str:
    return (
        f"CASE WHEN {status} IS NULL THEN NULL ELSE coalesce({alias}.name, CASE {status} "
        f"WHEN {WON} THEN {_q(WON_NAME)} WHEN {LOST} THEN {_q(LOST_NAME)} "
        f"ELSE '(unknown status ' || {status} || ')' END) END"
    )


def _pipeline(alias: str, pipeline: str) -> str:
    name = f"coalesce({alias}.name, '(pipeline ' || {pipeline} || ')')"
    return f"CASE WHEN {pipeline} IS NULL THEN NULL ELSE {name} END"


def history_sql(as_of_literal: str, timezone_literal: str) -> str:
    """One row per status change of the listed leads at or before A, by lead then time.

    Times leave Postgres as the local wall clock in microseconds since 1970 (no parsing on our side).
    """
    local = f"c.created_at AT TIME ZONE {timezone_literal}"
    author = (
        f"CASE WHEN c.created_by IS NULL THEN NULL WHEN c.created_by = 0 THEN {_q(SYSTEM_AUTHOR)} "
        "ELSE coalesce(u.name, '(user ' || c.created_by || ')') END"
    )
    return (
        f"SELECT c.lead_id, round(date_part('epoch', {local}) * 1000000)::bigint, "
        f"{_pipeline('bp', 'c.before_pipeline_id')}, "
        f"{_status('bs', 'c.before_status_id')}, "
        f"{_pipeline('ap', 'c.after_pipeline_id')}, "
        f"{_status('as_', 'c.after_status_id')}, {author} "
        f"FROM lead_status_changes c JOIN {_IDS_TABLE} r ON r.lead_id = c.lead_id "
        "LEFT JOIN pipelines bp ON bp.id = c.before_pipeline_id "
        "LEFT JOIN statuses bs"
        " ON bs.pipeline_id = c.before_pipeline_id AND bs.status_id = c.before_status_id "
        "LEFT JOIN pipelines ap ON ap.id = c.after_pipeline_id "
        "LEFT JOIN statuses as_"
        " ON as_.pipeline_id = c.after_pipeline_id AND as_.status_id = c.after_status_id "
        "LEFT JOIN users u ON u.id = c.created_by "
        f"WHERE c.created_at <= {as_of_literal} "
        f"ORDER BY c.lead_id, {event_order('c')}"
    )


@dataclass(frozen=True)
class HistorySpool:
    """The copied rows: a CSV file (no header) with ``rows`` lines, removed by :meth:`remove`."""

    path: Path
    rows: int

    def iter_rows(self, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[Any, ...]]:
        """Typed row tuples (int, naive datetime, str or None…), ``chunk_rows`` parsed at a time."""
        if self.rows == 0:
            return
        names = [c.name for c in COLUMNS]
        dtypes: dict[str, Any] = {LEAD: "int64", TIME: "int64"} | dict.fromkeys(_TEXT, object)
        with pd.read_csv(
            self.path,
            header=None,
            names=names,
            dtype=dtypes,
            keep_default_na=False,
            na_values={name: [""] for name in _TEXT},
            chunksize=chunk_rows,
            encoding="utf-8",
        ) as reader:
            for chunk in reader:
                yield from _typed_rows(chunk)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _typed_rows(chunk: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    times = chunk[TIME].to_numpy(dtype="int64").astype("datetime64[us]").astype(object).tolist()
    texts = [chunk[n].where(chunk[n].notna(), None).tolist() for n in _TEXT]
    return zip(chunk[LEAD].tolist(), times, *texts, strict=True)


def spool_history(
    conn: Connection,
    lead_ids: Sequence[int] | np.ndarray[Any, Any],
    request: FactsRequest,
    *,
    tmpdir: str | os.PathLike[str] | None = None,
) -> HistorySpool:
    """Copy the history of ``lead_ids`` as of ``request.as_of`` to a temp file (caller's transaction)."""
    raw = conn.connection.dbapi_connection
    if raw is None:  # pragma: no cover - an open Connection always has one
        raise RuntimeError("no DBAPI connection")
    fd, name = tempfile.mkstemp(prefix="history-", suffix=".csv", dir=tmpdir or private_tmpdir())
    path = Path(name)
    as_of = _q(request.as_of.isoformat())
    sql = history_sql(f"CAST({as_of} AS timestamptz)", _q(request.timezone))
    try:
        with os.fdopen(fd, "wb") as out, raw.cursor() as cur:  # type: ignore[attr-defined]
            _load_ids(cur, lead_ids)
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    out.write(block)
            rows = int(cur.rowcount)
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, psycopg.Error):
            raise DatabaseError(f"database: the stage history could not be read ({first_line(exc)})") from exc
        raise
    return HistorySpool(path, rows)


def _load_ids(cur: Any, lead_ids: Sequence[int] | np.ndarray[Any, Any]) -> None:
    """A temp table of the report's lead ids (dropped at commit): joins beat a million-element array."""
    cur.execute(f"DROP TABLE IF EXISTS {_IDS_TABLE}")
    cur.execute(f"CREATE TEMP TABLE {_IDS_TABLE} (lead_id bigint PRIMARY KEY) ON COMMIT DROP")
    ids = np.asarray(lead_ids, dtype="int64")
    if len(ids):
        with cur.copy(f"COPY {_IDS_TABLE} (lead_id) FROM STDIN") as copy:
            copy.write("\n".join(map(str, ids.tolist())) + "\n")
    cur.execute(f"ANALYZE {_IDS_TABLE}")
