"""The kept per-lead path summary (``lead_paths``): build it, keep it, read facts as of any A from it.

The summary depends on the funnel (which status is which milestone level, how many milestones), so
beside it ``lead_paths_meta`` holds a fingerprint of those levels; a different fingerprint means
the whole table is rebuilt before it is read. ``cohort-service db rebuild-facts`` rebuilds it
regardless.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Connection, text

from cohort_service.cohorts.facts import SCRATCH, WORK_MEM, FactsRequest, read_facts
from cohort_service.cohorts.milestones import Funnel
from cohort_service.cohorts.paths_sql import facts_from_paths_sql, paths_insert_sql


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
    written = conn.execute(text(paths_insert_sql(len(funnel.milestones))), _binds(funnel, None)).rowcount
    conn.execute(
        text(
            "INSERT INTO lead_paths_meta (id, fingerprint, built_at) VALUES (1, :f, now())"
            " ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, built_at = EXCLUDED.built_at"
        ),
        {"f": fingerprint(funnel)},
    )
    return int(written)


def refresh_paths(conn: Connection, funnel: Funnel, lead_ids: Iterable[int]) -> int:
    """Recompute the summary of the given leads only (their history changed), in the caller's
    transaction; a summary built for another funnel is rebuilt in full instead."""
    if stored_fingerprint(conn) != fingerprint(funnel):
        return rebuild_paths(conn, funnel)
    ids = sorted({int(i) for i in lead_ids})
    if not ids:
        return 0
    conn.execute(text("DELETE FROM lead_paths WHERE lead_id = ANY(CAST(:ids AS bigint[]))"), {"ids": ids})
    sql = paths_insert_sql(len(funnel.milestones))
    return int(conn.execute(text(sql), _binds(funnel, ids)).rowcount)


def ensure_paths(conn: Connection, funnel: Funnel) -> bool:
    """Rebuild the summary when it was built for another funnel (or never); True when it did."""
    if stored_fingerprint(conn) == fingerprint(funnel):
        return False
    rebuild_paths(conn, funnel)
    return True


def compute_facts_from_paths(conn: Connection, request: FactsRequest) -> pd.DataFrame:
    """Facts as of ``request.as_of`` from ``lead_paths`` (the same frame as ``compute_facts``), in
    the caller's transaction; the summary is rebuilt first when its fingerprint differs."""
    ensure_paths(conn, request.funnel)
    conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    conn.execute(text(f"DROP TABLE IF EXISTS {SCRATCH}"))
    conn.execute(text(f"CREATE TEMP TABLE {SCRATCH} (LIKE lead_facts) ON COMMIT DROP"))
    sql = facts_from_paths_sql(SCRATCH, len(request.funnel.milestones), request.dimensions)
    conn.execute(text(sql), request.params())
    return read_facts(conn, request, SCRATCH)


def invalidate_paths(conn: Connection) -> None:
    """Forget the fingerprint: the next reader rebuilds the summary in full (the sync changed history
    it could not summarise, e.g. with no milestones configured)."""
    conn.execute(text("DELETE FROM lead_paths_meta"))


class PathKeeper:
    """What the sync calls with the leads whose history a page changed, before that page commits:
    their summary is recomputed in the same transaction (or, with no funnel, the summary is marked
    stale so no reader trusts it)."""

    def __init__(self, funnel: Funnel | None) -> None:
        self.funnel = funnel
        self.kept = 0

    def __call__(self, conn: Connection, lead_ids: Iterable[int]) -> None:
        ids = set(lead_ids)
        if not ids:
            return
        if self.funnel is None:
            invalidate_paths(conn)
            return
        self.kept += refresh_paths(conn, self.funnel, ids)
