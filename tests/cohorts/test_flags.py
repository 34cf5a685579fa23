"""Flags with statistical support: same-age beta-binomial test, minimum base, targets by interval;
planted effects found, pure noise (binomial and week-to-week) left alone."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta
from scipy.stats import t as student_t

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.colours import HIGH, LOW, STRONG_LOW, same_age_colours, segment_colours
from cohort_service.cohorts.flags import SAME_AGE, TARGET, FlagRules, flag_cohorts, step_interval
from cohort_service.cohorts.sameage import same_age_test, step_counts
from cohort_service.config import Target
from tests.helpers.funnel import FunnelSpec, generate

DAY = 86400.0
MONDAY = date(2024, 1, 1)


def cohort(leads: int, reached: Sequence[int], at_days: float = 3.0) -> np.ndarray:
    """Offsets of a cohort: the first ``reached[i]`` leads reached milestone i after ``at_days``."""
    matrix = np.full((leads, len(reached)), np.inf)
    for i, count in enumerate(reached):
        matrix[:count, i] = at_days * DAY
    return matrix


def test_same_age_test_worked_by_hand() -> None:
    # Three earlier weeks at 10, 10 and 16 of 100 (p̂ = 0.12). Smoothed p = 36.5 / 301; binomial
    # variance per week p(1 − p)/100; the shares' sample variance 0.0012 minus that is τ².
    verdict = same_age_test(2, 100, [(10, 100), (10, 100), (16, 100)])
    assert verdict is not None
    p = 36.5 / 301
    tau2 = 0.0012 - p * (1 - p) / 100
    variance = tau2 * (1 + 1 / 3) + p * (1 - p) / 100 + p * (1 - p) / 300
    t = (0.02 - 0.12) / math.sqrt(variance)
    assert verdict.expected == pytest.approx(0.12)
    assert verdict.p_value == pytest.approx(2 * student_t.sf(abs(t), 2))
    half = student_t.ppf(0.975, 2) * math.sqrt(variance)
    assert (verdict.low, verdict.high) == pytest.approx((max(0.0, 0.12 - half), 0.12 + half))
    assert verdict.direction == "low"
    assert same_age_test(2, 100, [(10, 100), (10, 100)]) is None  # two earlier weeks: no verdict


def test_week_to_week_spread_widens_the_expectation() -> None:
    steady = same_age_test(20, 100, [(10, 100)] * 6)
    spread = same_age_test(20, 100, [(2, 100), (18, 100), (5, 100), (15, 100), (8, 100), (12, 100)])
    assert steady is not None
    assert spread is not None
    assert spread.high > steady.high
    assert spread.p_value > steady.p_value


def test_step_counts_at_age() -> None:
    offsets = np.array([[1 * DAY, 5 * DAY], [2 * DAY, np.inf], [np.inf, np.inf]])
    assert step_counts(offsets, 3 * DAY, 1) == (2, 3)
    assert step_counts(offsets, 3 * DAY, 2) == (0, 2)
    assert step_counts(offsets, 6 * DAY, 2) == (1, 2)


def weeks(n: int) -> list[date]:
    return [MONDAY + timedelta(weeks=i) for i in range(n)]


def cohorts_table(rows: dict[date, tuple[int, list[float], list[float], list[float]]]) -> pd.DataFrame:
    """A Cohorts table with leads and, per milestone m1, m2: forecast, low, high."""
    data: dict[str, list[object]] = {col.COHORT_WEEK: [pd.Timestamp(w) for w in rows], col.LEADS: []}
    for name in ("m1", "m2"):
        for column in (col.forecast(name), col.forecast_low(name), col.forecast_high(name)):
            data[column] = []
    for leads, fc, low, high in rows.values():
        data[col.LEADS].append(leads)
        for i, name in enumerate(("m1", "m2")):
            data[col.forecast(name)].append(fc[i])
            data[col.forecast_low(name)].append(low[i])
            data[col.forecast_high(name)].append(high[i])
    return pd.DataFrame(data)


def test_planted_drop_is_flagged_with_its_evidence() -> None:
    ws = weeks(9)
    offsets = {w: cohort(200, [100, 40]) for w in ws[:-1]}  # 50 % then 40 % of qualified
    offsets[ws[-1]] = cohort(200, [100, 15])  # the last week pays 15 % of qualified
    flags = flag_cohorts(offsets, pd.DataFrame(), rows=[(ws[-1], 10 * DAY)], milestones=["m1", "m2"])
    assert [(f.milestone, f.direction, f.kind) for f in flags] == [("m2", "low", SAME_AGE)]
    assert flags[0].evidence.startswith("m2 15 % vs ")
    assert flags[0].evidence.endswith("expected at 10 days (8 cohorts); 100 at the base")


@pytest.mark.parametrize("leads", [1, 5, 29])
def test_small_weeks_are_never_flagged(leads: int) -> None:
    ws = weeks(9)
    offsets = {w: cohort(300, [150, 60]) for w in ws[:-1]}
    offsets[ws[-1]] = cohort(leads, [0, 0])  # nobody through: as extreme as it gets
    flags = flag_cohorts(offsets, pd.DataFrame(), rows=[(ws[-1], 10 * DAY)], milestones=["m1", "m2"])
    assert flags == []


@pytest.mark.parametrize("spread", [0.0, 0.3])
def test_pure_noise_is_left_alone(spread: float) -> None:
    """Forty seeds of 30 weeks with nothing planted — binomial luck alone, and weeks whose true
    share varies (logit sd 0.3, the week-to-week quality every real funnel has): the false
    discovery control keeps flags to a rare seed."""
    flagged_seeds = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        ws = weeks(30)
        offsets = {}
        for w in ws:
            n = int(rng.integers(40, 300))
            p1 = 1 / (1 + np.exp(-(0.0 + rng.normal(0, spread))))
            p2 = 1 / (1 + np.exp(-(-1.0 + rng.normal(0, spread))))
            x1 = int(rng.binomial(n, p1))
            offsets[w] = cohort(n, [x1, int(rng.binomial(x1, p2))])
        rows = [(w, 10 * DAY) for w in ws[8:]]
        if flag_cohorts(offsets, pd.DataFrame(), rows=rows, milestones=["m1", "m2"]):
            flagged_seeds += 1
    assert flagged_seeds <= 4


def test_target_flag_needs_the_interval_outside_the_band() -> None:
    # A mature week (forecast = actual, no width): 20 of 100 paid against 40 % ± 5 pp.
    lo, hi = step_interval(20, 20, 100)
    assert (lo, hi) == (beta.ppf(0.025, 20, 81), beta.ppf(0.975, 21, 80))  # Clopper–Pearson
    assert hi < 0.35
    ws = weeks(2)
    table = cohorts_table(
        {
            ws[0]: (200, [100, 20], [100, 20], [100, 20]),  # 20 % of 100: interval 13–29 % → low
            ws[1]: (200, [100, 33], [100, 30], [100, 36]),  # 30–36 of 100: reaches 35 % → no flag
        }
    )
    target = Target(milestone="m2", target=0.4, tolerance=0.05)
    offsets = {w: cohort(200, [100, 20]) for w in ws}
    flags = flag_cohorts(
        offsets, table, rows=[(w, 30 * DAY) for w in ws], milestones=["m1", "m2"], targets=[target]
    )
    assert [(f.week, f.milestone, f.direction, f.kind) for f in flags] == [(ws[0], "m2", "low", TARGET)]
    assert flags[0].evidence == (
        "m2 20 % expected at maturity vs target 40 % ± 5 pp (95 % range 13 % – 29 %); 100 at the base"
    ).replace(" – ", "–")
    small = cohorts_table({ws[0]: (29, [10, 0], [10, 0], [10, 0]), ws[1]: (29, [10, 0], [10, 0], [10, 0])})
    assert flag_cohorts(offsets, small, rows=[(w, 30 * DAY) for w in ws], milestones=["m1", "m2"],
                        targets=[target], rules=FlagRules(min_leads=30)) == []  # fmt: skip


def test_same_age_colours_paint_the_planted_week_not_the_young_one() -> None:
    """Generated weeks with a steady process: the week whose wins were planted away is strong red on
    lead→won %, while the youngest complete week (a week old, normal for its age) is not coloured."""
    facts = generate(FunnelSpec(weeks=20, change_week=99, quality_sd=0.0), seed=4)
    weeks_shown = sorted({w.date() for w in facts["cohort_week"]})
    planted = pd.Timestamp(weeks_shown[-6])
    hit = (facts["cohort_week"] == planted) & facts["at_2"].notna()
    facts.loc[hit[hit].index[: int(hit.sum() * 0.8)], "at_2"] = pd.NaT
    as_of = datetime.combine(weeks_shown[-1], datetime.min.time(), tzinfo=UTC) + timedelta(days=7)
    cohorts = pd.DataFrame(
        {
            col.LEADS: facts.groupby("cohort_week").size().to_numpy(),
            col.PARTIAL: [False] * len(weeks_shown),
        }
    )
    grades = same_age_colours(
        facts, cohorts, weeks=weeks_shown, milestones=["q", "won"], ages=(), as_of=as_of, tz=ZoneInfo("UTC")
    )
    assert grades[(len(weeks_shown) - 6, "lead→won %")] == STRONG_LOW
    assert (len(weeks_shown) - 1, "lead→won %") not in grades
    normal = [g for (row, name), g in grades.items() if name == "lead→won %" and row != len(weeks_shown) - 6]
    assert len(normal) <= 2


def test_slices_colour_only_significant_rows() -> None:
    """A at 10 % and B at 50 % differ from the rest of the team beyond luck; D at 30 % is the
    team's own level; C has 5 leads, under the minimum base, so its 0 % is not painted."""
    frame = pd.DataFrame(
        {"manager": ["A", "B", "C", "D"], col.LEADS: [100, 100, 5, 100], "paid": [10, 50, 0, 30]}
    )
    frame[col.step_pct("paid")] = frame["paid"] / frame[col.LEADS]
    grades = segment_colours(frame, ["paid"], min_leads=30)
    assert grades == {(0, "paid %"): LOW, (1, "paid %"): HIGH}  # only the share columns shown are tested
    frame[col.lead_to_final("paid")] = frame[col.step_pct("paid")]
    grades = segment_colours(frame, ["paid"], min_leads=30)
    assert grades == {
        (0, "paid %"): LOW, (0, "lead→paid %"): LOW, (1, "paid %"): HIGH, (1, "lead→paid %"): HIGH,
    }  # fmt: skip


def test_slices_correct_over_the_cells_shown_once() -> None:
    """Benjamini–Hochberg over exactly the shown cells, computed here with scipy: a column the
    sheet leaves off (the first milestone's % of leads = its %; the final one's = lead→won %) adds no
    second copy of a test. Counted twice, those copies would leave A's won % (20 of 39) uncoloured."""
    from scipy.stats import false_discovery_control, fisher_exact

    frame = pd.DataFrame(
        {"manager": ["A", "B", "C"], col.LEADS: [60, 60, 60], "q": [39, 24, 28], "won": [20, 5, 9]}
    )
    for name in (col.step_pct("q"), col.step_pct("won"), col.of_leads_pct("won")):
        frame[name] = 0.0  # values are not read: the counts are
    grades = segment_colours(frame, ["q", "won"], min_leads=30)
    cells = [(col.step_pct("q"), "q", col.LEADS), (col.step_pct("won"), "won", "q")]
    cells.append((col.of_leads_pct("won"), "won", col.LEADS))
    tested = []
    for column, num, den in cells:
        for row in range(3):
            x, n = int(frame[num][row]), int(frame[den][row])
            rx, rn = int(frame[num].sum()) - x, int(frame[den].sum()) - n
            if n < 30 or rn < 30:  # under the minimum base: B's won % (of 24 q) is not tested
                continue
            p_value = float(fisher_exact([[x, n - x], [rx, rn - rx]]).pvalue)
            tested.append((row, column, p_value, x / n < rx / rn))
    q = false_discovery_control([t[2] for t in tested], method="bh")
    expected = {
        (r, c): LOW if low else HIGH for (r, c, _, low), qv in zip(tested, q, strict=True) if qv <= 0.05
    }
    assert grades == expected
    assert all(column in frame.columns for _, column in grades)
