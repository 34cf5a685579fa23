"""Cost of the shared request budget: one slot reservation in Postgres per amoCRM request.

Prints, against baselines measured in the same run on the same engine: a bare ``SELECT 1`` round
trip, the in-process limiter alone, and ``SharedBudget.take`` (the one INSERT … ON CONFLICT …
RETURNING), single-threaded and with 4 threads taking slots at once (row-lock contention). The
figure that matters is the take's cost beside the 154 ms between two requests at 7 requests/s.

Run: python bench/budget.py [--n 2000]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedded_pg import embedded_postgres, migrated_database

from cohort_service.amocrm.budget import SharedBudget
from cohort_service.amocrm.ratelimit import RateLimiter


def _per_call_ms(fn: Callable[[], object], n: int, threads: int = 1) -> float:
    def run() -> None:
        for _ in range(n // threads):
            fn()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return (time.perf_counter() - started) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    with embedded_postgres() as (admin_url, _root):
        engine = create_engine(migrated_database(admin_url, "bench_budget"))
        budget = SharedBudget(engine, "https://bench.amocrm.ru")

        def select_one() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar_one()
                conn.commit()

        local = RateLimiter(1e9, margin_s=0.0, slack_s=0.0)
        for _ in range(50):  # warm the pool and the plan
            select_one()
            budget.take(1e-9, 0.0, 0.0)
        base = _per_call_ms(select_one, args.n)
        alone = _per_call_ms(local.acquire, args.n)
        take = _per_call_ms(lambda: budget.take(1e-9, 0.0, 0.0), args.n)
        contended = _per_call_ms(lambda: SharedBudget(engine, "https://bench.amocrm.ru").take(1e-9, 0.0, 0.0),
                                 args.n, threads=4)  # fmt: skip
        print(f"[shared budget] {args.n} reservations, embedded Postgres on loopback")
        print(f"  SELECT 1 round trip (baseline): {base:.3f} ms")
        print(f"  in-process limiter alone:       {alone:.4f} ms")
        print(f"  budget take, 1 thread:          {take:.3f} ms = {take / base:.2f} × SELECT 1")
        print(
            f"  budget take, 4 threads at once: {contended:.3f} ms per take = {contended / base:.2f} × SELECT 1"
        )
        print(f"  share of the 154 ms between two requests at 7 req/s: {take / 154.3:.2%}")
        engine.dispose()


if __name__ == "__main__":
    main()
