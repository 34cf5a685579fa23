"""Which numbers in the Monday e-mail deserve red or green.

Two rules, per funnel step (the step's conversion = share of the previous step that reached it):

* **Target.** With ``[[report.targets]]`` for the step, a value outside ``target ± tolerance``
  (tolerance in percentage points of share) is flagged: below is red, above is green.
* **History.** Without a target, the value is compared with the same step of the earlier cohorts
  *measured at the same age* (what they had reached by the same time after their week began), so a
  one-week-old cohort is never judged against cohorts that had months to convert. Outside
  ``mean ± k·σ`` of at least three such cohorts is flagged; fewer earlier cohorts, no flag.

Everything here is pure: cohorts come in as arrays of "seconds from cohort start to reaching each
milestone", the shape the cohort engine's per-lead facts reduce to.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from cohort_service.config import Target

Direction = Literal["low", "high"]
MIN_HISTORY = 3
# Shares are compared after rounding noise away: 0.1 + 0.2 must equal 0.3 here.
_EPS = 1e-9

Offsets = npt.NDArray[np.float64]
"""Shape (leads, milestones): seconds from the cohort's start to reaching each milestone, inf if never."""


@dataclass(frozen=True)
class Flag:
    direction: Direction
    reason: str

    @property
    def colour(self) -> str:
        return "red" if self.direction == "low" else "green"


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def target_flag(value: float | None, target: Target) -> Flag | None:
    """Outside ``target ± tolerance`` → flagged; exactly on the edge is still on target."""
    if value is None:
        return None
    reason = f"target {_pct(target.target)} ± {target.tolerance * 100:g} pp"
    if value < target.target - target.tolerance - _EPS:
        return Flag("low", f"below {reason}")
    if value > target.target + target.tolerance + _EPS:
        return Flag("high", f"above {reason}")
    return None


def sigma_flag(
    value: float | None, history: Sequence[float], k: float, *, min_history: int = MIN_HISTORY
) -> Flag | None:
    """Outside ``mean ± k·σ`` (sample σ) of ``history``; no verdict on too little history."""
    if value is None or len(history) < min_history:
        return None
    mean = statistics.fmean(history)
    sigma = statistics.stdev(history)
    low, high = mean - k * sigma, mean + k * sigma
    reason = (
        f"usual {_pct(max(low, 0.0))}–{_pct(min(high, 1.0))} ({len(history)} earlier cohorts at this age)"
    )
    if value < low - _EPS:
        return Flag("low", f"below the {reason}")
    if value > high + _EPS:
        return Flag("high", f"above the {reason}")
    return None


def step_shares(leads: int, reached: Sequence[int]) -> tuple[float | None, ...]:
    """Each milestone's share of the previous step (the first one's share of leads); None on 0/0."""
    shares: list[float | None] = []
    previous = leads
    for count in reached:
        shares.append(count / previous if previous else None)
        previous = count
    return tuple(shares)


def steps_at_age(offsets: Offsets, age: timedelta) -> tuple[float | None, ...]:
    """Step shares of one cohort counting only what was reached within ``age`` of its start."""
    limit = age.total_seconds()
    reached = [int(n) for n in (offsets <= limit).sum(axis=0)]
    return step_shares(int(offsets.shape[0]), reached)


def flag_steps(
    *,
    milestones: Sequence[str],
    rows: Sequence[tuple[date, tuple[float | None, ...], timedelta]],
    cohorts: Mapping[date, Offsets],
    targets: Sequence[Target],
    k: float,
) -> dict[tuple[date, str], Flag]:
    """Flags for the rows shown: ``(week_start, step values, age at the as-of moment)``.

    ``cohorts`` holds every cohort of the report, the earlier ones being the history.
    """
    by_name = {t.milestone: t for t in targets}
    flags: dict[tuple[date, str], Flag] = {}
    for week, values, age in rows:
        earlier = [cohorts[w] for w in sorted(cohorts) if w < week]
        curves = [steps_at_age(offsets, age) for offsets in earlier]
        for index, name in enumerate(milestones):
            value = values[index] if index < len(values) else None
            if name in by_name:
                flag = target_flag(value, by_name[name])
            else:
                history = [v for curve in curves if (v := curve[index]) is not None and math.isfinite(v)]
                flag = sigma_flag(value, history, k)
            if flag is not None:
                flags[(week, name)] = flag
    return flags
