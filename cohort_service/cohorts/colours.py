"""Same-age colours of the Cohorts table: each share judged against earlier weeks at the same age.

For every complete week and every share column (step %, % of leads, lead→final %, ≤Nd %), the
week's count at its age is put to :func:`sameage.same_age_test` against up to ``COMPARABLES``
earlier weeks of the report *at the same age* (time since their Monday; for ≤Nd % each lead's own
N days, which is already an equal age). Two-sided p < 0.02: strong red/green; p < 0.10: light;
otherwise no colour — so a young week is never red for being young, and luck is not painted. The
partial week and weeks without a verdict (fewer than 3 earlier weeks, an empty base) stay blank.

Slices (Managers sheet) are coloured only where a row differs significantly from the rest
(:func:`segment_colours`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, fisher_exact

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.sameage import final_counts, same_age_test, step_counts, week_offsets
from cohort_service.cohorts.weeks import local_midnight

COMPARABLES = 8
STRONG, LIGHT = 0.02, 0.10
LOW, HIGH, STRONG_LOW, STRONG_HIGH = "low", "high", "strong low", "strong high"


def _grade(x: int, n: int, history: Sequence[tuple[int, int]]) -> str | None:
    verdict = same_age_test(x, n, history)
    if verdict is None or verdict.p_value >= LIGHT:
        return None
    below = verdict.share < verdict.expected
    if verdict.p_value < STRONG:
        return STRONG_LOW if below else STRONG_HIGH
    return LOW if below else HIGH


def same_age_colours(
    facts: pd.DataFrame,
    cohorts: pd.DataFrame,
    *,
    weeks: Sequence[date],
    milestones: Sequence[str],
    ages: Sequence[int],
    as_of: datetime,
    tz: ZoneInfo,
) -> dict[tuple[int, str], str]:
    """(row of ``cohorts``, column) → grade, for the coloured cells only."""
    offsets = week_offsets(facts, weeks, milestones=len(milestones), tz=tz)
    leads = [int(v) for v in cohorts[col.LEADS]]
    out: dict[tuple[int, str], str] = {}
    for row, week in enumerate(weeks):
        if bool(cohorts[col.PARTIAL].iloc[row]):
            continue
        age_s = (as_of - local_midnight(week, tz)).total_seconds()
        earlier = [w for w in weeks if w < week][-COMPARABLES:]
        cells: dict[str, tuple[tuple[int, int], list[tuple[int, int]]]] = {}
        for k, name in enumerate(milestones, start=1):
            cells[col.step_pct(name)] = (
                step_counts(offsets[week], age_s, k),
                [step_counts(offsets[w], age_s, k) for w in earlier],
            )
            mine = step_counts(offsets[week], age_s, k)[0], leads[row]
            cells[col.of_leads_pct(name)] = (
                mine,
                [(step_counts(offsets[w], age_s, k)[0], int(offsets[w].shape[0])) for w in earlier],
            )
        cells[col.lead_to_final(milestones[-1])] = (
            final_counts(offsets[week], age_s),
            [final_counts(offsets[w], age_s) for w in earlier],
        )
        for days in ages:
            share = cohorts[col.equal_age(days)]
            if pd.isna(share.iloc[row]):
                continue
            rows = [weeks.index(w) for w in earlier if not pd.isna(share.iloc[weeks.index(w)])]
            cells[col.equal_age(days)] = (
                (round(share.iloc[row] * leads[row]), leads[row]),
                [(round(share.iloc[r] * leads[r]), leads[r]) for r in rows],
            )
        for name, (mine, history) in cells.items():
            grade = _grade(*mine, history)
            if grade is not None:
                out[(row, name)] = grade
    return out


def segment_colours(
    frame: pd.DataFrame, milestones: Sequence[str], *, min_leads: int, fdr: float = 0.05
) -> dict[tuple[int, str], str]:
    """(row, column) → ``low``/``high`` for a slice table (one row per manager, source…): a row's
    share against the rest of the table's leads, Fisher's exact test, Benjamini–Hochberg at ``fdr``
    over every cell tested; rows whose base is under ``min_leads`` (or whose rest is) are not tested.
    Only significant differences are coloured — a manager with 3 leads at 0 % is not red.

    Only the share columns present in ``frame`` are tested: the sheet leaves off the ones that repeat
    another's number (the first milestone's % of leads, the final one's), and testing the same
    comparison twice would count it twice in the correction."""
    tested: list[tuple[int, str, float, bool]] = []
    for k, name in enumerate(milestones):
        base = col.LEADS if k == 0 else milestones[k - 1]
        pairs = [(col.step_pct(name), name, base), (col.of_leads_pct(name), name, col.LEADS)]
        if k == len(milestones) - 1:
            pairs.append((col.lead_to_final(name), name, col.LEADS))
        for column, num, den in pairs:
            if column not in frame.columns:
                continue
            xs, ns = frame[num].to_numpy(dtype="int64"), frame[den].to_numpy(dtype="int64")
            total_x, total_n = int(xs.sum()), int(ns.sum())
            for row, (x, n) in enumerate(zip(xs, ns, strict=True)):
                rest_x, rest_n = total_x - int(x), total_n - int(n)
                if n < min_leads or rest_n < min_leads:
                    continue
                table = np.array([[x, n - x], [rest_x, rest_n - rest_x]], dtype="int64")
                p_value = float(fisher_exact(table).pvalue)
                tested.append((row, column, p_value, x / n < rest_x / rest_n))
    if not tested:
        return {}
    adjusted = false_discovery_control(np.array([t[2] for t in tested]), method="bh")
    return {
        (row, column): LOW if below else HIGH
        for (row, column, _, below), q in zip(tested, adjusted, strict=True)
        if q <= fdr
    }
