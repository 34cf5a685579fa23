"""amoCRM objects → rows of our tables. Pure, so the mapping is tested without a database."""

from __future__ import annotations

from typing import Any

from cohort_service.amocrm.schemas import (
    Account,
    CustomField,
    Event,
    Lead,
    LossReason,
    Pipeline,
    User,
)
from cohort_service.db import columns

LEAD_EVENT_TYPES = ("lead_added", "lead_deleted", "lead_restored")
STATUS_EVENT = "lead_status_changed"
SYNCED_EVENT_TYPES = (STATUS_EVENT, *LEAD_EVENT_TYPES)


def account_row(account: Account) -> dict[str, Any]:
    return columns.row_of(account, columns.ACCOUNT)


def user_row(user: User) -> dict[str, Any]:
    return columns.row_of(user, columns.USER)


def pipeline_row(pipeline: Pipeline) -> dict[str, Any]:
    return columns.row_of(pipeline, columns.PIPELINE)


def status_rows(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [
        columns.row_of(s, columns.STATUS, pipeline_id=pipeline.id, status_id=s.id) for s in pipeline.statuses
    ]


def custom_field_row(field: CustomField) -> dict[str, Any]:
    return columns.row_of(field, columns.CUSTOM_FIELD)


def enum_rows(field: CustomField) -> list[dict[str, Any]]:
    return [columns.row_of(e, columns.ENUM, field_id=field.id, enum_id=e.id) for e in field.enums]


def loss_reason_row(reason: LossReason) -> dict[str, Any]:
    return columns.row_of(reason, columns.LOSS_REASON)


def lead_row(lead: Lead) -> dict[str, Any]:
    """A lead as the list endpoint shows it: alive (the list never shows the trash)."""
    return columns.row_of(
        lead,
        columns.LEAD,
        is_deleted=False,
        deleted_at=None,
        custom_fields=lead.custom_fields_values,
        tags=[{"id": t.id, "name": t.name} for t in lead.tags],
    )


def status_change_row(event: Event) -> dict[str, Any]:
    if event.after is None:  # parse_event guarantees it for this type; guard the invariant anyway
        raise ValueError(f"event {event.id}: lead_status_changed without value_after")
    return {
        "event_id": event.id,
        "lead_id": event.entity_id,
        "created_at": event.created_at,
        "before_pipeline_id": event.before.pipeline_id if event.before else None,
        "before_status_id": event.before.status_id if event.before else None,
        "after_pipeline_id": event.after.pipeline_id,
        "after_status_id": event.after.status_id,
        "created_by": event.created_by,
    }


def lead_event_row(event: Event) -> dict[str, Any]:
    return columns.row_of(event, columns.LEAD_EVENT, event_id=event.id, lead_id=event.entity_id)


def split_events(events: list[Event]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Status changes and lead lifecycle events; anything else the API sent is not ours to keep."""
    changes = [status_change_row(e) for e in events if e.type == STATUS_EVENT and e.entity_type == "lead"]
    lifecycle = [lead_event_row(e) for e in events if e.type in LEAD_EVENT_TYPES and e.entity_type == "lead"]
    return changes, lifecycle
