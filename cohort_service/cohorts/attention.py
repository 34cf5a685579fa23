"""The attention list: segments × funnel steps whose conversion differs from the rest of the team.

Pure (facts in, one table out). For every segment (a value of the manager, the pipeline or a
configured dimension) and every funnel step (milestone k−1 → k; leads → the first milestone), the
segment's step conversion is compared with the **rest of the team at equal age**, in two windows:

* the last ``weeks`` *mature* cohort weeks — weeks whose youngest lead is at least the mature age
  old (by then ~95 % of conversions to the final milestone have happened), so every lead counted
  had its time, whichever segment it belongs to;
* the last complete cohort week — one cohort, so the segment and the rest are exactly the same age.

A difference is kept when Fisher's exact test (two-sided, segment vs rest, 2×2) survives the
Benjamini–Hochberg correction across *every* segment × step × window tested (false discovery rate
``fdr``), and both the segment and the rest have at least ``min_leads`` leads at the step's base.
Its impact is in deals at the final milestone: ``(expected − actual) × base × downstream``, where
downstream is the team's conversion from the step's milestone to the final one over the mature
window; money is deals × the team's average check of won leads. Rows are ranked by deals, the worst
(most deals lost) first. Segment targets (``[[report.targets]]`` with ``where``) outside their
tolerance are listed as ``target`` whatever their significance, which the evidence line states.

Counts are those a pivot over the Leads table reproduces: filter the segment and the window's
``cohort_week``s, base = SUM of the previous milestone's column (count of leads for the first),
reached = SUM of the milestone's column.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
from scipy.stats import binomtest, false_discovery_control, fisher_exact

from cohort_service.cohorts.attention_windows import LAST_WEEK, Window, mature_age_days, windows_for
from cohort_service.cohorts.facts import at_col

BLANK_VALUE = "(blank)"
CONFIDENCE = 0.95  # of the low/high interval around the segment's rate
_EPS = 1e-9  # shares are compared after rounding noise away (as the e-mail's target flags do)

DIMENSION, VALUE, MILESTONE, WINDOW = "dimension", "value", "milestone", "window"
BASE, REACHED, ACTUAL, EXPECTED, LOW, HIGH = "base", "reached", "actual %", "expected %", "low %", "high %"
DEALS, MONEY, KIND, EVIDENCE = "deals", "money", "kind", "evidence"
COLUMNS = (DIMENSION, VALUE, MILESTONE, WINDOW, BASE, REACHED, ACTUAL, EXPECTED, LOW, HIGH, DEALS, MONEY,
           KIND, EVIDENCE)  # fmt: skip
PIVOT_FILTER = "pivot filter"  # workbook only: how to reproduce the row in the pivot
BELOW, ABOVE, TARGET = "below", "above", "target"


@dataclass(frozen=True)
class Segmentation:
    """A dimension to slice by: its name in the report and the facts column holding its values."""

    name: str
    column: str


@dataclass(frozen=True)
class SegmentTarget:
    """A step target for one segment; ``where`` pairs a dimension name with a value label."""

    where: tuple[tuple[str, str], ...]
    milestone: str
    target: float
    tolerance: float


@dataclass(frozen=True)
class AttentionRules:
    weeks: int = 8
    min_leads: int = 30
    fdr: float = 0.02  # 0.05 left a null account's list non-empty in ~5-8 % of seeds
    # None: measured on the facts (mature_age_days); the report passes the forecast's mature age
    # (its life table, or report.mature_after_days), so "mature" means one thing everywhere.
    mature_days: float | None = None


@dataclass(frozen=True)
class Attention:
    rows: pd.DataFrame  # COLUMNS + PIVOT_FILTER, worst first
    windows: tuple[Window, ...]
    mature_days: float | None
    tested: int  # segment × step × window comparisons that entered the correction
    notes: tuple[str, ...] = field(default_factory=tuple)  # said on the Attention sheet
    shapes: pd.DataFrame = field(default_factory=pd.DataFrame)  # per manager (see attention_shape)
    rules: AttentionRules = field(default_factory=AttentionRules)

    @property
    def mature_window(self) -> Window | None:
        return next((w for w in self.windows if w.label != LAST_WEEK), None)

    def short_window(self) -> str | None:
        """Said on the sheet (not a report warning): the mature window is shorter than asked."""
        window = self.mature_window
        if window is None or len(window.weeks) >= self.rules.weeks or self.mature_days is None:
            return None
        return (
            f"only {len(window.weeks)} of report.attention_weeks = {self.rules.weeks} mature weeks are "
            f"among the report's weeks (mature age {self.mature_days:.0f} days); raise report.weeks for "
            "the full window"
        )

    def csv_rows(self) -> pd.DataFrame:
        return self.rows[list(COLUMNS)]

    def top_lines(self, count: int = 5) -> tuple[str, ...]:
        """The first ``count`` rows, one line each, for the Monday e-mail."""
        return tuple(line(r) for r in self.rows.head(count).to_dict("records"))


def _amount(value: float) -> str:
    return f"{abs(value):,.0f}".replace(",", "\u2009")


def line(row: Mapping[Hashable, object]) -> str:
    """``manager Анна Попова, qualified→proposal: 21% vs 42% expected (310 leads, cohorts …) —
    −32.5 deals, −4 100 000`` — what the row costs (or brings) at the final milestone."""
    deals, money = float(str(row[DEALS])), float(str(row[MONEY]))
    verb = "costs" if deals >= 0 else "brings"
    cost = f"{verb} {abs(deals):.1f} deals" + ("" if math.isnan(money) else f" ({_amount(money)})")
    what = "target" if row[KIND] == TARGET else "expected"
    window = "last week" if row[WINDOW] == LAST_WEEK else f"cohorts {row[WINDOW]}"
    return (
        f"{row[DIMENSION]} {row[VALUE]}, {row[MILESTONE]}: {_pct(float(str(row[ACTUAL])))} vs "
        f"{_pct(float(str(row[EXPECTED])))} {what} ({row[BASE]} leads at the base, {window}) — {cost}"
    )


def step_name(milestones: Sequence[str], k: int) -> str:
    """``qualified→proposal`` for step k (1-based); ``lead→target`` for the first."""
    return f"{'lead' if k == 1 else milestones[k - 2]}→{milestones[k - 1]}"


def reached_mask(facts: pd.DataFrame, k: int) -> np.ndarray:
    if k == 0:
        return np.ones(len(facts), dtype=bool)
    return facts[at_col(k)].notna().to_numpy()


def segment_values(facts: pd.DataFrame, column: str) -> pd.Series:
    values = facts[column].astype(object)
    return values.where(values.notna() & (values.astype(str) != ""), BLANK_VALUE).astype(str)


@dataclass
class _Cell:
    dimension: str
    value: str
    k: int
    window: Window
    base: int
    reached: int
    rest_base: int
    rest_reached: int
    p: float
    where: tuple[tuple[str, str], ...]


def _counts(facts: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
    return reached_mask(facts, k - 1), reached_mask(facts, k)


def _cells(
    facts: pd.DataFrame, segs: Sequence[Segmentation], windows: Sequence[Window], k_max: int, min_leads: int
) -> list[_Cell]:
    cells: list[_Cell] = []
    week = facts["cohort_week"].dt.date
    for window in windows:
        sub = facts.loc[week.isin(window.weeks).to_numpy()]
        if sub.empty:
            continue
        for seg in segs:
            values = segment_values(sub, seg.column)
            for k in range(1, k_max + 1):
                base, reached = _counts(sub, k)
                frame = pd.DataFrame({"v": values.to_numpy(), "b": base, "r": base & reached})
                sums = frame.groupby("v", sort=True)[["b", "r"]].sum()
                total_b, total_r = int(sums["b"].sum()), int(sums["r"].sum())
                for value, row in sums.iterrows():
                    n, x = int(row["b"]), int(row["r"])
                    rn, rx = total_b - n, total_r - x
                    if n < min_leads or rn < min_leads:
                        continue
                    p = float(fisher_exact(np.array([[x, n - x], [rx, rn - rx]])).pvalue)
                    where = ((seg.name, str(value)),)
                    cells.append(_Cell(seg.name, str(value), k, window, n, x, rn, rx, p, where))
    return cells


def _downstream(facts: pd.DataFrame, window: Window | None, k_max: int) -> list[float]:
    """``d[k]``: the team's conversion from milestone k to the final one (d[k_max] = 1)."""
    sub = facts if window is None else facts.loc[facts["cohort_week"].dt.date.isin(window.weeks).to_numpy()]
    carried = [1.0] * (k_max + 1)
    for k in range(k_max - 1, 0, -1):
        base = int(reached_mask(sub, k).sum())
        rate = int(reached_mask(sub, k + 1).sum()) / base if base else 0.0
        carried[k] = carried[k + 1] * rate
    return carried


def average_check(facts: pd.DataFrame) -> float | None:
    """Revenue of the leads won at A ÷ their number, over all leads of the report."""
    won = facts["won"].astype(bool)
    if not won.any():
        return None
    check = float(facts.loc[won, "revenue"].sum()) / int(won.sum())
    return check if check > 0 else None


def _interval(x: int, n: int) -> tuple[float, float]:
    ci = binomtest(x, n).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return float(ci.low), float(ci.high)


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%" if share >= 0.1 or share == 0 else f"{share * 100:.1f}%"


def _p(value: float) -> str:
    return f"{value:.2g}"


def _segment_filter(where: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{dim} = {value}" for dim, value in where)


def _pivot_filter(cell: _Cell, milestones: Sequence[str], scope: str) -> str:
    base = "count of leads" if cell.k == 1 else f"SUM({milestones[cell.k - 2]})"
    return (
        f"Leads where {scope}{_segment_filter(cell.where)}; {cell.window.weeks_filter()}: "
        f"base = {base}, reached = SUM({milestones[cell.k - 1]})"
    )


@dataclass(frozen=True)
class _Context:
    milestones: Sequence[str]
    rules: AttentionRules
    carried: Sequence[float]  # team conversion from milestone k to the final one
    check: float | None  # team average check
    scope: str  # the pivot filter that selects the leads compared ("" = all), e.g. "pipeline = A; "


def _row(cell: _Cell, ctx: _Context, expected: float, kind: str, evidence: str) -> dict[str, object]:
    actual = cell.reached / cell.base
    low, high = _interval(cell.reached, cell.base)
    deals = (expected - actual) * cell.base * ctx.carried[cell.k]
    return {
        DIMENSION: cell.dimension,
        VALUE: cell.value,
        MILESTONE: ctx.milestones[cell.k - 1],
        WINDOW: cell.window.label,
        BASE: cell.base,
        REACHED: cell.reached,
        ACTUAL: actual,
        EXPECTED: expected,
        LOW: low,
        HIGH: high,
        DEALS: round(deals, 2),
        MONEY: round(deals * ctx.check, 0) if ctx.check is not None else math.nan,
        KIND: kind,
        EVIDENCE: evidence,
        PIVOT_FILTER: _pivot_filter(cell, ctx.milestones, ctx.scope),
    }


def _window_words(window: Window) -> str:
    return f"last week ({window.span})" if window.label == LAST_WEEK else f"cohorts {window.span}"


def _difference_rows(cells: Sequence[_Cell], qs: Sequence[float], ctx: _Context) -> list[dict[str, object]]:
    rows = []
    for cell, q in zip(cells, qs, strict=True):
        if q > ctx.rules.fdr:
            continue
        actual, expected = cell.reached / cell.base, cell.rest_reached / cell.rest_base
        kind = BELOW if actual < expected else ABOVE
        evidence = (
            f"{step_name(ctx.milestones, cell.k)} {_pct(actual)} ({cell.reached} of {cell.base}) vs "
            f"{_pct(expected)} for the rest ({cell.rest_reached} of {cell.rest_base}), "
            f"{_window_words(cell.window)}; Fisher p={_p(cell.p)}, BH q={_p(float(q))}"
        )
        rows.append(_row(cell, ctx, expected, kind, evidence))
    return rows


def _target_rows(
    facts: pd.DataFrame, targets: Sequence[SegmentTarget], segs: Sequence[Segmentation],
    windows: Sequence[Window], ctx: _Context,
) -> list[dict[str, object]]:  # fmt: skip
    columns = {s.name: s.column for s in segs}
    week = facts["cohort_week"].dt.date
    rows = []
    for target in targets:
        k = list(ctx.milestones).index(target.milestone) + 1
        mask = np.ones(len(facts), dtype=bool)
        for dim, value in target.where:
            mask &= (segment_values(facts, columns[dim]) == value).to_numpy()
        for window in windows:
            sub = facts.loc[mask & week.isin(window.weeks).to_numpy()]
            base, reached = _counts(sub, k)
            n, x = int(base.sum()), int((base & reached).sum())
            if n < ctx.rules.min_leads:
                continue
            actual = x / n
            low_edge, high_edge = target.target - target.tolerance, target.target + target.tolerance
            if low_edge - _EPS <= actual <= high_edge + _EPS:
                continue
            below = actual < low_edge
            edge = max(low_edge, 0.0) if below else min(high_edge, 1.0)
            p = float(binomtest(x, n, edge, alternative="less" if below else "greater").pvalue)
            cell = _Cell(
                " & ".join(d for d, _ in target.where), " & ".join(v for _, v in target.where), k, window,
                n, x, 0, 0, p, target.where,
            )  # fmt: skip
            evidence = (
                f"{step_name(ctx.milestones, k)} {_pct(actual)} ({x} of {n}), {_window_words(window)}; "
                f"target {_pct(target.target)} ± {target.tolerance * 100:g} pp; "
                f"binomial p={_p(p)} that the rate is {'below' if below else 'above'} {_pct(edge)} by chance"
            )
            rows.append(_row(cell, ctx, target.target, TARGET, evidence))
    return rows


def attention(
    facts: pd.DataFrame,
    *,
    milestones: Sequence[str],
    segmentations: Sequence[Segmentation],
    weeks: Sequence[date],
    as_of: datetime,
    rules: AttentionRules = AttentionRules(),
    targets: Sequence[SegmentTarget] = (),
    pipelines: Sequence[str] = (),
) -> Attention:
    """The attention list as of ``as_of`` (aware, in the report zone) over the report's ``weeks``.
    ``pipelines``: when the facts are limited to some pipelines, their names (for the pivot filter)."""
    k_max = len(milestones)
    mature = rules.mature_days if rules.mature_days is not None else mature_age_days(facts, k_max)
    windows = windows_for(weeks, as_of, mature, rules.weeks)
    notes = []
    if not any(w.label != LAST_WEEK for w in windows):
        notes.append(
            f"no cohort week of the report is mature yet (mature age {mature:g} days): "
            "only the last complete week is compared"
            if mature is not None
            else "no complete cohort week yet: nothing is compared"
        )
    mature_window = next((w for w in windows if w.label != LAST_WEEK), None)
    scope = f"pipeline = {' or '.join(pipelines)}; " if pipelines else ""
    ctx = _Context(milestones, rules, _downstream(facts, mature_window, k_max), average_check(facts), scope)
    cells = _cells(facts, segmentations, windows, k_max, rules.min_leads)
    qs = [float(q) for q in false_discovery_control([c.p for c in cells])] if cells else []
    targeted = _target_rows(facts, targets, segmentations, windows, ctx)
    keys = {(r[DIMENSION], r[VALUE], r[MILESTONE], r[WINDOW]) for r in targeted}
    differences = [
        r for r in _difference_rows(cells, qs, ctx)
        if (r[DIMENSION], r[VALUE], r[MILESTONE], r[WINDOW]) not in keys
    ]  # fmt: skip
    rows = pd.DataFrame([*targeted, *differences], columns=[*COLUMNS, PIVOT_FILTER])
    rows = rows.sort_values(DEALS, ascending=False, kind="stable", na_position="last", ignore_index=True)
    for name in (BASE, REACHED):
        rows[name] = rows[name].astype("int64")
    return Attention(
        rows=rows,
        windows=tuple(windows),
        mature_days=mature,
        tested=len(cells),
        notes=tuple(notes),
        rules=rules,
    )
