"""Dates amoCRM could not have meant, refused before a page is written (issue 16.4).

amoCRM never dates a lead or an event a year after its own clock (the server's ``Date``, which is
the sync's signpost); such a value is milliseconds sent as seconds, or garbage, and a lead "updated"
in 2100 would also hold the incremental watermark hostage. The page is refused whole, with one line
naming the entity, its id and the field; the run commits nothing of it.

Dates too far in the past are not refused here: how far back history is read is the history
bound's decision. A task's due date (``closest_task_at``) may lie ahead and is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cohort_service.amocrm.schemas import Event, Lead
from cohort_service.errors import AmoPayloadError

AHEAD = timedelta(days=366)


def _check(label: str, key: str, moment: datetime | None, now: datetime) -> None:
    if moment is not None and moment > now + AHEAD:
        seconds = int(moment.timestamp())
        raise AmoPayloadError(
            f"{label}: {key}: {seconds} is more than a year ahead (Unix seconds expected; milliseconds?)"
        )


def check_leads(leads: Iterable[Lead], now: datetime) -> None:
    for lead in leads:
        for key, moment in (("created_at", lead.created_at), ("updated_at", lead.updated_at),
                            ("closed_at", lead.closed_at)):  # fmt: skip
            _check(f"lead {lead.id}", key, moment, now)


def check_events(events: Iterable[Event], now: datetime) -> None:
    for event in events:
        _check(f"event {event.id}", "created_at", event.created_at, now)
