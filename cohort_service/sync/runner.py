"""One sync or resync run: lock, reference data, leads and events in parallel, deletions, summary.

Order matters only on the first run, where the events' first window starts a day before the
oldest lead (one cheap request learns it); afterwards leads and events share the in-flight slots.
Every page commits with the checkpoint that covers it, so killing the process at any moment loses
at most the pages in flight; the next run resumes from the checkpoints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update

from cohort_service.amocrm.client import AmoClient, build_client
from cohort_service.amocrm.pagination import Page, Paginator
from cohort_service.amocrm.prefetch import run_paged
from cohort_service.amocrm.queries import leads_list
from cohort_service.amocrm.stats import StatsSnapshot
from cohort_service.cohorts.paths import keep_after_sync
from cohort_service.config import Settings
from cohort_service.db import models
from cohort_service.db.engine import get_engine
from cohort_service.db.lock import run_lock
from cohort_service.db.migrate import upgrade
from cohort_service.db.upserts import apply_delete_restore_events
from cohort_service.sync import leads as leads_stream
from cohort_service.sync.bookmarks import history_start
from cohort_service.sync.events import EventsStream
from cohort_service.sync.leads import LeadsStream
from cohort_service.sync.progress import LeadsProgress, rate_text
from cohort_service.sync.reference import fetch_reference, store_reference
from cohort_service.ui import NULL_PROGRESS, ProgressSink

HISTORY_SAMPLE = 250  # the oldest leads looked at to find where history plausibly starts


@dataclass
class SyncSummary:
    kind: str
    leads_mode: str = ""
    leads_new: int = 0
    leads_changed: int = 0
    leads_deleted: int = 0
    status_changes_new: int = 0
    lead_events_new: int = 0
    events_removed: int = 0
    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    pace_rps: float = 0.0  # the limiter's pace at the end: the configured rate unless 429s lowered it
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["requests_per_second"] = round(self.requests_per_second, 2)
        data["seconds"] = round(self.seconds, 2)
        return data

    def lines(self) -> list[str]:
        return [
            f"{self.kind} done in {self.seconds:.1f} s ({self.leads_mode} leads pull)",
            f"leads: {self.leads_new} new, {self.leads_changed} changed, {self.leads_deleted} marked deleted",
            f"events: {self.status_changes_new} new stage changes, {self.lead_events_new} new lead events"
            + (f", {self.events_removed} stale rows removed" if self.events_removed else ""),
            f"requests: {self.requests} ({self.requests_per_second:.2f}/s), "
            f"{self.rate_limited} answered 429, {self.retries} retried, pace {self.pace_rps:.2f}/s",
            *(f"warning: {w}" for w in self.warnings),
        ]


# Cleaned values are listed one per line up to this many, then counted.
REPAIRS_SHOWN = 20


def _at_most(notes: list[str], shown: int) -> list[str]:
    rest = len(notes) - shown
    return notes[:shown] + ([f"… and {rest} more values cleaned the same way"] if rest > 0 else [])


def run_sync(
    settings: Settings,
    *,
    repair: bool = False,
    since: datetime | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    wait_s: float = 0.0,
    client: AmoClient | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SyncSummary:
    """``sync`` (incremental; the first run is full) or, with ``repair``, ``resync [--since]``.

    The run's signpost (where this run's windows end) is amoCRM's own clock, read from the Date
    header of the account request; ``clock`` overrides it (tests), local time is the fallback.
    """
    engine = get_engine(settings)
    upgrade(engine)
    kind = "resync" if repair else "sync"
    with run_lock(engine, kind, wait_s=wait_s):
        run_id = _start_run(engine, kind)
        own_client = client is None
        api = client or build_client(settings, engine=engine)
        try:
            summary = _sync(
                engine, api, settings, kind=kind, repair=repair, since=since, progress=progress, clock=clock
            )
        except BaseException as exc:
            _finish_run(engine, run_id, "failed", {}, error=str(exc)[:500] or type(exc).__name__)
            raise
        finally:
            if own_client:
                api.close()
        _finish_run(engine, run_id, "ok", summary.as_dict())
    return summary


def _start_run(engine: Engine, kind: str) -> int:
    """Record the run; a run still marked running was killed (we hold the lock, so it is not alive)."""
    with engine.begin() as conn:
        conn.execute(
            update(models.sync_runs)
            .where(models.sync_runs.c.status == "running")
            .values(status="interrupted", finished_at=func.now())
        )
        return int(
            conn.execute(
                insert(models.sync_runs)
                .values(kind=kind, started_at=func.now(), status="running")
                .returning(models.sync_runs.c.id)
            ).scalar_one()
        )


def _finish_run(
    engine: Engine, run_id: int, status: str, stats: dict[str, Any], error: str | None = None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(models.sync_runs)
            .where(models.sync_runs.c.id == run_id)
            .values(finished_at=func.now(), status=status, stats=stats, error=error)
        )


def _sync(
    engine: Engine,
    api: AmoClient,
    settings: Settings,
    *,
    kind: str,
    repair: bool,
    since: datetime | None,
    progress: ProgressSink,
    clock: Callable[[], datetime] | None,
) -> SyncSummary:
    started, before = time.monotonic(), api.stats.snapshot()
    amo = settings.amocrm
    summary = SyncSummary(kind=kind)
    with engine.connect() as conn:
        # Every page commits with its checkpoint; a database crash may lose the last few commits
        # but never splits one, and the next run re-reads them. Not waiting for the WAL flush
        # on each commit is the difference between keeping up with the API and not.
        conn.execute(text("SET synchronous_commit = off"))
        progress.task("reference", "reference data", total=5)
        ref = fetch_reference(api, max_in_flight=amo.max_in_flight)
        now = clock() if clock is not None else (api.server_time or datetime.now(UTC))
        store_reference(conn, ref)
        conn.commit()
        summary.warnings += ref.warnings
        progress.update("reference", completed=5)

        leads = LeadsStream(
            conn,
            api,
            signpost=now,
            overlap=amo.leads_overlap,
            repair=repair,
            since=since,
            filter_enabled=ref.account.is_api_filter_enabled,
        )
        evts = EventsStream(conn, signpost=now, overlap=amo.events_overlap, repair=repair, since=since)
        conn.commit()
        lead_queries = leads.queries()
        bar = LeadsProgress(progress)
        bar.start(*_leads_expected(conn, leads))
        evts.on_progress = lambda _n: progress.update("events", extra=rate_text(api, before))
        event_queries, history_note = _event_queries(conn, api, evts, progress)
        if history_note:
            summary.warnings.append(history_note)
        # A quiet incremental run expects a page or two per query: never guess at pages that may
        # not exist. A full pull keeps idle slots busy with the next pages.
        speculative = 0 if leads.result.mode == "incremental" else None

        def on_page(paginator: Paginator[Any], page: Page[Any]) -> None:
            if evts.owns(paginator):
                evts.on_page(paginator, page)
            else:
                leads.on_page(paginator, page)
                bar.page(len(page.items), page.total_items, rate_text(api, before))

        def on_done(paginator: Paginator[Any]) -> None:
            if evts.owns(paginator):
                evts.on_done(paginator)
                progress.update("events", advance=1)
            else:
                leads.on_done(paginator)
                bar.finish(rate_text(api, before))

        run_paged(
            [*lead_queries, *event_queries],
            api.get,
            max_in_flight=amo.max_in_flight,
            on_page=on_page,
            on_done=on_done,
            max_speculative=speculative,
        )
        trashed = leads_stream.sync_trash(conn, api, max_in_flight=amo.max_in_flight) if repair else 0
        deleted_by_events = apply_delete_restore_events(conn)
        keep_after_sync(conn)  # the report folds what the sync copied, unless that is a rebuild's work
        conn.commit()

    return _summarize(
        summary, leads, evts, api=api, before=before, deleted=trashed + deleted_by_events, started=started
    )


def _summarize(
    summary: SyncSummary,
    leads: LeadsStream,
    evts: EventsStream,
    *,
    api: AmoClient,
    before: StatsSnapshot,
    deleted: int,
    started: float,
) -> SyncSummary:
    """The run's figures, once every page is written (``deleted``: by the trash and by events)."""
    stats: StatsSnapshot = api.stats.snapshot() - before
    summary.leads_mode = leads.result.mode
    summary.warnings += _at_most(leads.result.repairs, REPAIRS_SHOWN)
    summary.leads_new = leads.result.counts.inserted
    summary.leads_changed = leads.result.counts.updated
    summary.leads_deleted = deleted + leads.result.trashed
    summary.status_changes_new = evts.result.status_changes.inserted
    summary.lead_events_new = evts.result.lead_events.inserted
    summary.events_removed = evts.result.removed
    summary.requests, summary.rate_limited, summary.retries = (
        stats.requests,
        stats.rate_limited,
        stats.retries,
    )
    summary.pace_rps = round(api.limiter.rate, 2)
    summary.seconds = time.monotonic() - started
    return summary


def _event_queries(
    conn: Connection, api: AmoClient, evts: EventsStream, progress: ProgressSink
) -> tuple[list[Paginator[Any]], str | None]:
    """Plan the event windows; a full read of history starts a day before the oldest plausible lead.

    The oldest leads are the ones we hold or (empty database) the first page amoCRM lists by
    creation, one request. Returns the windows and, when outlying leads were left before the
    start, a warning saying so.
    """
    created = conn.execute(
        select(models.leads.c.created_at).order_by(models.leads.c.created_at).limit(HISTORY_SAMPLE)
    ).scalars()
    oldest = list(created)
    count = conn.execute(select(func.count()).select_from(models.leads)).scalar_one()
    conn.commit()
    if not oldest:
        probe = leads_list(limit=HISTORY_SAMPLE, order=("created_at", "asc"))
        oldest = sorted(lead.created_at for lead in api.read(probe, stop=lambda _page: True))
    start = history_start(oldest)
    evts.history_start, evts.lead_count = start.start, int(count)
    queries: list[Paginator[Any]] = list(evts.queries())
    progress.task("events", "event windows", total=len(queries))
    return queries, start.warning() if evts.reads_all_history else None


def _leads_expected(conn: Connection, leads: LeadsStream) -> tuple[int, int | None]:
    """Where the leads bar starts: the leads a killed full pull already wrote, and for a full pull
    the leads stored now as its expected total (the account's size at the last pull; none on the
    first, where the database holds only what a killed pull wrote)."""
    if leads.result.mode != "full":
        return 0, None
    already = leads.pages_done * leads_stream.PAGE_LIMIT
    stored = conn.execute(
        select(func.count()).select_from(models.leads).where(models.leads.c.is_deleted.is_(False))
    ).scalar_one()
    conn.commit()
    return already, int(stored) if stored > already else None
