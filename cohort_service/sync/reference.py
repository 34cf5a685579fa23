"""Reference data: account, users, pipelines and statuses, custom fields, loss reasons.

Small lists, fetched in parallel on every run (five requests) and upserted; rows that disappeared
from amoCRM are kept, so old stage history still resolves to a name.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from cohort_service.amocrm.client import AmoClient
from cohort_service.amocrm.schemas import Account, CustomField, LossReason, Pipeline, User
from cohort_service.db import models
from cohort_service.db.upserts import upsert_reference
from cohort_service.errors import AmoBlockedError, AmoPayloadError
from cohort_service.sync import rows


@dataclass
class Reference:
    account: Account
    users: list[User] | None
    pipelines: list[Pipeline]
    custom_fields: list[CustomField]
    loss_reasons: list[LossReason]
    warnings: list[str] = field(default_factory=list)


def _users_or_none(api: AmoClient) -> list[User] | None:
    """/users needs an admin token; without it the report lacks manager names but still runs."""
    try:
        return api.users()
    except AmoBlockedError:
        return None


def fetch_reference(api: AmoClient, *, max_in_flight: int) -> Reference:
    calls: dict[str, Callable[[], Any]] = {
        "account": api.account,
        "users": lambda: _users_or_none(api),
        "pipelines": api.pipelines,
        "custom_fields": api.custom_fields,
        "loss_reasons": api.loss_reasons,
    }
    with cf.ThreadPoolExecutor(max_workers=max(1, min(max_in_flight, len(calls)))) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        results = {name: future.result() for name, future in futures.items()}
    ref = Reference(**results)
    check_unique(ref)
    listed = [ref.account, *(ref.users or ()), *ref.pipelines, *ref.custom_fields, *ref.loss_reasons]
    ref.warnings += [note for item in listed for note in item.repairs]
    if ref.users is None:
        ref.warnings.append(
            "users: amoCRM answered 403 to /api/v4/users (the token's user is not an admin); "
            "manager names stay as last synced"
        )
    return ref


def _first_repeat(ids: Iterable[int]) -> int | None:
    seen: set[int] = set()
    for item in ids:
        if item in seen:
            return item
        seen.add(item)
    return None


def check_unique(ref: Reference) -> None:
    """One id, one row: a list naming an id twice is refused before anything is stored.

    (Two rows with one key in a single upsert is a database error, and which name wins would be
    a guess.)
    """
    lists: list[tuple[str, str, Iterable[int]]] = [
        ("/api/v4/users", "user", (u.id for u in ref.users or ())),
        ("/api/v4/leads/pipelines", "pipeline", (p.id for p in ref.pipelines)),
        ("/api/v4/leads/custom_fields", "custom field", (f.id for f in ref.custom_fields)),
        ("/api/v4/leads/loss_reasons", "loss reason", (r.id for r in ref.loss_reasons)),
    ]
    lists += [
        ("/api/v4/leads/pipelines", f"status of pipeline {p.id}", (s.id for s in p.statuses))
        for p in ref.pipelines
    ]
    lists += [
        ("/api/v4/leads/custom_fields", f"value of custom field {f.id}", (e.id for e in f.enums))
        for f in ref.custom_fields
    ]
    for path, entity, ids in lists:
        repeated = _first_repeat(ids)
        if repeated is not None:
            raise AmoPayloadError(f"GET {path}: amoCRM listed {entity} id {repeated} twice")


def store_reference(conn: Connection, ref: Reference) -> None:
    upsert_reference(conn, models.account, [rows.account_row(ref.account)], ["id"])
    if ref.users:
        upsert_reference(conn, models.users, [rows.user_row(u) for u in ref.users], ["id"])
    upsert_reference(conn, models.pipelines, [rows.pipeline_row(p) for p in ref.pipelines], ["id"])
    statuses = [s for p in ref.pipelines for s in rows.status_rows(p)]
    upsert_reference(conn, models.statuses, statuses, ["pipeline_id", "status_id"])
    upsert_reference(
        conn, models.custom_fields, [rows.custom_field_row(f) for f in ref.custom_fields], ["id"]
    )
    enums = [e for f in ref.custom_fields for e in rows.enum_rows(f)]
    upsert_reference(conn, models.custom_field_enums, enums, ["field_id", "enum_id"])
    upsert_reference(conn, models.loss_reasons, [rows.loss_reason_row(r) for r in ref.loss_reasons], ["id"])
