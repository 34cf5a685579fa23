"""Same-age colours of the Cohorts table: each share judged against earlier weeks at the same age.

For every complete week and every share column (step %, % of leads, lead→final %, ≤Nd %), the
week's count at its age is put to :func:`sameage.same_age_test` against up to ``COMPARABLES``
earlier weeks of the report *at the same age* (time since their Monday; for ≤Nd % each lead's own
N days, which is already an equal age). Two-sided p < 0.02: strong red/green; p < 0.10: light;
otherwise no colour — so a young week is never red for being young, and luck is not painted. The
partial week and weeks without a verdict (fewer than 3 earlier weeks, an empty base) stay blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

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
