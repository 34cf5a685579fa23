"""The funnel sliced by a dimension (manager, pipeline, source…) over all leads of the report's weeks.

The per-manager version is the table sales heads use to compare people: leads, reached per
milestone with conversions, won revenue, average check and the median cycle (days to final).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.build import days_between, ratio
from cohort_service.cohorts.facts import at_col

BLANK_VALUE = "(blank)"


def slice_columns(key: str, milestones: Sequence[str]) -> list[str]:
    cols = [key, col.LEADS]
    for name in milestones:
        cols += [name, col.step_pct(name), col.of_leads_pct(name)]
    return [*cols, col.lead_to_final(milestones[-1]), col.WON, col.LOST, col.REVENUE, col.AVG_CHECK,
            col.MEDIAN_DAYS_TO_FINAL]  # fmt: skip


def funnel_by(
    facts: pd.DataFrame, column: str, milestones: Sequence[str], *, label: str | None = None
) -> pd.DataFrame:
    """One row per value of ``facts[column]`` (blanks grouped as ``(blank)``), most leads first.

    ``label`` names the key column of the result (default: ``column``).
    """
    k = len(milestones)
    key = label or column
    keys = facts[column].astype(object).where(facts[column].notna(), BLANK_VALUE)
    frame = pd.DataFrame(
        {
            "key": keys,
            col.LEADS: 1,
            **{f"r{i}": facts[at_col(i)].notna() for i in range(1, k + 1)},
            col.WON: facts["won"],
            col.LOST: facts["lost"],
            col.REVENUE: facts["revenue"].where(facts["won"], 0.0),
            "cycle": days_between(facts[at_col(k)], facts["created_at"]),
        }
    )
    grouped = frame.groupby("key", sort=False)
    sums = grouped[[col.LEADS, col.WON, col.LOST, col.REVENUE, *(f"r{i}" for i in range(1, k + 1))]].sum()
    out = pd.DataFrame(
        {key: sums.index.astype(object), col.LEADS: sums[col.LEADS].astype("int64").to_numpy()}
    )
    previous = sums[col.LEADS]
    for i, name in enumerate(milestones, start=1):
        out[name] = sums[f"r{i}"].astype("int64").to_numpy()
        out[col.step_pct(name)] = ratio(sums[f"r{i}"], previous).to_numpy()
        out[col.of_leads_pct(name)] = ratio(sums[f"r{i}"], sums[col.LEADS]).to_numpy()
        previous = sums[f"r{i}"]
    out[col.lead_to_final(milestones[-1])] = ratio(sums[f"r{k}"], sums[col.LEADS]).to_numpy()
    out[col.WON] = sums[col.WON].astype("int64").to_numpy()
    out[col.LOST] = sums[col.LOST].astype("int64").to_numpy()
    out[col.REVENUE] = sums[col.REVENUE].astype("float64").to_numpy()
    out[col.AVG_CHECK] = ratio(sums[col.REVENUE], sums[col.WON]).to_numpy()
    out[col.MEDIAN_DAYS_TO_FINAL] = grouped["cycle"].median().reindex(sums.index).astype("float64").to_numpy()
    out = out.sort_values([col.LEADS, key], ascending=[False, True], key=_sort_key, ignore_index=True)
    return out[slice_columns(key, milestones)]


def _sort_key(values: pd.Series) -> pd.Series:
    return values if values.name == col.LEADS else values.astype(str)


def loss_reasons_table(facts: pd.DataFrame) -> pd.DataFrame:
    """Reasons among the leads lost as of A, most frequent first, with their share of all lost leads."""
    lost = facts.loc[facts["lost"], col.LOSS_REASON]
    counted = lost.value_counts(sort=False)
    out = pd.DataFrame(
        {col.LOSS_REASON: counted.index.astype(object), col.LOST: counted.to_numpy(dtype="int64")}
    )
    out["share of lost"] = ratio(out[col.LOST], pd.Series([len(lost)] * len(out), dtype="int64"))
    return out.sort_values([col.LOST, col.LOSS_REASON], ascending=[False, True], ignore_index=True)
