"""Money per cohort week and per source: spend, CPL, cost per milestone, CAC, ROMI, each lead's cost.

Pure functions over the facts frame and a spend frame (``day``, ``source``, ``cost``: one row per
local day × spend source, see :func:`cohort_service.spend.store.read_spend`). No I/O.

Matching (docs/metrics.md "Money"): a spend source, renamed by ``[spend.aliases]``, meets the
leads whose source dimension has the same value, ignoring case and surrounding spaces. A week's
spend is the spend of its seven local days, whatever source; a lead's ``cost`` is an equal share
of the spend of its creation day × source, so the sum of ``cost`` over any set of leads is the
spend of the days × sources those leads came from. Spend of a day × source with no lead is kept in
the week's ``spend`` and in its own Channels row, never dropped. Every ratio is blank (NaN) when its
denominator is 0 or no spend is known for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.build import ratio, week_index
from cohort_service.cohorts.columns import cost_per
from cohort_service.cohorts.facts import at_col
from cohort_service.cohorts.slices import BLANK_VALUE
from cohort_service.cohorts.weeks import week_label

SPEND, CPL, CAC, ROMI = col.SPEND, col.CPL, col.CAC, col.ROMI
CAC_FORECAST = col.CAC_FORECAST
COST = col.COST  # Leads table: the lead's share of its creation day × source spend
SOURCE = "source"  # Channels: the lead source value (or the spend source no lead matched)
ALL_SOURCES = ""  # the one key when spend is not matched by source


def money_columns(milestones: Sequence[str]) -> list[str]:
    """Cohorts columns added when spend exists (``revenue`` is already a Cohorts column)."""
    return [SPEND, CPL, *(cost_per(m) for m in milestones), CAC, ROMI]


def channel_columns(milestones: Sequence[str]) -> list[str]:
    return [
        col.COHORT,
        col.COHORT_WEEK,
        SOURCE,
        col.LEADS,
        *milestones,
        col.REVENUE,
        *money_columns(milestones),
    ]


@dataclass(frozen=True)
class SpendMatch:
    """How spend meets leads: the facts column with the lead's source (None: not by source) and aliases."""

    source_column: str | None = None
    aliases: Mapping[str, str] | None = None

    def canonical(self, sources: pd.Series) -> pd.Series:
        """Spend source names after ``[spend.aliases]`` (alias keys match ignoring case and spaces)."""
        table = {_fold(k): v for k, v in (self.aliases or {}).items()}
        return sources.map(lambda s: table.get(_fold(s), str(s).strip())).astype(object)


def _fold(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _keys(values: pd.Series) -> pd.Series:
    return values.map(_fold).astype(object)


def lead_days(facts: pd.DataFrame, tz: ZoneInfo) -> pd.Series:
    """The local calendar day of each lead's creation (naive midnight, like ``spend.day``)."""
    local: pd.Series = facts["created_at"].dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return local.astype("datetime64[us]")


def _lead_keys(facts: pd.DataFrame, match: SpendMatch) -> pd.Series:
    if match.source_column is None:
        return pd.Series(ALL_SOURCES, index=facts.index, dtype=object)
    values = facts[match.source_column]
    return _keys(values.where(values.notna(), BLANK_VALUE))


def _spend_keyed(spend: pd.DataFrame, match: SpendMatch) -> pd.DataFrame:
    """spend with ``name`` (after aliases) and ``key`` (what meets the leads' key)."""
    out = spend[["day", "source", "cost"]].copy()
    out["name"] = match.canonical(out["source"]) if len(out) else pd.Series(dtype=object)
    out["key"] = ALL_SOURCES if match.source_column is None else _keys(out["name"]) if len(out) else ""
    out["day"] = out["day"].astype("datetime64[us]")
    return out


def lead_costs(facts: pd.DataFrame, spend: pd.DataFrame, *, tz: ZoneInfo, match: SpendMatch) -> pd.Series:
    """Each lead's equal share of its creation day × source spend; NaN where none is known."""
    frame = pd.DataFrame({"day": lead_days(facts, tz), "key": _lead_keys(facts, match)}, index=facts.index)
    keyed = _spend_keyed(spend, match)
    per_key = keyed.groupby(["day", "key"])["cost"].sum()
    counts = frame.groupby(["day", "key"]).size()
    share = (per_key / counts).dropna()
    index = pd.MultiIndex.from_frame(frame[["day", "key"]])
    values = share.reindex(index).to_numpy(dtype="float64")
    return pd.Series(values, index=facts.index, dtype="float64", name=COST)


def _week_of(days: pd.Series) -> pd.Series:
    weeks: pd.Series = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return weeks.astype("datetime64[us]")


def week_spend(spend: pd.DataFrame, weeks: Sequence[date]) -> pd.Series:
    """Spend per Monday week of ``weeks`` (all sources); NaN for a week with no spend row at all."""
    if spend.empty:
        return pd.Series(np.nan, index=week_index(weeks), dtype="float64")
    by_week = spend["cost"].groupby(_week_of(spend["day"].astype("datetime64[us]"))).sum()
    return by_week.reindex(week_index(weeks)).astype("float64")


def money_metrics(
    frame: pd.DataFrame, spend: pd.Series, milestones: Sequence[str], revenue: pd.Series
) -> pd.DataFrame:
    """spend, CPL, cost per <m>, CAC, ROMI from counts (``leads``, one column per milestone).

    Spend is rounded to the cent: it is a sum of the file's amounts, and a float sum's last-digit
    noise (1650.0000000000002) must not reach cohorts.csv."""
    out = pd.DataFrame(index=frame.index)
    spend = spend.astype("float64").round(2)
    out[SPEND] = spend
    out[CPL] = ratio(spend, frame[col.LEADS])
    for name in milestones:
        out[cost_per(name)] = ratio(spend, frame[name])
    out[CAC] = ratio(spend, frame[milestones[-1]])
    out[ROMI] = ratio(revenue, spend) - 1
    return out


def cohort_money(
    cohorts: pd.DataFrame, spend: pd.DataFrame, *, weeks: Sequence[date], milestones: Sequence[str]
) -> pd.DataFrame:
    """The money columns of the Cohorts table, row for row (``cohorts`` in week order)."""
    per_week = week_spend(spend, weeks).to_numpy()
    counts = cohorts[[col.LEADS, *milestones]]
    spent = pd.Series(per_week, index=cohorts.index, dtype="float64")
    return money_metrics(counts, spent, milestones, cohorts[col.REVENUE].astype("float64"))


def with_cac_forecast(cohorts: pd.DataFrame, final: str) -> pd.DataFrame:
    """``CAC forecast`` = spend ÷ the final milestone's expected count when mature (the fair-reading
    forecast's ``<final> forecast``), right after ``CAC``; unchanged when either column is missing."""
    forecast = f"{final} forecast"
    if SPEND not in cohorts.columns or forecast not in cohorts.columns:
        return cohorts
    out = cohorts.copy()
    out.insert(list(out.columns).index(CAC) + 1, CAC_FORECAST, ratio(out[SPEND], out[forecast]))
    return out


def _lead_side(facts: pd.DataFrame, milestones: Sequence[str], keys: pd.Series) -> pd.DataFrame:
    """Per (week, key): leads, reached per milestone, revenue of the won leads."""
    frame = pd.DataFrame(
        {
            "week": facts["cohort_week"].astype("datetime64[us]"),
            "key": keys,
            col.LEADS: 1,
            **{name: facts[at_col(i)].notna() for i, name in enumerate(milestones, start=1)},
            col.REVENUE: facts["revenue"].where(facts["won"], 0.0),
        }
    )
    return frame.groupby(["week", "key"])[[col.LEADS, *milestones, col.REVENUE]].sum()


def _labels(facts: pd.DataFrame, match: SpendMatch, keys: pd.Series) -> dict[str, str]:
    """One name per source over all weeks: its most frequent spelling among the leads, spaces
    collapsed (ties: the first in sort order), so a filter on Channels sees one value per source."""
    if match.source_column is None:
        return {}
    values = facts[match.source_column].where(facts[match.source_column].notna(), BLANK_VALUE).astype(object)
    spelled = values.map(lambda v: " ".join(str(v).split())).astype(object)
    counts = pd.DataFrame({"key": keys, "value": spelled}).groupby(["key", "value"]).size()
    pairs: list[tuple[str, str, int]] = [(str(k[0]), str(k[1]), int(n)) for k, n in counts.items()]  # type: ignore[index]
    labels: dict[str, str] = {}
    for key, value, _n in sorted(pairs, key=lambda p: (-p[2], p[1])):
        labels.setdefault(key, value)
    return labels


def channels_table(
    facts: pd.DataFrame,
    spend: pd.DataFrame,
    *,
    weeks: Sequence[date],
    milestones: Sequence[str],
    tz: ZoneInfo,
    match: SpendMatch,
) -> pd.DataFrame:
    """One row per cohort week × source that has leads or spend: the funnel counts, revenue and money.

    Without a source dimension (``match.source_column`` None) the rows are the spend sources with
    spend only (lead columns blank): spend cannot be told apart by source on the lead side.
    """
    del tz
    shown = week_index(weeks)
    keys = _lead_keys(facts, match)
    keyed = _spend_keyed(spend, match)
    keyed["week"] = _week_of(keyed["day"])
    keyed = keyed[keyed["week"].isin(shown)]
    if match.source_column is None:
        keyed["key"] = _keys(keyed["name"])
    spent = keyed.groupby(["week", "key"])["cost"].sum().rename(SPEND)
    names = keyed.groupby(["week", "key"])["name"].first()
    if match.source_column is None:
        leads = pd.DataFrame(columns=[col.LEADS, *milestones, col.REVENUE], dtype="float64")
        leads.index = pd.MultiIndex.from_tuples([], names=["week", "key"])
    else:
        leads = _lead_side(facts, milestones, keys)
    joined = leads.join(spent, how="outer").join(names, how="outer")
    labels = _labels(facts, match, keys)
    keys_of = joined.index.get_level_values("key")
    joined[SOURCE] = [labels.get(str(k)) or name for k, name in zip(keys_of, joined["name"], strict=True)]
    counted = [col.LEADS, *milestones]
    if match.source_column is not None:
        joined[counted] = joined[counted].fillna(0).astype("int64")
        joined[col.REVENUE] = joined[col.REVENUE].fillna(0.0).astype("float64")
    else:
        joined[[*counted, col.REVENUE]] = np.nan
    week = pd.Series(joined.index.get_level_values("week"), index=joined.index)
    joined[col.COHORT_WEEK] = week
    joined[col.COHORT] = [week_label(w.date()) for w in week]
    money = money_metrics(
        joined[counted], joined[SPEND].astype("float64"), milestones, joined[col.REVENUE].astype("float64")
    )
    out = pd.concat([joined.drop(columns=[SPEND, "name"]), money], axis=1)
    out = out.sort_values(
        [col.COHORT_WEEK, col.LEADS, SPEND], ascending=[True, False, False], na_position="last"
    )
    return out.reset_index(drop=True)[channel_columns(milestones)]


@dataclass(frozen=True)
class MoneyView:
    """The report's money beyond the Cohorts columns: Channels, and where the spend went."""

    channels: pd.DataFrame  # channel_columns(...)
    match: SpendMatch
    dimension: str | None  # the [[report.dimensions]] name spend is matched through
    spend_total: float  # all spend of the shown weeks up to A
    spend_on_leads: float  # the part carried by leads (SUM of the Leads table's cost)

    @property
    def spend_without_leads(self) -> float:
        return self.spend_total - self.spend_on_leads

    def describe(self) -> str:
        """One line for About: how spend meets leads and what happens to spend with no lead."""
        how = (
            f"spend is matched to leads through {self.dimension!r} ([spend.aliases] rename spend sources;"
            " case and spaces are ignored)"
            if self.dimension
            else "spend.dimension is not set: each day's spend, all sources, is shared by that day's leads"
        )
        return (
            f"{how}; each lead's cost is an equal share of its creation day × source spend. "
            f"Spend of a day × source with no lead ({self.spend_without_leads:,.2f}"
            f" of {self.spend_total:,.2f}) is in the week's spend and in its own Channels row"
            " (0 leads), not in any lead's cost."
        )


def attach_money(
    facts: pd.DataFrame,
    cohorts: pd.DataFrame,
    spend: pd.DataFrame,
    *,
    weeks: Sequence[date],
    milestones: Sequence[str],
    tz: ZoneInfo,
    match: SpendMatch,
    dimension: str | None,
) -> tuple[pd.DataFrame, MoneyView]:
    """Adds ``cost`` to ``facts`` (in place) and returns the Cohorts table with its money columns."""
    facts[COST] = lead_costs(facts, spend, tz=tz, match=match)
    with_money = pd.concat(
        [cohorts, cohort_money(cohorts, spend, weeks=weeks, milestones=milestones)], axis=1
    )
    channels = channels_table(facts, spend, weeks=weeks, milestones=milestones, tz=tz, match=match)
    shown = _week_of(spend["day"].astype("datetime64[us]")).isin(week_index(weeks))
    view = MoneyView(
        channels=channels,
        match=match,
        dimension=dimension,
        spend_total=float(spend.loc[shown, "cost"].sum()),
        spend_on_leads=float(facts[COST].sum()),
    )
    return with_money, view


def source_totals(channels: pd.DataFrame, milestones: Sequence[str]) -> pd.DataFrame:
    """Channels summed over the weeks shown, one row per source (most spend first): the same money
    columns recomputed from the sums, so a source's CPL is its total spend ÷ its total leads."""
    counted = [col.LEADS, *milestones, col.REVENUE]
    grouped = channels.groupby(SOURCE, sort=False)
    sums = grouped[counted].sum(min_count=1)
    sums[SPEND] = grouped[SPEND].sum(min_count=1)
    money = money_metrics(sums[[col.LEADS, *milestones]], sums[SPEND], milestones, sums[col.REVENUE])
    out = pd.concat([sums[counted], money], axis=1).reset_index()
    out = out.sort_values([SPEND, col.LEADS], ascending=[False, False], na_position="last", ignore_index=True)
    return out[[SOURCE, *counted, *money_columns(milestones)]]
