"""A small lead table (Cyrillic names, dates, 0/1 milestones, prices) and a workbook built from it."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.pivot import PivotSpec, Value
from cohort_service.export.streamed import Column

MILESTONES = ("Квалификация", "Встреча & КП", "won")
COLUMNS = (
    Column("lead_id", "int", 10),
    Column("cohort_week", "iso_date", 12),
    Column("created_at", "iso_datetime", 17),
    Column("pipeline", "text", 14),
    Column("status", "text", 18),
    Column("manager", "text", 20),
    Column("source", "text", 12),
    Column("product", "text", 12),
    Column("Квалификация", "flag", 8),
    Column("Квалификация at", "iso_datetime", 17),
    Column("Встреча & КП", "flag", 8),
    Column("won", "flag", 6),
    Column('price "руб" <с НДС>', "amount", 12),
    Column("share", "pct", 8),
)
# Who a lead is, as the Leads table starts (bench/export_raw.py builds its wider table on them too).
LEAD_COLUMNS = COLUMNS[:8]
MANAGERS = ("Иванов Иван", "Петрова Мария", "O'Brien & Co")
PIPELINES = ("Продажи", "Опт")


def sample_rows(count: int = 200, seed: int = 7) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        week = dt.date(2024, 1, 1) + dt.timedelta(weeks=rng.randrange(6))
        created = dt.datetime.combine(week, dt.time(9, 30)) + dt.timedelta(minutes=rng.randrange(7 * 24 * 60))
        qualified = rng.random() < 0.6
        met = qualified and rng.random() < 0.5
        won = met and rng.random() < 0.5
        rows.append(
            (
                5_000_000 + i,
                week,
                created,
                PIPELINES[i % 2],
                "Успешно реализовано" if won else "Переговоры",
                MANAGERS[rng.randrange(3)],
                rng.choice(("web", "ads", "referral")),
                rng.choice(("A", "B")),
                int(qualified),
                created + dt.timedelta(hours=5) if qualified else None,
                int(met),
                int(won),
                round(rng.uniform(100, 90_000), 2) if i % 9 else None,
                rng.random(),
            )
        )
    return rows


COHORT_PIVOT = PivotSpec(
    sheet="Pivot",
    source_table="Leads",
    name="CohortPivot",
    rows=["cohort_week"],
    values=[
        Value("lead_id", "count", "Leads"),
        Value("Квалификация", "sum", "Квалификация"),
        Value("Встреча & КП", "sum"),
        Value("won", "sum", "won"),
    ],
    filters=["manager", "source", "product", "pipeline"],
)
MANAGER_PIVOT = PivotSpec(
    sheet="By manager",
    source_table="Leads",
    name="ManagerPivot",
    rows=["manager"],
    values=[Value("lead_id", "count", "Leads"), Value("won", "sum", "Won")],
    location="A3",
)


def build_workbook(
    path: Path,
    rows: list[tuple[Any, ...]],
    *,
    pivots: tuple[PivotSpec, ...] = (COHORT_PIVOT, MANAGER_PIVOT),
    **table_options: Any,
) -> StreamedWorkbook:
    """Cohorts (a plain sheet), the pivot sheets, then Leads (streamed table): pivots are declared
    before their source, as the report does, so their cache records and cells are written."""
    with StreamedWorkbook(path) as book:
        cohorts = book.add_worksheet("Cohorts")
        cohorts.write_string(0, 0, "Когорты")
        for spec in pivots:
            book.add_pivot(spec)
        book.write_table("Leads", "Leads", COLUMNS, rows, **table_options)
    return book
