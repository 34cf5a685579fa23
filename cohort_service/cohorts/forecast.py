"""The forecast of every young cohort: expected count at each milestone when mature, with an 80 % interval.

API (pure; the attention list and the money sheet reuse it)::

    fc = forecast_cohorts(history, weeks=..., milestones=..., as_of=A, tz=tz)
    fc.table          # one row per Monday of ``weeks``: cohort_week, age days, mature,
                      #   per milestone m: "<m> forecast", "<m> forecast low", "<m> forecast high",
                      #   then "lead→<final> % forecast"
    fc.models[k - 1]  # lifetable.ConversionModel of milestone k (hazards, reached_share(ages))
    fc.mature_days    # the age (days after a lead's creation) a cohort's youngest lead must have

``history`` is the per-lead facts frame (:mod:`facts`) covering *more* weeks than the report shows:
the hazards are measured on it (see :mod:`lifetable`). A cohort's forecast for milestone k is what
it has reached at A plus, for each of its leads not through yet, the probability of getting through
before the horizon given the lead's own age — a lead-level model, so a cohort that started strongly
is not multiplied up (the failure of chain-ladder factors on small counts). A cohort is *mature*
when its youngest possible lead (created Sunday 24:00) is ``mature_days`` old at A; its forecast is
then its actual, with a zero-width interval. Forecasts are never below actuals.

The interval is simulated (``draws`` parametric-bootstrap draws): each band's hazard from its
Gamma posterior (conversions + ½, lead-days) — the uncertainty of the hazards themselves — and the
conversions of each cohort's remaining leads as binomial draws at those hazards — the luck of a small
cohort. The 10th and 90th percentiles of actual + simulated are the 80 % interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.columns import forecast, forecast_high, forecast_low, share_forecast
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.lifetable import (
    INSTANT_DAYS,
    ConversionModel,
    LifeTableSettings,
    as_of_view,
    day_numbers,
    fit_model,
    moment_day,
)
from cohort_service.cohorts.weeks import is_mature, local_midnight

COHORT_WEEK, AGE_DAYS, MATURE = col.COHORT_WEEK, "age days", col.MATURE
AGE_STEP = 0.1  # days: leads of a cohort are simulated in groups of equal age to this precision


@dataclass(frozen=True)
class ForecastSettings:
    lifetable: LifeTableSettings = field(default_factory=LifeTableSettings)
    mature_after_days: int | None = None  # report.mature_after_days: overrides the measured age
    level: float = 0.8
    draws: int = 2000
    seed: int = 20240101  # fixed: the same data give the same interval on every run
    frailty_cohorts: int = 26  # cohort weeks the between-cohort spread (κ) is measured on


@dataclass(frozen=True)
class CohortForecast:
    table: pd.DataFrame
    models: tuple[ConversionModel, ...]
    mature_days: float


def cohort_age_days(week: date, as_of: datetime, tz: ZoneInfo) -> float:
    """Days from the cohort's local Monday 00:00 to A."""
    return (as_of - local_midnight(week, tz)).total_seconds() / 86400.0


def measured_mature_days(models: Sequence[ConversionModel], settings: ForecastSettings) -> float:
    if settings.mature_after_days is not None:
        return float(settings.mature_after_days)
    return models[-1].mature_days(settings.lifetable.mature_share) if models else 0.0


def forecast_cohorts(
    history: pd.DataFrame,
    *,
    weeks: Sequence[date],
    milestones: Sequence[str],
    as_of: datetime,
    tz: ZoneInfo,
    settings: ForecastSettings | None = None,
) -> CohortForecast:
    """Forecast per week of ``weeks`` and milestone from the facts ``history`` as of A (pure)."""
    s = settings or ForecastSettings()
    history = as_of_view(history, as_of, len(milestones))  # a frame reaching past A reads as of A
    models = tuple(fit_model(history, k, as_of, s.lifetable) for k in range(1, len(milestones) + 1))
    mature_days = measured_mature_days(models, s)
    now = moment_day(as_of)
    created = day_numbers(history["created_at"])
    week_of = history["cohort_week"].to_numpy(dtype="datetime64[us]")
    rng = np.random.default_rng(s.seed)
    tail = (1 - s.level) / 2
    table = pd.DataFrame(
        {
            COHORT_WEEK: [pd.Timestamp(w) for w in weeks],
            AGE_DAYS: [cohort_age_days(w, as_of, tz) for w in weeks],
            MATURE: [is_mature(w, as_of, tz, mature_days) for w in weeks],
        }
    )
    keys = [np.datetime64(pd.Timestamp(w), "us") for w in weeks]
    for k, (name, model) in enumerate(zip(milestones, models, strict=True), start=1):
        reached = day_numbers(history[at_col(k)])
        reached = np.where(reached <= now, reached, np.nan)
        kappa = frailty_kappa(
            model, created=created, reached=reached, week_of=week_of, now=now, cohorts=s.frailty_cohorts
        )
        rates = _rate_draws(model, s.draws, rng)
        cells = []
        for key, mature in zip(keys, table[MATURE], strict=True):
            in_week = week_of == key
            state = cohort_state(model, created[in_week], reached[in_week], now)
            if mature or len(state.open_ages) == 0:
                cells.append((state.reached, state.reached, state.reached))
                continue
            mean, low, high = _simulate(model, rates=rates, state=state, kappa=kappa, rng=rng, tail=tail)
            cells.append((state.reached + mean, state.reached + low, state.reached + high))
        values = np.array(cells, dtype="float64").reshape(len(weeks), 3)
        table[forecast(name)], table[forecast_low(name)], table[forecast_high(name)] = values.T
    leads = pd.Series(week_of).value_counts()
    sizes = np.array([float(leads.get(key, 0)) for key in keys])
    final = table[forecast(milestones[-1])].to_numpy(dtype="float64")
    table[share_forecast(milestones[-1])] = np.divide(
        final, sizes, out=np.full(len(weeks), np.nan), where=sizes > 0
    )
    return CohortForecast(table=table, models=models, mature_days=mature_days)


@dataclass(frozen=True)
class CohortState:
    """One cohort's standing at A for one milestone."""

    reached: float  # leads through by A (instant ones included)
    open_ages: np.ndarray  # ages (days) of the leads not through
    observed: float  # conversions after creation so far (O)
    expected: float  # what the hazards expected by now over the same lead-time (E)


def cohort_state(model: ConversionModel, created: np.ndarray, reached: np.ndarray, now: float) -> CohortState:
    through = ~np.isnan(reached)
    instant = through & (reached - created <= INSTANT_DAYS)
    risk_end = np.where(through, reached, now) - created
    return CohortState(
        reached=float(through.sum()),
        open_ages=now - created[~through],
        observed=float((through & ~instant).sum()),
        expected=float(model.cumulative_hazard(risk_end[~instant]).sum()),
    )


def frailty_kappa(
    model: ConversionModel,
    *,
    created: np.ndarray,
    reached: np.ndarray,
    week_of: np.ndarray,
    now: float,
    cohorts: int,
) -> float:
    """κ of a Gamma(κ, κ) cohort frailty: how much whole cohorts differ beyond Poisson luck.

    Moment estimator over the last ``cohorts`` cohort weeks: E[(O − E)²] = E + E²/κ under the
    model, so 1/κ = Σ((O − E)² − O) / ΣE² (0 → cohorts differ by luck only, κ = ∞)."""
    if cohorts <= 0:
        return math.inf
    keep = created <= now
    recent = np.unique(week_of[keep])[-cohorts:]
    keep &= np.isin(week_of, recent)
    code = np.searchsorted(recent, week_of[keep])
    born, done = created[keep], reached[keep]
    through = ~np.isnan(done)
    at_risk = ~(through & (done - born <= INSTANT_DAYS))
    lam = np.where(at_risk, model.cumulative_hazard(np.where(through, done, now) - born), 0.0)
    observed = np.bincount(code, weights=(through & at_risk).astype("float64"), minlength=len(recent))
    expected = np.bincount(code, weights=lam, minlength=len(recent))
    num = float(((observed - expected) ** 2 - observed).sum())
    den = float((expected**2).sum())
    if den <= 0 or num <= 0:
        return math.inf
    return den / num


def _rate_draws(model: ConversionModel, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Band hazards drawn from their Gamma posteriors (Jeffreys prior); 0 where nobody was at risk."""
    seen = model.exposure > 0
    scale = np.divide(1.0, model.exposure, out=np.zeros_like(model.exposure), where=seen)
    out: np.ndarray = rng.gamma(model.events + 0.5, scale, size=(draws, len(model.events)))
    return out * seen


def _simulate(
    model: ConversionModel,
    *,
    rates: np.ndarray,
    state: CohortState,
    kappa: float,
    rng: np.random.Generator,
    tail: float,
) -> tuple[float, float, float]:
    """Expected conversions still to come among the cohort's open leads, and the interval's ends.

    The cohort's frailty Z has the Gamma(κ + O, κ + E) posterior: a cohort that converted more than
    the hazards expected so far is expected to keep doing so, in proportion to how much evidence it
    has (E) against how much cohorts differ (κ) — Bühlmann credibility, the Bornhuetter–Ferguson
    blend made explicit: a week-old cohort (E ≈ 0) gets the hazards' forecast, an older one its own."""
    if math.isinf(kappa):
        z_mean, z = 1.0, np.ones((len(rates), 1))
    else:
        shape, rate = kappa + state.observed, kappa + state.expected
        z_mean, z = shape / rate, rng.gamma(shape, 1.0 / rate, size=(len(rates), 1))
    to_come = model.still_to_reach_hazard(state.open_ages)
    mean = float((1 - np.exp(-z_mean * to_come)).sum())
    grouped, counts = np.unique(np.round(state.open_ages / AGE_STEP) * AGE_STEP, return_counts=True)
    p = 1 - np.exp(-z * model.still_to_reach_hazard(grouped, rates))  # (draws, groups)
    simulated = rng.binomial(np.broadcast_to(counts, p.shape), np.clip(p, 0.0, 1.0)).sum(axis=1)
    low, high = np.quantile(simulated, [tail, 1 - tail])
    return mean, float(min(low, mean)), float(max(high, mean))
