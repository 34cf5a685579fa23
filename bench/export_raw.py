"""Throughput and peak memory of the streamed table layer against a bare xlsxwriter loop and pandas.

Each variant runs in its own subprocess so its peak RSS is its own. Not part of the test suite:

    python bench/export_raw.py                 # 100k and 1M rows (pandas at 100k only)
    python bench/export_raw.py --rows 100000 --pandas-max 100000
    python bench/export_raw.py --child bare --rows 2000   # one variant, its figures as JSON
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from child_runs import counts_to_measure, measured

from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.pivot import PivotSpec, Value
from cohort_service.export.streamed import Column
from tests.helpers.leads_sample import LEAD_COLUMNS

COLUMNS = [
    *LEAD_COLUMNS,
    Column("contacted", "flag", 6),
    Column("contacted at", "iso_datetime", 17),
    Column("qualified", "flag", 6),
    Column("qualified at", "iso_datetime", 17),
    Column("proposal", "flag", 6),
    Column("won", "flag", 6),
    Column("won at", "iso_datetime", 17),
    Column("lost", "flag", 6),
    Column("loss reason", "text", 18),
    Column("price", "amount", 12),
    Column("revenue", "amount", 12),
    Column("days to final", "days", 8),
]
MANAGERS = ["Иванов Иван", "Петрова Мария", "Сидоров Пётр", "Анна Кузнецова", "John Smith"]
STATUSES = ["Первичный контакт", "Переговоры", "Принимают решение", "Успешно реализовано", "Закрыто"]


def _templates(n: int = 997) -> list[tuple[Any, ...]]:
    """A pool of varied rows; the bench cycles it so generation costs the same in every variant."""
    base = dt.datetime(2024, 1, 1, 9, 0)  # noqa: DTZ001 - Excel has no time zones; naive local time
    rows = []
    for i in range(n):
        created = base + dt.timedelta(hours=7 * i)
        week = (created - dt.timedelta(days=created.weekday())).date()
        won = i % 5 == 0
        qualified = i % 3 != 0
        rows.append(
            (
                0, week, created, "Продажи" if i % 4 else "Опт", STATUSES[i % 5], MANAGERS[i % 5],
                ("web", "ads", "referral")[i % 3], ("A", "B", "C", "D")[i % 4],
                1, created + dt.timedelta(hours=2),
                int(qualified), created + dt.timedelta(days=1) if qualified else None,
                int(i % 2 == 0), int(won), created + dt.timedelta(days=9) if won else None,
                int(i % 5 == 1), "Дорого" if i % 5 == 1 else None,
                round(1000 + 13.7 * i, 2), round(1000 + 13.7 * i, 2) if won else 0.0,
                9.0 if won else None,
            )
        )  # fmt: skip
    return rows


def generate(count: int) -> Iterator[tuple[Any, ...]]:
    pool = _templates()
    for i, row in zip(range(count), itertools.cycle(pool), strict=False):
        yield (100_000 + i, *row[1:])


def run_ours(path: Path, count: int) -> None:
    with StreamedWorkbook(path) as book:
        book.write_table("Leads", "Leads", COLUMNS, generate(count))
        book.add_pivot(
            PivotSpec(
                sheet="Pivot", source_table="Leads", name="CohortPivot", rows=["cohort_week"],
                values=[Value("lead_id", "count", "Leads"), Value("won", "sum")],
                filters=["manager", "source", "product", "pipeline"],
            )
        )  # fmt: skip


def run_bare(path: Path, count: int) -> None:
    """The fastest honest xlsxwriter loop: same cells, same formats, one typed call per cell."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = book.add_worksheet("Leads")
    # The formats of the one cell vocabulary (schema/kinds.py), as ours writes them.
    fmts = {c.kind: book.add_format({"num_format": c.format_code}) for c in COLUMNS if c.format_code}
    fd, fdt, money, one = fmts["iso_date"], fmts["iso_datetime"], fmts["amount"], fmts["days"]
    for c, col in enumerate(COLUMNS):
        ws.set_column(c, c, col.width, fmts.get(col.kind))
    ws.freeze_panes(1, 0)
    for c, col in enumerate(COLUMNS):
        ws.write_string(0, c, col.name)
    wn, wd, ws_ = ws.write_number, ws.write_datetime, ws.write_string
    for r, v in enumerate(generate(count), start=1):
        wn(r, 0, v[0])
        wd(r, 1, v[1], fd)
        wd(r, 2, v[2], fdt)
        ws_(r, 3, v[3])
        ws_(r, 4, v[4])
        ws_(r, 5, v[5])
        ws_(r, 6, v[6])
        ws_(r, 7, v[7])
        wn(r, 8, v[8])
        wd(r, 9, v[9], fdt)
        wn(r, 10, v[10])
        if v[11] is not None:
            wd(r, 11, v[11], fdt)
        wn(r, 12, v[12])
        wn(r, 13, v[13])
        if v[14] is not None:
            wd(r, 14, v[14], fdt)
        wn(r, 15, v[15])
        if v[16] is not None:
            ws_(r, 16, v[16])
        wn(r, 17, v[17], money)
        wn(r, 18, v[18], money)
        if v[19] is not None:
            wn(r, 19, v[19], one)
    book.add_worksheet("Pivot")
    book.close()


def run_pandas(path: Path, count: int) -> None:
    import pandas as pd

    frame = pd.DataFrame(list(generate(count)), columns=[c.name for c in COLUMNS])
    start = time.perf_counter()
    frame.to_excel(path, sheet_name="Leads", index=False, engine="xlsxwriter")
    print(json.dumps({"write_s": time.perf_counter() - start}))


def run_generate(_path: Path, count: int) -> None:
    for _ in generate(count):
        pass


VARIANTS = {
    "generate": run_generate,
    "bare": run_bare,
    "ours": run_ours,
    "pandas": run_pandas,
}


def child(variant: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{variant}.xlsx"
        start = time.perf_counter()
        VARIANTS[variant](path, count)
        total = time.perf_counter() - start
        size = path.stat().st_size if path.exists() else 0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"total_s": total, "rss_mb": rss_mb, "size_mb": size / 1e6}))


def main() -> None:
    for count, pandas_max in counts_to_measure(100_000, child):
        print(f"\n{count:,} rows x {len(COLUMNS)} columns")
        results = {}
        for variant, r in measured(__file__, VARIANTS, count, pandas_max):
            results[variant] = r
            secs = r.get("write_s", r["total_s"])
            print(f"  {variant:9} {secs:8.2f} s {count / secs:10,.0f} rows/s  peak RSS {r['rss_mb']:7.1f} MB"
                  f"  file {r['size_mb']:6.1f} MB")  # fmt: skip
        bare, ours = results["bare"]["total_s"], results["ours"]["total_s"]
        print(f"  ours / bare = {ours / bare:.2f}  (target <= 1.3)")
        if "pandas" in results:
            print(f"  pandas.to_excel / ours = {results['pandas']['write_s'] / ours:.2f}  (target >= 3)")


if __name__ == "__main__":
    main()
