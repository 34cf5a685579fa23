"""Each manager's funnel shape: every step's conversion against the rest of the team at equal age.

Over the attention list's mature window (the same weeks for everyone, so the same age). A step is
marked ``below`` or ``above`` only when Fisher's exact test survives Benjamini–Hochberg across all
managers × steps (the attention list's rate) with the minimum base on both sides; the shape gets
a name only when the marks read as one: losing at the top but closing well, opening well but
closing poorly, or below/above the team throughout. The numbers matter more than the name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, fisher_exact

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.attention import (
    ABOVE,
    BELOW,
    AttentionRules,
    Segmentation,
    reached_mask,
    segment_values,
)
from cohort_service.cohorts.attention_windows import Window

SHAPE = "shape"
LEADS = "leads"
TOP_LOSES = "loses at the top, closes well"
TOP_WINS = "opens well, closes poorly"
ALL_BELOW = "below the team at every marked step"
ALL_ABOVE = "above the team at every marked step"
rate = col.step_pct  # the manager's step conversion, named as the Cohorts table names a step's


def team_rate(milestone: str) -> str:
    return f"{milestone} rest %"


def mark(milestone: str) -> str:
    return f"{milestone} vs rest"


def shape_columns(key: str, milestones: Sequence[str]) -> list[str]:
    cols = [key, LEADS]
    for name in milestones:
        cols += [rate(name), team_rate(name), mark(name)]
    return [*cols, SHAPE]


def shape_name(marks: Sequence[str]) -> str:
    """A name for a sequence of step marks (``below``/``above``/``""``), or ``""`` when none fits."""
    marked = [(i, m) for i, m in enumerate(marks) if m]
    if not marked:
        return ""
    half = len(marks) / 2
    top = {m for i, m in marked if i < half}
    bottom = {m for i, m in marked if i >= half}
    if top == {BELOW} and bottom == {ABOVE}:
        return TOP_LOSES
    if top == {ABOVE} and bottom == {BELOW}:
        return TOP_WINS
    kinds = {m for _, m in marked}
    if len(marked) >= 2 and kinds == {BELOW}:
        return ALL_BELOW
    if len(marked) >= 2 and kinds == {ABOVE}:
        return ALL_ABOVE
    return ""


def funnel_shapes(
    facts: pd.DataFrame,
    *,
    milestones: Sequence[str],
    segmentation: Segmentation,
    window: Window | None,
    rules: AttentionRules,
) -> pd.DataFrame:
    """One row per segment value (most leads first) over ``window``'s weeks; empty without one."""
    names = list(milestones)
    if window is None:
        return pd.DataFrame(columns=shape_columns(segmentation.name, names))
    sub = facts.loc[facts["cohort_week"].dt.date.isin(window.weeks).to_numpy()]
    values = segment_values(sub, segmentation.column).to_numpy()
    frame = pd.DataFrame({"v": values, "n0": reached_mask(sub, 0)})
    for k in range(1, len(names) + 1):
        frame[f"n{k}"] = reached_mask(sub, k)
    sums = frame.groupby("v", sort=True).sum().astype("int64")
    totals = sums.sum()
    out = pd.DataFrame({segmentation.name: sums.index.astype(object), LEADS: sums["n0"].to_numpy()})
    tests: list[tuple[int, int, float]] = []  # (row, step, p)
    for k, name in enumerate(names, start=1):
        n, x = sums[f"n{k - 1}"].to_numpy(), sums[f"n{k}"].to_numpy()
        rn, rx = totals[f"n{k - 1}"] - n, totals[f"n{k}"] - x
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rate(name)] = np.where(n > 0, x / np.maximum(n, 1), np.nan)
            out[team_rate(name)] = np.where(rn > 0, rx / np.maximum(rn, 1), np.nan)
        out[mark(name)] = ""
        for row in range(len(sums)):
            if n[row] >= rules.min_leads and rn[row] >= rules.min_leads:
                table = np.array([[x[row], n[row] - x[row]], [rx[row], rn[row] - rx[row]]])
                tests.append((row, k, float(fisher_exact(table).pvalue)))
    if tests:
        qs = false_discovery_control([p for _, _, p in tests])
        rates = {n: (out[rate(n)].to_numpy(), out[team_rate(n)].to_numpy()) for n in names}
        marked = {n: [""] * len(out) for n in names}
        for (row, k, _), q in zip(tests, qs, strict=True):
            if q <= rules.fdr:
                mine, rest = rates[names[k - 1]]
                marked[names[k - 1]][row] = BELOW if mine[row] < rest[row] else ABOVE
        for name in names:
            out[mark(name)] = marked[name]
    marks = [out[mark(n)].astype(str).tolist() for n in names]
    out[SHAPE] = [shape_name([step[i] for step in marks]) for i in range(len(out))]
    out = out.sort_values([LEADS, segmentation.name], ascending=[False, True], ignore_index=True)
    return out[shape_columns(segmentation.name, names)]
