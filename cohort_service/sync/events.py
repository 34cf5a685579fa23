"""The events stream: stage history and lead lifecycle events, in ``created_at`` windows.

amoCRM documents no order for /api/v4/events and pages by offset, so the history is cut into
time windows that are fetched in parallel and upserted by event id. A window is half-open
``[a, b)`` in Unix seconds and is requested as ``from=a-1, to=b``: whatever the (undocumented)
inclusivity of the bounds, every event of ``[a, b)`` comes back, and repeats are harmless.

The checkpoint holds the plan (windows, which are done); the watermark is the end of the done
prefix, so a killed run re-fetches only the windows it had not finished. The first run covers the
account's whole history: one open-ended query for everything before the oldest lead, then windows
up to now.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from cohort_service.amocrm.pagination import Page, Paginator
from cohort_service.amocrm.queries import events_list
from cohort_service.amocrm.schemas import Event
from cohort_service.db.upserts import UpsertCounts, upsert_lead_events, upsert_status_changes
from cohort_service.sync import state
from cohort_service.sync.rows import SYNCED_EVENT_TYPES, split_events

STREAM = "events"
PAGE_LIMIT = 100
EVENTS_PER_LEAD = 6  # lead_added + ~5 stage changes: sizes first-run windows
EVENTS_PER_WINDOW = 2_000
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=31)
WEEK_S = 7 * 86400
PREHISTORY = -1  # window index of "everything before the oldest lead"


def _ts(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def _dt(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def plan_windows(start: int, end: int, *, expected_events: int) -> list[list[int]]:
    """Split ``[start, end)`` into windows of about EVENTS_PER_WINDOW expected events each."""
    if end <= start:
        return []
    span = end - start
    wanted = math.ceil(expected_events / EVENTS_PER_WINDOW)
    at_least = math.ceil(span / MAX_WINDOW.total_seconds())  # no window longer than MAX_WINDOW
    at_most = math.floor(span / MIN_WINDOW.total_seconds())  # none shorter than MIN_WINDOW
    count = max(1, at_least, min(wanted, at_most))
    edges = [start + round(span * i / count) for i in range(count)] + [end]
    return [[a, b] for a, b in itertools.pairwise(edges) if b > a]


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
    oldest_lead: datetime | None = None
    lead_count: int = 0
    on_progress: Callable[[int], None] = lambda _n: None
    result: EventsResult = field(default_factory=EventsResult)
    _checkpoint: state.Checkpoint = field(init=False)
    _plan: dict[str, Any] = field(init=False, default_factory=dict)
    _seen: dict[int, set[str]] = field(init=False, default_factory=dict)
    _windows: dict[Paginator[Event], int] = field(init=False, default_factory=dict)

    def queries(self) -> list[Paginator[Event]]:
        self._checkpoint = state.load(self.conn, STREAM)
        self.conn.commit()
        self._plan = self._make_plan(self._checkpoint.state.get("plan"))
        self._checkpoint.state["plan"] = self._plan
        state.save(self.conn, self._checkpoint)
        self.conn.commit()
        done = set(self._plan["done"])
        queries = []
        if self._plan["pre_end"] is not None and PREHISTORY not in done:
            queries.append(self._query(PREHISTORY, None, self._plan["pre_end"]))
        for index, (a, b) in enumerate(self._plan["windows"]):
            if index not in done:
                queries.append(self._query(index, a - 1, b))
        return queries

    def _make_plan(self, previous: dict[str, Any] | None) -> dict[str, Any]:
        end = _ts(self.signpost)
        if previous and (not self.repair or previous.get("repair")):
            # Resume a killed run's windows, then continue to now.
            done = set(previous["done"])
            windows = [w for i, w in enumerate(previous["windows"]) if i not in done]
            last = previous["windows"][-1][1] if previous["windows"] else end
            tail_start = last - int(self.overlap.total_seconds())
            windows += plan_windows(tail_start, end, expected_events=EVENTS_PER_WINDOW)
            return {
                "windows": windows,
                "done": [],
                "pre_end": previous.get("pre_end") if PREHISTORY not in done else None,
                "repair": previous.get("repair", False),
            }
        watermark = self._checkpoint.watermark
        pre_end: int | None = None
        if self.since is not None:
            start = _ts(self.since)
        elif watermark is not None and not self.repair:
            start = _ts(watermark) - int(self.overlap.total_seconds())
        else:
            oldest = self.oldest_lead or self.signpost
            start = pre_end = _ts(oldest - timedelta(days=1))
        full = pre_end is not None or self.since is not None
        expected = self.lead_count * EVENTS_PER_LEAD if full else EVENTS_PER_WINDOW
        if full and not self.lead_count:  # nothing known yet about density: weekly windows
            expected = math.ceil((end - start) / WEEK_S) * EVENTS_PER_WINDOW
        windows = plan_windows(start, max(end, start + 1), expected_events=expected)
        return {"windows": windows, "done": [], "pre_end": pre_end, "repair": self.repair}

    def _query(self, index: int, created_from: int | None, created_to: int) -> Paginator[Event]:
        query = events_list(
            types=list(SYNCED_EVENT_TYPES),
            created_from=None if created_from is None else _dt(created_from),
            created_to=_dt(created_to),
            limit=PAGE_LIMIT,
        )
        paginator = Paginator(query)
        self._windows[paginator] = index
        return paginator

    def owns(self, paginator: Paginator[Any]) -> bool:
        return paginator in self._windows

    def on_page(self, paginator: Paginator[Event], page: Page[Event]) -> None:
        events = page.items
        changes, lifecycle = split_events(events)
        self.result.status_changes += upsert_status_changes(self.conn, changes, repair=self._plan["repair"])
        self.result.lead_events += upsert_lead_events(self.conn, lifecycle, repair=self._plan["repair"])
        if self._plan["repair"]:
            self._seen.setdefault(self._windows[paginator], set()).update(e.id for e in events)
        self.conn.commit()
        self.on_progress(len(events))

    def on_done(self, paginator: Paginator[Event]) -> None:
        """The window is complete: mark it done with the same commit as its repair."""
        index = self._windows.pop(paginator)
        if self._plan["repair"]:
            self.result.removed += self._remove_unlisted(index, self._seen.pop(index, set()))
        self._plan["done"].append(index)
        windows = self._plan["windows"]
        done = set(self._plan["done"])
        prefix = 0
        while prefix < len(windows) and prefix in done:
            prefix += 1
        history_done = self._plan["pre_end"] is None or PREHISTORY in done
        finished = prefix == len(windows) and history_done
        if prefix and history_done:
            mark = _dt(windows[prefix - 1][1])
            current = self._checkpoint.watermark
            repair = bool(self._plan["repair"])
            self._checkpoint.watermark = mark if current is None or repair else max(current, mark)
        if finished:
            self._checkpoint.state.pop("plan", None)
        else:
            self._checkpoint.state["plan"] = self._plan
        state.save(self.conn, self._checkpoint)
        self.conn.commit()

    def _remove_unlisted(self, index: int, listed: set[str]) -> int:
        """Resync repairs hand edits: rows inside a fetched window that amoCRM did not list go."""
        if index == PREHISTORY:
            lower, upper = None, _dt(self._plan["pre_end"])
        else:
            a, b = self._plan["windows"][index]
            lower, upper = _dt(a), _dt(b)
        removed = 0
        for table in ("lead_status_changes", "lead_events"):
            bound = "" if lower is None else "AND created_at >= :lower"
            result = self.conn.execute(
                text(f"DELETE FROM {table} WHERE created_at < :upper {bound} AND NOT (event_id = ANY(:ids))"),
                {"lower": lower, "upper": upper, "ids": sorted(listed)},
            )
            removed += int(result.rowcount or 0)
        return removed
