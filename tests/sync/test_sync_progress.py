"""What the sync's progress bars show: the request rate over the last second, and a leads bar that
ends at exactly the leads delivered (with the stored count as its total on a re-pull)."""

from __future__ import annotations

import io
import re
from collections import deque
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID
from sqlalchemy import Engine, text

from cohort_service.amocrm.stats import window_rate
from cohort_service.sync.runner import run_sync
from cohort_service.ui import ProgressSink
from tests.sync.harness import simulated

RATE = re.compile(r"^(\d+) req · (\d+)/s · (\d+)×429$")


class RecordingProgress(Progress):
    """rich's own Progress, never drawn, remembering every update a task got."""

    def __init__(self) -> None:
        super().__init__(console=Console(file=io.StringIO(), width=100), auto_refresh=False)
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def update(self, task_id: TaskID, **kwargs: Any) -> None:  # type: ignore[override]
        name = str(self.tasks[task_id].description)
        self.seen.append((name, dict(kwargs)))
        super().update(task_id, **kwargs)

    def task_named(self, name: str) -> Any:
        return next(task for task in self.tasks if task.description == name)


def test_window_rate_counts_only_the_last_second() -> None:
    moments = deque([0.1, 0.5, 1.05, 1.2, 1.3, 1.9, 2.0])
    assert window_rate(moments, now=2.0) == 5.0  # 1.05 … 2.0; 0.1 and 0.5 dropped, (1.0, 2.0]
    assert list(moments) == [1.05, 1.2, 1.3, 1.9, 2.0]
    assert window_rate(moments, now=2.25, window_s=0.5) == 4.0  # 1.9, 2.0 of (1.75, 2.25] → 2/0.5
    assert list(moments) == [1.9, 2.0]
    assert window_rate(deque(), now=5.0) == 0.0


def test_leads_bar_completes_at_the_leads_delivered_and_the_rate_stays_under_the_limit(
    db_url: str, engine: Engine
) -> None:
    limit = 12
    with simulated(seed=61, leads=900, weeks=8) as sim:
        settings = sim.settings(db_url, requests_per_second=limit, max_in_flight=8)
        bar = RecordingProgress()
        first = run_sync(settings, clock=sim.now, progress=ProgressSink(bar))
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM leads")).scalar_one()
            listed = conn.execute(text("SELECT count(*) FROM leads WHERE NOT is_deleted")).scalar_one()
        leads = bar.task_named("leads")
        assert first.leads_new == stored
        assert (leads.completed, leads.total) == (stored, stored)
        assert leads.finished
        # the first pull knows no total until it ends: no made-up number on the way
        totals = [kw.get("total") for name, kw in bar.seen if name == "leads" and "total" in kw]
        assert all(repr(t) == "UNKNOWN" for t in totals[:-1])
        assert totals[-1] == first.leads_new

        rates = [
            int(m.group(2))
            for name, kw in bar.seen
            if name in ("leads", "event windows") and (m := RATE.match(kw.get("extra") or ""))
        ]
        assert len(rates) >= 5
        assert max(rates) <= limit  # what amoCRM would count in one second, never above its limit
        assert max(rates) >= 1  # and it measures the run (how close to the limit depends on the machine)

        again = RecordingProgress()
        resync = run_sync(settings, repair=True, clock=sim.now, progress=ProgressSink(again))
        resynced = again.task_named("leads")
        assert resync.leads_mode == "full"
        # the re-pull has the stored live leads as its total on the way and ends at the count it read
        on_the_way = [kw["total"] for name, kw in again.seen if name == "leads" and "total" in kw][:-1]
        assert on_the_way
        assert set(on_the_way) == {listed}
        assert resynced.completed == resynced.total
        assert resynced.finished
