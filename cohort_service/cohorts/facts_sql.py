"""The SQL that turns stored history into per-lead facts as of a moment A (DESIGN §5).

One statement, so Postgres does the heavy part (millions of status changes) next to the data and
only one row per lead travels to Python. Shape of the computation:

* ``born``: leads created in the report window, at or before A — the synced ones, plus leads known
  only from their ``lead_added`` event (deleted before the first sync, so never listed).
* ``trash`` / ``alive``: deleted as of A is decided by the last ``lead_deleted``/``lead_restored``
  event at or before A; with none at or before A, the first such event after A tells the state at A
  (a later restore means it was in the trash); with no such events at all, ``leads.is_deleted`` and
  ``deleted_at`` decide.
* ``ch``: each status change with the level its new status reaches (``:lv_*`` arrays, from
  :mod:`milestones`); ``path``: one sorted pass per lead (by time, then event id) giving the first
  change's ``value_before`` (the initial status), the last change at or before A (the status at A),
  the earliest time each level was reached and whether a point sat exactly at it.
* The initial point (created_at, initial status) joins those; milestone k's ``reached_at`` is the
  earliest point at or above level k; it is *imputed* when no point sat exactly at level k.

Identifiers and counts in the text are our own (never user input); values are bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

from cohort_service.cohorts.dimensions import DimensionSpec
from cohort_service.db.event_order import event_order
from cohort_service.schema.leads import FACTS, copy_order

ORDER = event_order()  # points with the same timestamp: by event id (cohort_service.db.event_order)
DATE_FIELD_TYPES = ("date", "date_time", "birthday")
# Each change sets bit ``level`` of a per-lead bitmask (one bit_or instead of a bool_or per level);
# this bit marks a status the synced pipelines do not know.
UNKNOWN_BIT = 1 << 62


# The milestone level of each (pipeline, status) of the funnel, from bound arrays.
LV_CTE = """lv AS (
  SELECT * FROM unnest(CAST(:lv_p AS bigint[]), CAST(:lv_s AS bigint[]), CAST(:lv_l AS int[]))
    AS m(pipeline_id, status_id, lvl)
)"""


def _enum_text(item: str, alias: str) -> str:
    """Text of one value item: the enum's current name when it has one, else the stored text."""
    return f"coalesce({alias}.value, {item}->>'value')"


def _enum_id(item: str) -> str:
    return f"CASE WHEN jsonb_typeof({item}->'enum_id') = 'number' THEN ({item}->'enum_id')::bigint END"


def _as_date(value: str) -> str:
    """Date fields hold Unix seconds (date-only ones at local midnight): show the local date."""
    return (
        f"CASE WHEN {value} ~ '^-?[0-9]{{1,12}}$' THEN "
        f"to_char(to_timestamp(({value})::bigint) AT TIME ZONE :tz, 'YYYY-MM-DD') ELSE {value} END"
    )


def _dimension_sql(dim: DimensionSpec, i: int) -> tuple[str, str, str]:
    """(lateral expression, value expression, enum join) for dimension ``i``.

    Most leads hold one value per field, so that case reads the first item and joins the enum
    table once; several values (multiselect, several tags) fall back to a per-lead subquery.
    """
    raw = f"d.v{i}"
    if dim.field is None:
        lateral = "CASE WHEN jsonb_typeof(l.tags) = 'array' THEN l.tags ELSE '[]'::jsonb END"
        many = f"(SELECT string_agg(t->>'name', ', ' ORDER BY t->>'name') FROM jsonb_array_elements({raw}) t)"
        value = (
            f"CASE jsonb_array_length({raw}) WHEN 0 THEN NULL WHEN 1 THEN {raw}->0->>'name' ELSE {many} END"
        )
        return lateral, value, ""
    fid = int(dim.field.id)
    lateral = f"jsonb_path_query_array(l.custom_fields, '$[*] ? (@.field_id == {fid}).values[*]')"
    one = _enum_text(f"{raw}->0", f"e{i}")
    many = (
        f"(SELECT string_agg({_enum_text('v.val', 'm')}, ', ' ORDER BY v.ord) "
        f"FROM jsonb_array_elements({raw}) WITH ORDINALITY AS v(val, ord) "
        f"LEFT JOIN custom_field_enums m ON m.field_id = {fid} AND m.enum_id = {_enum_id('v.val')})"
    )
    value = f"CASE jsonb_array_length({raw}) WHEN 0 THEN NULL WHEN 1 THEN {one} ELSE {many} END"
    if dim.field.type in DATE_FIELD_TYPES:
        value = _as_date(value)
    join = f"LEFT JOIN custom_field_enums e{i} ON e{i}.field_id = {fid} AND e{i}.enum_id = "
    join += _enum_id(f"{raw}->0")
    return lateral, value, join


def born_cte(dims: Sequence[DimensionSpec]) -> str:
    """Leads of the window with their dimension values (raw JSON extracted once, in ``src``).

    With dimensions, ``src`` ends in OFFSET 0: a subquery computed once per row (each raw value is
    read several times below), streamed rather than spooled like a MATERIALIZED CTE. Without, no
    barrier: the planner may then scan and join the leads in parallel workers."""
    parts = [_dimension_sql(d, i) for i, d in enumerate(dims)]
    raws = "".join(f", {lat} AS v{i}" for i, (lat, _, _) in enumerate(parts))
    values = ", ".join(val for _, val, _ in parts)
    joins = "\n  ".join(join for _, _, join in parts if join)
    dims_array = f"ARRAY[{values}]::text[]" if parts else "ARRAY[]::text[]"
    empty = "".join(f", '[]'::jsonb AS v{i}" for i in range(len(parts)))
    barrier = "\n  OFFSET 0" if parts else ""
    return f"""src AS (
  SELECT l.id, l.created_at, l.pipeline_id, l.status_id, l.responsible_user_id, l.price,
         l.loss_reason_id, l.is_deleted, l.deleted_at{raws}
  FROM leads l
  WHERE l.created_at >= :from_ts AND l.created_at <= :as_of
  UNION ALL
  -- Leads deleted before the first sync: the API no longer lists them, but their lead_added and
  -- stage events remain, and they existed at moments a report may look back to. Pipeline and
  -- status come from their history; no manager, price or fields. With no delete/restore event
  -- they count as in the trash (is_deleted, no date).
  SELECT e.lead_id, min(e.created_at), NULL::bigint, NULL::bigint, NULL::bigint, 0::numeric,
         NULL::bigint, true, NULL::timestamptz{empty}
  FROM lead_events e
  WHERE e.type = 'lead_added' AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = e.lead_id)
  GROUP BY e.lead_id
  HAVING min(e.created_at) >= :from_ts AND min(e.created_at) <= :as_of{barrier}
),
born AS (
  SELECT d.id, d.created_at, d.pipeline_id, d.status_id, d.responsible_user_id, d.price,
         d.loss_reason_id, d.is_deleted, d.deleted_at, {dims_array} AS dims
  FROM src d
  {joins}
)"""


def head(dims: Sequence[DimensionSpec]) -> str:
    return f"""
WITH {LV_CTE},
{born_cte(dims)},
trash AS (
  SELECT lead_id,
    (array_agg(type ORDER BY {event_order(descending=True)})
       FILTER (WHERE created_at <= :as_of))[1] AS last_before,
    (array_agg(type ORDER BY {ORDER}) FILTER (WHERE created_at > :as_of))[1] AS first_after
  FROM lead_events
  WHERE type IN ('lead_deleted', 'lead_restored')
  GROUP BY lead_id
),
alive AS (
  SELECT b.* FROM born b LEFT JOIN trash t ON t.lead_id = b.id
  WHERE CASE
    WHEN t.last_before IS NOT NULL THEN t.last_before = 'lead_restored'
    WHEN t.first_after IS NOT NULL THEN t.first_after = 'lead_deleted'
    ELSE NOT (b.is_deleted AND (b.deleted_at IS NULL OR b.deleted_at <= :as_of))
  END
)"""


def highest_level(bits: str, k: int) -> str:
    """The highest level whose bit is set in ``bits`` (one bit per level a point sat at)."""
    cases = " ".join(f"WHEN {bits} & {1 << i} <> 0 THEN {i}" for i in range(k, 0, -1))
    return f"(CASE {cases} ELSE 0 END)"


def change_levels(k: int) -> str:
    """``lvl`` and ``bits`` of a stage change ``s`` (joined to ``lv``): the level its new status
    reaches (won counts as the last milestone) and the bit of the level it sits at exactly."""
    return f"""CASE WHEN s.after_status_id = 142 THEN {k} ELSE coalesce(lv.lvl, 0) END AS lvl,
         CASE WHEN s.after_status_id = 142 THEN {1 << k} ELSE 1::bigint << coalesce(lv.lvl, 0) END
           | CASE WHEN lv.lvl IS NULL AND s.after_status_id NOT IN (142, 143) THEN {UNKNOWN_BIT} ELSE 0 END
           AS bits"""


def _path(k: int) -> str:
    at_a = "FILTER (WHERE created_at <= :as_of)"
    reached = ", ".join(
        f"min(created_at) FILTER (WHERE created_at <= :as_of AND lvl >= {i})" for i in range(1, k + 1)
    )
    return f""",
ch AS (
  SELECT s.lead_id, s.created_at, s.event_id, s.before_pipeline_id, s.before_status_id,
         s.after_pipeline_id, s.after_status_id, {change_levels(k)}
  FROM lead_status_changes s
  JOIN alive al ON al.id = s.lead_id
  LEFT JOIN lv ON lv.pipeline_id = s.after_pipeline_id AND lv.status_id = s.after_status_id
),
path AS (
  SELECT lead_id,
    (array_agg(before_pipeline_id ORDER BY {ORDER}))[1] AS first_bp,
    (array_agg(before_status_id ORDER BY {ORDER}))[1] AS first_bs,
    (array_agg(after_pipeline_id ORDER BY {ORDER}))[1] AS first_ap,
    (array_agg(after_status_id ORDER BY {ORDER}) {at_a}) AS after_s,
    (array_agg(after_pipeline_id ORDER BY {ORDER}) {at_a}) AS after_sp,
    count(*) {at_a} AS changes,
    coalesce(bit_or(bits) {at_a}, 0) AS bits,
    ARRAY[{reached}]::timestamptz[] AS reached
  FROM ch GROUP BY lead_id
)"""


def _points(k: int) -> str:
    """Initial point joined with the path summary; ``x`` carries everything the SELECT needs."""
    return f""",
x AS (
  SELECT a.*, p.changes, p.reached, {highest_level("coalesce(p.bits, 0)", k)} AS max_lvl,
    coalesce(p.bits, 0) & {UNKNOWN_BIT} <> 0 AS unknown, coalesce(p.bits, 0) AS bits,
    p.lead_id IS NOT NULL AND p.first_bs IS NULL AS unknown_initial,
    CASE WHEN p.lead_id IS NULL THEN a.pipeline_id ELSE coalesce(p.first_bp, p.first_ap) END AS init_p,
    CASE WHEN p.lead_id IS NULL THEN a.status_id ELSE p.first_bs END AS init_s,
    p.after_sp[p.changes] AS last_p, p.after_s[p.changes] AS last_s
  FROM alive a LEFT JOIN path p ON p.lead_id = a.id
)""" + y_cte(k)


def y_cte(k: int) -> str:
    """``y``: the initial point's level and the status as of A, from ``x`` (shared with :mod:`paths_sql`)."""
    return f""",
y AS (
  SELECT x.*,
    CASE WHEN x.init_s = 142 THEN {k} WHEN x.init_s IS NULL THEN 0 ELSE coalesce(li.lvl, 0) END AS init_lvl,
    (x.init_s IS NOT NULL AND li.lvl IS NULL AND x.init_s NOT IN (142, 143)) AS init_unknown,
    coalesce(x.last_p, x.init_p) AS asof_p,
    CASE WHEN coalesce(x.changes, 0) > 0 THEN x.last_s ELSE x.init_s END AS asof_s
  FROM x LEFT JOIN lv li ON li.pipeline_id = x.init_p AND li.status_id = x.init_s
  WHERE CAST(:pipes AS bigint[]) IS NULL OR x.init_p = ANY(CAST(:pipes AS bigint[]))
  OFFSET 0
)"""


def select_facts(k: int) -> str:
    return f"\nSELECT {', '.join(fact.sql(k) for fact in FACTS)}\nFROM y"


def facts_insert_sql(table: str, milestones: int, dims: Sequence[DimensionSpec]) -> str:
    """``INSERT INTO <table> (...) <the facts query>``; bind as_of, from_ts, tz, lv_p/lv_s/lv_l, pipes."""
    cols = ", ".join(fact.name for fact in FACTS)
    query = head(dims) + _path(milestones) + _points(milestones) + select_facts(milestones)
    return f"INSERT INTO {table} ({cols})" + query


def facts_copy_sql(table: str, milestones: int, dims: int) -> str:
    """Rows for pandas, in :func:`copy_order`: timestamps as Unix seconds, flags as 0/1, one column
    per array slot.

    ``date_part`` (a double) is about 3× cheaper than ``extract`` (a numeric) and still exact to the
    microsecond for our dates: PG prints the shortest digits that round-trip, and float64 resolves
    ~0.2 µs at 2^31 seconds, so ``round(seconds · 10^6)`` gets the stored microseconds back.
    """
    return f"COPY (SELECT {copy_columns(milestones, dims)} FROM {table}) TO STDOUT WITH (FORMAT csv)"


def copy_columns(milestones: int, dims: int) -> str:
    """The select list of :func:`facts_copy_sql` over a row shaped like ``lead_facts``."""
    slots = {"lead": 1, "milestone": milestones, "dimension": dims}
    return ", ".join(expr for fact in copy_order() for expr in fact.copy_exprs(slots[fact.per]))
