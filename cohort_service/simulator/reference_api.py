"""Endpoints for the account's reference data: account, users, pipelines, custom fields, loss reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cohort_service.simulator import problems, query, render
from cohort_service.simulator.hal import NO_CONTENT, Ctx, Reply, json_reply, paged
from cohort_service.simulator.model import CustomField, Pipeline, User

CUSTOM_FIELDS_PAGE = 50
ROLE_IDS = {True: 3140, False: 3141}
ROLE_NAMES = {True: "Руководитель", False: "Менеджер"}


def _forms(*words: str) -> dict[str, str]:
    cases = ("default", "genitive", "dative", "accusative", "instrumental", "prepositional")
    return dict(zip(cases, words, strict=True))


ENTITY_NAMES = {
    "leads": {
        "ru": {
            "gender": "f",
            "plural_form": _forms("сделки", "сделок", "сделкам", "сделки", "сделками", "сделках"),
            "singular_form": _forms("сделка", "сделки", "сделке", "сделку", "сделкой", "сделке"),
        },
        "en": {"singular_form": {"default": "lead"}, "plural_form": {"default": "leads"}, "gender": "m"},
        "es": {
            "singular_form": {"default": "acuerdo"},
            "plural_form": {"default": "acuerdos"},
            "gender": "m",
        },
    }
}  # "Метод возвращает до 50 полей за один запрос", whatever the limit says


def account(ctx: Ctx) -> Reply:
    a = ctx.account
    with_ = query.with_set(ctx.params)
    body: dict[str, Any] = {
        "id": a.id,
        "name": a.name,
        "subdomain": a.subdomain,
        "created_at": a.created_at,
        "created_by": a.admin.id,
        "updated_at": a.created_at,
        "updated_by": a.admin.id,
        "current_user_id": ctx.user.id,
        "country": "RU",
        "currency": "RUB",
        "currency_symbol": "₽",
        "customers_mode": "disabled",
        "is_unsorted_on": a.unsorted_on,
        "is_loss_reason_enabled": a.loss_reasons_enabled,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
        "uuid": f"{a.id:08x}-0000-4000-8000-{a.seed:012x}",
    }
    optional = {
        "amojo_id": f"{a.seed:08x}-0000-4000-9000-{a.id:012x}",
        "version": 16,
        "drive_url": "https://drive-b.amocrm.ru",
        "is_api_filter_enabled": a.filters_enabled,
        "entity_names": ENTITY_NAMES,
    }
    body.update({k: v for k, v in optional.items() if k in with_})
    body["_links"] = {"self": {"href": ctx.href("/api/v4/account")}}
    embedded = _account_embedded(ctx, with_)
    if embedded:
        body["_embedded"] = embedded
    return json_reply(body)


def _account_embedded(ctx: Ctx, with_: set[str]) -> dict[str, Any]:
    a = ctx.account
    out: dict[str, Any] = {}
    if "amojo_rights" in with_:
        out["amojo_rights"] = {"can_direct": True, "can_create_groups": True}
    if "users_groups" in with_:
        out["users_groups"] = [{"id": g.id, "name": g.name, "uuid": None} for g in a.groups]
    if "task_types" in with_:
        out["task_types"] = [
            {"id": 1, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
            {"id": 2, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
        ]
    if "datetime_settings" in with_:
        offset = datetime.fromtimestamp(a.now, ZoneInfo(a.timezone)).strftime("%z")
        out["datetime_settings"] = {
            "date_pattern": "d.m.Y H:i",
            "short_date_pattern": "d.m.Y",
            "short_time_pattern": "H:i",
            "date_formant": "d.m.Y",
            "time_format": "H:i:s",
            "timezone": a.timezone,
            "timezone_offset": f"{offset[:3]}:{offset[3:]}",
        }
    return out


def _status_rights(ctx: Ctx) -> list[dict[str, Any]]:
    main = ctx.account.pipelines[0]
    return [
        {"entity_type": "leads", "pipeline_id": main.id, "status_id": s.id,
         "rights": {"view": "A", "edit": "A", "delete": "A", "export": "A"}}
        for s in main.statuses[1:-2]
    ]  # fmt: skip


def _rights(ctx: Ctx, user: User) -> dict[str, Any]:
    level = "A" if user.is_admin else "M"
    entity = {"view": "A", "edit": level, "add": "A", "delete": level, "export": level}
    return {
        "leads": dict(entity),
        "contacts": dict(entity),
        "companies": dict(entity),
        "tasks": {"edit": "A", "delete": "A"},
        "mail_access": user.is_admin,
        "catalog_access": user.is_admin,
        "status_rights": _status_rights(ctx),
        "is_admin": user.is_admin,
        "is_free": False,
        "is_active": user.is_active,
        "group_id": user.group_id,
        "role_id": ROLE_IDS[user.is_admin],
    }


def _user(ctx: Ctx, user: User, with_: set[str]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "lang": user.lang,
        "rights": _rights(ctx, user),
        "_links": {"self": {"href": ctx.href(f"/api/v4/users/{user.id}")}},
    }
    embedded: dict[str, Any] = {}
    if "role" in with_:
        role = ROLE_IDS[user.is_admin]
        href = ctx.href(f"/api/v4/roles/{role}")
        embedded["roles"] = [
            {"id": role, "name": ROLE_NAMES[user.is_admin], "_links": {"self": {"href": href}}}
        ]
    if "group" in with_:
        group = next((g for g in ctx.account.groups if g.id == (user.group_id or 0)), None)
        embedded["groups"] = [{"id": group.id, "name": group.name}] if group else []
    if embedded:
        obj["_embedded"] = embedded
    return obj


def users(ctx: Ctx) -> Reply:
    if not ctx.user.is_admin:
        raise problems.forbidden()
    page = query.page(ctx.params, default_limit=50, maximum=250)
    with_ = query.with_set(ctx.params)
    all_users = ctx.account.users
    chunk = all_users[page.offset : page.offset + page.limit]
    return paged(ctx, "users", [_user(ctx, u, with_) for u in chunk], page, total=len(all_users))


def user(ctx: Ctx, user_id: int) -> Reply:
    if not ctx.user.is_admin:
        raise problems.forbidden()
    found = ctx.account.user(user_id)
    return json_reply(_user(ctx, found, query.with_set(ctx.params))) if found else NO_CONTENT


def _pipeline(ctx: Ctx, p: Pipeline) -> dict[str, Any]:
    a = ctx.account
    base = f"/api/v4/leads/pipelines/{p.id}"
    statuses = [
        {
            "id": s.id,
            "name": s.name,
            "sort": s.sort,
            "is_editable": s.is_editable,
            "pipeline_id": p.id,
            "color": s.color,
            "type": s.type,
            "account_id": a.id,
            "_links": {"self": {"href": ctx.href(f"{base}/statuses/{s.id}")}},
        }
        for s in p.statuses
    ]
    return {
        "id": p.id,
        "name": p.name,
        "sort": p.sort,
        "is_main": p.is_main,
        "is_unsorted_on": a.unsorted_on,
        "is_archive": p.is_archive,
        "account_id": a.id,
        "_links": {"self": {"href": ctx.href(base)}},
        "_embedded": {"statuses": statuses},
    }


def pipelines(ctx: Ctx) -> Reply:
    items = [_pipeline(ctx, p) for p in ctx.account.pipelines]
    return json_reply(
        {
            "_total_items": len(items),
            "_links": {"self": {"href": ctx.href(ctx.path)}},
            "_embedded": {"pipelines": items},
        }
    )


def pipeline(ctx: Ctx, pipeline_id: int) -> Reply:
    found = next((p for p in ctx.account.pipelines if p.id == pipeline_id), None)
    return json_reply(_pipeline(ctx, found)) if found else NO_CONTENT


def statuses(ctx: Ctx, pipeline_id: int) -> Reply:
    found = next((p for p in ctx.account.pipelines if p.id == pipeline_id), None)
    if found is None:
        return NO_CONTENT
    items = _pipeline(ctx, found)["_embedded"]["statuses"]
    if "descriptions" in query.with_set(ctx.params):
        for item in items:
            item["descriptions"] = []
    return json_reply(
        {
            "_total_items": len(items),
            "_links": {"self": {"href": ctx.href(ctx.path)}},
            "_embedded": {"statuses": items},
        }
    )


def _custom_field(ctx: Ctx, f: CustomField) -> dict[str, Any]:
    enums = [{"id": e.id, "value": e.value, "sort": e.sort} for e in f.enums] if f.enums else None
    main = ctx.account.pipelines[0]
    required = [{"status_id": main.statuses[-3].id, "pipeline_id": main.id}] if f.required else []
    return {
        "id": f.id,
        "name": f.name,
        "type": f.type,
        "account_id": ctx.account.id,
        "code": f.code,
        "sort": f.sort,
        "is_api_only": False,
        "enums": enums,
        "group_id": None,
        "required_statuses": required,
        "is_deletable": True,
        "is_predefined": False,
        "entity_type": "leads",
        "tracking_callback": None,
        "remind": None,
        "triggers": [],
        "currency": None,
        "hidden_statuses": [],
        "chained_lists": None,
        "search_in": None,
        "settings": None,
        "is_computed": False,
        "nested": None,
        "_links": {"self": {"href": ctx.href(f"/api/v4/leads/custom_fields/{f.id}")}},
    }


def custom_fields(ctx: Ctx) -> Reply:
    requested = query.page(ctx.params, default_limit=CUSTOM_FIELDS_PAGE, maximum=250)
    page = query.Page(requested.page, min(requested.limit, CUSTOM_FIELDS_PAGE))
    fields = ctx.account.custom_fields
    chunk = fields[page.offset : page.offset + page.limit]
    return paged(ctx, "custom_fields", [_custom_field(ctx, f) for f in chunk], page, total=len(fields))


def loss_reasons(ctx: Ctx) -> Reply:
    page = query.page(ctx.params, default_limit=50, maximum=250)
    reasons = ctx.account.loss_reasons
    items = [render.loss_reason(ctx, r) for r in reasons[page.offset : page.offset + page.limit]]
    return paged(ctx, "loss_reasons", items, page, total=len(reasons))
