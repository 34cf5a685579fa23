"""Flags on cohort steps that a person can trust: each one is a named test with its evidence line.

Two rules per complete cohort week and funnel step (milestone k over k − 1; the first over leads):

* **Same age** (:mod:`sameage`): the step at the cohort's age against the up to ``comparables``
  earlier cohorts at the same age, beta-binomial two-sided test; kept when it survives the
  Benjamini–Hochberg correction at false discovery rate ``fdr`` across every cell tested.
* **Target** (a team ``[[report.targets]]`` for the step): judged on the step as it is expected at
  maturity (the forecast; the actual once mature), flagged only when its 95 % interval — Clopper–
  Pearson around the forecast's 80 % range — lies wholly outside ``target ± tolerance``.

Nothing is flagged on a base (the step's previous milestone, leads for the first) under
``min_leads``, so a week of 1, 5 or 29 leads is never flagged; nor the partial week.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from scipy.stats import beta, false_discovery_control

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.sameage import Offsets, SameAge, same_age_test, step_counts, week_offsets
from cohort_service.cohorts.weeks import local_midnight
from cohort_service.config import Target

Direction = Literal["low", "high"]
SAME_AGE, TARGET = "same age", "target"


@dataclass(frozen=True)
class FlagRules:
    min_leads: int = 30  # report.anomaly_min_leads
    fdr: float = 0.05
    comparables: int = 8


@dataclass(frozen=True)
class CohortFlag:
    week: date
    milestone: str
    direction: Direction
    kind: str  # SAME_AGE or TARGET
    evidence: str  # one line: "paid 24 % vs 31–38 % expected at 21 days (8 cohorts); 77 leads"
    p_value: float  # NaN for a target flag (an interval rule, not a test)


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def _same_age_flags(
    offsets: Mapping[date, Offsets],
    rows: Sequence[tuple[date, float]],
    milestones: Sequence[str],
    rules: FlagRules,
) -> list[CohortFlag]:
    tested: list[tuple[date, str, SameAge, float]] = []
    ordered = sorted(offsets)
    for week, age_s in rows:
        earlier = [w for w in ordered if w < week][-rules.comparables :]
        for k, name in enumerate(milestones, start=1):
            x, n = step_counts(offsets[week], age_s, k)
            if n < rules.min_leads:
                continue
            verdict = same_age_test(x, n, [step_counts(offsets[w], age_s, k) for w in earlier])
            if verdict is not None:
                tested.append((week, name, verdict, age_s))
    if not tested:
        return []
    adjusted = false_discovery_control(np.array([t[2].p_value for t in tested]), method="bh")
    flags = []
    for (week, name, v, age_s), q in zip(tested, adjusted, strict=True):
        if q > rules.fdr:
            continue
        evidence = (
            f"{name} {_pct(v.share)} vs {_pct(v.low)}–{_pct(v.high)} expected at {age_s / 86400:.0f} days"
            f" ({v.cohorts} cohorts); {v.n} at the base"
        )
        direction: Direction = "low" if v.share < v.expected else "high"
        flags.append(CohortFlag(week, name, direction, SAME_AGE, evidence, float(v.p_value)))
    return flags


def step_interval(x_low: float, x_high: float, n: float) -> tuple[float, float]:
    """95 % Clopper–Pearson range of a share whose count lies in [x_low, x_high] out of n."""
    lo = 0.0 if x_low <= 0 else float(beta.ppf(0.025, x_low, n - x_low + 1))
    hi = 1.0 if x_high >= n else float(beta.ppf(0.975, x_high + 1, n - x_high))
    return lo, hi


def _target_flags(
    cohorts: pd.DataFrame,
    weeks: Sequence[date],
    milestones: Sequence[str],
    targets: Sequence[Target],
    rules: FlagRules,
) -> list[CohortFlag]:
    by_name = {t.milestone: t for t in targets if not t.where}
    if not by_name or col.forecast(milestones[-1]) not in cohorts.columns:
        return []
    records = {pd.Timestamp(r[col.COHORT_WEEK]).date(): r for r in cohorts.to_dict("records")}
    flags = []
    for week in weeks:
        row = {str(k): v for k, v in records[week].items()}
        for k, name in enumerate(milestones):
            target = by_name.get(name)
            if target is None:
                continue
            leads = float(row[col.LEADS])
            base = leads if k == 0 else float(row[col.forecast(milestones[k - 1])])
            if leads < rules.min_leads or base < rules.min_leads:
                continue
            lo, hi = step_interval(
                min(float(row[col.forecast_low(name)]), base),
                min(float(row[col.forecast_high(name)]), base),
                base,
            )
            band = (target.target - target.tolerance, target.target + target.tolerance)
            if band[0] <= hi and lo <= band[1]:
                continue
            share = float(row[col.forecast(name)]) / base
            evidence = (
                f"{name} {_pct(share)} expected at maturity vs target {_pct(target.target)} ± "
                f"{target.tolerance * 100:g} pp (95 % range {_pct(lo)}–{_pct(hi)}); {base:.0f} at the base"
            )
            flags.append(
                CohortFlag(week, name, "low" if hi < band[0] else "high", TARGET, evidence, float("nan"))
            )
    return flags


def flag_cohorts(
    offsets: Mapping[date, Offsets],
    cohorts: pd.DataFrame,
    *,
    rows: Sequence[tuple[date, float]],
    milestones: Sequence[str],
    targets: Sequence[Target] = (),
    rules: FlagRules | None = None,
) -> list[CohortFlag]:
    """Flags for ``rows`` = (complete week, its age in seconds at A). ``offsets`` holds every week
    of the report (the earlier ones are the same-age history); ``cohorts`` is the Cohorts table."""
    r = rules or FlagRules()
    targeted = {t.milestone for t in targets if not t.where}
    same = [f for f in _same_age_flags(offsets, rows, milestones, r) if f.milestone not in targeted]
    return same + _target_flags(cohorts, [w for w, _ in rows], milestones, targets, r)


def cohort_flags(
    facts: pd.DataFrame,
    cohorts: pd.DataFrame,
    *,
    weeks: Sequence[date],
    milestones: Sequence[str],
    as_of: datetime,
    tz: ZoneInfo,
    targets: Sequence[Target] = (),
    rules: FlagRules | None = None,
) -> list[CohortFlag]:
    """Flags for every complete week of the report (the partial week is never flagged)."""
    offsets = week_offsets(facts, weeks, milestones=len(milestones), tz=tz)
    partial = {pd.Timestamp(w).date() for w in cohorts.loc[cohorts[col.PARTIAL], col.COHORT_WEEK]}
    rows = [(w, (as_of - local_midnight(w, tz)).total_seconds()) for w in weeks if w not in partial]
    return flag_cohorts(offsets, cohorts, rows=rows, milestones=milestones, targets=targets, rules=rules)
