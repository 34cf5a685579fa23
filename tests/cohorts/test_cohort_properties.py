"""Property tests over random paths: the SQL engine against the plain reference, and DESIGN §5 invariants.

Paths are generated in Python (random statuses of two pipelines plus an unknown one, moves back,
ties in time, losses, wins, deletions and restores), written into one database per module, and
computed the product's way (``compute_facts``). Europe/Berlin, across the October 2022 DST change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, insert, text

from cohort_service.cohorts.build import cohort_table
from cohort_service.cohorts.catalog import Catalog, load_catalog
from cohort_service.cohorts.facts import FactsRequest, at_col, compute_facts, imputed_col
from cohort_service.cohorts.labels import label_facts
from cohort_service.cohorts.milestones import Funnel, resolve_funnel
from cohort_service.cohorts.weeks import end_of_day, monday, report_weeks
from cohort_service.config import ReportSettings
from cohort_service.db import models
from tests.cohorts.reference import RefChange, RefEvent, RefFacts, RefLead, reference_facts
from tests.cohorts.rows import MILESTONES, PIPELINES, Account

TZ = ZoneInfo("Europe/Berlin")
BASE = datetime(2022, 10, 10, tzinfo=TZ)  # a Monday; CEST ends on 30.10
FIRST_WEEK = date(2022, 10, 10)
K = len(MILESTONES)
KNOWN = [(pid, sid) for pid, (_, rows) in PIPELINES.items() for sid, *_ in rows] + [
    (pid, s) for pid in PIPELINES for s in (142, 143)
]
ANY_STATUS = [*KNOWN, (10, 777)]  # 777 is not in the synced pipelines
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass(frozen=True)
class World:
    leads: list[RefLead]
    changes: list[RefChange]
    events: list[RefEvent]


@st.composite
def paths(
    draw: st.DrawFn, lead_id: int, created: datetime, consistent: bool
) -> tuple[list[RefChange], tuple[int, int]]:
    """Status changes of one lead and the status it ends in (its ``leads.status_id``)."""
    status: tuple[int, int] | None = draw(st.sampled_from(KNOWN))
    if not consistent and draw(st.integers(0, 9)) == 0:
        status = None  # amoCRM sent an empty value_before
    steps = draw(st.lists(st.tuples(st.integers(0, 3 * 24 * 60), st.sampled_from(ANY_STATUS)), max_size=6))
    changes, t = [], created
    for seq, (gap, after) in enumerate(steps):
        t += timedelta(minutes=gap)  # gap 0: two moves in the same second, ordered by event id
        changes.append(RefChange(f"e{lead_id}{seq:03d}", lead_id, t, status, after))
        status = after
    return changes, status or (10, 101)


@st.composite
def trash(draw: st.DrawFn, lead_id: int, created: datetime, consistent: bool) -> list[RefEvent]:
    kinds = st.sampled_from(["lead_deleted", "lead_restored"])
    drawn = draw(st.lists(st.tuples(st.integers(0, 30 * 24 * 60), kinds), max_size=3))
    if consistent:  # deleted, restored, deleted… in time order
        drawn = [
            (offset, ("lead_deleted", "lead_restored")[i % 2]) for i, (offset, _) in enumerate(sorted(drawn))
        ]
    return [
        RefEvent(f"d{lead_id}{seq:03d}", lead_id, kind, created + timedelta(minutes=offset))
        for seq, (offset, kind) in enumerate(drawn)
    ]


@st.composite
def worlds(draw: st.DrawFn, consistent: bool = False) -> World:
    """Up to 10 leads over four weeks; ``consistent`` = what a correct sync could have stored."""
    leads, changes, events = [], [], []
    for n in range(draw(st.integers(1, 10))):
        lead_id = 1000 + n
        created = BASE + timedelta(minutes=draw(st.integers(0, 4 * 7 * 24 * 60)))
        path, end = draw(paths(lead_id, created, consistent))
        changes += path
        mine = draw(trash(lead_id, created, consistent))
        events += mine
        if consistent and mine:
            flagged, deleted_at = mine[-1].type == "lead_deleted", mine[-1].created_at
        else:
            flagged = draw(st.integers(0, 9)) == 0
            deleted_at = created + timedelta(days=draw(st.integers(0, 30)))
        leads.append(RefLead(lead_id, created, end[0], end[1], flagged, deleted_at if flagged else None))
    return World(leads, changes, events)


def as_of_days() -> st.SearchStrategy[datetime]:
    return st.integers(0, 40).map(lambda d: end_of_day(FIRST_WEEK + timedelta(days=d), TZ))


@pytest.fixture(scope="module")
def prop_engine(module_engine: Engine) -> Engine:
    """One database for the whole module; each example empties and refills the lead tables."""
    with module_engine.connect() as conn:
        Account(conn.execution_options(isolation_level="AUTOCOMMIT"), TZ).reference()
    return module_engine


@pytest.fixture(scope="module")
def funnel(prop_engine: Engine) -> Funnel:
    with prop_engine.connect() as conn:
        catalog = load_catalog(conn)
    return resolve_funnel(ReportSettings.model_validate({"milestones": MILESTONES}), catalog, source="test")


def write(conn: Connection, world: World) -> None:
    conn.execute(text("DELETE FROM leads; DELETE FROM lead_status_changes; DELETE FROM lead_events"))
    leads = [
        {"id": x.id, "pipeline_id": x.pipeline_id, "status_id": x.status_id, "created_at": x.created_at,
         "updated_at": x.created_at, "is_deleted": x.is_deleted, "deleted_at": x.deleted_at,
         "responsible_user_id": 7, "price": 10}
        for x in world.leads
    ]  # fmt: skip
    changes = [
        {"event_id": c.event_id, "lead_id": c.lead_id, "created_at": c.created_at,
         "before_pipeline_id": c.before[0] if c.before else None,
         "before_status_id": c.before[1] if c.before else None,
         "after_pipeline_id": c.after[0], "after_status_id": c.after[1]}
        for c in world.changes
    ]  # fmt: skip
    events = [
        {"event_id": e.event_id, "lead_id": e.lead_id, "type": e.type, "created_at": e.created_at}
        for e in world.events
    ]
    for table, rows in (
        (models.leads, leads),
        (models.lead_status_changes, changes),
        (models.lead_events, events),
    ):
        if rows:
            conn.execute(insert(table), rows)


def facts_at(engine: Engine, funnel: Funnel, world: World | None, as_of: datetime) -> pd.DataFrame:
    with engine.connect() as conn, conn.begin():
        if world is not None:
            write(conn, world)
        return compute_facts(conn, FactsRequest(as_of, str(TZ), FIRST_WEEK, funnel))


def _status(row: Any) -> tuple[int, int] | None:
    return None if pd.isna(row.status_id) else (int(row.status_pipeline_id), int(row.status_id))


def _ts(value: Any) -> datetime | None:
    return None if pd.isna(value) else value.to_pydatetime()


def as_reference(frame: pd.DataFrame) -> dict[int, RefFacts]:
    out = {}
    for row in frame.itertuples(index=False):
        d = row._asdict()
        out[int(row.lead_id)] = RefFacts(
            lead_id=int(row.lead_id),
            cohort_week=row.cohort_week.date(),
            pipeline_id=int(row.pipeline_id),
            status=_status(row),
            reached_at=tuple(_ts(d[at_col(k)]) for k in range(1, K + 1)),
            imputed=tuple(bool(d[imputed_col(k)]) for k in range(1, K + 1)),
            won=bool(row.won),
            lost=bool(row.lost),
            lost_level=None if pd.isna(row.lost_level) else int(row.lost_level),
        )
    return out


@FAST
@given(world=worlds(), as_of=as_of_days())
def test_sql_engine_equals_the_reference(
    prop_engine: Engine, funnel: Funnel, world: World, as_of: datetime
) -> None:
    got = as_reference(facts_at(prop_engine, funnel, world, as_of))
    want = reference_facts(world.leads, world.changes, world.events, levels=funnel.levels, milestones=K,
                           as_of=as_of, tz=TZ, first_week=FIRST_WEEK)  # fmt: skip
    assert got == want


@FAST
@given(world=worlds(), as_of=as_of_days())
def test_funnel_order_and_one_cohort_per_lead(
    prop_engine: Engine, funnel: Funnel, world: World, as_of: datetime
) -> None:
    facts = facts_at(prop_engine, funnel, world, as_of)
    for k in range(2, K + 1):  # reaching k implies reaching k-1, no later
        later, earlier = facts[at_col(k)], facts[at_col(k - 1)]
        assert (earlier[later.notna()].notna()).all()
        assert (earlier[later.notna()] <= later[later.notna()]).all()
    weeks = report_weeks(as_of, 8)  # covers FIRST_WEEK for every as-of drawn
    names = [m["name"] for m in MILESTONES]
    table = cohort_table(label_facts(facts, Catalog(), names), weeks=weeks, milestones=names, ages=[7],
                         as_of=as_of, tz=TZ)  # fmt: skip
    assert facts["lead_id"].is_unique
    assert int(table["leads"].sum()) == len(facts)
    locals_ = facts["created_at"].dt.tz_convert(TZ).dt.date.map(monday)
    assert (locals_ == facts["cohort_week"].dt.date).all()
    for previous, current in zip(["leads", *names], names, strict=False):
        assert (table[previous] >= table[current]).all()


@FAST
@given(world=worlds(), first=as_of_days(), second=as_of_days())
def test_later_as_of_never_lowers_counts_unless_deleted(
    prop_engine: Engine, funnel: Funnel, world: World, first: datetime, second: datetime
) -> None:
    early, late = sorted([first, second])
    a = facts_at(prop_engine, funnel, world, early).set_index("lead_id")
    b = facts_at(prop_engine, funnel, None, late).set_index("lead_id")
    both = a.index.intersection(b.index)
    gone = a.index.difference(b.index)
    for k in range(1, K + 1):
        was = a.loc[both, at_col(k)]
        assert (b.loc[both, at_col(k)][was.notna()] == was[was.notna()]).all()  # reached stays, same moment
        for week, group in a.groupby("cohort_week"):
            lost_leads = int((group.index.isin(gone)).sum())
            now = int(b.loc[b["cohort_week"] == week, at_col(k)].notna().sum())
            assert now >= int(group[at_col(k)].notna().sum()) - lost_leads


def _truncate(world: World, as_of: datetime, funnel: Funnel) -> World:
    """What the database held at A: history up to A, leads as the API showed them then."""
    del funnel
    changes = [c for c in world.changes if c.created_at <= as_of]
    leads = []
    for lead in world.leads:
        if lead.created_at > as_of:
            continue
        mine = sorted((c for c in changes if c.lead_id == lead.id), key=lambda c: (c.created_at, c.event_id))
        later = sorted(
            (c for c in world.changes if c.lead_id == lead.id), key=lambda c: (c.created_at, c.event_id)
        )
        status = (
            mine[-1].after if mine else (later[0].before if later else (lead.pipeline_id, lead.status_id))
        )
        assert status is not None
        flagged = lead.is_deleted and lead.deleted_at is not None and lead.deleted_at <= as_of
        leads.append(replace(lead, pipeline_id=status[0], status_id=status[1], is_deleted=flagged,
                             deleted_at=lead.deleted_at if flagged else None))  # fmt: skip
    events = [e for e in world.events if e.created_at <= as_of]
    return World(leads, changes, events)


@FAST
@given(world=worlds(consistent=True), as_of=as_of_days())
def test_time_travel(prop_engine: Engine, funnel: Funnel, world: World, as_of: datetime) -> None:
    """Facts as of A rebuilt after more history arrived equal the facts computed at A."""
    then = facts_at(prop_engine, funnel, _truncate(world, as_of, funnel), as_of)
    later = facts_at(prop_engine, funnel, world, as_of)
    pd.testing.assert_frame_equal(then.sort_values("lead_id", ignore_index=True),
                                  later.sort_values("lead_id", ignore_index=True))  # fmt: skip
