"""What the sync's progress bars say: the live request rate and the leads bar's total.

The rate is the one amoCRM counts: requests whose headers went out in the last second (a sliding
window over send moments, ``RequestStats.recent_rate``), so while the limiter holds it never shows
more than the limit. An average since the start would hide a burst and lag behind a 429 slowdown.

The leads list has no total count (API-REFERENCE §2.5: no ``_total_items``, no count request), so
the bar's total is what is honestly known: ``_total_items`` if a page ever carries it; for a full
re-pull, the leads already stored (the account had that many at the last pull; if it has grown
past them the total is dropped rather than faked); otherwise none, and the bar counts up
without an end it cannot know. When the pull ends its total is the count delivered: the bar
completes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cohort_service.amocrm.client import AmoClient
from cohort_service.amocrm.stats import RATE_WINDOW_S, StatsSnapshot
from cohort_service.ui import UNKNOWN, ProgressSink

TASK = "leads"


def rate_text(api: AmoClient, before: StatsSnapshot, clock: Callable[[], float] = time.monotonic) -> str:
    """``123 req · 7/s · 0×429``: requests of this run, the rate over the last second, 429s."""
    stats = api.stats.snapshot() - before
    rate = api.stats.recent_rate(clock(), RATE_WINDOW_S)
    return f"{stats.requests} req · {rate:.0f}/s · {stats.rate_limited}×429"


@dataclass
class LeadsProgress:
    """The leads bar of one run; ``page`` per delivered page, ``finish`` when the pull is complete."""

    sink: ProgressSink
    done: int = 0  # leads of this pull already written, in this run or a killed one before it
    expected: int | None = None
    reported: int | None = None  # the page's own total, when amoCRM gives one

    def start(self, already: int, expected: int | None) -> None:
        self.done, self.expected = already, expected
        self.sink.task(TASK, "leads", total=self.total())
        self.sink.update(TASK, completed=self.done)

    def total(self) -> int | None:
        """The total known now, or None (never a number below what is already delivered)."""
        for known in (self.reported, self.expected):
            if known is not None and known >= self.done:
                return known
        return None

    def page(self, items: int, total_items: int | None, extra: str) -> None:
        self.done += items
        if total_items is not None:
            self.reported = total_items
        total = self.total()
        self.sink.update(TASK, completed=self.done, total=UNKNOWN if total is None else total, extra=extra)

    def finish(self, extra: str) -> None:
        self.sink.update(TASK, completed=self.done, total=self.done, extra=extra)
