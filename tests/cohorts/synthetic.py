"""Synthetic per-lead facts with known step rates, for the attention list's planted-effect tests.

Each lead is created uniformly in its Monday week, passes each step with the rate of its segment
(a planted effect multiplies one segment's rate of one step), after an exponential lag; what has
not happened by the as-of moment has not happened (so young weeks are immature, as in life).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from cohort_service.cohorts.facts import at_col

FIRST_MONDAY = date(2026, 6, 1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Plant:
    """Multiply ``step``'s rate (1-based) by ``factor`` for leads whose ``column`` is ``value``,
    in cohort weeks from ``from_week`` (0-based) on."""

    column: str
    value: str
    step: int
    factor: float
    from_week: int = 0


@dataclass(frozen=True)
class Account:
    weeks: int = 12
    per_week: int = 400
    rates: tuple[float, ...] = (0.6, 0.5, 0.4)
    lag_days: float = 3.0
    price: float = 100_000.0
    dims: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {
            "manager": [f"M{i}" for i in range(1, 9)],
            "source": ["yandex", "google", "vk", "email"],
        }
    )
    plants: Sequence[Plant] = ()

    @property
    def mondays(self) -> list[date]:
        return [FIRST_MONDAY + timedelta(weeks=i) for i in range(self.weeks)]

    @property
    def as_of(self) -> datetime:
        """Tuesday of the week after the last full one: the last week shown is partial."""
        return datetime.combine(self.mondays[-1] + DAY, datetime.min.time(), tzinfo=UTC)


def facts(acct: Account, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = acct.weeks * acct.per_week
    week = np.repeat(np.arange(acct.weeks), acct.per_week)
    start = pd.Timestamp(FIRST_MONDAY, tz=UTC)
    created = start + pd.to_timedelta(week * 7 + rng.random(n) * 7, unit="D")
    out = pd.DataFrame(
        {
            "lead_id": np.arange(1, n + 1),
            "cohort_week": pd.to_datetime([FIRST_MONDAY + timedelta(weeks=int(w)) for w in week]),
            "created_at": created,
        }
    )
    for name, values in acct.dims.items():
        out[name] = rng.choice(np.array(values, dtype=object), size=n)
    as_of = pd.Timestamp(acct.as_of)
    moment = pd.Series(created, index=out.index)
    alive = np.ones(n, dtype=bool)
    for k, rate in enumerate(acct.rates, start=1):
        p = np.full(n, rate)
        for plant in acct.plants:
            hit = (out[plant.column].to_numpy() == plant.value) & (week >= plant.from_week)
            p = np.where((plant.step == k) & hit, p * plant.factor, p)
        lag = pd.to_timedelta(rng.exponential(acct.lag_days, n), unit="D")
        moment = moment + lag
        alive &= (rng.random(n) < p) & (moment <= as_of).to_numpy()
        out[at_col(k)] = moment.where(alive).astype("datetime64[us, UTC]")
    out["won"] = alive
    out["revenue"] = np.where(alive, acct.price, 0.0)
    return out


def by_hand(rows: Sequence[tuple[str, str, int, int]], as_of: datetime, week: date) -> pd.DataFrame:
    """Leads from (manager, source, reached level, 0/1 won) rows, all created on ``week``'s Monday
    noon and reaching each milestone a day apart; two milestones."""
    created = pd.Timestamp(datetime.combine(week, datetime.min.time()), tz=UTC) + pd.Timedelta(hours=12)
    frame = pd.DataFrame(
        {
            "lead_id": np.arange(1, len(rows) + 1),
            "cohort_week": pd.to_datetime([week] * len(rows)),
            "created_at": pd.Series([created] * len(rows)).astype("datetime64[us, UTC]"),
            "manager": [r[0] for r in rows],
            "source": [r[1] for r in rows],
        }
    )
    level = np.array([r[2] for r in rows])
    for k in (1, 2):
        at = pd.Series([created + pd.Timedelta(days=k)] * len(rows)).astype("datetime64[us, UTC]")
        frame[at_col(k)] = at.where(level >= k)
    frame["won"] = np.array([r[3] for r in rows], dtype=bool)
    frame["revenue"] = np.where(frame["won"], 1000.0, 0.0)
    assert as_of > created
    return frame
