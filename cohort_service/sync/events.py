"""The events stream: stage history and lead lifecycle events, in ``created_at`` windows.

amoCRM documents no order for /api/v4/events and pages by offset, so the history is cut into
time windows that are fetched in parallel and upserted by event id. A window is half-open
``[a, b)`` in Unix seconds and is requested as ``from=a-1, to=b``: whatever the (undocumented)
inclusivity of the bounds, every event of ``[a, b)`` comes back, and repeats are harmless.

The checkpoint holds the plan (``bookmarks.EventsPlan``: windows, which are done); the watermark
is the end of the done prefix, so a killed run re-fetches only the windows it had not finished.
The first run covers the account's whole history: one open-ended query for everything before the
oldest plausible lead, then windows up to now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from cohort_service.amocrm.pagination import Page, Paginator
from cohort_service.amocrm.queries import events_list
from cohort_service.amocrm.schemas import Event
from cohort_service.db.upserts import UpsertCounts, upsert_lead_events, upsert_status_changes
from cohort_service.sync import bookmarks, plausible, state
from cohort_service.sync.bookmarks import EventsPlan, Window, from_unix
from cohort_service.sync.rows import SYNCED_EVENT_TYPES, split_events

STREAM = "events"
PAGE_LIMIT = 100


@dataclass
class EventsResult:
    status_changes: UpsertCounts = field(default_factory=UpsertCounts)
    lead_events: UpsertCounts = field(default_factory=UpsertCounts)
    removed: int = 0


@dataclass
class EventsStream:
    conn: Connection
    signpost: datetime
    overlap: timedelta
    repair: bool = False
    since: datetime | None = None
    history_start: datetime | None = None
    lead_count: int = 0
    on_progress: Callable[[int], None] = lambda _n: None
    result: EventsResult = field(default_factory=EventsResult)
    _checkpoint: state.Checkpoint = field(init=False)
    _plan: EventsPlan = field(init=False)
    _seen: dict[int, set[str]] = field(init=False, default_factory=dict)
    _windows: dict[Paginator[Event], Window] = field(init=False, default_factory=dict)
    reads_all_history: bool = field(init=False, default=False)  # this run planned from history_start

    def queries(self) -> list[Paginator[Event]]:
        self._checkpoint = state.load(self.conn, STREAM)
        self.conn.commit()
        self._plan = self._make_plan(bookmarks.plan_from_json(self._checkpoint.state.get("plan")))
        self._save()
        return [self._query(window) for window in self._plan.pending()]

    def _make_plan(self, previous: EventsPlan | None) -> EventsPlan:
        end = bookmarks.unix(self.signpost)
        if previous is not None and (not self.repair or previous.repair):
            return bookmarks.resume_plan(previous, end=end, overlap=self.overlap)
        plan = bookmarks.new_plan(
            end=end,
            repair=self.repair,
            since=self.since,
            watermark=self._checkpoint.watermark,
            overlap=self.overlap,
            history_start=self.history_start,
            lead_count=self.lead_count,
        )
        self.reads_all_history = plan.pre_end is not None
        return plan

    def _save(self) -> None:
        if self._plan.finished:
            self._checkpoint.state.pop("plan", None)
        else:
            self._checkpoint.state["plan"] = bookmarks.plan_to_json(self._plan)
        state.save(self.conn, self._checkpoint)
        self.conn.commit()

    def _query(self, window: Window) -> Paginator[Event]:
        query = events_list(
            types=list(SYNCED_EVENT_TYPES),
            created_from=None if window.start is None else from_unix(window.start - 1),
            created_to=from_unix(window.end),
            limit=PAGE_LIMIT,
        )
        paginator = Paginator(query)
        self._windows[paginator] = window
        return paginator

    def owns(self, paginator: Paginator[Any]) -> bool:
        return paginator in self._windows

    def on_page(self, paginator: Paginator[Event], page: Page[Event]) -> None:
        events = page.items
        plausible.check_events(events, self.signpost)
        changes, lifecycle = split_events(events)
        self.result.status_changes += upsert_status_changes(self.conn, changes, repair=self._plan.repair)
        self.result.lead_events += upsert_lead_events(self.conn, lifecycle, repair=self._plan.repair)
        if self._plan.repair:
            self._seen.setdefault(self._windows[paginator].index, set()).update(e.id for e in events)
        self.conn.commit()
        self.on_progress(len(events))

    def on_done(self, paginator: Paginator[Event]) -> None:
        """The window is complete: mark it done with the same commit as its repair."""
        window = self._windows.pop(paginator)
        if self._plan.repair:
            removed = self._remove_unlisted(window, self._seen.pop(window.index, set()))
            self.result.removed += removed
        self._plan = bookmarks.mark_done(self._plan, window.index)
        covered = self._plan.covered_until()
        if covered is not None:
            mark, current = from_unix(covered), self._checkpoint.watermark
            self._checkpoint.watermark = mark if current is None or self._plan.repair else max(current, mark)
        self._save()

    def _remove_unlisted(self, window: Window, listed: set[str]) -> int:
        """Resync repairs hand edits: rows inside a fetched window that amoCRM did not list go."""
        lower = None if window.start is None else from_unix(window.start)
        upper = from_unix(window.end)
        removed = 0
        for table in ("lead_status_changes", "lead_events"):
            bound = "" if lower is None else "AND created_at >= :lower"
            result = self.conn.execute(
                text(f"DELETE FROM {table} WHERE created_at < :upper {bound} AND NOT (event_id = ANY(:ids))"),
                {"lower": lower, "upper": upper, "ids": sorted(listed)},
            )
            removed += result.rowcount
        return removed
