"""Throughput and peak memory of the report workbook writer against a bare xlsxwriter loop and pandas.

Input: a synthetic but real ``CohortReport`` (numpy-made facts through the engine's ``build_report``:
12 weeks, 4 milestones, 2 dimensions, 40 managers), so every variant writes the same Leads cells:

* ``ours-leads``    the Leads table path: ``report.leads_table()`` → ``leads_rows`` → ``write_table``
* ``ours-workbook`` the whole ``write_workbook`` (all seven sheets, charts, table and pivot parts)
* ``bare``          ``report.leads_table()`` → the same row tuples → one typed xlsxwriter call per cell
                    (constant_memory, same formats): the fastest honest xlsxwriter loop
* ``pandas``        ``report.leads_table().to_excel(engine="xlsxwriter")``

Each variant runs in its own subprocess (peak RSS is its own); building the report is not timed.
"report" is the process's RSS once the report exists and "+" what writing added on top; that
includes the Leads frame (``report.leads_table()``, ~0.13 GB at 1M leads), which every variant builds.
Not part of the test suite:

    python bench/export.py                        # 100k and 1M leads
    python bench/export.py --rows 100000 --pandas-max 100000
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from child_runs import counts_to_measure, measured

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.dimensions import DimensionSpec
from cohort_service.cohorts.milestones import MilestoneDef
from cohort_service.cohorts.model import CohortReport, build_report
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.leads_table import leads_columns, leads_rows
from cohort_service.export.workbook import write_workbook
from cohort_service.schema.kinds import kind_of

TZ = "Europe/Moscow"
AS_OF = datetime(2024, 3, 27, 12, 0, tzinfo=ZoneInfo(TZ))  # a Wednesday: the last week is partial
WEEKS = 12
MILESTONES = ("Целевой", "Квалификация", "КП отправлено", "Оплата")
MANAGERS = [f"Менеджер {i:02d}" for i in range(40)]
SOURCES = ["yandex", "google", "vk", "telegram", "partner", "direct"]
PRODUCTS = ["Курс", "Подписка", "Консультация", None]
PIPELINES = ["Продажи", "Опт", "Партнёры"]
STATUSES = ["Новая", "Целевой", "Квалификация", "Встреча", "КП отправлено", "Успешно реализовано"]
REASONS = ["Дорого", "Не отвечает", "Выбрали конкурента"]


def synthetic_report(n: int, seed: int = 7) -> CohortReport:
    """``n`` leads over 12 weeks up to AS_OF, forward-biased funnel; labelled facts as the engine's."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(TZ)
    last_monday = AS_OF.date() - timedelta(days=AS_OF.weekday())
    weeks = [last_monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    start = datetime.combine(weeks[0], datetime.min.time(), tzinfo=tz).astimezone(UTC)
    span_us = int((AS_OF.astimezone(UTC) - start).total_seconds() * 1e6)
    created_us = np.sort(rng.integers(0, span_us, n)) + int(start.timestamp() * 1e6)
    created = pd.to_datetime(created_us, unit="us", utc=True)
    level = rng.choice(5, size=n, p=[0.35, 0.25, 0.2, 0.1, 0.1])
    delays = rng.exponential(2.0 * 86400e6, size=(n, 4)).cumsum(axis=1).astype("int64")
    reached = (created_us[:, None] + delays).astype("int64")
    as_of_us = int(AS_OF.timestamp() * 1e6)
    hit = (np.arange(1, 5)[None, :] <= level[:, None]) & (reached <= as_of_us)
    level = hit.sum(axis=1)
    won = level == 4
    lost = ~won & (rng.random(n) < 0.4)
    price = np.round(rng.uniform(1000, 90000, n), 2)
    local = created.tz_convert(tz).tz_localize(None)
    facts = pd.DataFrame(
        {
            "lead_id": np.arange(10_000_000, 10_000_000 + n),
            "cohort_week": (local - pd.to_timedelta(local.day_of_week, unit="D")).normalize().as_unit("us"),
            "created_at": created,
            col.PIPELINE: np.array(PIPELINES, dtype=object)[rng.integers(0, 3, n)],
            col.STATUS: np.array(STATUSES, dtype=object)[np.minimum(level + 1, 5)],
            col.STATUS_PIPELINE: np.array(PIPELINES, dtype=object)[rng.integers(0, 3, n)],
            col.MANAGER: np.array(MANAGERS, dtype=object)[rng.integers(0, 40, n)],
            "dim_1": np.array(SOURCES, dtype=object)[rng.integers(0, 6, n)],
            "dim_2": np.array(PRODUCTS, dtype=object)[rng.integers(0, 4, n)],
            "won": won, "lost": lost,
            col.LOST_FROM_STAGE: np.where(lost, np.array(MILESTONES, dtype=object)[np.maximum(level - 1, 0)], None),
            col.LOSS_REASON: np.where(lost, np.array(REASONS, dtype=object)[rng.integers(0, 3, n)], None),
            "price": price, "revenue": np.where(won, price, 0.0),
            "changes": level, "unknown_initial": False, "unknown_status": False,
        }
    )  # fmt: skip
    for k in range(1, 5):
        moments = reached[:, k - 1].astype("datetime64[us]")
        moments[~hit[:, k - 1]] = np.datetime64("NaT")
        facts[f"at_{k}"] = pd.to_datetime(moments, utc=True)
        facts[f"imputed_{k}"] = False
    facts["days_to_final"] = (facts["at_4"] - facts["created_at"]).dt.total_seconds() / 86400
    return build_report(
        facts,
        as_of=AS_OF,
        timezone=TZ,
        weeks=weeks,
        milestones=[MilestoneDef(i, name, ()) for i, name in enumerate(MILESTONES, start=1)],
        dimensions=[DimensionSpec("source", None), DimensionSpec("product", None)],
        ages=(7, 14),
        last_sync=AS_OF,
    )


def run_ours_leads(report: CohortReport, path: Path) -> None:
    leads = report.leads_table()
    columns = leads_columns(leads, report.row_context)
    with StreamedWorkbook(path) as book:
        book.write_table("Leads", "Leads", columns, leads_rows(leads, columns))


def run_ours_workbook(report: CohortReport, path: Path) -> None:
    write_workbook(report, path)


def run_bare(report: CohortReport, path: Path) -> None:
    """Same cells and formats, one typed xlsxwriter call per non-empty cell, constant_memory."""
    import xlsxwriter

    leads = report.leads_table()
    columns = leads_columns(leads, report.row_context)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("Leads")
    formats = [book.add_format({"num_format": c.format_code}) if c.format_code else None for c in columns]
    for i, (column, fmt) in enumerate(zip(columns, formats, strict=True)):
        ws.set_column(i, i, column.width, fmt)
    ws.freeze_panes(1, 0)
    for i, column in enumerate(columns):
        ws.write_string(0, i, column.name)
    methods = {"date": ws.write_datetime, "datetime": ws.write_datetime, "text": ws.write_string}
    plan = [
        (i, methods.get(kind_of(c.kind).write, ws.write_number), fmt)
        for i, (c, fmt) in enumerate(zip(columns, formats, strict=True))
    ]
    for r, values in enumerate(leads_rows(leads, columns), start=1):
        for (i, write, fmt), value in zip(plan, values, strict=True):
            if value is not None:
                write(r, i, value, fmt)
    book.close()


def run_pandas(report: CohortReport, path: Path) -> None:
    report.leads_table().to_excel(path, sheet_name="Leads", index=False, engine="xlsxwriter")


VARIANTS = {
    "ours-leads": run_ours_leads,
    "ours-workbook": run_ours_workbook,
    "bare": run_bare,
    "pandas": run_pandas,
}


def rss_mb() -> float:
    with Path("/proc/self/statm").open() as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def child(variant: str, count: int) -> None:
    report = synthetic_report(count)
    base = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{variant}.xlsx"
        start = time.perf_counter()
        VARIANTS[variant](report, path)
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "write_s": seconds,
                "base_mb": base,
                "peak_mb": peak,
                "size_mb": size / 1e6,
            }
        )
    )


def main() -> None:
    for count, pandas_max in counts_to_measure(1_000_000, child):
        report = synthetic_report(min(count, 1000))
        width = len(report.leads_table().columns)
        print(f"\n{count:,} leads x {width} Leads columns (+ the six other sheets for ours-workbook)")
        results: dict[str, dict[str, float]] = {}
        for variant, r in measured(__file__, VARIANTS, count, pandas_max):
            results[variant] = r
            print(f"  {variant:14} {r['write_s']:8.2f} s {count / r['write_s']:10,.0f} rows/s  "
                  f"peak RSS {r['peak_mb']:7.1f} MB (report {r['base_mb']:6.1f} + {r['peak_mb'] - r['base_mb']:6.1f})"
                  f"  file {r['size_mb']:6.1f} MB")  # fmt: skip
        bare = results["bare"]["write_s"]
        for ours in ("ours-leads", "ours-workbook"):
            print(f"  {ours} / bare = {results[ours]['write_s'] / bare:.2f}  (target <= 1.3)")
        if "pandas" in results:
            for ours in ("ours-leads", "ours-workbook"):
                print(f"  pandas.to_excel / {ours} = {results['pandas']['write_s'] / results[ours]['write_s']:.2f}"
                      "  (target >= 3)")  # fmt: skip


if __name__ == "__main__":
    main()
