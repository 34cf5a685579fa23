"""The synced tables' columns, in the order a row lists them, and the one way to fill a row.

Declared once for the two places that build these rows from different sources: sync (from amoCRM's
parsed objects) and the simulator's ground truth (from its own account). Both name their attributes
after the columns, so a row is the object's attributes plus the few values that come from elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ACCOUNT = (
    "id",
    "name",
    "subdomain",
    "timezone",
    "currency",
    "is_api_filter_enabled",
    "is_loss_reason_enabled",
    "is_unsorted_on",
)
USER = ("id", "name", "email", "is_admin", "is_active", "group_id")
PIPELINE = ("id", "name", "sort", "is_main", "is_unsorted_on", "is_archive")
STATUS = ("pipeline_id", "status_id", "name", "sort", "type", "color", "is_editable")
CUSTOM_FIELD = ("id", "name", "code", "type", "sort")
ENUM = ("field_id", "enum_id", "value", "sort", "code")
LOSS_REASON = ("id", "name", "sort")
LEAD = (
    "id",
    "name",
    "pipeline_id",
    "status_id",
    "responsible_user_id",
    "group_id",
    "price",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "closed_at",
    "loss_reason_id",
    "is_deleted",
    "deleted_at",
    "custom_fields",
    "tags",
)
STATUS_CHANGE = (
    "event_id",
    "lead_id",
    "created_at",
    "before_pipeline_id",
    "before_status_id",
    "after_pipeline_id",
    "after_status_id",
    "created_by",
)
LEAD_EVENT = ("event_id", "lead_id", "type", "created_at", "created_by")


def row_of(source: object, columns: Sequence[str], **given: Any) -> dict[str, Any]:
    """``columns`` in order: the value in ``given`` where there is one, else the attribute of that name."""
    return {c: given[c] if c in given else getattr(source, c) for c in columns}
