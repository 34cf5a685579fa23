"""Typed sync state: a leads pull in progress and the plan of event windows, with pure functions.

Both live in a stream's checkpoint (``sync_checkpoints.state``, JSON) between runs, so a killed run
resumes where it stopped. Everything here is pure: the streams load a bookmark, ask these functions
for the next one, and save it with the rows it covers (``state.save`` in the same transaction).
The JSON keys are the ones earlier versions wrote, so a checkpoint left by an older run still
resumes.

Event windows are half-open ``[start, end)`` in Unix seconds. Window ``PREHISTORY`` is the one
open-ended query for everything before the windowed history (``pre_end``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

EVENTS_PER_LEAD = 6  # lead_added + ~5 stage changes: sizes first-run windows
EVENTS_PER_WINDOW = 2_000
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=31)
WEEK_S = 7 * 86400
PREHISTORY = -1  # window index of "everything before the windowed history"


def to_iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def unix(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# -- leads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadsPull:
    """A full or ``--since`` pull of the leads list that may span runs (killed and resumed).

    ``db_started`` is the database clock when it began (a repair marks leads not rewritten since
    then as gone); ``pages_done`` counts the pages of a full pull already written; ``max_seen`` is
    the newest ``updated_at`` written so far.
    """

    kind: Literal["full", "since"]
    db_started: datetime
    repair: bool
    signpost: datetime
    since: datetime | None = None
    pages_done: int = 0
    max_seen: datetime | None = None


def pull_from_json(data: Mapping[str, Any] | None) -> LeadsPull | None:
    if not data:
        return None
    started = from_iso(data["db_started"])
    signpost = from_iso(data["signpost"])
    if started is None or signpost is None or data.get("kind") not in ("full", "since"):
        raise ValueError(f"a leads pull bookmark without its start: {sorted(data)}")
    return LeadsPull(
        kind="full" if data["kind"] == "full" else "since",
        db_started=started,
        repair=bool(data.get("repair")),
        signpost=signpost,
        since=from_iso(data.get("since")),
        pages_done=int(data.get("pages_done") or 0),
        max_seen=from_iso(data.get("max_seen")),
    )


def pull_to_json(pull: LeadsPull) -> dict[str, Any]:
    return {
        "kind": pull.kind,
        "db_started": to_iso(pull.db_started),
        "repair": pull.repair,
        "signpost": to_iso(pull.signpost),
        "since": to_iso(pull.since),
        "pages_done": pull.pages_done,
        "max_seen": to_iso(pull.max_seen),
    }


def pull_wanted(pull: LeadsPull | None, *, repair: bool, since: datetime | None) -> bool:
    """Whether a killed run's pull is what this run would start anyway (then it is finished first).

    A plain sync finishes any pull; a resync only one of its own kind that was also a resync.
    """
    if pull is None:
        return False
    wanted = "since" if since is not None else "full"
    return not repair or (pull.kind == wanted and pull.repair)


def page_written(pull: LeadsPull, page: int, newest: datetime) -> LeadsPull:
    """The pull after one more page is written (``newest``: its latest ``updated_at``)."""
    seen = newest if pull.max_seen is None else max(pull.max_seen, newest)
    pages = page if pull.kind == "full" else pull.pages_done
    return replace(pull, max_seen=seen, pages_done=pages)


def leads_watermark(
    old: datetime | None, *, full: bool, seen: datetime | None, signpost: datetime
) -> datetime | None:
    """The leads watermark once a pull is complete.

    Every lead updated before ``min(newest seen, signpost)`` was on some page. A full pull sets it
    outright (a repair may move it back); an incremental one only ever moves it forward, and not at
    all when it saw nothing.
    """
    mark = signpost if seen is None else min(seen, signpost)
    if full:
        return mark
    if seen is None:
        return old
    return mark if old is None else max(old, mark)


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One events query: ``[start, end)``; ``start`` None for the open-ended prehistory."""

    index: int
    start: int | None
    end: int


@dataclass(frozen=True)
class EventsPlan:
    windows: tuple[tuple[int, int], ...]
    pre_end: int | None
    repair: bool
    done: frozenset[int] = field(default_factory=frozenset)

    def pending(self) -> list[Window]:
        """The windows still to read, prehistory first (older windows checkpoint first)."""
        todo = []
        if self.pre_end is not None and PREHISTORY not in self.done:
            todo.append(Window(PREHISTORY, None, self.pre_end))
        todo += [Window(i, a, b) for i, (a, b) in enumerate(self.windows) if i not in self.done]
        return todo

    def window(self, index: int) -> Window:
        if index == PREHISTORY:
            if self.pre_end is None:
                raise ValueError("this plan has no prehistory window")
            return Window(PREHISTORY, None, self.pre_end)
        a, b = self.windows[index]
        return Window(index, a, b)

    @property
    def history_done(self) -> bool:
        return self.pre_end is None or PREHISTORY in self.done

    @property
    def finished(self) -> bool:
        return self.history_done and all(i in self.done for i in range(len(self.windows)))

    def covered_until(self) -> int | None:
        """The end of the done prefix of windows (None while the prehistory or window 0 is open):
        every event created before it is written."""
        if not self.history_done:
            return None
        prefix = 0
        while prefix < len(self.windows) and prefix in self.done:
            prefix += 1
        return self.windows[prefix - 1][1] if prefix else None


def mark_done(plan: EventsPlan, index: int) -> EventsPlan:
    return replace(plan, done=plan.done | {index})


def plan_from_json(data: Mapping[str, Any] | None) -> EventsPlan | None:
    if not data:
        return None
    windows = tuple((int(a), int(b)) for a, b in data.get("windows", ()))
    pre_end = data.get("pre_end")
    return EventsPlan(
        windows=windows,
        pre_end=None if pre_end is None else int(pre_end),
        repair=bool(data.get("repair")),
        done=frozenset(int(i) for i in data.get("done", ())),
    )


def plan_to_json(plan: EventsPlan) -> dict[str, Any]:
    return {
        "windows": [[a, b] for a, b in plan.windows],
        "done": sorted(plan.done),
        "pre_end": plan.pre_end,
        "repair": plan.repair,
    }


def plan_windows(start: int, end: int, *, expected_events: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into windows of about EVENTS_PER_WINDOW expected events each."""
    if end <= start:
        return []
    span = end - start
    wanted = math.ceil(expected_events / EVENTS_PER_WINDOW)
    at_least = math.ceil(span / MAX_WINDOW.total_seconds())  # no window longer than MAX_WINDOW
    at_most = math.floor(span / MIN_WINDOW.total_seconds())  # none shorter than MIN_WINDOW
    count = max(1, at_least, min(wanted, at_most))
    edges = [start + round(span * i / count) for i in range(count)] + [end]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


def resume_plan(previous: EventsPlan, *, end: int, overlap: timedelta) -> EventsPlan:
    """A killed run's plan: its unfinished windows, then new ones from its last window to ``end``."""
    windows = [w for i, w in enumerate(previous.windows) if i not in previous.done]
    last = previous.windows[-1][1] if previous.windows else end
    windows += plan_windows(last - int(overlap.total_seconds()), end, expected_events=EVENTS_PER_WINDOW)
    return EventsPlan(
        windows=tuple(windows),
        pre_end=None if previous.history_done else previous.pre_end,
        repair=previous.repair,
    )


def new_plan(
    *,
    end: int,
    repair: bool,
    since: datetime | None,
    watermark: datetime | None,
    overlap: timedelta,
    history_start: datetime | None,
    lead_count: int,
) -> EventsPlan:
    """The windows of a fresh run.

    ``--since``: from that moment. An incremental sync: from the watermark less the overlap. A
    first run or a full resync: the whole history, i.e. one open-ended query for everything before
    ``history_start`` (a day before the oldest plausible lead; see ``history_start``) and windows
    from there on, sized by the expected event count.
    """
    pre_end: int | None = None
    if since is not None:
        start = unix(since)
    elif watermark is not None and not repair:
        start = unix(watermark) - int(overlap.total_seconds())
    else:
        start = pre_end = unix(history_start) if history_start is not None else end - 86400
    full = pre_end is not None or since is not None
    expected = lead_count * EVENTS_PER_LEAD if full else EVENTS_PER_WINDOW
    if full and not lead_count:  # nothing known yet about density: weekly windows
        expected = math.ceil((end - start) / WEEK_S) * EVENTS_PER_WINDOW
    windows = plan_windows(start, max(end, start + 1), expected_events=expected)
    return EventsPlan(windows=tuple(windows), pre_end=pre_end, repair=repair)


# -- where history starts ---------------------------------------------------------------------

# Nothing in an amoCRM account can be older than this (the same bound the payload checks use for
# any timestamp); a created_at of 0 or 1938 is a sentinel or an import artefact.
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
# Leads alone before a year without any lead are outliers, not the start of the account's history.
ISOLATION_GAP = timedelta(days=366)


@dataclass(frozen=True)
class HistoryStart:
    """Where the event windows start, and which of the oldest leads were left before it."""

    start: datetime | None
    skipped: int = 0
    oldest_skipped: datetime | None = None

    def warning(self) -> str | None:
        if not self.skipped or self.start is None or self.oldest_skipped is None:
            return None
        leads = "1 lead" if self.skipped == 1 else f"{self.skipped} leads"
        return (
            f"history: {leads} created before {self.start:%Y-%m-%d} (the oldest on "
            f"{self.oldest_skipped:%Y-%m-%d}) lie apart from the account's other leads; event windows "
            f"start at {self.start:%Y-%m-%d} and everything older is read in one query"
        )


def history_start(oldest_created: Sequence[datetime]) -> HistoryStart:
    """Where a full read of the events windows from, given the oldest leads' ``created_at`` (sorted).

    The oldest *plausible* lead: not before ``EARLIEST_PLAUSIBLE`` and not followed by a year
    without leads. One lead dated 1938 must not cut 88 years into monthly windows (a request
    each); the events before the start are still read, by the one open-ended prehistory query.
    """
    if not oldest_created:
        return HistoryStart(None)
    first = 0
    for i, moment in enumerate(oldest_created):
        if moment < EARLIEST_PLAUSIBLE:
            first = i + 1
        elif i > first and moment - oldest_created[i - 1] > ISOLATION_GAP:
            first = i
    # When every one we saw is implausible, the earliest plausible moment is all we know.
    plausible = first < len(oldest_created)
    start = oldest_created[first] - timedelta(days=1) if plausible else EARLIEST_PLAUSIBLE
    if first == 0:
        return HistoryStart(start)
    return HistoryStart(start, skipped=first, oldest_skipped=oldest_created[0])
