"""The kept path summary (``lead_paths``) against today's facts SQL, kept as the reference.

Random small accounts (the property module's generator: ties in time, unknown statuses, moves back,
deletes and restores, inconsistent stored flags) and random as-of moments: the facts read from the
summary equal the facts SQL's frame cell for cell; a summary kept up to date lead by lead equals one
rebuilt in full; a summary built for another milestone configuration is rebuilt before it is read.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from hypothesis import given
from sqlalchemy import Connection, Engine, text

from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.facts import FactsRequest, compute_facts
from cohort_service.cohorts.milestones import Funnel, resolve_funnel
from cohort_service.cohorts.paths import (
    compute_facts_from_paths,
    fingerprint,
    rebuild_paths,
    refresh_paths,
    stored_fingerprint,
)
from cohort_service.config import ReportSettings
from tests.cohorts.rows import MILESTONES
from tests.cohorts.test_cohort_properties import (  # noqa: F401 - fixtures used by name
    FAST,
    FIRST_WEEK,
    TZ,
    World,
    as_of_days,
    funnel,
    prop_engine,
    worlds,
    write,
)


def _both(conn: Connection, request: FactsRequest) -> tuple[pd.DataFrame, pd.DataFrame]:
    want = compute_facts(conn, request)
    got = compute_facts_from_paths(conn, request)
    return got.sort_values("lead_id", ignore_index=True), want.sort_values("lead_id", ignore_index=True)


def _paths(conn: Connection) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(text("SELECT * FROM lead_paths ORDER BY lead_id")).mappings().all())


@FAST
@given(world=worlds(), as_of=as_of_days())
def test_facts_from_paths_equal_the_facts_sql(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
    world: World,
    as_of: datetime,
) -> None:
    with prop_engine.connect() as conn, conn.begin():
        write(conn, world)
        rebuild_paths(conn, funnel)
        got, want = _both(conn, FactsRequest(as_of, str(TZ), FIRST_WEEK, funnel))
        pd.testing.assert_frame_equal(got, want)
        conn.rollback()


@FAST
@given(before=worlds(), after=worlds())
def test_refreshing_changed_leads_equals_a_full_rebuild(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
    before: World,
    after: World,
) -> None:
    """History rewritten between two syncs: recomputing only the leads it touched gives the table a
    full rebuild gives."""
    touched = {x.id for x in before.leads + after.leads}
    touched |= {c.lead_id for c in before.changes + after.changes}
    touched |= {e.lead_id for e in before.events + after.events}
    with prop_engine.connect() as conn, conn.begin():
        write(conn, before)
        rebuild_paths(conn, funnel)
        write(conn, after)
        refresh_paths(conn, funnel, touched)
        kept = _paths(conn)
        rebuild_paths(conn, funnel)
        pd.testing.assert_frame_equal(kept, _paths(conn))
        conn.rollback()


@FAST
@given(world=worlds(), as_of=as_of_days())
def test_a_milestone_change_rebuilds_the_summary(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
    world: World,
    as_of: datetime,
) -> None:
    """Built for the full funnel, read for a funnel without its first milestone: the fingerprint
    differs, the summary is rebuilt, and the facts equal the facts SQL's for the new funnel."""
    with prop_engine.connect() as conn, conn.begin():
        shorter = resolve_funnel(
            ReportSettings.model_validate({"milestones": MILESTONES[1:]}), load_catalog(conn), source="test"
        )
        assert fingerprint(shorter) != fingerprint(funnel)
        write(conn, world)
        rebuild_paths(conn, funnel)
        got, want = _both(conn, FactsRequest(as_of, str(TZ), FIRST_WEEK, shorter))
        assert stored_fingerprint(conn) == fingerprint(shorter)
        pd.testing.assert_frame_equal(got, want)
        conn.rollback()
