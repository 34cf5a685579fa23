"""The synced reference data a report needs to resolve names: pipelines, statuses, users, fields.

Read once per report run, in the same transaction (and under the same lock) as the facts, so the
names in the report match the ids in the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, text

from cohort_service.db.freshness import account_timezone, last_successful_sync

WON, LOST = 142, 143
WON_NAME, LOST_NAME = "Успешно реализовано", "Закрыто и не реализовано"  # when the statuses table lacks them
UNSORTED_TYPE = 1


@dataclass(frozen=True)
class Status:
    pipeline_id: int
    status_id: int
    name: str
    sort: int
    type: int
    pipeline_name: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.pipeline_id, self.status_id)

    @property
    def label(self) -> str:
        """``Pipeline/Status``: how people (and the config) name a status unambiguously."""
        return f"{self.pipeline_name}/{self.name}"


@dataclass(frozen=True)
class CustomField:
    id: int
    name: str
    code: str | None
    type: str


@dataclass(frozen=True)
class Catalog:
    pipelines: dict[int, str] = field(default_factory=dict)
    statuses: dict[tuple[int, int], Status] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)
    loss_reasons: dict[int, str] = field(default_factory=dict)
    custom_fields: dict[int, CustomField] = field(default_factory=dict)
    account_timezone: str | None = None
    last_sync: datetime | None = None

    def status_name(self, pipeline_id: int | None, status_id: int | None) -> str | None:
        if status_id is None:
            return None
        found = self.statuses.get((pipeline_id or 0, status_id))
        if found is not None:
            return found.name
        if status_id == WON:
            return WON_NAME
        if status_id == LOST:
            return LOST_NAME
        return f"(unknown status {status_id})"


def load_catalog(conn: Connection) -> Catalog:
    pipelines = {int(r.id): str(r.name) for r in conn.execute(text("SELECT id, name FROM pipelines"))}
    statuses = {}
    for r in conn.execute(text("SELECT pipeline_id, status_id, name, sort, type FROM statuses")):
        status = Status(
            pipeline_id=int(r.pipeline_id),
            status_id=int(r.status_id),
            name=str(r.name),
            sort=int(r.sort),
            type=int(r.type),
            pipeline_name=pipelines.get(int(r.pipeline_id), str(r.pipeline_id)),
        )
        statuses[status.key] = status
    fields = {
        int(r.id): CustomField(id=int(r.id), name=str(r.name), code=r.code, type=str(r.type))
        for r in conn.execute(text("SELECT id, name, code, type FROM custom_fields"))
    }
    return Catalog(
        pipelines=pipelines,
        statuses=statuses,
        users={int(r.id): str(r.name) for r in conn.execute(text("SELECT id, name FROM users"))},
        loss_reasons={
            int(r.id): str(r.name) for r in conn.execute(text("SELECT id, name FROM loss_reasons"))
        },
        custom_fields=fields,
        account_timezone=account_timezone(conn),
        last_sync=last_successful_sync(conn),
    )
