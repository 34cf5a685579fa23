"""Time moves: ``advance`` continues the account's life past the simulator clock.

Pending decisions of existing leads (moves, losses, wins, reopenings, deletions, restores) that
fall inside the new period are played, new leads arrive at the account's usual weekly rate, and
the clock moves to the end of the period. Each call draws from its own seeded generator (seed,
call number), so a sequence of ``advance`` calls is reproducible; ``advance(1)`` twice is not the
same history as ``advance(2)`` once, as in any simulation.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np

from cohort_service.simulator.generate import creation_times, grow
from cohort_service.simulator.model import SimAccount

DAY = 86400


def advance(account: SimAccount, days: float) -> int:
    """Move the clock ``days`` forward; returns how many events the period produced."""
    if days <= 0:
        raise ValueError("days must be positive")
    account.advances += 1
    rng = np.random.default_rng([account.seed, 1000 + account.advances])
    start, end = account.now, account.now + round(days * DAY)
    expected = account.weekly_leads * (end - start) / (7 * DAY)
    count = int(rng.poisson(expected)) if expected > 0 else 0
    times = creation_times(rng, count, start, end, ZoneInfo(account.timezone))
    before = len(account.events)
    grow(account, rng, times, horizon=end)
    return len(account.events) - before
