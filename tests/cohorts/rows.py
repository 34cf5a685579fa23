"""Hand-built amoCRM rows for the cohort tests: a small account and leads with readable paths.

Times are written as local wall-clock strings (``"2022-09-12 10:00"``) in the account's zone;
statuses as ``"Pipeline/Status"`` (or just a name, looked up in the first pipeline that has it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, insert, text

from cohort_service.db import models

SALES, PARTNERS = 10, 20
# (status_id, name, sort, type); 142/143 are added to every pipeline.
PIPELINES: dict[int, tuple[str, list[tuple[int, str, int, int]]]] = {
    SALES: (
        "Воронка",
        [
            (100, "Неразобранное", 10, 1),
            (101, "Новая", 20, 0),
            (102, "Целевой", 30, 0),
            (103, "Квалификация", 40, 0),
            (104, "Встреча", 50, 0),
            (105, "КП отправлено", 60, 0),
        ],
    ),
    PARTNERS: (
        "Партнёры",
        [
            (200, "Неразобранное", 10, 1),
            (201, "Новая", 20, 0),
            (203, "Квалификация", 30, 0),
            (205, "КП отправлено", 40, 0),
        ],
    ),
}
MILESTONES = [
    {"name": "target", "statuses": ["Целевой"]},
    {"name": "qualified", "statuses": ["Квалификация"]},
    {"name": "proposal", "statuses": ["КП отправлено"]},
    {"name": "paid", "statuses": [142]},
]
USERS = {7: "Анна", 8: "Борис"}
LOSS_REASONS = {31: "Дорого", 32: "Не отвечает"}
SOURCE_FIELD, PRODUCT_FIELD = 501, 502
PRODUCTS = {9001: "Курс", 9002: "Подписка"}


def status_key(ref: str | tuple[int, int]) -> tuple[int, int]:
    """``"Воронка/Квалификация"``, ``"Квалификация"`` (first pipeline), ``"won"``, ``"lost"``, or ids."""
    if isinstance(ref, tuple):
        return ref
    pipeline_name, _, name = ref.rpartition("/")
    for pid, (pname, statuses) in PIPELINES.items():
        if pipeline_name and pname != pipeline_name:
            continue
        if name in ("won", "lost"):
            return (pid, 142 if name == "won" else 143)
        for sid, sname, _, _ in statuses:
            if sname == name:
                return (pid, sid)
    raise KeyError(ref)


@dataclass
class Account:
    """Inserts rows; ``tz`` reads the local time strings of the helpers."""

    conn: Connection
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    _events: int = 0

    def at(self, local: str) -> datetime:
        return datetime.fromisoformat(local).replace(tzinfo=self.tz).astimezone(UTC)

    def reference(self) -> Account:
        c = self.conn
        c.execute(
            insert(models.account).values(
                id=1, name="Тест", subdomain="test", timezone=str(self.tz), is_api_filter_enabled=False,
                is_loss_reason_enabled=True, is_unsorted_on=True,
            )
        )  # fmt: skip
        for pid, (name, statuses) in PIPELINES.items():
            c.execute(
                insert(models.pipelines).values(
                    id=pid, name=name, sort=pid, is_main=pid == SALES, is_unsorted_on=True, is_archive=False
                )
            )
            rows = [
                *statuses,
                (142, "Успешно реализовано", 10000, 0),
                (143, "Закрыто и не реализовано", 11000, 0),
            ]
            c.execute(
                insert(models.statuses),
                [
                    {
                        "pipeline_id": pid,
                        "status_id": sid,
                        "name": n,
                        "sort": s,
                        "type": t,
                        "is_editable": t == 0,
                    }
                    for sid, n, s, t in rows
                ],
            )
        c.execute(
            insert(models.users),
            [{"id": i, "name": n, "is_admin": False, "is_active": True} for i, n in USERS.items()],
        )
        c.execute(
            insert(models.loss_reasons), [{"id": i, "name": n, "sort": i} for i, n in LOSS_REASONS.items()]
        )
        c.execute(
            insert(models.custom_fields),
            [
                {
                    "id": SOURCE_FIELD,
                    "name": "Источник",
                    "code": "UTM_SOURCE",
                    "type": "tracking_data",
                    "sort": 1,
                },
                {"id": PRODUCT_FIELD, "name": "Продукт", "code": None, "type": "multiselect", "sort": 2},
            ],
        )
        c.execute(
            insert(models.custom_field_enums),
            [{"field_id": PRODUCT_FIELD, "enum_id": e, "value": v, "sort": e} for e, v in PRODUCTS.items()],
        )
        return self

    def lead(
        self,
        lead_id: int,
        created: str,
        path: Sequence[tuple[str, str | tuple[int, int]]] = (),
        *,
        initial: str | tuple[int, int] | None = "Воронка/Новая",
        current: str | tuple[int, int] | None = None,
        price: float = 0,
        user: int | None = 7,
        loss_reason: int | None = None,
        source: str | None = None,
        products: Sequence[int] = (),
        tags: Sequence[str] = (),
        is_deleted: bool = False,
        deleted_at: str | None = None,
    ) -> None:
        """A lead created at ``created`` in ``initial`` that moved along ``path`` [(time, status)].

        ``initial=None`` stores the first change with an empty value_before. ``current`` overrides
        the lead's stored status (default: the end of the path).
        """
        before = status_key(initial) if initial is not None else None
        start = before
        for when, ref in path:
            after = status_key(ref)
            self.change(lead_id, when, before, after)
            before = after
        end = status_key(current) if current is not None else (before or start or status_key("Воронка/Новая"))
        fields: list[dict[str, Any]] = []
        if source is not None:
            fields.append({"field_id": SOURCE_FIELD, "field_name": "Источник", "field_code": "UTM_SOURCE",
                           "field_type": "tracking_data", "values": [{"value": source}]})  # fmt: skip
        if products:
            fields.append({"field_id": PRODUCT_FIELD, "field_name": "Продукт", "field_code": None,
                           "field_type": "multiselect",
                           "values": [{"value": f"old {e}", "enum_id": e} for e in products]})  # fmt: skip
        self.conn.execute(
            insert(models.leads).values(
                id=lead_id, pipeline_id=end[0], status_id=end[1], responsible_user_id=user, price=price,
                created_at=self.at(created), updated_at=self.at(created), loss_reason_id=loss_reason,
                is_deleted=is_deleted, deleted_at=self.at(deleted_at) if deleted_at else None,
                custom_fields=fields, tags=[{"id": i, "name": t} for i, t in enumerate(tags)],
            )
        )  # fmt: skip

    def change(self, lead_id: int, when: str, before: tuple[int, int] | None, after: tuple[int, int]) -> None:
        self._events += 1
        self.conn.execute(
            insert(models.lead_status_changes).values(
                event_id=f"ev{self._events:06d}", lead_id=lead_id, created_at=self.at(when),
                before_pipeline_id=before[0] if before else None,
                before_status_id=before[1] if before else None,
                after_pipeline_id=after[0], after_status_id=after[1],
            )
        )  # fmt: skip

    def event(self, lead_id: int, kind: str, when: str, event_id: str | None = None) -> None:
        """``kind``: deleted | restored | added; ``event_id`` (default: in insertion order) decides
        between events of the same second."""
        self._events += 1
        self.conn.execute(
            insert(models.lead_events).values(
                event_id=event_id or f"le{self._events:06d}",
                lead_id=lead_id,
                type=f"lead_{kind}",
                created_at=self.at(when),
            )
        )

    def sync_run(self, finished: str) -> None:
        self.conn.execute(
            insert(models.sync_runs).values(
                kind="full", started_at=self.at(finished), finished_at=self.at(finished), status="ok"
            )
        )


def account(engine: Engine, tz: str = "Europe/Moscow") -> Account:
    """A connection in autocommit mode, so every helper call is visible to the report at once."""
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return Account(conn, ZoneInfo(tz)).reference()


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def clear(conn: Connection) -> None:
    conn.execute(text("TRUNCATE leads, lead_status_changes, lead_events"))
