"""Idempotent writes: every sync write is an upsert keyed by amoCRM's ids, so re-reads are harmless.

None of these functions commits: the caller owns the transaction, so rows and the checkpoint that
covers them commit together (STYLE §8.7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import Connection, Table, func, literal_column, text
from sqlalchemy.dialects.postgresql import JSONB, insert

from cohort_service.db import models
from cohort_service.db.event_order import event_order

Row = Mapping[str, Any]


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(self.inserted + other.inserted, self.updated + other.updated)


def _upsert(conn: Connection, table: Table, rows: Sequence[Row], *, keys: Sequence[str]) -> UpsertCounts:
    """INSERT … ON CONFLICT DO UPDATE for small tables (reference data).

    ``RETURNING (xmax = 0)`` tells inserts from updates without a second query.
    """
    if not rows:
        return UpsertCounts()
    stmt = insert(table)
    cols: dict[str, Any] = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    if "synced_at" in table.c:
        cols["synced_at"] = func.now()
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=cols)
    returning: Any = stmt.returning(literal_column("(xmax = 0)").label("inserted"))
    flags = [bool(r[0]) for r in conn.execute(returning, list(rows))]
    inserted = sum(flags)
    return UpsertCounts(inserted=inserted, updated=len(flags) - inserted)


def _copy_upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Row],
    *,
    keys: Sequence[str],
    newer_only: str | None = None,
    overwrite: bool = True,
) -> UpsertCounts:
    """The bulk path: COPY into a session-private staging table, then one INSERT … SELECT … ON CONFLICT.

    Same semantics as ``_upsert`` at a fraction of the cost for a page of rows: no giant
    multi-VALUES statement to build and parse. Within a batch the last copy of a key wins.
    ``updated`` counts rows whose stored values changed: a repair rewrites every row it is given
    (``synced_at`` tells a resync which leads were listed), but an identical row is not a change.
    """
    if not rows:
        return UpsertCounts()
    columns = list(rows[0])
    stage = _staging_table(conn, table)
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a live connection always has one
        raise RuntimeError("no DBAPI connection")
    json_columns = {c for c in columns if isinstance(table.c[c].type, JSONB)}
    with raw.cursor() as cursor, cursor.copy(f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Jsonb(row[c]) if c in json_columns else row[c] for c in columns])
    key_list = ", ".join(keys)
    updates = [c for c in columns if c not in keys]
    mine = ", ".join(f"t.{c}" for c in updates)
    theirs = ", ".join(f"s.{c}" for c in updates)
    differs = f"ROW({mine}) IS DISTINCT FROM ROW({theirs})" if updates else "false"
    if overwrite:
        assignments = [f"{c} = EXCLUDED.{c}" for c in updates]
        if "synced_at" in table.c:
            assignments.append("synced_at = now()")
        conflict = f"DO UPDATE SET {', '.join(assignments)}"
        changed = differs
        if newer_only is not None:
            excluded = ", ".join(f"EXCLUDED.{c}" for c in updates)
            stored = ", ".join(f"{table.name}.{c}" for c in updates)
            conflict += (
                f" WHERE {table.name}.{newer_only} < EXCLUDED.{newer_only}"
                f" OR ({table.name}.{newer_only} = EXCLUDED.{newer_only}"
                f" AND ROW({stored}) IS DISTINCT FROM ROW({excluded}))"
            )
            changed = f"t.{newer_only} <= s.{newer_only} AND {differs}"
    else:
        conflict, changed = "DO NOTHING", "false"
    # Every part of one statement sees the same snapshot: ``changed`` compares with the rows as
    # they were before this INSERT.
    sql = (
        f"WITH src AS (SELECT DISTINCT ON ({key_list}) {', '.join(columns)} FROM {stage} "
        f"ORDER BY {key_list}, _seq DESC), "
        f"changed AS (SELECT count(*) AS n FROM src s JOIN {table.name} t USING ({key_list}) "
        f"WHERE {changed}), "
        f"written AS (INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM src "
        f"ON CONFLICT ({key_list}) {conflict} RETURNING (xmax = 0) AS inserted) "
        "SELECT (SELECT count(*) FROM written WHERE inserted), (SELECT n FROM changed)"
    )
    inserted, updated = conn.execute(text(sql)).one()
    conn.execute(text(f"TRUNCATE {stage}"))
    return UpsertCounts(inserted=int(inserted), updated=int(updated))


def _staging_table(conn: Connection, table: Table) -> str:
    """A temp table shaped like ``table`` plus an arrival counter, created once per connection."""
    name = f"stage_{table.name}"
    made: set[str] = conn.info.setdefault("staging_tables", set())
    if name not in made:
        conn.execute(
            text(
                f"CREATE TEMP TABLE IF NOT EXISTS {name} "
                f"(LIKE {table.name} INCLUDING DEFAULTS, _seq bigserial)"
            )
        )
        made.add(name)
    return name


def upsert_leads(conn: Connection, rows: Sequence[Row], *, repair: bool = False) -> UpsertCounts:
    """Lead rows from the list endpoint. Outside a repair, an older copy never overwrites a newer one
    (overlapping windows and concurrent runs deliver the same lead at different ages)."""
    return _copy_upsert(conn, models.leads, rows, keys=["id"], newer_only=None if repair else "updated_at")


def upsert_status_changes(conn: Connection, rows: Sequence[Row], *, repair: bool = False) -> UpsertCounts:
    """Events are immutable in amoCRM; a repair still rewrites them in case someone edited the table."""
    return _copy_upsert(conn, models.lead_status_changes, rows, keys=["event_id"], overwrite=repair)


def upsert_lead_events(conn: Connection, rows: Sequence[Row], *, repair: bool = False) -> UpsertCounts:
    return _copy_upsert(conn, models.lead_events, rows, keys=["event_id"], overwrite=repair)


def upsert_reference(
    conn: Connection, table: Table, rows: Sequence[Row], keys: Sequence[str]
) -> UpsertCounts:
    return _upsert(conn, table, rows, keys=keys)


def mark_deleted_from_trash(conn: Connection, lead_ids: Sequence[int]) -> int:
    """Leads amoCRM lists in the trash (``with=only_deleted``) are deleted, whatever we had."""
    if not lead_ids:
        return 0
    result = conn.execute(
        text(
            "UPDATE leads SET is_deleted = true, deleted_at = COALESCE(deleted_at, now()), synced_at = now() "
            "WHERE id = ANY(:ids) AND NOT is_deleted"
        ),
        {"ids": list(lead_ids)},
    )
    return int(result.rowcount or 0)


def mark_unseen_deleted(conn: Connection, started: datetime | None) -> int:
    """After a complete repair pull: a lead neither listed nor in the trash is gone from amoCRM.

    Every lead the pull listed was rewritten (``synced_at`` ≥ the pull's start, in database time),
    even across a resumed run, so what is older was not listed.
    """
    if started is None:
        return 0
    result = conn.execute(
        text(
            "UPDATE leads SET is_deleted = true, deleted_at = COALESCE(deleted_at, now()), synced_at = now() "
            "WHERE synced_at < :started AND NOT is_deleted"
        ),
        {"started": started},
    )
    return int(result.rowcount or 0)


def apply_delete_restore_events(conn: Connection) -> int:
    """Set ``is_deleted``/``deleted_at`` from each lead's last lead_deleted/lead_restored event.

    DESIGN §5 decides deletion by the last such event (same-second ties: :mod:`event_order`); leads
    without one keep what the lists said.
    """
    result = conn.execute(
        text(
            f"""
            WITH last AS (
                SELECT DISTINCT ON (e.lead_id) e.lead_id, e.type, e.created_at
                FROM lead_events e
                WHERE e.type IN ('lead_deleted', 'lead_restored')
                ORDER BY e.lead_id, {event_order("e", descending=True)}
            )
            UPDATE leads l
            SET is_deleted = (last.type = 'lead_deleted'),
                deleted_at = CASE WHEN last.type = 'lead_deleted' THEN last.created_at END,
                synced_at = now()
            FROM last
            WHERE l.id = last.lead_id
              AND (l.is_deleted IS DISTINCT FROM (last.type = 'lead_deleted')
                   OR l.deleted_at IS DISTINCT FROM
                      CASE WHEN last.type = 'lead_deleted' THEN last.created_at END)
            """
        ),
    )
    return int(result.rowcount or 0)
