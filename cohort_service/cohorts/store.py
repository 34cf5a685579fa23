"""Keep the latest report's facts where BI tools can read them (docs/metrics.md, "Facts in Postgres").

* ``lead_facts``: one row per lead of the last report run (ids, arrays indexed by milestone).
* ``lead_facts_meta``: one row saying what those facts are (as-of, time zone, weeks, milestones).
* ``lead_facts_named``: a view with the same columns as the workbook's ``Leads`` table (names,
  one 0/1 column per milestone plus ``<milestone> at``; :mod:`cohort_service.schema.leads`),
  recreated by each run because the milestone and dimension columns follow the config.

A BI query holding these objects must not stall the report: the refresh waits at most
``LOCK_TIMEOUT`` and otherwise leaves the previous run's rows in place (the report still builds).
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.exc import OperationalError

from cohort_service.cohorts.facts import FactsRequest
from cohort_service.cohorts.weeks import monday
from cohort_service.schema.leads import VIEW_JOINS, RowContext, view_select

log = logging.getLogger(__name__)

TABLE = "lead_facts"
VIEW = "lead_facts_named"
LOCK_TIMEOUT = "5s"


def view_sql(request: FactsRequest) -> str:
    ctx = RowContext(request.funnel.names, tuple(d.name for d in request.dimensions), request.timezone)
    return f"CREATE VIEW {VIEW} AS SELECT {view_select(ctx)} FROM lead_facts f {VIEW_JOINS}"


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


def _ddl(statement: str) -> TextClause:
    """DDL holding user-chosen names (quoted identifiers and literals) and no bind parameters.

    SQLAlchemy's ``text`` reads `` :word`` anywhere, even inside quotes, as a bind parameter, so a
    milestone called ``цел :word`` would need a value; escaping every colon makes the names inert.
    """
    return text(statement.replace(":", "\\:"))


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
    conn.execute(_ddl(view_sql(request)))
