"""The leads stream: a full pull (first run, resync) or an incremental pull by ``updated_at``.

Full pull: ``order[id]=asc`` page by page; new leads land at the end, so pages already written stay
valid and a killed run resumes after its last committed page. The watermark is then the pull's
start (signpost): every lead updated before it was on some page.

Incremental pull: ``order[updated_at]=desc`` from the newest, stopping at the first lead older
than ``watermark - overlap``. ``filter[updated_at][from]`` is added when the account's filter
add-on is on, but never trusted: without the add-on amoCRM ignores filters, so the stop rule is
what ends the pull either way. Desc order is chosen because a lead updated mid-pull moves to the
front (seen twice, harmless) instead of shifting unseen leads past the cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from cohort_service.amocrm.client import AmoClient
from cohort_service.amocrm.pagination import Page, Paginator
from cohort_service.amocrm.prefetch import run_paged
from cohort_service.amocrm.queries import leads_list, trash_list
from cohort_service.amocrm.schemas import DeletedLead, Lead
from cohort_service.db.upserts import (
    UpsertCounts,
    mark_deleted_from_trash,
    mark_unseen_deleted,
    upsert_leads,
)
from cohort_service.sync import bookmarks, plausible, state
from cohort_service.sync.bookmarks import LeadsPull
from cohort_service.sync.rows import lead_row

STREAM = "leads"
PAGE_LIMIT = 250


@dataclass
class LeadsResult:
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    trashed: int = 0
    mode: str = ""
    repairs: list[str] = field(default_factory=list)  # text cleaned on the way in (Lead.repairs)


@dataclass
class LeadsStream:
    """Plans the leads queries for one run and writes each delivered page with its checkpoint."""

    conn: Connection
    api: AmoClient
    signpost: datetime
    overlap: timedelta
    filter_enabled: bool
    repair: bool = False
    since: datetime | None = None
    on_progress: Callable[[int], None] = lambda _n: None
    result: LeadsResult = field(default_factory=LeadsResult)
    _checkpoint: state.Checkpoint = field(init=False)
    _pull: LeadsPull | None = field(init=False, default=None)
    _seen: datetime | None = field(init=False, default=None)  # newest updated_at of an incremental pull

    def queries(self) -> list[Paginator[Lead]]:
        self._checkpoint = state.load(self.conn, STREAM)
        self.conn.commit()
        pull = bookmarks.pull_from_json(self._checkpoint.state.get("pull"))
        if bookmarks.pull_wanted(pull, repair=self.repair, since=self.since):
            self._pull = pull  # finish what a killed run started
        elif self.repair or self.since is not None or self._checkpoint.watermark is None:
            db_now = self.conn.execute(text("SELECT now()")).scalar_one()
            self._pull = LeadsPull(
                kind="since" if self.since is not None else "full",
                db_started=db_now,
                repair=self.repair,
                signpost=self.signpost,
                since=self.since,
            )
        if self._pull is not None and self._pull.kind == "full":
            self.result.mode = "full"
            return [self._full_query(self._pull.pages_done + 1)]
        if self._pull is not None and self._pull.since is not None:
            self.result.mode = "since"
            return [self._recent_query(self._pull.since)]
        watermark = self._checkpoint.watermark
        assert watermark is not None  # noqa: S101 - guaranteed by the branches above
        self.result.mode = "incremental"
        return [self._recent_query(watermark - self.overlap)]

    @property
    def pages_done(self) -> int:
        """Pages of a full pull written before this run (a killed run's), for the progress bar."""
        return self._pull.pages_done if self._pull is not None and self._pull.kind == "full" else 0

    def _full_query(self, first_page: int) -> Paginator[Lead]:
        return Paginator(leads_list(limit=PAGE_LIMIT, order=("id", "asc")), first_page=first_page)

    def _recent_query(self, since: datetime) -> Paginator[Lead]:
        updated_from = since if self.filter_enabled else None
        query = leads_list(limit=PAGE_LIMIT, order=("updated_at", "desc"), updated_from=updated_from)

        def past_watermark(page: Page[Lead]) -> bool:
            return any(lead.updated_at < since for lead in page.items)

        return Paginator(query, stop=past_watermark)

    def on_page(self, paginator: Paginator[Lead], page: Page[Lead]) -> None:
        del paginator
        leads = page.items
        plausible.check_leads(leads, self.signpost)
        self.result.repairs += [note for lead in leads for note in lead.repairs]
        self.result.counts += upsert_leads(self.conn, [lead_row(x) for x in leads], repair=self.repair)
        newest = max(lead.updated_at for lead in leads)
        if self._pull is not None:
            self._pull = bookmarks.page_written(self._pull, page.page, newest)
            self._checkpoint.state["pull"] = bookmarks.pull_to_json(self._pull)
            state.save(self.conn, self._checkpoint)
        else:
            self._seen = newest if self._seen is None else max(self._seen, newest)
        self.conn.commit()
        self.on_progress(len(leads))

    def on_done(self, paginator: Paginator[Lead]) -> None:
        """Advance the watermark only now that every page of the pull is written."""
        del paginator
        pull = self._pull
        full = pull is not None and pull.kind == "full"
        self._checkpoint.watermark = bookmarks.leads_watermark(
            self._checkpoint.watermark,
            full=full,
            seen=self._seen if pull is None else pull.max_seen,
            signpost=self.signpost if pull is None else pull.signpost,
        )
        if pull is not None and full and pull.repair:
            self.result.trashed += mark_unseen_deleted(self.conn, pull.db_started)
        self._checkpoint.state.pop("pull", None)
        state.save(self.conn, self._checkpoint)
        self.conn.commit()


def sync_trash(conn: Connection, api: AmoClient, *, max_in_flight: int = 1) -> int:
    """``with=only_deleted``: leads in amoCRM's trash are deleted here too (resync's reconciliation)."""
    marked = 0

    def on_page(_paginator: Paginator[DeletedLead], page: Page[DeletedLead]) -> None:
        nonlocal marked
        marked += mark_deleted_from_trash(conn, [x.id for x in page.items])
        conn.commit()

    trash = Paginator(trash_list(limit=PAGE_LIMIT))
    run_paged([trash], api.get, max_in_flight=max_in_flight, on_page=on_page)
    return marked
