"""Keep the latest report's facts where BI tools can read them (docs/metrics.md, "Facts in Postgres").

* ``lead_facts``: one row per lead of the last report run (ids, arrays indexed by milestone).
* ``lead_facts_meta``: one row saying what those facts are (as-of, time zone, weeks, milestones).
* ``lead_facts_named``: a view with the same columns as the workbook's ``Leads`` table (names,
  one 0/1 column per milestone plus ``<milestone> at``), recreated by each run because the
  milestone and dimension columns follow the config.

A BI query holding these objects must not stall the report: the refresh waits at most
``LOCK_TIMEOUT`` and otherwise leaves the previous run's rows in place (the report still builds).
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.catalog import LOST_NAME, WON_NAME
from cohort_service.cohorts.facts import FactsRequest
from cohort_service.cohorts.labels import NO_MANAGER, NO_REASON, UNKNOWN_STATUS
from cohort_service.cohorts.weeks import monday

log = logging.getLogger(__name__)

TABLE = "lead_facts"
VIEW = "lead_facts_named"
LOCK_TIMEOUT = "5s"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _named(name: str, key: str, unknown: str, missing: str) -> str:
    """The same labels as :mod:`labels`: a name, ``(user 12)`` for an id nobody synced, or ``missing``."""
    return (
        f"coalesce({name}, CASE WHEN {key} IS NULL THEN {_literal(missing)} "
        f"ELSE {_literal(unknown)} || {key} || ')' END)"
    )


def _status_name() -> str:
    won, lost = _literal(WON_NAME), _literal(LOST_NAME)
    return (
        f"coalesce(s.name, CASE WHEN f.status_id IS NULL THEN {_literal(UNKNOWN_STATUS)} "
        f"WHEN f.status_id = 142 THEN {won} WHEN f.status_id = 143 THEN {lost} "
        "ELSE '(unknown status ' || f.status_id || ')' END)"
    )


def view_sql(request: FactsRequest) -> str:
    names = request.funnel.names
    cols = [
        "f.lead_id", "f.cohort_week", "f.created_at",
        f"{_named('p.name', 'f.pipeline_id', '(pipeline ', UNKNOWN_STATUS)} AS {_ident(col.PIPELINE)}",
        f"{_status_name()} AS {_ident(col.STATUS)}",
        f"{_named('sp.name', 'f.status_pipeline_id', '(pipeline ', UNKNOWN_STATUS)}"
        f" AS {_ident(col.STATUS_PIPELINE)}",
        f"{_named('u.name', 'f.responsible_user_id', '(user ', NO_MANAGER)} AS {_ident(col.MANAGER)}",
    ]  # fmt: skip
    cols += [f"f.dimensions[{i}] AS {_ident(d.name)}" for i, d in enumerate(request.dimensions, start=1)]
    for i, name in enumerate(names, start=1):
        cols += [
            f"(f.reached_at[{i}] IS NOT NULL)::int AS {_ident(name)}",
            f"f.reached_at[{i}] AS {_ident(col.reached_at(name))}",
        ]
    stages = " ".join(f"WHEN {i} THEN {_literal(name)}" for i, name in enumerate(names, start=1))
    before = _literal(f"(before {names[0]})")
    cols += [
        f"f.won::int AS {_ident(col.WON)}", f"f.lost::int AS {_ident(col.LOST)}",
        f"CASE WHEN f.lost THEN CASE f.lost_level WHEN 0 THEN {before} {stages} END END"
        f" AS {_ident(col.LOST_FROM_STAGE)}",
        f"CASE WHEN f.lost THEN {_named('r.name', 'f.loss_reason_id', '(reason ', NO_REASON)} END"
        f" AS {_ident(col.LOSS_REASON)}",
        f"f.price AS {_ident(col.PRICE)}", f"f.revenue AS {_ident(col.REVENUE)}",
        f"f.days_to_final AS {_ident(col.DAYS_TO_FINAL)}",
    ]  # fmt: skip
    return (
        f"CREATE VIEW {VIEW} AS SELECT {', '.join(cols)} FROM lead_facts f "
        "LEFT JOIN pipelines p ON p.id = f.pipeline_id "
        "LEFT JOIN statuses s ON s.pipeline_id = f.status_pipeline_id AND s.status_id = f.status_id "
        "LEFT JOIN pipelines sp ON sp.id = f.status_pipeline_id "
        "LEFT JOIN users u ON u.id = f.responsible_user_id "
        "LEFT JOIN loss_reasons r ON r.id = f.loss_reason_id"
    )


def _meta(request: FactsRequest) -> dict[str, object]:
    milestones = [
        {"position": m.position, "name": m.name, "statuses": m.describe()} for m in request.funnel.milestones
    ]
    dims = [
        {"position": i, "name": d.name, "source": d.describe()} for i, d in enumerate(request.dimensions, 1)
    ]
    return {
        "as_of": request.as_of,
        "tz": request.timezone,
        "first": request.first_week,
        "last": monday(request.as_of.date()),
        "milestones": json.dumps(milestones, ensure_ascii=False),
        "dims": json.dumps(dims, ensure_ascii=False),
    }


def claim_bi_table(conn: Connection) -> bool:
    """Empty ``lead_facts`` so this run's facts can be computed straight into it (no second copy).

    Waits at most ``LOCK_TIMEOUT`` for readers; False (nothing changed) when one holds it longer.
    The exclusive lock lasts until the caller's transaction ends, so readers see old or new rows.
    """
    try:
        with conn.begin_nested():
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            conn.execute(text(f"DROP VIEW IF EXISTS {VIEW}"))
            conn.execute(text(f"TRUNCATE {TABLE}"))
    except OperationalError as exc:
        if "lock" not in str(exc).lower():
            raise
        log.warning("%s not refreshed: a reader held it for more than %s", TABLE, LOCK_TIMEOUT)
        return False
    finally:
        conn.execute(text("SET LOCAL lock_timeout = 0"))
    return True


def describe_bi_table(conn: Connection, request: FactsRequest) -> None:
    """After the facts are in ``lead_facts``: the meta row and the named view."""
    conn.execute(text("DELETE FROM lead_facts_meta"))
    conn.execute(
        text(
            "INSERT INTO lead_facts_meta (id, as_of, timezone, first_week, last_week, milestones,"
            " dimensions, built_at) VALUES (1, :as_of, :tz, :first, :last,"
            " CAST(:milestones AS jsonb), CAST(:dims AS jsonb), now())"
        ),
        _meta(request),
    )
    conn.execute(text(view_sql(request)))
