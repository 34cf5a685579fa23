"""Facts as of any A from the kept per-lead path summary (``lead_paths``), and the statements that
build it, recompute marked leads and fold new stage changes into it (issue 15; DESIGN §5).

A lead's earliest moment of reaching milestone i (or beyond) and the earliest moment it sat exactly
at i do not depend on A: as of A, i is reached when that moment is ≤ A, and imputed when the sit
moment is later than A or never. What does depend on A — the status at A, the number of changes up
to A, in the trash or not — comes from the lead's change and delete/restore moments, kept as arrays
in event order (:mod:`cohort_service.db.event_order`), so sorted by time: how many changes are at
or before A — and so the slot of the status at A — is one binary search (``width_bucket``), no scan.

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
    copy_columns,
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
# The leads marked in lead_paths_dirty, taken (deleted) by the same statement that recomputes them.
_MARKED = "{col} = ANY(ARRAY(SELECT lead_id FROM marked))"
_UPSERT = "\nON CONFLICT (lead_id) DO UPDATE SET " + ", ".join(
    f"{c} = EXCLUDED.{c}" for c in PATH_COLUMNS[1:]
)


def paths_insert_sql(milestones: int, *, upsert: bool = False) -> str:
    """``INSERT INTO lead_paths`` the summary of every lead (``:ids`` NULL) or of the leads in
    ``:ids``; bind lv_p/lv_s/lv_l. The caller deletes the rows it replaces first, or (``upsert``)
    they are replaced in place and the statement returns the leads written."""
    insert = _paths_insert(milestones, _SOME)
    return insert + _UPSERT + "\nRETURNING lead_id" if upsert else insert


def keep_marked_sql(milestones: int) -> str:
    """Take the leads marked in ``lead_paths_dirty``, recompute their rows in place when there are
    at most ``:most`` of them, and drop the rows of leads left with no history. Returns (leads
    marked, rows written); bind lv_p/lv_s/lv_l, most. When it wrote nothing though more were
    marked, the caller rebuilds in full (the marks are taken either way)."""
    guard = "(SELECT count(*) FROM marked) <= :most"
    insert = _paths_insert(milestones, _MARKED + f" AND {guard}")
    return f"""WITH marked AS (DELETE FROM lead_paths_dirty RETURNING lead_id),
written AS (
{insert}{_UPSERT}
RETURNING lead_id
),
gone AS (
  DELETE FROM lead_paths p
  WHERE p.lead_id = ANY(ARRAY(SELECT lead_id FROM marked EXCEPT SELECT lead_id FROM written)) AND {guard}
)
SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM written)"""


def _changes_cte(k: int, source: str, where: str = "") -> str:
    """``ch``: the stage changes of ``source`` (aliased ``s``) with their ``lvl`` and ``bits``."""
    return f"""ch AS (
  SELECT s.lead_id, s.created_at, s.event_id, s.before_pipeline_id, s.before_status_id,
         s.after_pipeline_id, s.after_status_id, {change_levels(k)}
  FROM {source} s
  LEFT JOIN lv ON lv.pipeline_id = s.after_pipeline_id AND lv.status_id = s.after_status_id{where}
)"""


def _path_cte(k: int) -> str:
    """``path``: one row per lead of ``ch``, the summary of its stage changes, named as the row's
    columns (``PATH_COLUMNS[:11]``)."""
    reach = ", ".join(f"min(created_at) FILTER (WHERE lvl >= {i})" for i in range(1, k + 1))
    sit = ", ".join(f"min(created_at) FILTER (WHERE bits & {1 << i} <> 0)" for i in range(1, k + 1))
    return f"""path AS (
  SELECT lead_id,
    (array_agg(before_pipeline_id ORDER BY {ORDER}))[1] AS first_before_pipeline_id,
    (array_agg(before_status_id ORDER BY {ORDER}))[1] AS first_before_status_id,
    (array_agg(after_pipeline_id ORDER BY {ORDER}))[1] AS first_after_pipeline_id,
    ARRAY[{reach}]::timestamptz[] AS reach_at,
    ARRAY[{sit}]::timestamptz[] AS sit_at,
    min(created_at) FILTER (WHERE bits & {UNKNOWN_BIT} <> 0) AS unknown_at,
    array_agg(created_at ORDER BY {ORDER}) AS change_at,
    array_agg(after_pipeline_id ORDER BY {ORDER}) AS change_pipeline_id,
    array_agg(after_status_id ORDER BY {ORDER}) AS change_status_id,
    max(created_at) AS last_change_at
  FROM ch GROUP BY lead_id
)"""


def _paths_insert(milestones: int, some: str) -> str:
    """The INSERT of the summary rows of the leads ``some`` selects (a filter on ``{col}``)."""
    k = milestones
    where = f"\n  WHERE {some.format(col='s.lead_id')}"
    return f"""INSERT INTO lead_paths ({", ".join(PATH_COLUMNS)})
WITH {LV_CTE},
{_changes_cte(k, "lead_status_changes", where)},
{_path_cte(k)},
tr AS (
  SELECT lead_id, array_agg(created_at ORDER BY {ORDER}) AS trash_at,
    array_agg(type = 'lead_deleted' ORDER BY {ORDER}) AS trash_deleted
  FROM lead_events
  WHERE type IN ('lead_deleted', 'lead_restored') AND {some.format(col="lead_id")}
  GROUP BY lead_id
)
SELECT coalesce(p.lead_id, t.lead_id), {", ".join(f"p.{c}" for c in PATH_COLUMNS[1:11])},
  t.trash_at, t.trash_deleted
FROM path p FULL JOIN tr t ON t.lead_id = p.lead_id"""


def fold_tail_sql(milestones: int) -> str:
    """One statement that folds ``lead_paths_tail`` (the stage changes inserted since, copied by
    the insert trigger) into the summary and empties it; bind lv_p/lv_s/lv_l. Returns (leads
    extended or started, leads marked).

    A lead whose tail changes all come after its last summarised one (strictly later: a tie in
    time is ordered by event id, which the row does not keep) gets them appended: the change arrays
    grow, the earliest-moment arrays keep their old moments (every new one is later) and fill their
    gaps from the new ones. A lead with no row and no mark had no history, so its tail is its whole
    summary. Every other lead — marked already, a change out of order or tied, or one already in its
    row (a recompute read the history after the copy was made) — is marked for the recompute that
    follows, which reads its whole history. Rows a concurrent writer has not committed yet are not
    seen, so not deleted: the next fold takes them."""
    k = milestones
    fill = ", ".join(f"coalesce(p.{{a}}[{i}], EXCLUDED.{{a}}[{i}])" for i in range(1, k + 1))
    sets = ",\n    ".join([
        *(f"{c} = CASE WHEN p.change_at IS NULL THEN EXCLUDED.{c} ELSE p.{c} END" for c in PATH_COLUMNS[1:4]),
        *(f"{c} = ARRAY[{fill.format(a=c)}]::timestamptz[]" for c in ("reach_at", "sit_at")),
        "unknown_at = coalesce(p.unknown_at, EXCLUDED.unknown_at)",
        *(f"{c} = p.{c} || EXCLUDED.{c}" for c in PATH_COLUMNS[7:10]),
        "last_change_at = EXCLUDED.last_change_at",
    ])  # fmt: skip
    columns = ", ".join(PATH_COLUMNS[:11])
    return f"""WITH taken AS (DELETE FROM lead_paths_tail RETURNING *),
{LV_CTE},
{_changes_cte(k, "taken")},
{_path_cte(k)},
fresh AS (  -- a probe of the marks' index per lead: the marks may be most of the account
  SELECT p.* FROM path p
  LEFT JOIN LATERAL (SELECT 1 AS hit FROM lead_paths_dirty d WHERE d.lead_id = p.lead_id LIMIT 1) m ON true
  WHERE m.hit IS NULL
),
done AS (
  INSERT INTO lead_paths AS p ({columns})
  SELECT {columns} FROM fresh ORDER BY lead_id
  ON CONFLICT (lead_id) DO UPDATE SET
    {sets}
  WHERE p.change_at IS NULL OR p.last_change_at < EXCLUDED.change_at[1]
  RETURNING p.lead_id
),
marked AS (
  INSERT INTO lead_paths_dirty (lead_id)
  SELECT lead_id FROM path WHERE lead_id NOT IN (SELECT lead_id FROM done) ORDER BY lead_id
  ON CONFLICT DO NOTHING
  RETURNING lead_id
)
SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM marked)"""


def _in_trash_rule() -> str:
    """Alive at A (the facts SQL's ``trash``/``alive`` rule): the last delete/restore at or before A
    decides; with none, the first one after A (a delete means it was alive); with no such events,
    ``is_deleted``/``deleted_at``. ``trash_at`` is in event order, so sorted by time: ``width_bucket``
    (a binary search) counts its moments at or before A, the slot of the last of them."""
    return """CASE WHEN p.trash_at IS NULL
      THEN NOT (b.is_deleted AND (b.deleted_at IS NULL OR b.deleted_at <= :as_of))
    WHEN width_bucket(:as_of, p.trash_at) > 0 THEN NOT p.trash_deleted[width_bucket(:as_of, p.trash_at)]
    ELSE p.trash_deleted[1]
  END"""


def _bits_at(k: int) -> str:
    """The levels the lead sat at exactly, up to A, as the facts SQL's bitmask."""
    parts = [
        f"CASE WHEN p.sit_at[{i}] <= :as_of THEN {1 << i}::bigint ELSE 0::bigint END" for i in range(1, k + 1)
    ]
    parts.append(f"CASE WHEN p.unknown_at <= :as_of THEN {UNKNOWN_BIT}::bigint ELSE 0::bigint END")
    return " | ".join(parts)


def facts_from_paths_sql(table: str, milestones: int, dims: Sequence[DimensionSpec]) -> str:
    """``INSERT INTO <table> (...)`` the facts as of A read from ``lead_paths``; the same binds and
    the same rows as :func:`cohort_service.cohorts.facts_sql.facts_insert_sql`."""
    return f"INSERT INTO {table} ({_fact_names()})\n" + facts_from_paths_query(milestones, dims)


def copy_facts_from_paths_sql(milestones: int, dims: Sequence[DimensionSpec], table: str | None) -> str:
    """One ``COPY … TO STDOUT`` of the facts as of A in :func:`facts_copy_sql`'s columns, computed
    while they stream: straight from the query, or (``table``) from the rows it inserts there."""
    out = copy_columns(milestones, len(dims))
    query = facts_from_paths_query(milestones, dims)
    if table is None:
        # OFFSET 0 keeps the facts a subquery: the outer list reads each array, never rebuilds it.
        body = f"SELECT {out} FROM ({query}\nOFFSET 0) AS f ({_fact_names()})"
    else:
        body = f"INSERT INTO {table} ({_fact_names()})\n{query}\nRETURNING {out}"
    return f"COPY ({body}) TO STDOUT WITH (FORMAT csv)"


def _fact_names() -> str:
    return ", ".join(fact.name for fact in FACTS)


def facts_from_paths_query(milestones: int, dims: Sequence[DimensionSpec]) -> str:
    """The SELECT of the facts as of A from ``lead_paths``, in :data:`FACTS` order.

    Each CTE ends in ``OFFSET 0`` so it stays a subquery computed once per row: inlined, Postgres
    would re-evaluate ``bits``, ``n`` and ``reached`` at every reference (4× slower at 300k leads).
    """
    k = milestones
    reached = ", ".join(f"CASE WHEN reach_at[{i}] <= :as_of THEN reach_at[{i}] END" for i in range(1, k + 1))
    return f"""WITH {LV_CTE},
{born_cte(dims)},
alive AS (
  SELECT b.*, p.first_before_pipeline_id, p.first_before_status_id, p.first_after_pipeline_id,
    p.reach_at, p.change_at, p.change_pipeline_id, p.change_status_id,
    width_bucket(:as_of, p.change_at) AS n, {_bits_at(k)} AS bits
  FROM born b LEFT JOIN lead_paths p ON p.lead_id = b.id
  WHERE {_in_trash_rule()} OFFSET 0
),
x AS (
  SELECT q.id, q.created_at, q.responsible_user_id, q.price, q.loss_reason_id, q.dims, q.bits,
    q.n AS changes, ARRAY[{reached}]::timestamptz[] AS reached,
    {highest_level("q.bits", k)} AS max_lvl, q.bits & {UNKNOWN_BIT} <> 0 AS unknown,
    q.change_at IS NOT NULL AND q.first_before_status_id IS NULL AS unknown_initial,
    CASE WHEN q.change_at IS NULL THEN q.pipeline_id
      ELSE coalesce(q.first_before_pipeline_id, q.first_after_pipeline_id) END AS init_p,
    CASE WHEN q.change_at IS NULL THEN q.status_id ELSE q.first_before_status_id END AS init_s,
    q.change_pipeline_id[q.n] AS last_p, q.change_status_id[q.n] AS last_s
  FROM alive q OFFSET 0
){y_cte(k)}{select_facts(k)}"""
