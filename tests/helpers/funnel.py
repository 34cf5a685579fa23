"""Generated per-lead facts with a realistic funnel: small weekly counts, long conversion tails,
week-to-week lead quality noise and a process change mid-year — the shape the forecast must survive.

The frame has the columns of :mod:`cohort_service.cohorts.facts` the forecast reads (``lead_id``,
``cohort_week``, ``created_at``, ``at_1``…``at_K``, ``won``, ``revenue``), in UTC weeks; reached-at
moments run past any as-of (the future exists in the frame; :func:`as_of_view` cuts it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

START = datetime(2023, 1, 2, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class Process:
    qualify: float  # share of leads that ever reach milestone 1
    win: float  # share of qualified leads that ever reach milestone 2 (won)
    qualify_days: float  # median days from creation to milestone 1
    win_days: float  # median days from milestone 1 to won
    instant: float = 0.05  # share of qualified leads created directly at milestone 1


BEFORE = Process(qualify=0.45, win=0.22, qualify_days=2.0, win_days=18.0)
AFTER = Process(qualify=0.55, win=0.30, qualify_days=1.0, win_days=9.0)


@dataclass(frozen=True)
class FunnelSpec:
    weeks: int = 52
    change_week: int = 26
    leads_first: float = 120.0  # leads per week at the start, growing linearly to leads_last
    leads_last: float = 330.0
    quality_sd: float = 0.25  # week-to-week lead quality: sd of a logit shift of both shares
    sigma: float = 1.1  # lognormal spread of the conversion times
    before: Process = BEFORE
    after: Process = AFTER
    price: float = 1000.0


def _logit_shift(p: np.ndarray, shift: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift))))


def generate(spec: FunnelSpec, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.poisson(np.linspace(spec.leads_first, spec.leads_last, spec.weeks))
    week_of = np.repeat(np.arange(spec.weeks), sizes)
    n = len(week_of)
    start = pd.Timestamp(START)
    created = start + pd.to_timedelta(week_of * 7 + rng.uniform(0, 7, n), unit="D")
    after = week_of >= spec.change_week
    proc = {
        name: np.where(after, getattr(spec.after, name), getattr(spec.before, name))
        for name in ("qualify", "win", "qualify_days", "win_days", "instant")
    }
    shift = rng.normal(0, spec.quality_sd, spec.weeks)[week_of]
    qualified = rng.random(n) < _logit_shift(proc["qualify"], shift)
    won = qualified & (rng.random(n) < _logit_shift(proc["win"], shift))
    instant = qualified & (rng.random(n) < proc["instant"])
    q_days = np.where(instant, 0.0, proc["qualify_days"] * np.exp(rng.normal(0, spec.sigma, n)))
    w_days = q_days + proc["win_days"] * np.exp(rng.normal(0, spec.sigma, n))
    at_1 = created + pd.to_timedelta(np.where(qualified, q_days, np.nan), unit="D")
    at_2 = created + pd.to_timedelta(np.where(won, w_days, np.nan), unit="D")
    frame = pd.DataFrame(
        {
            "lead_id": np.arange(1, n + 1, dtype="int64"),
            "cohort_week": (start + pd.to_timedelta(week_of * 7, unit="D")).tz_localize(None),
            "created_at": created,
            "at_1": at_1,
            "at_2": at_2,
            "won": won,
            "revenue": np.where(won, spec.price, 0.0),
        }
    )
    for column in ("created_at", "at_1", "at_2"):
        frame[column] = frame[column].dt.floor("s").astype("datetime64[us, UTC]")
    frame["cohort_week"] = frame["cohort_week"].astype("datetime64[us]")
    return frame.sort_values(["created_at", "lead_id"], ignore_index=True)
