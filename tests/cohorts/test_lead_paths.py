"""The kept path summary (``lead_paths``) against today's facts SQL, kept as the reference.

Random small accounts (the property module's generator: ties in time, unknown statuses, moves back,
deletes and restores, inconsistent stored flags) and random as-of moments: the facts read from the
summary equal the facts SQL's frame cell for cell; a summary kept up to date lead by lead equals one
rebuilt in full; a summary built for another milestone configuration is rebuilt before it is read;
history written behind the summary's back (inserts, updates, deletes, TRUNCATE — any writer) is
either copied to the tail by the insert trigger or marked by the other triggers, and before anyone
reads the summary the tail is folded in (appended to rows when it comes after a lead's last change,
else marked) and the marked leads are recomputed: the rows of leads with nothing pending are always
current, and a change a concurrent writer has not committed is never dropped.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, insert, text

from cohort_service.cohorts import paths
from cohort_service.cohorts.catalog import load_catalog
from cohort_service.cohorts.facts import FactsRequest, compute_facts
from cohort_service.cohorts.milestones import Funnel, resolve_funnel
from cohort_service.cohorts.paths import (
    _binds,
    compute_facts_from_paths,
    fingerprint,
    keep_after_sync,
    keep_paths,
    rebuild_paths,
    refresh_paths,
    stored_fingerprint,
)
from cohort_service.cohorts.paths_sql import fold_tail_sql
from cohort_service.config import ReportSettings
from cohort_service.db import models
from tests.cohorts.rows import MILESTONES
from tests.cohorts.test_cohort_properties import (  # noqa: F401 - fixtures used by name
    ANY_STATUS,
    BASE,
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
    result = conn.execute(text("SELECT * FROM lead_paths ORDER BY lead_id"))
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _marked(conn: Connection) -> set[int]:
    return set(conn.execute(text("SELECT lead_id FROM lead_paths_dirty")).scalars())


def _pending(conn: Connection) -> set[int]:
    """Leads whose row a reader must make current first: marked, or with changes in the tail."""
    return _marked(conn) | set(conn.execute(text("SELECT lead_id FROM lead_paths_tail")).scalars())


def _fold(conn: Connection, funnel: Funnel) -> tuple[int, int]:  # noqa: F811
    """The fold statement alone: (leads appended or started, leads marked)."""
    done, marked = conn.execute(text(fold_tail_sql(len(funnel.milestones))), _binds(funnel, None)).one()
    return int(done), int(marked)


def _without(paths: pd.DataFrame, leads: set[int]) -> pd.DataFrame:
    """The summary rows of every lead but ``leads``, compared by value (an all-empty column of one
    frame and a filled one of the other have different dtypes)."""
    kept = paths[~paths["lead_id"].isin(leads)].reset_index(drop=True)
    return kept.astype(object).where(kept.notna(), None)


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


def _edit(conn: Connection, world: World, edits: list[tuple[int, int, int]]) -> None:
    """UPDATEs behind the summary's back: a change moved to another lead (both leads change), a
    change's new status replaced, a delete/restore event moved in time."""
    for kind, i, j in edits:
        if kind == 0 and world.changes:
            c, other = world.changes[i % len(world.changes)], world.leads[j % len(world.leads)]
            conn.execute(text("UPDATE lead_status_changes SET lead_id = :l WHERE event_id = :e"),
                         {"l": other.id, "e": c.event_id})  # fmt: skip
        elif kind == 1 and world.changes:
            c = world.changes[i % len(world.changes)]
            conn.execute(text("UPDATE lead_status_changes SET after_status_id = 142 WHERE event_id = :e"),
                         {"e": c.event_id})  # fmt: skip
        elif kind == 2 and world.events:
            e = world.events[i % len(world.events)]
            conn.execute(
                text(
                    "UPDATE lead_events SET created_at = created_at + :d * interval '1 day'"
                    " WHERE event_id = :e"
                ),
                {"d": j % 20 - 10, "e": e.event_id},
            )


EDITS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 50), st.integers(0, 50)), max_size=4)


@FAST
@given(before=worlds(), after=worlds(), edited=st.tuples(EDITS, as_of_days()))
def test_history_written_behind_the_summary_is_recomputed_before_it_is_read(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
    before: World,
    after: World,
    edited: tuple[list[tuple[int, int, int]], datetime],
) -> None:
    """The summary is built for one account, then the history is rewritten by plain DELETE, INSERT
    and UPDATE statements (no keeper called): the triggers copy every insert to the tail and mark
    every lead an update or delete touched, the reader folds and recomputes exactly those, and the
    result equals a full rebuild and the facts SQL."""
    edits, as_of = edited
    with prop_engine.connect() as conn, conn.begin():
        write(conn, before)
        rebuild_paths(conn, funnel)
        write(conn, after)
        _edit(conn, after, edits)
        marked = _marked(conn)
        pending = _pending(conn)
        unmarked = _paths(conn)  # what the summary says of the leads nothing is pending for
        with conn.begin_nested() as bulk:  # so many marked that it rebuilds instead: the same
            keep_paths(conn, funnel, rebuild_above=len(marked) - 1)
            rebuilt = _paths(conn)
            bulk.rollback()
        keep_paths(conn, funnel)
        assert _pending(conn) == set()
        kept = _paths(conn)
        pd.testing.assert_frame_equal(kept, rebuilt)
        rebuild_paths(conn, funnel)
        pd.testing.assert_frame_equal(kept, _paths(conn))
        pd.testing.assert_frame_equal(_without(unmarked, pending), _without(kept, pending))
        write(conn, before)  # and once more, read straight away as the report reads it
        _edit(conn, before, edits)
        got, want = _both(conn, FactsRequest(as_of, str(TZ), FIRST_WEEK, funnel))
        pd.testing.assert_frame_equal(got, want)
        conn.rollback()


@FAST
@given(world=worlds(), as_of=as_of_days())
def test_the_report_path_writes_the_bi_table_and_reads_the_same_facts(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
    world: World,
    as_of: datetime,
) -> None:
    """With a table (the report's ``lead_facts``), the one COPY inserts the rows there and streams
    the same frame; the stored rows equal the facts SQL's stored rows."""
    request = FactsRequest(as_of, str(TZ), FIRST_WEEK, funnel)
    with prop_engine.connect() as conn, conn.begin():
        write(conn, world)
        conn.execute(text("TRUNCATE lead_facts"))
        got = compute_facts_from_paths(conn, request, "lead_facts")
        stored = conn.execute(text("SELECT * FROM lead_facts ORDER BY lead_id")).all()
        conn.execute(text("TRUNCATE lead_facts"))
        want = compute_facts(conn, request, "lead_facts")
        assert conn.execute(text("SELECT * FROM lead_facts ORDER BY lead_id")).all() == stored
        by_id = {"by": "lead_id", "ignore_index": True}
        pd.testing.assert_frame_equal(got.sort_values(**by_id), want.sort_values(**by_id))
        conn.rollback()


# Later stage changes, a statement per batch: (lead 1000 + n — beyond the world's leads a lead with no
# history yet, minutes after that lead's latest change — 0 a tie, below 0 out of order, new status).
BATCHES = st.lists(
    st.lists(st.tuples(st.integers(0, 12), st.integers(-120, 3 * 24 * 60), st.sampled_from(ANY_STATUS)),
             min_size=1, max_size=5),
    min_size=1, max_size=4,
)  # fmt: skip


def _insert_changes(
    conn: Connection, world: World, batches: list[list[tuple[int, int, tuple[int, int]]]]
) -> None:
    latest = {c.lead_id: c.created_at for c in sorted(world.changes, key=lambda c: c.created_at)}
    status: dict[int, tuple[int, int]] = {}
    for b, batch in enumerate(batches):
        rows = []
        for i, (n, minutes, after) in enumerate(batch):
            lead_id = 1000 + n
            at = latest.get(lead_id, BASE) + timedelta(minutes=minutes)
            latest[lead_id] = max(at, latest.get(lead_id, at))
            before = status.get(lead_id, (10, 101))
            rows.append({"event_id": f"x{b}{i:03d}", "lead_id": lead_id, "created_at": at,
                         "before_pipeline_id": before[0], "before_status_id": before[1],
                         "after_pipeline_id": after[0], "after_status_id": after[1]})  # fmt: skip
            status[lead_id] = after
        conn.execute(insert(models.lead_status_changes), rows)


@FAST
@given(world=worlds(), batches=BATCHES, as_of=as_of_days())
def test_new_changes_are_folded_in_as_a_rebuild_would(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
    world: World,
    batches: list[list[tuple[int, int, tuple[int, int]]]],
    as_of: datetime,
) -> None:
    """What a sync does: new stage changes inserted statement by statement after the summary is
    built. Each is copied to the tail and nothing is marked or rewritten; the fold appends the
    changes of exactly the leads whose new changes all come strictly after their last one (and
    starts the rows of leads with no history) and marks the rest; either way the appended rows
    equal a full rebuild's, and once the reader has run, the whole table and the facts do."""
    last = {c.lead_id: c.created_at for c in sorted(world.changes, key=lambda c: c.created_at)}
    with prop_engine.connect() as conn, conn.begin():
        write(conn, world)
        rebuild_paths(conn, funnel)
        before = _paths(conn)
        _insert_changes(conn, world, batches)
        new = conn.execute(text("SELECT lead_id, min(created_at) FROM lead_status_changes"
                                " WHERE event_id LIKE 'x%' GROUP BY lead_id")).all()  # fmt: skip
        assert _marked(conn) == set()
        assert conn.execute(text("SELECT count(*) FROM lead_paths_tail")).scalar_one() == sum(
            map(len, batches)
        )
        pd.testing.assert_frame_equal(_paths(conn), before)  # the writer's statement left the rows be
        late = {lead for lead, first in new if lead in last and first <= last[lead]}
        assert _fold(conn, funnel) == (len(new) - len(late), len(late))
        assert _marked(conn) == late
        assert conn.execute(text("SELECT count(*) FROM lead_paths_tail")).scalar_one() == 0
        folded = _paths(conn)
        keep_paths(conn, funnel)
        assert _pending(conn) == set()
        kept = _paths(conn)
        rebuild_paths(conn, funnel)
        pd.testing.assert_frame_equal(_without(folded, late), _without(_paths(conn), late))
        pd.testing.assert_frame_equal(kept, _paths(conn))
        got, want = _both(conn, FactsRequest(as_of, str(TZ), FIRST_WEEK, funnel))
        pd.testing.assert_frame_equal(got, want)
        conn.rollback()


def test_the_fold_appends_a_later_change_and_marks_a_tie(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
) -> None:
    """The fold's branches on single leads: a later change is appended to its row without a mark;
    a lead with no history gets its first row; a change in the same second as the last one
    (ordered by an event id the row does not keep) marks the lead; so does a change its row already
    holds (recomputed from the history after the copy was made); a summary built for another
    funnel is rebuilt and the tail emptied."""
    nothing = World([], [], [])  # the leads' rows are not needed: history alone makes a summary

    def change(event: str, lead_id: int, at: datetime, after: tuple[int, int]) -> None:
        row = {"event_id": event, "lead_id": lead_id, "created_at": at, "before_pipeline_id": 10,
               "before_status_id": 101, "after_pipeline_id": after[0],
               "after_status_id": after[1]}  # fmt: skip
        conn.execute(insert(models.lead_status_changes), [row])

    def changes_of(lead_id: int) -> list[datetime]:
        row = conn.execute(text("SELECT change_at FROM lead_paths WHERE lead_id = :l"), {"l": lead_id})
        return list(row.scalar_one())

    later = BASE + timedelta(hours=2)
    with prop_engine.connect() as conn, conn.begin():
        write(conn, nothing)
        change("a0", 1000, BASE, (10, 101))
        change("a1", 1000, BASE + timedelta(hours=1), (10, 102))
        rebuild_paths(conn, funnel)
        change("a2", 1000, later, (10, 142))
        change("b0", 2000, BASE, (10, 101))
        assert _marked(conn) == set()
        assert changes_of(1000) == [BASE, BASE + timedelta(hours=1)]
        assert _fold(conn, funnel) == (2, 0)
        assert changes_of(1000) == [BASE, BASE + timedelta(hours=1), later]
        assert changes_of(2000) == [BASE]
        change("a3", 1000, later, (10, 143))
        assert _fold(conn, funnel) == (0, 1)
        assert _marked(conn) == {1000}
        keep_paths(conn, funnel)
        change("b1", 2000, later, (10, 102))
        refresh_paths(conn, funnel, [2000])  # reads b1 from the history; its copy is still in the tail
        assert changes_of(2000) == [BASE, later]
        assert _fold(conn, funnel) == (0, 1)
        assert _marked(conn) == {2000}
        keep_paths(conn, funnel)
        assert changes_of(2000) == [BASE, later]
        change("c0", 3000, BASE, (10, 101))
        conn.execute(text("DELETE FROM lead_paths_meta"))
        keep_paths(conn, funnel)
        assert stored_fingerprint(conn) == fingerprint(funnel)
        assert _pending(conn) == set()
        assert changes_of(3000) == [BASE]
        conn.rollback()


def test_truncating_history_forgets_the_summary(prop_engine: Engine, funnel: Funnel) -> None:  # noqa: F811
    """TRUNCATE fires no row triggers: it forgets the fingerprint, so the next reader rebuilds."""
    with prop_engine.connect() as conn, conn.begin():
        rebuild_paths(conn, funnel)
        assert stored_fingerprint(conn) == fingerprint(funnel)
        conn.execute(text("TRUNCATE lead_events"))
        assert stored_fingerprint(conn) is None
        assert keep_paths(conn, funnel) == conn.execute(text("SELECT count(*) FROM lead_paths")).scalar_one()
        assert stored_fingerprint(conn) == fingerprint(funnel)
        conn.rollback()


def test_a_role_that_owns_nothing_keeps_and_rebuilds_the_summary(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
) -> None:
    """Migrations run by an owner role, the service by another with plain table privileges: its
    writes are copied to the tail, and it folds, recomputes and rebuilds (the rebuild's lock on the
    tail needs no more than DELETE)."""
    with prop_engine.connect() as conn, conn.begin():
        conn.execute(text("CREATE ROLE cohort_writer_test NOLOGIN"))
        conn.execute(text("GRANT USAGE ON SCHEMA public TO cohort_writer_test"))
        conn.execute(
            text("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO cohort_writer_test")
        )
        conn.execute(text("SET LOCAL ROLE cohort_writer_test"))
        write(conn, World([], [], []))
        conn.execute(insert(models.lead_status_changes), [{
            "event_id": "r0", "lead_id": 1000, "created_at": BASE, "before_pipeline_id": 10,
            "before_status_id": 101, "after_pipeline_id": 10, "after_status_id": 102}])  # fmt: skip
        assert rebuild_paths(conn, funnel) == 1
        conn.execute(insert(models.lead_status_changes), [{
            "event_id": "r1", "lead_id": 1000, "created_at": BASE + timedelta(hours=1),
            "before_pipeline_id": 10, "before_status_id": 102, "after_pipeline_id": 10,
            "after_status_id": 103}])  # fmt: skip
        keep_paths(conn, funnel)
        kept = _paths(conn)
        rebuild_paths(conn, funnel)
        pd.testing.assert_frame_equal(kept, _paths(conn))
        conn.rollback()


def _rebuild_into(conn: Connection, funnel: Funnel, errors: list[BaseException]) -> None:  # noqa: F811
    try:
        rebuild_paths(conn, funnel)
    except BaseException as exc:  # the thread's failure is the test's
        errors.append(exc)


def _lock_awaited(engine: Engine, pid: int) -> str | None:
    """The table backend ``pid`` waits to lock, once it waits (polled; None if it never does)."""
    with engine.connect() as conn:
        for _ in range(6000):
            waiting = conn.execute(
                text("SELECT relation::regclass::text FROM pg_locks WHERE pid = :p AND NOT granted"),
                {"p": pid},
            ).scalar_one_or_none()
            if waiting is not None:
                return str(waiting)
            conn.rollback()
            time.sleep(0.005)
    return None


def test_a_change_committed_during_a_fold_or_a_rebuild_is_not_lost(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
) -> None:
    """A writer outside the run lock (a hand edit, an import) inserts a change and commits while a
    reader folds, and again while a rebuild runs: the fold does not take the uncommitted copy, and
    the rebuild waits for the writer; either way the next reader's summary equals a rebuild."""

    def insert_change(conn: Connection, event: str, hours: int) -> None:
        conn.execute(insert(models.lead_status_changes), [{
            "event_id": event, "lead_id": 1000, "created_at": BASE + timedelta(hours=hours),
            "before_pipeline_id": 10, "before_status_id": 101, "after_pipeline_id": 10,
            "after_status_id": 102 + hours % 2}])  # fmt: skip

    with prop_engine.connect() as setup, setup.begin():
        write(setup, World([], [], []))
        setup.execute(text("DELETE FROM lead_paths_tail"))
        insert_change(setup, "w0", 0)
        rebuild_paths(setup, funnel)
    try:
        with prop_engine.connect() as writer, prop_engine.connect() as reader:
            writer.begin()
            insert_change(writer, "w1", 1)  # not committed yet
            with reader.begin():
                keep_paths(reader, funnel)
            writer.commit()
            with reader.begin():
                assert keep_paths(reader, funnel) == 1  # the fold after the commit takes it
            writer.begin()
            insert_change(writer, "w2", 2)
            with reader.begin():  # the rebuild waits for the writer's commit
                pid = reader.execute(text("SELECT pg_backend_pid()")).scalar_one()
                errors: list[BaseException] = []
                rebuilding = threading.Thread(target=_rebuild_into, args=(reader, funnel, errors))
                rebuilding.start()
                assert _lock_awaited(prop_engine, pid) == "lead_paths_tail"
                writer.commit()
                rebuilding.join(60)
                assert not rebuilding.is_alive()
                assert errors == []
            with reader.begin():
                keep_paths(reader, funnel)
                kept = _paths(reader)
                assert list(kept["change_at"][0]) == [BASE + timedelta(hours=h) for h in range(3)]
                rebuild_paths(reader, funnel)
                pd.testing.assert_frame_equal(kept, _paths(reader))
    finally:
        with prop_engine.connect() as conn, conn.begin():
            write(conn, World([], [], []))
            conn.execute(
                text("DELETE FROM lead_paths; DELETE FROM lead_paths_tail; DELETE FROM lead_paths_dirty")
            )


def test_a_tail_longer_than_a_fold_is_worth_is_rebuilt_instead(
    prop_engine: Engine,  # noqa: F811
    funnel: Funnel,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fold limit is exact: a tail of as many changes as the limit is folded (only its leads
    written), one more is rebuilt (every lead written); a heap too small to hold that many rows is
    not counted at all, and a sync's check then leaves the tail be."""

    def changes(first: int, n: int) -> None:
        rows = [{"event_id": f"t{first + i}", "lead_id": first + i, "created_at": BASE,
                 "before_pipeline_id": 10, "before_status_id": 101, "after_pipeline_id": 10,
                 "after_status_id": 102} for i in range(n)]  # fmt: skip
        conn.execute(insert(models.lead_status_changes), rows)

    with prop_engine.connect() as conn, conn.begin():
        write(conn, World([], [], []))
        changes(1000, 1)
        rebuild_paths(conn, funnel)
        monkeypatch.setattr(paths, "FOLD_SHARE", 0.0)
        monkeypatch.setattr(paths, "FOLD_AT_LEAST", 5)
        changes(2000, 5)
        assert keep_paths(conn, funnel) == 5  # folded: the five new leads only
        changes(3000, 6)
        assert keep_after_sync(conn)  # a sync forgets it
        assert stored_fingerprint(conn) is None
        assert keep_paths(conn, funnel) == 12  # rebuilt: every lead
        monkeypatch.setattr(paths, "FOLD_AT_LEAST", 10_000)  # 10,000 rows need more than a page
        changes(4000, 20)
        assert not keep_after_sync(conn)
        assert keep_paths(conn, funnel) == 20
        conn.rollback()
