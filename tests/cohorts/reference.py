"""An independent, deliberately plain implementation of DESIGN §5 for checking the engine.

One Python loop per lead over its path, no SQL, no pandas. Reusable by any test that knows the
rows (hand-built, generated, or the simulator's ground truth): build ``RefLead``/``RefChange``/
``RefEvent`` values and a level map (``Funnel.levels`` or your own), then call
:func:`reference_facts` and, for the Cohorts numbers, :func:`reference_counts`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

WON, LOST = 142, 143


@dataclass(frozen=True)
class RefLead:
    id: int
    created_at: datetime  # aware
    pipeline_id: int  # current (as synced)
    status_id: int
    is_deleted: bool = False
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class RefChange:
    event_id: str
    lead_id: int
    created_at: datetime
    before: tuple[int, int] | None  # (pipeline, status); None = empty value_before
    after: tuple[int, int]


@dataclass(frozen=True)
class RefEvent:
    event_id: str
    lead_id: int
    type: str  # lead_deleted | lead_restored
    created_at: datetime


@dataclass(frozen=True)
class RefFacts:
    lead_id: int
    cohort_week: date
    pipeline_id: int  # at creation
    status: tuple[int, int] | None  # as of A
    reached_at: tuple[datetime | None, ...]
    imputed: tuple[bool, ...]
    won: bool
    lost: bool
    lost_level: int | None


def _deleted(lead: RefLead, events: Sequence[RefEvent], as_of: datetime) -> bool:
    ordered = sorted(events, key=lambda e: (e.created_at, e.event_id))
    before = [e for e in ordered if e.created_at <= as_of]
    after = [e for e in ordered if e.created_at > as_of]
    if before:
        return before[-1].type == "lead_deleted"
    if after:
        return after[0].type == "lead_restored"
    return lead.is_deleted and (lead.deleted_at is None or lead.deleted_at <= as_of)


def _one(
    lead: RefLead,
    changes: Sequence[RefChange],
    *,
    levels: Mapping[tuple[int, int], int],
    k: int,
    as_of: datetime,
    tz: ZoneInfo,
) -> RefFacts:
    def level(status: tuple[int, int] | None) -> int:
        if status is None:
            return 0
        return k if status[1] == WON else levels.get(status, 0)

    ordered = sorted(changes, key=lambda c: (c.created_at, c.event_id))
    if ordered:
        initial = ordered[0].before
        pipeline = ordered[0].before[0] if ordered[0].before else ordered[0].after[0]
    else:
        initial, pipeline = (lead.pipeline_id, lead.status_id), lead.pipeline_id
    points = [(lead.created_at, initial)] + [
        (c.created_at, c.after) for c in ordered if c.created_at <= as_of
    ]
    reached: list[datetime | None] = []
    imputed: list[bool] = []
    for m in range(1, k + 1):
        times = [t for t, status in points if level(status) >= m]
        reached.append(min(times) if times else None)
        imputed.append(bool(times) and not any(level(status) == m for _, status in points))
    status = points[-1][1]
    lost = status is not None and status[1] == LOST
    local = lead.created_at.astimezone(tz).date()
    return RefFacts(
        lead_id=lead.id,
        cohort_week=local - timedelta(days=local.weekday()),
        pipeline_id=pipeline,
        status=status,
        reached_at=tuple(reached),
        imputed=tuple(imputed),
        won=status is not None and status[1] == WON,
        lost=lost,
        lost_level=max(level(s) for _, s in points) if lost else None,
    )


def reference_facts(
    leads: Iterable[RefLead],
    changes: Iterable[RefChange],
    events: Iterable[RefEvent],
    *,
    levels: Mapping[tuple[int, int], int],
    milestones: int,
    as_of: datetime,
    tz: ZoneInfo,
    first_week: date,
    pipelines: Sequence[int] | None = None,
) -> dict[int, RefFacts]:
    """Facts of every lead in the report (created in [first_week, A], alive at A, in ``pipelines``)."""
    by_lead: dict[int, list[RefChange]] = defaultdict(list)
    for change in changes:
        by_lead[change.lead_id].append(change)
    trash: dict[int, list[RefEvent]] = defaultdict(list)
    for event in events:
        if event.type in ("lead_deleted", "lead_restored"):
            trash[event.lead_id].append(event)
    start = datetime.combine(first_week, datetime.min.time(), tzinfo=tz)
    out: dict[int, RefFacts] = {}
    for lead in leads:
        if not start <= lead.created_at <= as_of or _deleted(lead, trash[lead.id], as_of):
            continue
        facts = _one(lead, by_lead[lead.id], levels=levels, k=milestones, as_of=as_of, tz=tz)
        if pipelines is None or facts.pipeline_id in pipelines:
            out[lead.id] = facts
    return out


def reference_counts(facts: Mapping[int, RefFacts], milestones: int) -> dict[date, list[int]]:
    """Per cohort week: [leads, reached milestone 1, …, reached milestone k] (weeks with leads only)."""
    counts: dict[date, list[int]] = defaultdict(lambda: [0] * (milestones + 1))
    for f in facts.values():
        row = counts[f.cohort_week]
        row[0] += 1
        for m, when in enumerate(f.reached_at, start=1):
            row[m] += when is not None
    return dict(counts)
