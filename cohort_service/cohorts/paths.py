"""The kept per-lead path summary (``lead_paths``): build it, keep it, read facts as of any A from it.

The summary depends on the funnel (which status is which milestone level, how many milestones), so
beside it ``lead_paths_meta`` holds a fingerprint of those levels; a different fingerprint means
the whole table is rebuilt before it is read. It depends on the history too, whoever writes it:
the insert trigger of ``lead_status_changes`` copies new stage changes to ``lead_paths_tail``
(migration 0009), and the other triggers mark the leads whose history an update, a delete or a
delete/restore event changed in ``lead_paths_dirty`` (0007, 0008). The summary, its tail and its
marks together always describe the committed history; a reader makes the summary current first
(:func:`keep_paths`: the tail folded in, the marked leads recomputed), so a report never reads a
stale one. ``cohort-service db rebuild-facts`` rebuilds it regardless.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, text

from cohort_service.cohorts.facts import WORK_MEM, FactsRequest, copy_facts
from cohort_service.cohorts.milestones import Funnel
from cohort_service.cohorts.paths_sql import (
    copy_facts_from_paths_sql,
    fold_tail_sql,
    keep_marked_sql,
    paths_insert_sql,
)

log = logging.getLogger(__name__)

# More marked leads than this are rebuilt in one pass (3–6× faster per lead than by id).
REBUILD_ABOVE = 100_000
# A reader folds at most this many tail changes, or this share of the summary's rows when that is
# more; beyond it one rebuild is cheaper (a fold costs ~2.5× per lead what a rebuild costs per lead
# of the whole account: docs/metrics.md), and a sync forgets the summary rather than let the tail
# grow (:func:`keep_after_sync`).
FOLD_AT_LEAST = 200_000
FOLD_SHARE = 0.4
# The least room a tail row takes in its heap (line pointer, tuple header, the fixed-width columns
# and the event id's alignment: 68 bytes), so the heap's size over it bounds the rows uncounted.
TAIL_ROW_BYTES = 60
PARALLEL = {"parallel_setup_cost": 10, "parallel_tuple_cost": 0.001}  # defaults 1000, 0.1


def fingerprint(funnel: Funnel) -> str:
    """What ``lead_paths`` depends on: the milestone count and the level of every funnel status."""
    lv_p, lv_s, lv_l = funnel.level_arrays()
    body = json.dumps({"milestones": len(funnel.milestones), "levels": [lv_p, lv_s, lv_l]})
    return hashlib.sha256(body.encode()).hexdigest()


def _binds(funnel: Funnel, ids: list[int] | None) -> dict[str, object]:
    lv_p, lv_s, lv_l = funnel.level_arrays()
    return {"lv_p": lv_p, "lv_s": lv_s, "lv_l": lv_l, "ids": ids}


def stored_fingerprint(conn: Connection) -> str | None:
    row = conn.execute(text("SELECT fingerprint FROM lead_paths_meta WHERE id = 1")).scalar_one_or_none()
    return None if row is None else str(row)


def rebuild_paths(conn: Connection, funnel: Funnel) -> int:
    """Rebuild every lead's summary in the caller's transaction; returns the rows written."""
    conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    conn.execute(text("DELETE FROM lead_paths"))
    conn.execute(text("DELETE FROM lead_paths_dirty"))
    # Writers copying changes to the tail finish first, and later ones wait for this commit: each
    # change is either read below or left in the tail for the next fold, never dropped unread.
    conn.execute(text("LOCK TABLE lead_paths_tail IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(text("DELETE FROM lead_paths_tail"))
    written = conn.execute(text(paths_insert_sql(len(funnel.milestones))), _binds(funnel, None)).rowcount
    conn.execute(
        text(
            "INSERT INTO lead_paths_meta (id, fingerprint, built_at) VALUES (1, :f, now())"
            " ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = EXCLUDED.built_at"
        ),
        {"f": fingerprint(funnel)},
    )
    conn.execute(text("ANALYZE lead_paths"))  # the planner sizes the report's join by it
    return int(written)


def refresh_paths(conn: Connection, funnel: Funnel, lead_ids: Iterable[int]) -> int:
    """Recompute the summary of the given leads only (their history changed), in the caller's
    transaction; a summary built for another funnel is rebuilt in full instead."""
    if stored_fingerprint(conn) != fingerprint(funnel):
        return rebuild_paths(conn, funnel)
    return _recompute(conn, funnel, lead_ids)


def _recompute(conn: Connection, funnel: Funnel, lead_ids: Iterable[int]) -> int:
    """Replace the given leads' rows in place; a lead left with no history loses its row."""
    ids = sorted({int(i) for i in lead_ids})
    if not ids:
        return 0
    sql = paths_insert_sql(len(funnel.milestones), upsert=True)
    written = set(conn.execute(text(sql), _binds(funnel, ids)).scalars())
    gone = [i for i in ids if i not in written]
    if gone:
        conn.execute(
            text("DELETE FROM lead_paths WHERE lead_id = ANY(CAST(:ids AS bigint[]))"), {"ids": gone}
        )
    return len(written)


def _pending(conn: Connection, rebuild_above: int) -> tuple[str | None, int, bool, bool]:
    """(stored fingerprint, marked leads up to ``rebuild_above`` + 1, whether the tail holds any
    change, whether it holds more than a fold is worth), in one round trip. The tail is counted
    only when its heap is big enough to hold that many rows: a sync checks at every end, and a
    tail that grows for a week between reports is not worth a scan each time."""
    row = conn.execute(
        text(
            "WITH lim AS (SELECT greatest(:least, (SELECT reltuples * :share FROM pg_class"
            "  WHERE oid = CAST('lead_paths' AS regclass)))::bigint AS n)"
            " SELECT (SELECT fingerprint FROM lead_paths_meta WHERE id = 1),"
            " (SELECT count(*) FROM (SELECT 1 FROM lead_paths_dirty LIMIT :marks) m),"
            " EXISTS (SELECT 1 FROM lead_paths_tail),"
            " CASE WHEN pg_relation_size(CAST('lead_paths_tail' AS regclass))"
            "  < (SELECT n FROM lim) * :row_bytes THEN false"
            "  ELSE (SELECT count(*) FROM (SELECT 1 FROM lead_paths_tail LIMIT (SELECT n + 1 FROM lim)) t)"
            "   > (SELECT n FROM lim) END"
        ),
        {
            "least": FOLD_AT_LEAST,
            "share": FOLD_SHARE,
            "marks": rebuild_above + 1,
            "row_bytes": TAIL_ROW_BYTES,
        },
    ).one()
    return row[0], int(row[1]), bool(row[2]), bool(row[3])


def keep_paths(conn: Connection, funnel: Funnel, *, rebuild_above: int = REBUILD_ABOVE) -> int:
    """Make ``lead_paths`` current for ``funnel`` in the caller's transaction, so it can be read:
    the tail folded in, then the leads marked in ``lead_paths_dirty`` (by the triggers or by the
    fold) recomputed — or everything rebuilt when the summary was built for another funnel (or
    never), more than ``rebuild_above`` leads are marked or the tail is longer than a fold is
    worth. Returns the summary rows written."""
    want = fingerprint(funnel)
    stored, marked, tail, too_long = _pending(conn, rebuild_above)
    if stored != want or marked > rebuild_above or too_long:
        return rebuild_paths(conn, funnel)  # a bulk load: one pass beats lead by lead
    written, k = 0, len(funnel.milestones)
    if tail:
        written, newly_marked = conn.execute(text(fold_tail_sql(k)), _binds(funnel, None)).one()
        marked += newly_marked
    if not marked:
        return int(written)
    binds = _binds(funnel, None) | {"most": rebuild_above}
    marked, recomputed = conn.execute(text(keep_marked_sql(k)), binds).one()
    if marked > rebuild_above:  # none recomputed (the fold marked that many): one pass instead
        return rebuild_paths(conn, funnel)
    return int(written) + int(recomputed)


def keep_after_sync(conn: Connection) -> bool:
    """A sync's upkeep of ``lead_paths`` before its last commit: none, as long as a reader could
    still fold the tail. The sync pays for copying its changes, not for summarising them
    (docs/metrics.md); the report folds what every sync since the last one left, each lead once.
    Once the tail is longer than a fold is worth (a pull of the whole history, or months without a
    reader), the summary is forgotten instead — its fingerprint, tail and marks deleted — and the
    next reader rebuilds it, as it would have anyway. Returns whether it was forgotten."""
    stored, _, _, too_long = _pending(conn, REBUILD_ABOVE)
    if not too_long:
        return False
    if stored is not None:
        log.info("lead_paths: more changes pending than a fold is worth; the next reader rebuilds")
    for table in ("lead_paths_meta", "lead_paths_tail", "lead_paths_dirty"):
        conn.execute(text(f"DELETE FROM {table}"))
    return True


def compute_facts_from_paths(
    conn: Connection, request: FactsRequest, table: str | None = None
) -> pd.DataFrame:
    """Facts as of ``request.as_of`` from ``lead_paths`` (the same frame as ``compute_facts``), in
    the caller's transaction: the summary is made current first (:func:`keep_paths`), then one
    COPY streams the facts while pandas parses them; with ``table`` (shaped like ``lead_facts``,
    empty) the same rows are also inserted there, in the same statement."""
    keep_paths(conn, request.funnel)
    conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    # The join of the window's leads with their summaries (and the per-row comparisons with A) is
    # worth parallel workers, but its expressions look cheap to the planner: make workers cheap
    # for this statement only. Without a table the COPY may run in parallel; an INSERT may not.
    for name, value in PARALLEL.items():
        conn.execute(text(f"SET LOCAL {name} = {value}"))
    sql = copy_facts_from_paths_sql(len(request.funnel.milestones), request.dimensions, table)
    facts = copy_facts(conn, request, sql, request.params())
    for name in PARALLEL:
        conn.execute(text(f"SET LOCAL {name} TO DEFAULT"))
    return facts
