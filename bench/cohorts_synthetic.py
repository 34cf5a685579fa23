"""A fast synthetic amoCRM account for the benchmark: numpy-generated paths, loaded with COPY.

Not the simulator (that one is faithful and slow on purpose); this one only has to produce
realistic *shapes* at a million leads: forward-biased stage walks, skipped stages, moves back,
losses, reopenings, wins, pipeline moves, deletions and restores, and history after the as-of.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

START = datetime(2023, 1, 2, tzinfo=UTC)
SPAN = timedelta(days=7 * 104)
STAGES = 7  # normal stages per pipeline
PIPELINES = (3001, 3002, 3003)
PIPELINE_NAMES = ("Продажи", "Опт", "Партнёры")
STAGE_NAMES = ("Новая", "Целевой", "Квалификация", "Встреча", "КП отправлено", "Счёт", "Оплата")
USERS = 40
MILESTONES = [
    {"name": "target", "statuses": ["Целевой"]},
    {"name": "qualified", "statuses": ["Квалификация"]},
    {"name": "proposal", "statuses": ["КП отправлено"]},
    {"name": "paid", "statuses": [142]},
]
DIMENSIONS = [{"name": "source", "field": "UTM_SOURCE"}, {"name": "product", "field": "Продукт"}]
SOURCES = ("yandex", "google", "vk", "telegram", "partner", "direct")
PRODUCTS = ((7001, "Курс"), (7002, "Подписка"), (7003, "Консультация"))


def status_id(pipeline: int, stage: int) -> int:
    """Stage 0 is Unsorted; 1..STAGES are the normal stages."""
    return pipeline * 100 + stage


@dataclass(frozen=True)
class Chunk:
    leads: pd.DataFrame
    changes: pd.DataFrame
    events: pd.DataFrame


def _walk(rng: np.random.Generator, counts: np.ndarray, start_stage: np.ndarray) -> np.ndarray:
    """Stage index after every change: a forward-biased walk, clipped to the funnel."""
    n = int(counts.sum())
    step = rng.choice([1, 2, -1, 0], size=n, p=[0.62, 0.12, 0.16, 0.10])
    csum = np.cumsum(step)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    before_first = np.where(first > 0, csum[np.maximum(first - 1, 0)], 0)
    within = csum - np.repeat(before_first, counts)
    stage = np.repeat(start_stage, counts) + within
    stage = np.clip(stage, 1, STAGES)
    # amoCRM records no move to the same status: nudge repeats one stage on.
    repeat = np.zeros(n, dtype=bool)
    repeat[1:] = stage[1:] == stage[:-1]
    repeat[first[first < n]] = False
    stage = np.where(repeat, np.where(stage < STAGES, stage + 1, stage - 1), stage)
    return stage.astype(np.int64)


def generate(rng: np.random.Generator, first_id: int, n: int, first_event: int) -> Chunk:
    """One chunk of leads with their full histories (some of it after the bench's as-of)."""
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    created = START + pd.to_timedelta(rng.uniform(0, SPAN.total_seconds(), n), unit="s")
    created = pd.DatetimeIndex(created).floor("s")
    pipe0 = rng.choice(PIPELINES, size=n, p=[0.6, 0.25, 0.15])
    start_stage = rng.choice([0, 1, 2, 3], size=n, p=[0.3, 0.62, 0.05, 0.03])
    counts = np.minimum(rng.poisson(5.6, n), 14)
    total = int(counts.sum())
    lead_idx = np.repeat(np.arange(n), counts)
    stage = _walk(rng, counts, np.maximum(start_stage, 1) - 1)
    # Closing moves: lost mid-path (and maybe reopened later) or won; the last change decides more.
    close = rng.random(total)
    after_status_stage = stage.copy()
    is_last = np.zeros(total, dtype=bool)
    is_last[np.cumsum(counts)[counts > 0] - 1] = True
    lost = (close < 0.08) | (is_last & (close < 0.45))
    won = ~lost & is_last & (close > 0.90)
    pipe = np.repeat(pipe0, counts)
    moved = rng.random(total) < 0.015
    moved_lead = np.zeros(n, dtype=bool)
    np.logical_or.at(moved_lead, lead_idx, moved)
    pos_in_lead = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    move_from = np.full(n, 10**6)
    np.minimum.at(move_from, lead_idx[moved], pos_in_lead[moved])
    shifted = pos_in_lead >= move_from[lead_idx]
    pipe = np.where(shifted, PIPELINES[0] + ((pipe - PIPELINES[0] + 1) % 3), pipe)
    after_status = np.where(lost, 143, np.where(won, 142, pipe * 100 + after_status_stage))
    gaps = rng.exponential(2.5 * 86400, total)
    created_rep = np.repeat(created.asi8 // 10**9, counts)
    first_pos = np.cumsum(counts) - counts
    csum = np.cumsum(gaps)
    base = np.where(first_pos > 0, csum[np.maximum(first_pos - 1, 0)], 0.0)
    t = created_rep + (csum - np.repeat(base, counts)).astype(np.int64) + 1
    init_status = pipe0 * 100 + start_stage
    prev_status = np.concatenate([[0], after_status[:-1]])
    prev_pipe = np.concatenate([[0], pipe[:-1]])
    first_mask = pos_in_lead == 0
    before_status = np.where(first_mask, init_status[lead_idx], prev_status)
    before_pipe = np.where(first_mask, pipe0[lead_idx], prev_pipe)
    changes = pd.DataFrame(
        {
            "event_id": [f"s{first_event + i:012d}" for i in range(total)],
            "lead_id": ids[lead_idx],
            "created_at": pd.to_datetime(t, unit="s", utc=True),
            "before_pipeline_id": before_pipe,
            "before_status_id": before_status,
            "after_pipeline_id": pipe,
            "after_status_id": after_status,
        }
    )
    last_after = np.where(counts > 0, 0, init_status)
    last_pipe = pipe0.copy()
    has = counts > 0
    last_idx = np.cumsum(counts)[has] - 1
    last_after[has] = after_status[last_idx]
    last_pipe[has] = pipe[last_idx]
    leads = _lead_rows(rng, ids, created, last_pipe, last_after)
    events = _deletions(rng, ids, created, first_event + total)
    return Chunk(leads=leads, changes=changes, events=events)


def _lead_rows(
    rng: np.random.Generator, ids: np.ndarray, created: pd.DatetimeIndex, pipe: np.ndarray, status: np.ndarray
) -> pd.DataFrame:
    n = len(ids)
    price = rng.choice([0, 5000, 15000, 30000, 90000], size=n).astype(np.int64)
    source = rng.choice(len(SOURCES), size=n)
    product = rng.choice(len(PRODUCTS), size=n)
    fields = [
        json.dumps(
            [
                {
                    "field_id": 9001,
                    "field_name": "utm_source",
                    "field_code": "UTM_SOURCE",
                    "field_type": "tracking_data",
                    "values": [{"value": SOURCES[s]}],
                },
                {
                    "field_id": 9002,
                    "field_name": "Продукт",
                    "field_code": None,
                    "field_type": "select",
                    "values": [{"value": PRODUCTS[p][1], "enum_id": PRODUCTS[p][0]}],
                },
            ],
            ensure_ascii=False,
        )
        for s, p in zip(source, product, strict=True)
    ]
    return pd.DataFrame(
        {
            "id": ids,
            "pipeline_id": pipe,
            "status_id": status,
            "responsible_user_id": 5000 + rng.integers(0, USERS, n),
            "price": price,
            "created_at": created,
            "updated_at": created,
            "loss_reason_id": pd.Series(8000 + rng.integers(0, 5, n), dtype="Int64").mask(status != 143),
            "custom_fields": fields,
            "tags": '[{"id": 1, "name": "bench"}]',
        }
    )


def _deletions(
    rng: np.random.Generator, ids: np.ndarray, created: pd.DatetimeIndex, first: int
) -> pd.DataFrame:
    n = len(ids)
    deleted = rng.random(n) < 0.012
    when = created[deleted] + pd.to_timedelta(rng.uniform(3600, 90 * 86400, int(deleted.sum())), unit="s")
    frame = pd.DataFrame({"lead_id": ids[deleted], "type": "lead_deleted", "created_at": when.floor("s")})
    restored = frame.sample(frac=0.2, random_state=int(rng.integers(0, 2**31)))
    restored = restored.assign(type="lead_restored", created_at=restored["created_at"] + pd.Timedelta(days=3))
    out = pd.concat([frame, restored], ignore_index=True)
    out.insert(0, "event_id", [f"d{first + i:012d}" for i in range(len(out))])
    return out


def reference_sql() -> list[str]:
    """Account, pipelines, statuses, users, custom fields and loss reasons of the synthetic account."""
    rows = [
        "INSERT INTO account (id, name, subdomain, timezone, is_api_filter_enabled, is_loss_reason_enabled,"
        " is_unsorted_on) VALUES (1, 'bench', 'bench', 'Europe/Moscow', false, true, true)"
    ]
    for sort, (pid, name) in enumerate(zip(PIPELINES, PIPELINE_NAMES, strict=True)):
        rows.append(
            f"INSERT INTO pipelines (id, name, sort, is_main, is_unsorted_on, is_archive) "
            f"VALUES ({pid}, '{name}', {sort}, {str(sort == 0).lower()}, true, false)"
        )
        rows.append(
            f"INSERT INTO statuses (pipeline_id, status_id, name, sort, type, is_editable) VALUES "
            f"({pid}, {status_id(pid, 0)}, 'Неразобранное', 10, 1, false)"
        )
        for stage, sname in enumerate(STAGE_NAMES, start=1):
            rows.append(
                f"INSERT INTO statuses (pipeline_id, status_id, name, sort, type, is_editable) VALUES "
                f"({pid}, {status_id(pid, stage)}, '{sname}', {10 + 10 * stage}, 0, true)"
            )
        rows.append(
            f"INSERT INTO statuses (pipeline_id, status_id, name, sort, type, is_editable) VALUES "
            f"({pid}, 142, 'Успешно реализовано', 10000, 0, false), "
            f"({pid}, 143, 'Закрыто и не реализовано', 11000, 0, false)"
        )
    users = ", ".join(f"({5000 + i}, 'Менеджер {i:02d}', false, true)" for i in range(USERS))
    rows.append(f"INSERT INTO users (id, name, is_admin, is_active) VALUES {users}")
    rows.append(
        "INSERT INTO custom_fields (id, name, code, type, sort) VALUES "
        "(9001, 'utm_source', 'UTM_SOURCE', 'tracking_data', 1), (9002, 'Продукт', NULL, 'select', 2)"
    )
    enums = ", ".join(f"(9002, {eid}, '{name}', {i})" for i, (eid, name) in enumerate(PRODUCTS))
    rows.append(f"INSERT INTO custom_field_enums (field_id, enum_id, value, sort) VALUES {enums}")
    reasons = ", ".join(f"({8000 + i}, 'Причина {i}', {i})" for i in range(5))
    rows.append(f"INSERT INTO loss_reasons (id, name, sort) VALUES {reasons}")
    return rows


def _copy(conn: object, table: str, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S+00")
    cols = ", ".join(frame.columns)
    raw = conn.connection.dbapi_connection  # type: ignore[attr-defined]
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buf.getvalue())


def chunks(n_leads: int, seed: int, size: int = 100_000) -> Iterator[Chunk]:
    rng = np.random.default_rng(seed)
    event = 0
    for first in range(0, n_leads, size):
        chunk = generate(rng, 1_000_000 + first, min(size, n_leads - first), event)
        event += len(chunk.changes) + len(chunk.events)
        yield chunk


def load(engine: Engine, n_leads: int, seed: int = 7) -> tuple[int, int]:
    """Fill an empty migrated database; returns (leads, status changes)."""
    n_changes = 0
    with engine.connect() as conn:
        for stmt in reference_sql():
            conn.execute(text(stmt))
        for chunk in chunks(n_leads, seed):
            _copy(conn, "leads", chunk.leads)
            _copy(conn, "lead_status_changes", chunk.changes)
            _copy(conn, "lead_events", chunk.events)
            n_changes += len(chunk.changes)
        conn.execute(
            text(
                "UPDATE leads l SET is_deleted = true, deleted_at = e.created_at FROM ("
                " SELECT DISTINCT ON (lead_id) lead_id, type, created_at FROM lead_events"
                " ORDER BY lead_id, created_at DESC) e WHERE e.lead_id = l.id AND e.type = 'lead_deleted'"
            )
        )
        conn.commit()
        conn.execute(text("ANALYZE"))
        conn.commit()
    return n_leads, n_changes
