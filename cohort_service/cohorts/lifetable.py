"""How long leads take to reach a milestone: a period life table of conversion time (DESIGN §7).

One milestone at a time. A lead is *at risk* from its creation until it reaches the milestone (or
until A). Lead age is cut into bands (daily in the first week, where most conversions happen, then
wider); each band has a constant daily hazard = conversions in the band ÷ lead-days spent in it
(the occurrence/exposure rate of a piecewise-exponential model, the Kaplan–Meier family with
censoring at A and late entry at the window's start).

*Period*, not cohort: a band's events and exposure are counted only inside a recent calendar window
[A − W, A], so when the sales process changes the hazards follow within weeks instead of averaging
the old process in. W is per band: the shortest of ``min_window_days``·2ⁿ holding
``min_exposed`` leads' worth of the band's width in lead-days (early bands, which every new lead
passes through, use the last weeks; the tail, which few leads have reached lately, borrows older
history). The rule is on exposure, not on conversions: a band where few leads convert *although
many passed through it* is measured precisely as slow, and must not reach back into an old
process. Leads reached at creation (created directly at the stage) are a point mass ``instant``
and are never at risk.

The curve stops at the ``horizon``: the end of the last band that enough leads lived through in the
history given (``min_leads_through`` of them); conversions later than that are not forecast.
Everything here reads only ``created_at`` and ``at_k`` at or before A, so a model fitted on
:func:`as_of_view` (facts, A′) knows nothing after A′.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from cohort_service.cohorts.facts import at_col

DAY_US = 86_400_000_000
# Band edges in days of lead age: daily for the first week, then widening.
BAND_EDGES = (0, 1, 2, 3, 4, 5, 6, 7, 10, 14, 21, 28, 35, 42, 49, 56, 70, 84, 98, 112, 140, 168, 196, 252,
              308, 364, 455, 546, 637, 728)  # fmt: skip
INSTANT_DAYS = 1.0 / 86_400  # reached within a second of creation: created at the stage


@dataclass(frozen=True)
class LifeTableSettings:
    """Knobs of the estimator; the defaults are the ones chosen by the back-test (docs/metrics.md)."""

    min_window_days: int = 28
    min_exposed: int = 200
    min_leads_through: int = 30
    mature_share: float = 0.95


@dataclass(frozen=True)
class ConversionModel:
    """Band hazards of one milestone as of A. ``rates`` are per lead-day; ages are in days."""

    edges: np.ndarray  # band edges, edges[0] = 0, edges[-1] = horizon
    events: np.ndarray  # conversions per band inside the band's window
    exposure: np.ndarray  # lead-days at risk per band inside the band's window
    window_days: np.ndarray  # the calendar window each band was measured over
    instant: float  # share of new leads that start at (or past) the milestone

    @property
    def horizon(self) -> float:
        return float(self.edges[-1])

    @property
    def rates(self) -> np.ndarray:
        rates: np.ndarray = np.divide(
            self.events, self.exposure, out=np.zeros(len(self.events)), where=self.exposure > 0
        )
        return rates

    def cumulative_hazard(self, ages: np.ndarray, rates: np.ndarray | None = None) -> np.ndarray:
        """Λ(age) for each age; with 2-D ``rates`` (one row per draw) one row of Λ per draw."""
        r = self.rates if rates is None else rates
        widths = np.diff(self.edges)
        knots = np.concatenate([np.zeros((*r.shape[:-1], 1)), np.cumsum(r * widths, axis=-1)], axis=-1)
        a = np.clip(np.asarray(ages, dtype="float64"), 0.0, self.horizon)
        band = np.clip(np.searchsorted(self.edges, a, side="right") - 1, 0, len(widths) - 1)
        lam: np.ndarray = knots[..., band] + r[..., band] * (a - self.edges[band])
        return lam

    def reached_share(self, ages: np.ndarray) -> np.ndarray:
        """Expected share of new leads that reached the milestone by each age (the maturation curve)."""
        return np.asarray(self.instant + (1 - self.instant) * (1 - np.exp(-self.cumulative_hazard(ages))))

    def still_to_reach_hazard(self, ages: np.ndarray, rates: np.ndarray | None = None) -> np.ndarray:
        """Λ(horizon) − Λ(age): the hazard a lead not through at ``age`` still has ahead of it."""
        lam = self.cumulative_hazard(ages, rates)
        total = self.cumulative_hazard(np.array([self.horizon]), rates)
        return np.asarray(total - lam)

    def still_to_reach(self, ages: np.ndarray, rates: np.ndarray | None = None) -> np.ndarray:
        """Probability that a lead not through at ``age`` gets through before the horizon."""
        return np.asarray(1 - np.exp(-self.still_to_reach_hazard(ages, rates)))

    def mature_days(self, share: float = LifeTableSettings.mature_share) -> float:
        """The lead age by which ``share`` of the conversions up to the horizon have happened."""
        ages = np.linspace(0.0, self.horizon, int(self.horizon * 4) + 1)
        curve = self.reached_share(ages)
        if curve[-1] <= 0:
            return 0.0
        return float(ages[np.argmax(curve >= share * curve[-1])])


def day_numbers(moments: pd.Series) -> np.ndarray:
    """UTC moments → float days since the epoch, NaN for NaT."""
    values = moments.to_numpy(dtype="datetime64[us]")
    out = values.astype("int64").astype("float64") / DAY_US
    out[np.isnat(values)] = np.nan
    return out


def moment_day(moment: datetime) -> float:
    """The same float as :func:`day_numbers` gives for that moment (µs, then one division), so a
    lead reached exactly at A compares equal to A instead of an ulp after it."""
    micros = pd.Timestamp(moment).tz_convert("UTC").value // 1000
    return float(micros) / DAY_US


def as_of_view(facts: pd.DataFrame, moment: datetime, milestones: int) -> pd.DataFrame:
    """The facts as they stood at ``moment`` ≤ A: leads created by then, reached-at moments after it
    erased. (Leads deleted between ``moment`` and A are missing from it: the facts do not carry them.)"""
    cutoff = pd.Timestamp(moment).tz_convert("UTC")
    view = facts.loc[facts["created_at"] <= cutoff].copy()
    for k in range(1, milestones + 1):
        column = at_col(k)
        view[column] = view[column].where(view[column] <= cutoff)
    return view


def _band_counts(
    created: np.ndarray, *, reached: np.ndarray, now: float, start: float, low: float, high: float
) -> tuple[float, float]:
    """Conversions and lead-days at risk in age band [low, high) inside the calendar window [start, now]."""
    stop = np.fmin(reached, now)  # NaN reached → now
    lo = np.maximum(created + low, start)
    hi = np.minimum(np.minimum(created + high, stop), now)
    exposure = float(np.clip(hi - lo, 0.0, None).sum())
    age = reached - created
    hit = (age >= low) & (age < high) & (reached >= start) & (reached <= now) & (age > INSTANT_DAYS)
    return float(hit.sum()), exposure


def fit_model(
    facts: pd.DataFrame, k: int, as_of: datetime, settings: LifeTableSettings | None = None
) -> ConversionModel:
    """The life table of milestone ``k`` (1-based) from every lead in ``facts`` (the history)."""
    s = settings or LifeTableSettings()
    now = moment_day(as_of)
    created = day_numbers(facts["created_at"])
    reached = day_numbers(facts[at_col(k)])
    reached = np.where(reached <= now, reached, np.nan)
    keep = created <= now
    order = np.argsort(created[keep], kind="stable")
    created, reached = created[keep][order], reached[keep][order]
    instant_mask = reached - created <= INSTANT_DAYS
    span = now - float(created[0]) if len(created) else 0.0
    edges = _horizon_edges(now - created, s.min_leads_through, span)
    windows = _windows(s.min_window_days, span)
    events, exposure, used = [], [], []
    for low, high in itertools.pairwise(edges):
        for window in windows:
            # Only leads created after (window start − band end) can be in the band inside the window.
            first = int(np.searchsorted(created, now - window - high))
            e, x = _band_counts(
                created[first:], reached=reached[first:], now=now, start=now - window, low=low, high=high
            )
            if x >= s.min_exposed * (high - low) or window == windows[-1]:
                break
        events.append(e)
        exposure.append(x)
        used.append(window)
    recent = created >= now - windows[0]
    pool = recent if recent.sum() >= s.min_leads_through else np.ones_like(recent)
    instant = float(instant_mask[pool].mean()) if pool.any() else 0.0
    return ConversionModel(
        edges=np.asarray(edges, dtype="float64"),
        events=np.asarray(events, dtype="float64"),
        exposure=np.asarray(exposure, dtype="float64"),
        window_days=np.asarray(used, dtype="float64"),
        instant=instant,
    )


def _windows(min_days: int, span: float) -> list[float]:
    out = [float(min_days)]
    while out[-1] < span:
        out.append(out[-1] * 2)
    return out


def _horizon_edges(ages: np.ndarray, min_through: int, span: float) -> list[float]:
    """Band edges up to the last band that at least ``min_through`` leads had lived through."""
    edges = [0.0]
    for edge in BAND_EDGES[1:]:
        if edge > span or int((ages >= edge).sum()) < min_through:
            break
        edges.append(float(edge))
    if len(edges) == 1:  # too little history for even one band: a one-day band, no conversions
        edges.append(1.0)
    return edges
