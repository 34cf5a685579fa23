"""amoCRM API v4 objects as frozen dataclasses, parsed strictly from the documented JSON.

Only the fields the service uses are kept; unknown keys are ignored so additive API changes
don't break a sync. Every timestamp becomes a tz-aware UTC ``datetime``. A field with the wrong
type raises ``AmoPayloadError`` naming entity, id and field (see ``fields.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from cohort_service.amocrm.fields import INT16, INT32, Fields, storable_json

WON_STATUS_ID = 142
LOST_STATUS_ID = 143


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    subdomain: str
    timezone: str
    is_api_filter_enabled: bool
    is_loss_reason_enabled: bool
    is_unsorted_on: bool
    currency: str | None
    current_user_id: int | None
    repairs: tuple[str, ...] = field(default=(), compare=False)  # text cleaned (see Lead.repairs)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    email: str | None
    is_admin: bool
    is_active: bool
    group_id: int | None
    repairs: tuple[str, ...] = field(default=(), compare=False)  # text cleaned (see Lead.repairs)


@dataclass(frozen=True, slots=True)
class Status:
    id: int
    pipeline_id: int
    name: str
    sort: int
    type: int  # 1 = Unsorted ("Неразобранное"), 0 = a normal stage
    color: str | None
    is_editable: bool


@dataclass(frozen=True, slots=True)
class Pipeline:
    id: int
    name: str
    sort: int
    is_main: bool
    is_unsorted_on: bool
    is_archive: bool
    statuses: tuple[Status, ...]
    repairs: tuple[str, ...] = field(default=(), compare=False)  # text cleaned (see Lead.repairs)


@dataclass(frozen=True, slots=True)
class FieldEnum:
    id: int
    value: str
    sort: int
    code: str | None


@dataclass(frozen=True, slots=True)
class CustomField:
    id: int
    name: str
    code: str | None
    type: str
    sort: int
    enums: tuple[FieldEnum, ...]
    repairs: tuple[str, ...] = field(default=(), compare=False)  # text cleaned (see Lead.repairs)


@dataclass(frozen=True, slots=True)
class LossReason:
    id: int
    name: str
    sort: int
    repairs: tuple[str, ...] = field(default=(), compare=False)  # text cleaned (see Lead.repairs)


@dataclass(frozen=True, slots=True)
class Tag:
    id: int | None
    name: str
    color: str | None


@dataclass(frozen=True, slots=True)
class Lead:
    id: int
    name: str
    price: int | float
    responsible_user_id: int | None
    group_id: int | None
    status_id: int
    pipeline_id: int
    loss_reason_id: int | None
    source_id: int | None
    created_by: int | None
    updated_by: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    closest_task_at: datetime | None
    is_deleted: bool
    score: int | None
    account_id: int | None
    labor_cost: int | None
    # amoCRM's own list shape, kept for the JSONB column: [{field_id, field_name, field_code,
    # field_type, values: [{value, enum_id?, enum_code?}]}]; empty when amoCRM sends null.
    custom_fields_values: list[dict[str, Any]] = field(hash=False)
    tags: tuple[Tag, ...] = ()
    # Text cleaned because Postgres cannot store it (NUL, lone surrogates), one note each.
    repairs: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class DeletedLead:
    """The reduced model ``with=only_deleted`` returns for leads in the trash."""

    id: int
    updated_at: datetime
    updated_by: int | None
    is_deleted: bool


@dataclass(frozen=True, slots=True)
class StatusRef:
    pipeline_id: int
    status_id: int


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    type: str
    entity_id: int
    entity_type: str
    created_by: int | None
    created_at: datetime
    # Only for lead_status_changed: before is None when amoCRM sends an empty value_before
    # (a lead created straight into a stage); after is always set for that type.
    before: StatusRef | None = None
    after: StatusRef | None = None


def parse_account(data: object) -> Account:
    f = Fields("account", data)
    account_id = f.identify()
    settings = f.child("_embedded", required=True).child("datetime_settings", required=True)
    return Account(
        id=account_id,
        name=f.text("name"),
        subdomain=f.text("subdomain"),
        timezone=settings.text("timezone"),
        is_api_filter_enabled=f.flag("is_api_filter_enabled", default=False),
        is_loss_reason_enabled=f.flag("is_loss_reason_enabled", default=False),
        is_unsorted_on=f.flag("is_unsorted_on", default=False),
        currency=f.opt_text("currency"),
        current_user_id=f.opt_integer("current_user_id"),
        repairs=tuple(f.repairs),
    )


def parse_user(data: object, position: str = "") -> User:
    f = Fields("user", data, position=position)
    user_id = f.identify()
    rights = f.child("rights", required=True)
    return User(
        id=user_id,
        name=f.text("name"),
        email=f.opt_text("email"),
        is_admin=rights.flag("is_admin", default=False),
        is_active=rights.flag("is_active", default=True),
        group_id=rights.opt_integer("group_id"),
        repairs=tuple(f.repairs),
    )


def _parse_status(data: object, pipeline_id: int, position: str, repairs: list[str]) -> Status:
    f = Fields(f"pipeline {pipeline_id} status", data, position=position, repairs=repairs)
    status_id = f.identify()
    owner = f.opt_integer("pipeline_id")
    if owner is not None and owner != pipeline_id:
        raise f.fail("pipeline_id", f"is {owner} inside pipeline {pipeline_id}")
    return Status(
        id=status_id,
        pipeline_id=pipeline_id,
        name=f.text("name"),
        sort=f.integer("sort", limit=INT32),
        type=f.integer("type", limit=INT16),
        color=f.opt_text("color"),
        is_editable=f.flag("is_editable", default=True),
    )


def parse_pipeline(data: object, position: str = "") -> Pipeline:
    f = Fields("pipeline", data, position=position)
    pipeline_id = f.identify()
    raw = f.child("_embedded", required=True).array("statuses", required=True)
    return Pipeline(
        id=pipeline_id,
        name=f.text("name"),
        sort=f.integer("sort", limit=INT32),
        is_main=f.flag("is_main", default=False),
        is_unsorted_on=f.flag("is_unsorted_on", default=False),
        is_archive=f.flag("is_archive", default=False),
        statuses=tuple(_parse_status(x, pipeline_id, f"item {i}", f.repairs) for i, x in enumerate(raw)),
        repairs=tuple(f.repairs),  # the statuses' too: read above, before this argument
    )


def parse_custom_field(data: object, position: str = "") -> CustomField:
    f = Fields("custom field", data, position=position)
    field_id = f.identify()
    enums = []
    for i, raw in enumerate(f.array("enums")):
        e = f.item("enums", i, raw)
        enums.append(
            FieldEnum(e.integer("id"), e.text("value"), e.integer("sort", limit=INT32), e.opt_text("code"))
        )
    return CustomField(
        id=field_id,
        name=f.text("name"),
        code=f.opt_text("code"),
        type=f.text("type"),
        sort=f.integer("sort", limit=INT32),
        enums=tuple(enums),
        repairs=tuple(f.repairs),
    )


def parse_loss_reason(data: object, position: str = "") -> LossReason:
    f = Fields("loss reason", data, position=position)
    reason_id = f.identify()
    return LossReason(
        id=reason_id, name=f.text("name"), sort=f.integer("sort", limit=INT32), repairs=tuple(f.repairs)
    )


def _custom_values(f: Fields) -> list[dict[str, Any]]:
    """Check the shape amoCRM documents, keep the values as sent (strings, numbers, booleans)."""
    result = []
    for i, raw in enumerate(f.array("custom_fields_values")):
        cf = f.item("custom_fields_values", i, raw)
        values = []
        for j, raw_value in enumerate(cf.array("values")):
            v = cf.item("values", j, raw_value)
            value: dict[str, Any] = {
                "value": storable_json(v.data.get("value"), partial(v.repaired, "value"))
            }
            if "enum_id" in v.data:
                value["enum_id"] = v.opt_integer("enum_id")
            if "enum_code" in v.data or "enum" in v.data:  # contacts' docs write "enum"
                value["enum_code"] = v.opt_text("enum_code") or v.opt_text("enum")
            values.append(value)
        result.append(
            {
                "field_id": cf.integer("field_id"),
                "field_name": cf.opt_text("field_name"),
                "field_code": cf.opt_text("field_code"),
                "field_type": cf.opt_text("field_type"),
                "values": values,
            }
        )
    return result


def _tags(f: Fields) -> tuple[Tag, ...]:
    embedded = f.child("_embedded")
    tags = []
    for i, raw in enumerate(embedded.array("tags")):
        t = embedded.item("tags", i, raw)
        tags.append(Tag(t.opt_integer("id"), t.text("name"), t.opt_text("color")))
    return tuple(tags)


def parse_lead(data: object, position: str = "") -> Lead:
    f = Fields("lead", data, position=position)
    lead_id = f.identify()
    return Lead(
        id=lead_id,
        name=f.opt_text("name") or "",
        price=f.number("price"),
        responsible_user_id=f.opt_integer("responsible_user_id"),
        group_id=f.opt_integer("group_id"),
        status_id=f.integer("status_id"),
        pipeline_id=f.integer("pipeline_id"),
        loss_reason_id=f.opt_integer("loss_reason_id"),
        source_id=f.opt_integer("source_id"),
        created_by=f.opt_integer("created_by"),
        updated_by=f.opt_integer("updated_by"),
        created_at=f.timestamp("created_at"),
        updated_at=f.timestamp("updated_at"),
        closed_at=f.opt_timestamp("closed_at"),
        closest_task_at=f.opt_timestamp("closest_task_at"),
        is_deleted=f.flag("is_deleted", default=False),
        score=f.opt_integer("score"),
        account_id=f.opt_integer("account_id"),
        labor_cost=f.opt_integer("labor_cost"),
        custom_fields_values=_custom_values(f),
        tags=_tags(f),
        repairs=tuple(f.repairs),
    )


def parse_deleted_lead(data: object, position: str = "") -> DeletedLead:
    f = Fields("deleted lead", data, position=position)
    lead_id = f.identify()
    return DeletedLead(
        id=lead_id,
        updated_at=f.timestamp("updated_at"),
        updated_by=f.opt_integer("updated_by"),
        is_deleted=f.flag("is_deleted", default=True),
    )


def _status_ref(f: Fields, key: str, *, required: bool) -> StatusRef | None:
    values = f.array(key, required=True)
    if not values:
        if required:
            raise f.fail(key, "is empty; a lead_status_changed event must say where the lead went")
        return None
    ref = f.item(key, 0, values[0]).child("lead_status", required=True)
    return StatusRef(pipeline_id=ref.integer("pipeline_id"), status_id=ref.integer("id"))


def parse_event(data: object, position: str = "") -> Event:
    f = Fields("event", data, position=position)
    event_id = f.identify_text()
    event_type = f.text("type")
    before = after = None
    if event_type == "lead_status_changed":
        after = _status_ref(f, "value_after", required=True)
        before = _status_ref(f, "value_before", required=False)
    return Event(
        id=event_id,
        type=event_type,
        entity_id=f.integer("entity_id"),
        entity_type=f.text("entity_type"),
        created_by=f.opt_integer("created_by"),
        created_at=f.timestamp("created_at"),
        before=before,
        after=after,
    )
