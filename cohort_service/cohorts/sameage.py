"""Same-age comparison: a cohort's step conversion against what earlier cohorts had at the same age.

API (pure; the flags, the colours and the e-mail use it)::

    offsets = week_offsets(facts, weeks, milestones=K, tz=tz)   # per week: seconds Monday → milestone
    x, n = step_counts(offsets[week], age_s, k)                   # step k at that age (n = base)
    verdict = same_age_test(x, n, [step_counts(offsets[w], age_s, k) for w in earlier])

*Age* is time since the cohort's local Monday 00:00, so "at the same age" means "by the same
moment after its week began" — the engine's own equal-age rule. The step's base is the count of the
previous milestone at that age (leads for the first).

The test is a prediction interval for a new week's share. The C earlier cohorts at the same age
give the pooled share p̂ and, by moments, the variance τ² by which whole weeks differ beyond binomial
luck (their shares' sample variance minus their mean binomial variance, floored at 0). A week of
base n is expected at p̂ with variance τ²(1 + 1/C) + p̂(1 − p̂)/n + p̂(1 − p̂)/Σn (the week's own spread,
its luck, the uncertainty of p̂), and judged with Student's t on C − 1 degrees of freedom, because τ²
itself is measured on a handful of weeks: a plug-in beta-binomial with ρ from eight weeks flagged
more than half of pure-noise seeds when weeks differ (tests/cohorts/test_flags.py). Its two-sided
p-value and the 95 % range are what a flag and its evidence line say. Fewer than ``MIN_COHORTS``
earlier cohorts: no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import t as student_t

from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.weeks import local_midnight

MIN_COHORTS = 3
LEVEL = 0.95

Offsets = npt.NDArray[np.float64]
"""Shape (leads, milestones): seconds from the cohort's Monday to reaching each milestone, inf if never."""


@dataclass(frozen=True)
class SameAge:
    x: int
    n: int
    expected: float  # pooled share of the earlier cohorts at this age
    low: float  # central LEVEL range of x/n for a cohort of this base
    high: float
    cohorts: int  # earlier cohorts compared with
    p_value: float  # two-sided, beta-binomial

    @property
    def share(self) -> float:
        return self.x / self.n

    @property
    def direction(self) -> str:
        return "low" if self.share < self.expected else "high"


def week_offsets(
    facts: pd.DataFrame, weeks: Sequence[date], *, milestones: int, tz: ZoneInfo
) -> dict[date, Offsets]:
    """Per week: seconds from the week's local Monday 00:00 to each milestone (inf if never)."""
    out: dict[date, Offsets] = {}
    week_of = facts["cohort_week"].to_numpy(dtype="datetime64[us]")
    for week in weeks:
        rows = facts.loc[week_of == np.datetime64(pd.Timestamp(week), "us")]
        start = pd.Timestamp(local_midnight(week, tz))
        matrix = np.full((len(rows), milestones), np.inf)
        for i in range(milestones):
            seconds = (rows[at_col(i + 1)] - start).dt.total_seconds().to_numpy(dtype="float64")
            matrix[:, i] = np.where(np.isnan(seconds), np.inf, seconds)
        out[week] = matrix
    return out


def step_counts(offsets: Offsets, age_s: float, k: int) -> tuple[int, int]:
    """(reached milestone k, reached k − 1 or leads for k = 1) within ``age_s`` of the cohort's Monday."""
    reached = (offsets <= age_s).sum(axis=0)
    base = int(offsets.shape[0]) if k == 1 else int(reached[k - 2])
    return int(reached[k - 1]), base


def final_counts(offsets: Offsets, age_s: float) -> tuple[int, int]:
    """(reached the final milestone, leads) within ``age_s`` of the cohort's Monday: lead→final."""
    return int((offsets[:, -1] <= age_s).sum()), int(offsets.shape[0])


def same_age_test(x: int, n: int, history: Sequence[tuple[int, int]]) -> SameAge | None:
    """The cohort's x of n against earlier cohorts' (x, n) at the same age; None without a verdict."""
    usable = [(hx, hn) for hx, hn in history if hn > 0]
    c = len(usable)
    if n <= 0 or c < MIN_COHORTS:
        return None
    xs = np.array([hx for hx, _ in usable], dtype="float64")
    ns = np.array([hn for _, hn in usable], dtype="float64")
    expected = float(xs.sum() / ns.sum())
    p = (xs.sum() + 0.5) / (ns.sum() + 1.0)  # kept off 0 and 1, where a binomial has no spread
    binomial = p * (1 - p)
    between = max(0.0, float(np.var(xs / ns, ddof=1)) - float(np.mean(binomial / ns)))
    variance = between * (1 + 1 / c) + binomial / n + binomial / ns.sum()
    t = (x / n - expected) / math.sqrt(variance)
    quantile = float(student_t.ppf(1 - (1 - LEVEL) / 2, c - 1))
    spread = quantile * math.sqrt(variance)
    return SameAge(
        x=x, n=n, expected=expected, low=max(0.0, expected - spread), high=min(1.0, expected + spread),
        cohorts=c, p_value=float(2 * student_t.sf(abs(t), c - 1)),
    )  # fmt: skip
