"""The account's request budget in Postgres: slots spaced across processes, holds shared."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from cohort_service.amocrm.budget import SharedBudget
from cohort_service.simulator import Limits, SimulatorApp, generate_account, serve

ROOT = Path(__file__).resolve().parents[2]


def test_a_hold_then_slots_one_interval_apart(engine: Engine) -> None:
    """A fresh account row with a 5 s hold: the first start is 5 s out; the next one, asked right
    away, one interval later (less the few ms between the two statements)."""
    budget = SharedBudget(engine, "https://Budget.amocrm.ru/")
    assert budget.take(1.0, 5.0, 0.02) == pytest.approx(5.0)
    second = budget.take(1.0, 0.0, 0.02)
    assert 5.0 < second <= 6.0
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT account_url FROM request_budget")).scalars().all()
    assert rows == ["https://budget.amocrm.ru"]


def test_an_unmigrated_database_leaves_the_process_pacing_alone(
    fresh_database: object, caplog: pytest.LogCaptureFixture
) -> None:
    url = fresh_database(False)  # type: ignore[operator]
    engine = create_engine(url)
    try:
        budget = SharedBudget(engine, "https://x.amocrm.ru")
        assert budget.take(1.0, 0.0, 0.02) == 0.0
        assert budget.take(1.0, 0.0, 0.02) == 0.0
    finally:
        engine.dispose()
    assert "db upgrade" in caplog.text
    assert caplog.text.count("out of reach") == 1  # said once, not per request


def _worker(url: str, token: str, db_url: str, name: str) -> subprocess.Popen[str]:
    args = [url, token, db_url, name, "15", "5"]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.pace_worker", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_two_processes_on_one_account_stay_under_the_limit_together(db_url: str) -> None:
    """Two real processes, each configured for the full 5 requests/s, read one account at once
    through one real Postgres: the server, counting at arrival, sees at most 5 in any second and
    answers no 429; alone, each would have sent 5/s and together 10/s."""
    app = SimulatorApp(generate_account(seed=5, leads=20, weeks=2), limits=Limits(rps=5))
    with serve(app) as url:
        token = app.issue_token()
        workers = [_worker(url, token, db_url, name) for name in ("a", "b")]
        try:
            for w in workers:
                assert w.stdout is not None
                assert w.stdout.readline().strip() == "ready"
            for w in workers:
                assert w.stdin is not None
                w.stdin.write("go\n")
                w.stdin.flush()
            results = [w.communicate(timeout=120)[0].split() for w in workers]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
    assert results == [["done", "0"], ["done", "0"]]
    records = sorted(app.log.records(), key=lambda r: r.started)
    assert [r.status for r in records] == [200] * 30
    names = [r.query.rsplit("worker=", 1)[1] for r in records]
    assert names.count("a") == names.count("b") == 15
    switches = sum(1 for x, y in itertools.pairwise(names) if x != y)
    assert switches >= 5  # the two really ran at the same time, sharing the slots
    arrivals = [r.started for r in records]
    assert all(arrivals[i + 5] - arrivals[i] >= 1.0 for i in range(len(arrivals) - 5))
