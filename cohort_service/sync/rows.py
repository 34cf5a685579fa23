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

LEAD_EVENT_TYPES = ("lead_added", "lead_deleted", "lead_restored")
STATUS_EVENT = "lead_status_changed"
SYNCED_EVENT_TYPES = (STATUS_EVENT, *LEAD_EVENT_TYPES)


def account_row(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "subdomain": account.subdomain,
        "timezone": account.timezone,
        "currency": account.currency,
        "is_api_filter_enabled": account.is_api_filter_enabled,
        "is_loss_reason_enabled": account.is_loss_reason_enabled,
        "is_unsorted_on": account.is_unsorted_on,
    }


def user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "is_admin": user.is_admin,
        "is_active": user.is_active,
        "group_id": user.group_id,
    }


def pipeline_rows(pipeline: Pipeline) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    head = {
        "id": pipeline.id,
        "name": pipeline.name,
        "sort": pipeline.sort,
        "is_main": pipeline.is_main,
        "is_unsorted_on": pipeline.is_unsorted_on,
        "is_archive": pipeline.is_archive,
    }
    statuses = [
        {
            "pipeline_id": pipeline.id,
            "status_id": s.id,
            "name": s.name,
            "sort": s.sort,
            "type": s.type,
            "color": s.color,
            "is_editable": s.is_editable,
        }
        for s in pipeline.statuses
    ]
    return head, statuses


def custom_field_rows(field: CustomField) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    head = {"id": field.id, "name": field.name, "code": field.code, "type": field.type, "sort": field.sort}
    enums = [
        {"field_id": field.id, "enum_id": e.id, "value": e.value, "sort": e.sort, "code": e.code}
        for e in field.enums
    ]
    return head, enums


def loss_reason_row(reason: LossReason) -> dict[str, Any]:
    return {"id": reason.id, "name": reason.name, "sort": reason.sort}


def lead_row(lead: Lead) -> dict[str, Any]:
    """A lead as the list endpoint shows it: alive (the list never shows the trash)."""
    return {
        "id": lead.id,
        "name": lead.name,
        "pipeline_id": lead.pipeline_id,
        "status_id": lead.status_id,
        "responsible_user_id": lead.responsible_user_id,
        "group_id": lead.group_id,
        "price": lead.price,
        "created_by": lead.created_by,
        "updated_by": lead.updated_by,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
        "closed_at": lead.closed_at,
        "loss_reason_id": lead.loss_reason_id,
        "is_deleted": False,
        "deleted_at": None,
        "custom_fields": lead.custom_fields_values,
        "tags": [{"id": t.id, "name": t.name} for t in lead.tags],
    }


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
    return {
        "event_id": event.id,
        "lead_id": event.entity_id,
        "type": event.type,
        "created_at": event.created_at,
        "created_by": event.created_by,
    }


def split_events(events: list[Event]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Status changes and lead lifecycle events; anything else the API sent is not ours to keep."""
    changes = [status_change_row(e) for e in events if e.type == STATUS_EVENT and e.entity_type == "lead"]
    lifecycle = [lead_event_row(e) for e in events if e.type in LEAD_EVENT_TYPES and e.entity_type == "lead"]
    return changes, lifecycle
