"""The kept per-lead path summary (``lead_paths``): build it, keep it, read facts as of any A from it.

The summary depends on the funnel (which status is which milestone level, how many milestones), so
beside it ``lead_paths_meta`` holds a fingerprint of those levels; a different fingerprint means
the whole table is rebuilt before it is read. It depends on the history too: triggers on
``lead_status_changes`` and ``lead_events`` (migrations 0007, 0008) extend a lead's row when its
new changes come after its last one and mark every other lead a statement touches in
``lead_paths_dirty``, whoever wrote it, and each reader or keeper recomputes those first — so a
report never reads a stale summary. ``cohort-service db rebuild-facts`` rebuilds it regardless.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from cohort_service.cohorts.facts import WORK_MEM, FactsRequest, copy_facts
from cohort_service.cohorts.milestones import Funnel
from cohort_service.cohorts.paths_sql import (
    APPEND_FUNCTION,
    append_function_sql,
    copy_facts_from_paths_sql,
    keep_marked_sql,
    paths_insert_sql,
)

log = logging.getLogger(__name__)

# More marked leads than this are rebuilt in one pass (3–6× faster per lead than by id).
REBUILD_ABOVE = 100_000
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
    written = conn.execute(text(paths_insert_sql(len(funnel.milestones))), _binds(funnel, None)).rowcount
    want = fingerprint(funnel)
    conn.execute(
        text(
            "INSERT INTO lead_paths_meta (id, fingerprint, built_at) VALUES (1, :f, now())"
            " ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = EXCLUDED.built_at"
        ),
        {"f": want},
    )
    conn.execute(text("ANALYZE lead_paths"))  # the planner sizes the report's join by it
    _install_append(conn, funnel, want)
    return int(written)


def _install_append(conn: Connection, funnel: Funnel, want: str) -> None:
    """The insert trigger's function written for this funnel (its fingerprint kept as the
    function's comment, so a rebuild for the same funnel leaves it be). Replaced in the rebuild's
    transaction, under the run lock every rebuild takes: a writer sees the old summary with the old
    function or the new with the new."""
    installed = conn.execute(
        text("SELECT obj_description(CAST(:f AS regprocedure), 'pg_proc')"), {"f": f"{APPEND_FUNCTION}()"}
    ).scalar_one_or_none()
    if installed == want:
        return
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(append_function_sql(len(funnel.milestones), want, funnel.level_arrays()))
            conn.exec_driver_sql(f"COMMENT ON FUNCTION {APPEND_FUNCTION}() IS '{want}'")
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        # A role that does not own the function (migrations run by another): the installed one
        # checks its own fingerprint, so for this summary it only marks — slower, never wrong.
        log.warning(
            "lead_paths: cannot replace %s() (not its owner); new changes will be marked", APPEND_FUNCTION
        )


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


def keep_paths(
    conn: Connection,
    funnel: Funnel,
    funnel_fingerprint: str | None = None,
    *,
    rebuild_above: int = REBUILD_ABOVE,
) -> int:
    """Make ``lead_paths`` current for ``funnel`` in the caller's transaction, so it can be read:
    the leads the triggers marked in ``lead_paths_dirty`` (their history changed since, whoever
    wrote it) recomputed, or everything rebuilt when the summary was built for another funnel (or
    never) or more than ``rebuild_above`` leads are marked. Returns the summary rows written. One
    statement, so one round trip, when it is current (a sync calls it often;
    ``funnel_fingerprint`` saves hashing the funnel each time)."""
    want = funnel_fingerprint or fingerprint(funnel)
    binds = _binds(funnel, None) | {"fp": want, "most": rebuild_above}
    stored, marked, written = conn.execute(text(keep_marked_sql(len(funnel.milestones))), binds).one()
    if stored != want or marked > rebuild_above:  # a bulk load: one pass beats lead by lead
        return rebuild_paths(conn, funnel)
    return int(written)


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


class PathKeeper:
    """The sync's upkeep of ``lead_paths``. In each page's transaction the insert trigger extends
    the rows of leads whose new changes come after their last one and the triggers mark every other
    lead the page touches, so the summary plus its marks always describe the committed history (a
    killed sync leaves nothing a reader would miss); the keeper recomputes the marked leads once
    ``BATCH`` touched leads have piled up and at the end of the run (:meth:`flush`). In batches
    a recompute costs a third per lead of what it costs page by page (see docs/metrics.md).
    Without a usable funnel nothing is recomputed: the leads stay marked for the next reader."""

    BATCH = 2_000

    def __init__(self, funnel: Funnel | None) -> None:
        self.funnel = funnel
        self.fingerprint = None if funnel is None else fingerprint(funnel)
        self.kept = 0
        self.pending = 0
        # A pull of the whole history marks most leads: recompute once at the end (a full rebuild
        # when more than REBUILD_ABOVE are marked), not batch by batch.
        self.defer = False

    def __call__(self, conn: Connection, touched: int) -> None:
        """A page touching ``touched`` leads is about to commit in ``conn``'s transaction."""
        self.pending += touched
        if self.pending >= self.BATCH and not self.defer:
            self.flush(conn)

    def flush(self, conn: Connection) -> None:
        if self.funnel is not None:
            self.kept += keep_paths(conn, self.funnel, self.fingerprint)
        self.pending = 0
