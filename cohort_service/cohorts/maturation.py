"""The maturation triangle: share of a cohort that reached the final milestone by the end of week 0, 1, 2…

Week w of a cohort ends at local Monday 00:00 of the cohort week + 7·(w+1) days; a cell exists
only when that moment has passed by A, so every number in a column had the same time to mature.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.build import ended_by, week_index
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.weeks import local_midnight, week_label


def maturation_table(
    facts: pd.DataFrame, *, weeks: Sequence[date], final: int, as_of: datetime, tz: ZoneInfo
) -> pd.DataFrame:
    """Rows: cohorts, oldest first; columns ``week 0`` … ``week N-1``; cumulative shares, NaN if unknown."""
    index = week_index(weeks)
    values = np.full((len(weeks), len(weeks)), np.nan)
    times = {
        pd.Timestamp(week): np.sort(group[at_col(final)].dropna().to_numpy(dtype="datetime64[us]"))  # type: ignore[arg-type]
        for week, group in facts.groupby("cohort_week")
    }
    leads = facts.groupby("cohort_week").size()
    for row, week in enumerate(weeks):
        size = int(leads.get(pd.Timestamp(week), 0))
        reached = times.get(pd.Timestamp(week), np.array([], dtype="datetime64[us]"))
        for w in range(len(weeks)):
            end = local_midnight(week + timedelta(days=7 * (w + 1)), tz)
            if size == 0 or not ended_by(end, as_of):
                break
            end_utc = np.datetime64(pd.Timestamp(end).tz_convert("UTC").tz_localize(None), "us")
            values[row, w] = np.searchsorted(reached, end_utc, side="left") / size
    head = {col.COHORT: [week_label(w) for w in weeks], col.COHORT_WEEK: index}
    cells = {col.maturation_week(w): values[:, w] for w in range(len(weeks))}
    return pd.DataFrame(head | cells)
