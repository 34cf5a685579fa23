"""The per-lead row, declared once: the facts Postgres computes (``FACTS``) and the ``Leads`` columns
shown from them (``LEADS``). See :mod:`cohort_service.schema` for how to add a column.

Everything that lists these columns is derived from the two tuples below: the facts SQL's INSERT
and SELECT lists and its COPY (:mod:`cohort_service.cohorts.facts_sql`), the pandas dtypes
(:mod:`cohort_service.cohorts.facts`), the ``lead_facts_named`` view
(:mod:`cohort_service.cohorts.store`), the ``Leads`` table of the workbook and ``leads.csv``
(:func:`leads_frame`, :mod:`cohort_service.export.leads_table`) and the pivot's fields.

A :class:`Fact` is one column of ``lead_facts`` and of the facts frame. ``select`` is its expression
over CTE ``y`` of the facts SQL (columns ``id, created_at, price, init_p, init_s, asof_p, asof_s,
init_lvl, max_lvl, bits, reached, changes, unknown, unknown_initial, init_unknown, dims`` …, see
:mod:`facts_sql`); a ``per="milestone"``/``"dimension"`` fact is a Postgres array with one slot per
milestone or dimension and one frame column per slot (``at_1``, ``dim_2``…).

A :class:`LeadColumn` is one column of the ``Leads`` table (and of ``leads.csv`` and of the view):
``value`` computes it from the labelled facts frame, ``view`` from ``lead_facts f`` joined with
the catalog (aliases ``p, s, sp, u, r``, see ``VIEW_JOINS``) and ``lead_facts_meta m``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.catalog import LOST, LOST_NAME, WON, WON_NAME
from cohort_service.cohorts.labels import NO_MANAGER, NO_REASON, UNKNOWN_STATUS
from cohort_service.schema.kinds import Kind, kind_of
from cohort_service.schema.order import expand

Per = Literal["lead", "milestone", "dimension"]
# Frame dtypes: "moment" = UTC-aware timestamp (NaT for none), "week" = the local Monday (datetime64),
# "bool" = stored boolean, "text" = str or None; the rest are pandas dtypes.
Dtype = Literal["int64", "Int64", "float64", "bool", "moment", "week", "text"]
PivotRole = Literal["rows", "count", "sum", "filter"]
SECONDS_PER_DAY = 86400.0
# Fixed columns other tools address by name (DESIGN §6): a user's name may not take them (config check).
CONTRACT = frozenset({col.LEAD_ID, col.COHORT_WEEK, col.CREATED_AT})


def at_col(k: int) -> str:
    return f"at_{k}"


def imputed_col(k: int) -> str:
    return f"imputed_{k}"


def dim_col(i: int) -> str:
    return f"dim_{i}"


@dataclass(frozen=True, slots=True)
class Fact:
    """One column of ``lead_facts`` and the facts frame (``select(k)``: depends on the milestone count)."""

    name: str
    select: str | Callable[[int], str]
    dtype: Dtype
    per: Per = "lead"
    frame: str | Callable[[int], str] | None = None  # the frame's name: a rename, or per slot

    def sql(self, milestones: int) -> str:
        return self.select if isinstance(self.select, str) else self.select(milestones)

    def frame_names(self, slots: int) -> list[str]:
        if self.per == "lead":
            return [self.frame if isinstance(self.frame, str) else self.name]
        if not callable(self.frame):
            raise TypeError(f"fact {self.name}: a per-slot fact names its frame columns")
        return [self.frame(i) for i in range(1, slots + 1)]

    def copy_exprs(self, slots: int) -> list[str]:
        """What COPY selects: Unix seconds for moments, 0/1 for booleans, one item per array slot."""
        items = [self.name] if self.per == "lead" else [f"{self.name}[{i}]" for i in range(1, slots + 1)]
        if self.dtype == "moment":
            return [f"date_part('epoch', {item})" for item in items]
        if self.dtype == "bool":
            return [f"{item}::int" for item in items]
        return items


def _reached(k: int) -> str:
    """Milestone i's reached_at: creation when the initial status is at or above it, else the path's."""
    return ", ".join(
        f"LEAST(CASE WHEN init_lvl >= {i} THEN created_at END, reached[{i}])" for i in range(1, k + 1)
    )


def _imputed(k: int) -> str:
    """Reached, but no point sat exactly at milestone i (a skipped stage)."""
    return ", ".join(
        f"(LEAST(CASE WHEN init_lvl >= {i} THEN created_at END, reached[{i}]) IS NOT NULL "
        f"AND NOT (init_lvl = {i} OR bits & {1 << i} <> 0))"
        for i in range(1, k + 1)
    )


_LEVEL = "GREATEST(init_lvl, coalesce(max_lvl, 0))"

# In INSERT order; the COPY reads the per-lead facts first, then the per-slot ones.
FACTS: tuple[Fact, ...] = (
    Fact("lead_id", "id", "int64"),
    Fact("cohort_week", "(date_trunc('week', created_at AT TIME ZONE :tz))::date", "week"),
    Fact("created_at", "created_at", "moment"),
    Fact("pipeline_id", "init_p", "Int64"),  # at creation: decides the cohort
    Fact("initial_status_id", "init_s", "Int64"),
    Fact("status_pipeline_id", "asof_p", "Int64"),  # as of A
    Fact("status_id", "asof_s", "Int64"),
    Fact("responsible_user_id", "responsible_user_id", "Int64", frame="manager_id"),
    Fact("price", "price", "float64"),
    Fact("revenue", f"CASE WHEN asof_s = {WON} THEN price ELSE 0 END", "float64"),
    Fact("loss_reason_id", "loss_reason_id", "Int64"),
    Fact("won", f"coalesce(asof_s = {WON}, false)", "bool"),
    Fact("lost", f"coalesce(asof_s = {LOST}, false)", "bool"),
    Fact("reached_level", _LEVEL, "int64"),
    Fact("lost_level", f"CASE WHEN asof_s = {LOST} THEN {_LEVEL} END", "Int64"),
    Fact("reached_at", lambda k: f"ARRAY[{_reached(k)}]::timestamptz[]", "moment", "milestone", at_col),
    Fact("imputed", lambda k: f"ARRAY[{_imputed(k)}]::boolean[]", "bool", "milestone", imputed_col),
    Fact(
        "days_to_final",
        lambda k: (
            f"extract(epoch FROM LEAST(CASE WHEN init_lvl >= {k} THEN created_at END, reached[{k}])"
            f" - created_at) / {SECONDS_PER_DAY}"
        ),
        "float64",
    ),
    Fact("changes", "coalesce(changes, 0)", "int64"),
    Fact("unknown_initial", "coalesce(unknown_initial, false)", "bool"),
    Fact("unknown_status", "init_unknown OR coalesce(unknown, false)", "bool"),
    Fact("dimensions", "dims", "text", "dimension", dim_col),
)


def copy_order(facts: Sequence[Fact] = FACTS) -> list[Fact]:
    return [f for f in facts if f.per == "lead"] + [f for f in facts if f.per != "lead"]


@dataclass(frozen=True, slots=True)
class RowContext:
    """What the Leads columns of one report depend on."""

    milestones: tuple[str, ...]
    dimensions: tuple[str, ...]
    timezone: str
    as_of: datetime | None = None
    facts: frozenset[str] = frozenset()  # the facts frame's columns (an optional column shows if there)

    def slots(self, per: Per) -> list[tuple[int, str]]:
        names = {"lead": ("",), "milestone": self.milestones, "dimension": self.dimensions}[per]
        return list(enumerate(names, start=1))


@dataclass(frozen=True, slots=True)
class Slot:
    """One instance of a column: ``index``/``name`` of its milestone or dimension (1-based)."""

    ctx: RowContext
    index: int = 0
    name: str = ""
    header: str = ""  # a fixed column's header when it had to yield to a user's name (see lead_columns)


Value = Callable[[pd.DataFrame, Slot], pd.Series]
View = Callable[[Slot], str]


@dataclass(frozen=True, slots=True)
class LeadColumn:
    """One column of the Leads table, leads.csv and ``lead_facts_named``.

    ``value``: a frame column (``{i}`` stands for the slot's 1-based index), converted for its kind
    (a UTC moment to the report zone's wall clock, flags and ids to int64, amounts to float64), or a
    function of the labelled facts frame. ``view``: the SQL expression (``{i}`` likewise) or a
    function of the slot. ``pivot``: its role in the workbook's PivotTable (filters in ``pivot_order``).
    """

    header: str | Callable[[str], str]  # per slot: a function of the milestone or dimension name
    kind: Kind
    value: str | Value
    view: str | View
    per: Per = "lead"
    width: float | Callable[[str], float] | None = None  # default: the kind's
    pivot: PivotRole | None = None
    pivot_order: int = 0
    optional: bool = False  # filled by a later step only sometimes: shown when the frame has it
    bi: bool = True  # in ``lead_facts_named`` (needs a ``view`` over stored facts)

    def __post_init__(self) -> None:
        kind_of(self.kind)

    def name(self, slot: Slot) -> str:
        if slot.header:
            return slot.header
        return self.header if isinstance(self.header, str) else self.header(slot.name)

    def width_for(self, name: str) -> float:
        if self.width is None:
            return kind_of(self.kind).width
        return self.width if isinstance(self.width, float | int) else self.width(name)

    def values(self, facts: pd.DataFrame, slot: Slot) -> pd.Series:
        if callable(self.value):
            return self.value(facts, slot)
        return _convert(facts[self.value.replace("{i}", str(slot.index))], self.kind, slot.ctx.timezone)

    def sql(self, slot: Slot) -> str:
        return self.view(slot) if callable(self.view) else self.view.replace("{i}", str(slot.index))


def _convert(series: pd.Series, kind: Kind, tz: str) -> pd.Series:
    spec = kind_of(kind)
    if spec.write == "datetime" and getattr(series.dt, "tz", None) is not None:
        return _local(series, tz)
    if spec.integral:
        return series.astype("int64")
    if spec.write == "number":
        return series.astype("float64")
    return series


def _local(series: pd.Series, tz: str) -> pd.Series:
    """Wall-clock time in the report zone, without the zone (what Excel and CSV readers expect)."""
    local: pd.Series = series.dt.tz_convert(ZoneInfo(tz)).dt.tz_localize(None)
    return local


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _named(name: str, key: str, unknown: str, missing: str) -> str:
    """The labels of :mod:`labels` in SQL: a name, ``(user 12)`` for an id nobody synced, or ``missing``."""
    return (
        f"coalesce({name}, CASE WHEN {key} IS NULL THEN {_literal(missing)} "
        f"ELSE {_literal(unknown)} || {key} || ')' END)"
    )


def _status_name(_: Slot) -> str:
    return (
        f"coalesce(s.name, CASE WHEN f.status_id IS NULL THEN {_literal(UNKNOWN_STATUS)} "
        f"WHEN f.status_id = {WON} THEN {_literal(WON_NAME)} WHEN f.status_id = {LOST} THEN "
        f"{_literal(LOST_NAME)} ELSE '(unknown status ' || f.status_id || ')' END)"
    )


def _lost_from_stage(slot: Slot) -> str:
    names = slot.ctx.milestones
    stages = " ".join(f"WHEN {i} THEN {_literal(name)}" for i, name in enumerate(names, start=1))
    before = _literal(f"(before {names[0]})")
    return f"CASE WHEN f.lost THEN CASE f.lost_level WHEN 0 THEN {before} {stages} END END"


def _flag_width(name: str) -> float:
    return max(8.0, min(len(name) + 2.0, 18.0))


def _same(name: str) -> str:
    """Milestone and dimension columns are named exactly as configured (DESIGN §6)."""
    return name


def _one(facts: pd.DataFrame, _: Slot) -> pd.Series:
    """The pivot's calculated fields divide by SUM(lead): a ratio of sums in every subtotal."""
    return pd.Series(1, index=facts.index, dtype="int64")


def _reached_flag(facts: pd.DataFrame, slot: Slot) -> pd.Series:
    return facts[at_col(slot.index)].notna().astype("int64")


def _age_days(facts: pd.DataFrame, slot: Slot) -> pd.Series:
    """Days from creation to A: what a same-age comparison lines leads up by."""
    if slot.ctx.as_of is None:
        raise ValueError("age days needs the report's as-of moment")
    age: pd.Series = (pd.Timestamp(slot.ctx.as_of) - facts["created_at"]).dt.total_seconds() / SECONDS_PER_DAY
    return age


_AGE_DAYS_SQL = f"extract(epoch FROM m.as_of - f.created_at) / {SECONDS_PER_DAY}"
_PIPELINE_NAME = _named("p.name", "f.pipeline_id", "(pipeline ", UNKNOWN_STATUS)
_STATUS_PIPELINE_NAME = _named("sp.name", "f.status_pipeline_id", "(pipeline ", UNKNOWN_STATUS)
_MANAGER_NAME = _named("u.name", "f.responsible_user_id", "(user ", NO_MANAGER)
_LOSS_REASON = f"CASE WHEN f.lost THEN {_named('r.name', 'f.loss_reason_id', '(reason ', NO_REASON)} END"

LEADS: tuple[LeadColumn, ...] = (
    LeadColumn(col.LEAD_ID, "int", "lead_id", "f.lead_id", pivot="count"),
    LeadColumn(col.COHORT_WEEK, "iso_date", "cohort_week", "f.cohort_week", pivot="rows"),
    LeadColumn(col.CREATED_AT, "iso_datetime", "created_at", "f.created_at"),
    LeadColumn(col.PIPELINE, "text", col.PIPELINE, _PIPELINE_NAME, pivot="filter", pivot_order=2),
    LeadColumn(col.STATUS, "text", col.STATUS, _status_name),
    LeadColumn(col.STATUS_PIPELINE, "text", col.STATUS_PIPELINE, _STATUS_PIPELINE_NAME),
    LeadColumn(col.MANAGER, "text", col.MANAGER, _MANAGER_NAME, pivot="filter"),
    LeadColumn(_same, "text", "dim_{i}", "f.dimensions[{i}]", "dimension", pivot="filter", pivot_order=1),
    LeadColumn(
        _same, "flag", _reached_flag, "(f.reached_at[{i}] IS NOT NULL)::int", "milestone", _flag_width, "sum"
    ),
    LeadColumn(col.reached_at, "iso_datetime", "at_{i}", "f.reached_at[{i}]", "milestone"),
    LeadColumn(col.WON, "flag", "won", "f.won::int"),
    LeadColumn(col.LOST, "flag", "lost", "f.lost::int"),
    LeadColumn(col.LOST_FROM_STAGE, "text", col.LOST_FROM_STAGE, _lost_from_stage),
    LeadColumn(col.LOSS_REASON, "text", col.LOSS_REASON, _LOSS_REASON),
    LeadColumn(col.PRICE, "amount", "price", "f.price"),
    LeadColumn(col.REVENUE, "amount", "revenue", "f.revenue"),
    # the lead's share of its day × source spend (cohorts/money.py); summed in the pivot
    LeadColumn(col.COST, "amount", col.COST, "", width=12.0, optional=True, bi=False, pivot="sum"),
    LeadColumn(col.DAYS_TO_FINAL, "days", "days_to_final", "f.days_to_final", width=9.0),
    LeadColumn("age days", "days", _age_days, _AGE_DAYS_SQL),
    LeadColumn(col.LEAD, "flag", _one, "1"),  # last: the columns before it keep their places
)

VIEW_JOINS = (
    "LEFT JOIN pipelines p ON p.id = f.pipeline_id "
    "LEFT JOIN statuses s ON s.pipeline_id = f.status_pipeline_id AND s.status_id = f.status_id "
    "LEFT JOIN pipelines sp ON sp.id = f.status_pipeline_id "
    "LEFT JOIN users u ON u.id = f.responsible_user_id "
    "LEFT JOIN loss_reasons r ON r.id = f.loss_reason_id "
    "LEFT JOIN lead_facts_meta m ON m.id = 1"
)


def lead_columns(ctx: RowContext, *, bi: bool = False) -> Iterator[tuple[LeadColumn, Slot]]:
    """Every column instance in table order (``<m>``, ``<m> at`` for each milestone in turn);
    ``bi``: those of the ``lead_facts_named`` view."""
    slots = {per: [Slot(ctx, i, name) for i, name in ctx.slots(per)] for per in get_args(Per)}
    shown = [c for c in LEADS if (c.bi if bi else not c.optional or c.value in ctx.facts)]
    instances = list(expand(shown, lambda c: c.per, lambda per: slots[per]))
    users = {c.name(s).casefold() for c, s in instances if c.per != "lead"}
    for column, slot in instances:
        name = column.name(slot)
        if column.per == "lead" and name not in CONTRACT and name.casefold() in users:
            yield column, replace(slot, header=yielded_name(name))
        else:
            yield column, slot


def yielded_name(fixed: str) -> str:
    """A fixed column's header when a milestone or dimension has its name (ignoring case, as Excel
    compares headers): the user's name is kept exactly (DESIGN §6), the fixed one steps aside."""
    return f"{fixed} (report)"


def leads_frame(facts: pd.DataFrame, ctx: RowContext) -> pd.DataFrame:
    """The Leads table from the labelled facts frame (default RangeIndex, one column per instance)."""
    data = {column.name(slot): column.values(facts, slot) for column, slot in lead_columns(ctx)}
    return pd.DataFrame(data).reset_index(drop=True)


def leads_header(ctx: RowContext) -> list[str]:
    return [column.name(slot) for column, slot in lead_columns(ctx)]


def view_select(ctx: RowContext) -> str:
    """The ``lead_facts_named`` view's select list (FROM ``lead_facts f`` + ``VIEW_JOINS``)."""
    return ", ".join(
        f"{column.sql(slot)} AS {_ident(column.name(slot))}" for column, slot in lead_columns(ctx, bi=True)
    )


def pivot_fields(ctx: RowContext, role: PivotRole) -> list[str]:
    chosen = [(column, slot) for column, slot in lead_columns(ctx) if column.pivot == role]
    return [column.name(slot) for column, slot in sorted(chosen, key=lambda item: item[0].pivot_order)]
