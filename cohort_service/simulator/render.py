"""JSON objects for leads and events, built from the numpy columns only when a page asks for them.

Key order and JSON types follow the real samples (the gormonn leads page, the documented event),
because a strict client notices a string where an int was, and a human diffing payloads notices order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cohort_service.simulator.catalog import PRODUCTS
from cohort_service.simulator.hal import Ctx
from cohort_service.simulator.model import (
    EV_ADDED,
    EV_CONTACT,
    EV_FIELD,
    EV_RESPONSIBLE,
    EV_SALE,
    EV_STATUS,
    EV_TAG,
    EVENT_TYPES,
    I64,
    CustomField,
    LossReason,
    SimAccount,
)

_NAMES = ("Заявка с сайта", "Входящий звонок", "Запрос КП", "Повторное обращение", "Заявка из соцсетей")
NOTE_BASE = 70_000_000


def lead_name(lead_id: int, product: int) -> str:
    """Most leads keep amoCRM's default name; some were renamed by a manager."""
    pick = lead_id * 2654435761 % 100
    if pick < 60:
        return f"Сделка #{lead_id}"
    label = _NAMES[pick % len(_NAMES)]
    return f"{label}: {PRODUCTS[product][0]}" if product >= 0 and pick % 2 else f"{label} #{lead_id}"


def _field_entry(f: CustomField, values: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "field_id": f.id,
        "field_name": f.name,
        "field_code": f.code,
        "field_type": f.type,
        "values": values,
    }


def custom_fields_values(account: SimAccount, i: int) -> list[dict[str, Any]] | None:
    """The filled custom fields of lead ``i``, or None (as amoCRM sends) when none is filled."""
    leads = account.leads
    out = []
    channel = account.channels[int(leads.channel[i])]
    if channel.source is not None:
        out.append(_field_entry(account.field_by_key("utm_source"), [{"value": channel.source}]))
        out.append(_field_entry(account.field_by_key("utm_medium"), [{"value": channel.medium}]))
        if leads.campaign[i] >= 0:
            campaign = channel.campaigns[int(leads.campaign[i])]
            out.append(_field_entry(account.field_by_key("utm_campaign"), [{"value": campaign}]))
    if leads.product[i] >= 0:
        f = account.field_by_key("product")
        enum = (f.enums or ())[int(leads.product[i])]
        out.append(_field_entry(f, [{"value": enum.value, "enum_id": enum.id, "enum_code": None}]))
    if leads.budget[i] >= 0:
        out.append(_field_entry(account.field_by_key("budget"), [{"value": str(int(leads.budget[i]))}]))
    if leads.paid[i] >= 0:
        out.append(_field_entry(account.field_by_key("paid"), [{"value": bool(leads.paid[i])}]))
    if leads.meeting[i] > 0:
        out.append(_field_entry(account.field_by_key("meeting"), [{"value": int(leads.meeting[i])}]))
    return out or None


def _opt(value: int) -> int | None:
    return value if value > 0 else None


def lead(ctx: Ctx, i: int, with_: set[str]) -> dict[str, Any]:
    """The full lead object; ``with_`` adds source_id, contacts, loss_reason, robot price flag."""
    a, leads, st = ctx.account, ctx.account.leads, ctx.account.statuses
    lead_id, code = int(leads.id[i]), int(leads.code[i])
    resp = a.users[int(leads.responsible[i])]
    reason = int(leads.loss_reason[i])
    obj: dict[str, Any] = {
        "id": lead_id,
        "name": lead_name(lead_id, int(leads.product[i])),
        "price": int(leads.price[i]),
        "responsible_user_id": resp.id,
        "group_id": resp.group_id or 0,
        "status_id": int(st.status_id[code]),
        "pipeline_id": int(st.pipeline_id[code]),
        "loss_reason_id": a.loss_reasons[reason].id if reason >= 0 else None,
    }
    if "source_id" in with_:
        obj["source_id"] = None
    obj.update(
        {
            "created_by": int(leads.created_by[i]),
            "updated_by": int(leads.updated_by[i]),
            "created_at": int(leads.created_at[i]),
            "updated_at": int(leads.updated_at[i]),
            "closed_at": _opt(int(leads.closed_at[i])),
            "closest_task_at": None,
            "is_deleted": bool(leads.is_deleted[i]),
            "custom_fields_values": custom_fields_values(a, i),
            "score": None,
            "account_id": a.id,
            "labor_cost": None,
        }
    )
    if "is_price_modified_by_robot" in with_:
        obj["is_price_modified_by_robot"] = False
    obj["_links"] = {"self": {"href": _item_href(ctx, f"/api/v4/leads/{lead_id}")}}
    obj["_embedded"] = _lead_embedded(ctx, i, with_)
    return obj


def loss_reason(ctx: Ctx, r: LossReason) -> dict[str, Any]:
    """One loss reason as both the list endpoint and a lead's ``_embedded`` show it."""
    return {
        "id": r.id,
        "name": r.name,
        "sort": r.sort,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "_links": {"self": {"href": ctx.href(f"/api/v4/leads/loss_reasons/{r.id}")}},
    }


def _item_href(ctx: Ctx, path: str) -> str:
    echo = ctx.echo()
    return f"{ctx.base}{path}" + (f"?{echo}" if echo else "")


def _lead_embedded(ctx: Ctx, i: int, with_: set[str]) -> dict[str, Any]:
    a, leads = ctx.account, ctx.account.leads
    bits = int(leads.tags[i])
    tags = [{"id": t.id, "name": t.name, "color": t.color} for k, t in enumerate(a.tags) if bits >> k & 1]
    company = int(leads.company_id[i])
    emb: dict[str, Any] = {
        "tags": tags,
        "companies": [
            {"id": company, "_links": {"self": {"href": _item_href(ctx, f"/api/v4/companies/{company}")}}}
        ]
        if company
        else [],
    }
    reason = int(leads.loss_reason[i])
    if "loss_reason" in with_ and reason >= 0:
        emb["loss_reason"] = [loss_reason(ctx, a.loss_reasons[reason])]
    contact = int(leads.contact_id[i])
    if "contacts" in with_:
        href = _item_href(ctx, f"/api/v4/contacts/{contact}")
        emb["contacts"] = (
            [{"id": contact, "is_main": True, "_links": {"self": {"href": href}}}] if contact else []
        )
    return emb


def deleted_lead(ctx: Ctx, i: int) -> dict[str, Any]:
    """The reduced model ``with=only_deleted`` returns for leads in the trash."""
    leads = ctx.account.leads
    lead_id = int(leads.id[i])
    return {
        "id": lead_id,
        "updated_at": int(leads.updated_at[i]),
        "updated_by": int(leads.updated_by[i]),
        "is_deleted": True,
        "account_id": ctx.account.id,
        "_links": {"self": {"href": _item_href(ctx, f"/api/v4/leads/{lead_id}")}},
    }


def events(ctx: Ctx, index: I64, with_: set[str]) -> list[dict[str, Any]]:
    """Event objects for the given event indices (ids computed for the whole page at once)."""
    a, ev = ctx.account, ctx.account.events
    ids = a.event_ids(index)
    out = []
    for event_id, k in zip(ids.tolist(), index.tolist(), strict=True):
        type_code = int(ev.type[k])
        entity = "contact" if type_code == EV_CONTACT else "lead"
        entity_id = int(ev.entity_id[k])
        before, after = _values(a, k, type_code)
        embedded: dict[str, Any] = {"id": entity_id}
        if entity == "lead" and "lead_name" in with_:
            pos = a.lead_index(entity_id)
            embedded["name"] = lead_name(entity_id, int(a.leads.product[pos])) if pos is not None else ""
        embedded["_links"] = {"self": {"href": ctx.href(f"/api/v4/{entity}s/{entity_id}")}}
        out.append(
            {
                "id": event_id,
                "type": EVENT_TYPES[type_code],
                "entity_id": entity_id,
                "entity_type": entity,
                "created_by": int(ev.created_by[k]),
                "created_at": int(ev.created_at[k]),
                "value_after": after,
                "value_before": before,
                "account_id": a.id,
                "_links": {"self": {"href": ctx.href(f"/api/v4/events/{event_id}")}},
                "_embedded": {"entity": embedded},
            }
        )
    return out


Values = list[dict[str, Any]]


def _values(a: SimAccount, k: int, type_code: int) -> tuple[Values, Values]:
    """(value_before, value_after) for event ``k``, in the documented per-type shapes."""
    ev, st = a.events, a.statuses
    before, after = int(ev.a[k]), int(ev.b[k])
    if type_code == EV_STATUS:
        before_code, after_code = int(ev.before[k]), int(ev.after[k])
        return [_status(st.status_id, st.pipeline_id, before_code)], [
            _status(st.status_id, st.pipeline_id, after_code)
        ]
    shapes: dict[int, Callable[[], tuple[Values, Values]]] = {
        EV_ADDED: lambda: ([], [{"note": {"id": NOTE_BASE + k}}]),
        EV_CONTACT: lambda: ([], [{"note": {"id": NOTE_BASE + k}}]),
        EV_RESPONSIBLE: lambda: (
            [{"responsible_user": {"id": a.users[before].id}}],
            [{"responsible_user": {"id": a.users[after].id}}],
        ),
        EV_FIELD: lambda: ([], [{"custom_field_value": _field_change(a, before, after)}]),
        EV_TAG: lambda: ([], [{"tag": {"name": a.tags[before].name}}]),
        EV_SALE: lambda: ([{"sale_field_value": {"sale": before}}], [{"sale_field_value": {"sale": after}}]),
    }
    shape = shapes.get(type_code)
    return shape() if shape is not None else ([], [])


def _status(status_ids: np.ndarray, pipeline_ids: np.ndarray, code: int) -> dict[str, Any]:
    return {"lead_status": {"id": int(status_ids[code]), "pipeline_id": int(pipeline_ids[code])}}


def _field_change(a: SimAccount, field_index: int, value: int) -> dict[str, Any]:
    f = a.custom_fields[field_index]
    if f.enums:
        enum = f.enums[value]
        return {"field_id": f.id, "field_type": f.event_type, "enum_id": enum.id, "text": enum.value}
    return {
        "field_id": f.id,
        "field_type": f.event_type,
        "enum_id": None,
        "text": a.channels[value].source or "",
    }
