"""Facts as of any A from the kept per-lead path summary (``lead_paths``), and the statement that
builds it (issue 15; DESIGN §5).

A lead's earliest moment of reaching milestone i (or beyond) and the earliest moment it sat exactly
at i do not depend on A: as of A, i is reached when that moment is ≤ A, and imputed when the sit
moment is later than A or never. What does depend on A — the status at A, the number of changes up
to A, in the trash or not — comes from the lead's change and delete/restore moments, kept as arrays
in event order (:mod:`cohort_service.db.event_order`); for the common case (the last change is at or
before A) the status at A is the last slot, with no scan at all.

Both statements reuse the facts SQL's pieces (:mod:`facts_sql`: the level of a change, the window's
leads, ``y`` and the SELECT of :data:`cohort_service.schema.leads.FACTS`), so each fact is declared
once and the two paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from cohort_service.cohorts.dimensions import DimensionSpec
from cohort_service.cohorts.facts_sql import (
    LV_CTE,
    ORDER,
    UNKNOWN_BIT,
    born_cte,
    change_levels,
    highest_level,
    select_facts,
    y_cte,
)
from cohort_service.schema.leads import FACTS

PATH_COLUMNS = (
    "lead_id", "first_before_pipeline_id", "first_before_status_id", "first_after_pipeline_id",
    "reach_at", "sit_at", "unknown_at", "change_at", "change_pipeline_id", "change_status_id",
    "last_change_at", "trash_at", "trash_deleted",
)  # fmt: skip
_SOME = "(CAST(:ids AS bigint[]) IS NULL OR {col} = ANY(CAST(:ids AS bigint[])))"


def paths_insert_sql(milestones: int) -> str:
    """``INSERT INTO lead_paths`` the summary of every lead (``:ids`` NULL) or of the leads in
    ``:ids``; bind lv_p/lv_s/lv_l. The caller deletes the rows it replaces first."""
    k = milestones
    reach = ", ".join(f"min(created_at) FILTER (WHERE lvl >= {i})" for i in range(1, k + 1))
    sit = ", ".join(f"min(created_at) FILTER (WHERE bits & {1 << i} <> 0)" for i in range(1, k + 1))
    return f"""INSERT INTO lead_paths ({", ".join(PATH_COLUMNS)})
WITH {LV_CTE},
ch AS (
  SELECT s.lead_id, s.created_at, s.event_id, s.before_pipeline_id, s.before_status_id,
         s.after_pipeline_id, s.after_status_id, {change_levels(k)}
  FROM lead_status_changes s
  LEFT JOIN lv ON lv.pipeline_id = s.after_pipeline_id AND lv.status_id = s.after_status_id
  WHERE {_SOME.format(col="s.lead_id")}
),
path AS (
  SELECT lead_id,
    (array_agg(before_pipeline_id ORDER BY {ORDER}))[1] AS first_bp,
    (array_agg(before_status_id ORDER BY {ORDER}))[1] AS first_bs,
    (array_agg(after_pipeline_id ORDER BY {ORDER}))[1] AS first_ap,
    ARRAY[{reach}]::timestamptz[] AS reach_at,
    ARRAY[{sit}]::timestamptz[] AS sit_at,
    min(created_at) FILTER (WHERE bits & {UNKNOWN_BIT} <> 0) AS unknown_at,
    array_agg(created_at ORDER BY {ORDER}) AS change_at,
    array_agg(after_pipeline_id ORDER BY {ORDER}) AS change_p,
    array_agg(after_status_id ORDER BY {ORDER}) AS change_s,
    max(created_at) AS last_at
  FROM ch GROUP BY lead_id
),
tr AS (
  SELECT lead_id, array_agg(created_at ORDER BY {ORDER}) AS trash_at,
    array_agg(type = 'lead_deleted' ORDER BY {ORDER}) AS trash_deleted
  FROM lead_events
  WHERE type IN ('lead_deleted', 'lead_restored') AND {_SOME.format(col="lead_id")}
  GROUP BY lead_id
)
SELECT coalesce(p.lead_id, t.lead_id), p.first_bp, p.first_bs, p.first_ap, p.reach_at, p.sit_at,
  p.unknown_at, p.change_at, p.change_p, p.change_s, p.last_at, t.trash_at, t.trash_deleted
FROM path p FULL JOIN tr t ON t.lead_id = p.lead_id"""


def _in_trash_rule() -> str:
    """Alive at A (the facts SQL's ``trash``/``alive`` rule): the last delete/restore at or before A
    decides; with none, the first one after A (a delete means it was alive); with no such events,
    ``is_deleted``/``deleted_at``. The subquery runs only for leads with such events."""
    return """CASE WHEN p.trash_at IS NULL
      THEN NOT (b.is_deleted AND (b.deleted_at IS NULL OR b.deleted_at <= :as_of))
    ELSE (SELECT coalesce(NOT (array_agg(u.d ORDER BY u.o DESC) FILTER (WHERE u.t <= :as_of))[1],
                          (array_agg(u.d ORDER BY u.o))[1])
          FROM unnest(p.trash_at, p.trash_deleted) WITH ORDINALITY AS u(t, d, o))
  END"""


def _bits_at(k: int) -> str:
    """The levels the lead sat at exactly, up to A, as the facts SQL's bitmask."""
    parts = [
        f"CASE WHEN sit_at[{i}] <= :as_of THEN {1 << i}::bigint ELSE 0::bigint END" for i in range(1, k + 1)
    ]
    parts.append(f"CASE WHEN unknown_at <= :as_of THEN {UNKNOWN_BIT}::bigint ELSE 0::bigint END")
    return " | ".join(parts)


def facts_from_paths_sql(table: str, milestones: int, dims: Sequence[DimensionSpec]) -> str:
    """``INSERT INTO <table> (...)`` the facts as of A read from ``lead_paths``; the same binds and
    the same rows as :func:`cohort_service.cohorts.facts_sql.facts_insert_sql`."""
    k = milestones
    cols = ", ".join(fact.name for fact in FACTS)
    reached = ", ".join(f"CASE WHEN reach_at[{i}] <= :as_of THEN reach_at[{i}] END" for i in range(1, k + 1))
    return f"""INSERT INTO {table} ({cols})
WITH {LV_CTE},
{born_cte(dims)},
alive AS (
  SELECT b.*, p.first_before_pipeline_id, p.first_before_status_id, p.first_after_pipeline_id,
    p.reach_at, p.sit_at, p.unknown_at, p.change_at, p.change_pipeline_id, p.change_status_id,
    CASE WHEN p.change_at IS NULL THEN NULL
      WHEN p.last_change_at <= :as_of THEN cardinality(p.change_at)
      ELSE (SELECT count(*) FROM unnest(p.change_at) u WHERE u <= :as_of)::int END AS n
  FROM born b LEFT JOIN lead_paths p ON p.lead_id = b.id
  WHERE {_in_trash_rule()}
),
q AS (SELECT a.*, {_bits_at(k)} AS bits FROM alive a),
x AS (
  SELECT q.*, q.n AS changes, ARRAY[{reached}]::timestamptz[] AS reached,
    {highest_level("q.bits", k)} AS max_lvl, q.bits & {UNKNOWN_BIT} <> 0 AS unknown,
    q.change_at IS NOT NULL AND q.first_before_status_id IS NULL AS unknown_initial,
    CASE WHEN q.change_at IS NULL THEN q.pipeline_id
      ELSE coalesce(q.first_before_pipeline_id, q.first_after_pipeline_id) END AS init_p,
    CASE WHEN q.change_at IS NULL THEN q.status_id ELSE q.first_before_status_id END AS init_s,
    q.change_pipeline_id[q.n] AS last_p, q.change_status_id[q.n] AS last_s
  FROM q
){y_cte(k)}{select_facts(k)}"""
