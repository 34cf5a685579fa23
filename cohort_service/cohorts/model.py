"""``CohortReport``: everything one report run produced, ready to render (CSV, workbook, e-mail).

Built by :func:`build_report` from a labelled facts frame, with no I/O. Every table is a plain
DataFrame with a default RangeIndex and the column names of :mod:`columns`; blanks are NaN/None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.attention import Attention, AttentionRules, SegmentTarget, attention
from cohort_service.cohorts.attention_segments import (
    MANAGER_SEGMENT,
    funnel_facts,
    manager_segments,
    segmentations,
)
from cohort_service.cohorts.attention_shape import funnel_shapes
from cohort_service.cohorts.build import cohort_table, timing_table
from cohort_service.cohorts.dimensions import DimensionSpec
from cohort_service.cohorts.facts import dim_col
from cohort_service.cohorts.flags import CohortFlag, FlagRules, cohort_flags
from cohort_service.cohorts.forecast import ForecastSettings
from cohort_service.cohorts.maturation import maturation_table
from cohort_service.cohorts.milestones import MilestoneDef
from cohort_service.cohorts.money import MoneyView, SpendMatch, attach_money, with_cac_forecast
from cohort_service.cohorts.outlook import ForecastView, attach_forecast
from cohort_service.cohorts.plan import MonthPlan, plan_table
from cohort_service.cohorts.quality import DataQuality, data_quality
from cohort_service.cohorts.slices import funnel_by, loss_reasons_table
from cohort_service.config import Target
from cohort_service.schema.cohorts import arrange
from cohort_service.schema.leads import RowContext, leads_frame


@dataclass(frozen=True)
class CohortReport:
    as_of: datetime  # aware, in the report time zone
    timezone: str
    weeks: tuple[date, ...]  # Mondays shown, oldest first; the last one contains A
    milestones: tuple[MilestoneDef, ...]
    dimensions: tuple[DimensionSpec, ...]
    age_days: tuple[int, ...]
    facts: pd.DataFrame  # one row per lead (see cohort_service.cohorts.facts), names added
    cohorts: pd.DataFrame  # the columns of cohort_service.schema.cohorts
    timing: pd.DataFrame  # cohort, cohort_week, "<m> median|p75|p90 days"
    maturation: pd.DataFrame  # cohort, cohort_week, "week 0".."week N-1"
    slices: dict[str, pd.DataFrame]  # "manager", "pipeline", each dimension name → funnel_by table
    loss_reasons: pd.DataFrame  # loss reason, lost, share of lost
    quality: DataQuality
    last_sync: datetime | None = None  # data freshness: last successful sync
    pipelines: tuple[str, ...] = ()  # report.pipelines filter (names); empty = all
    notes: tuple[str, ...] = field(default_factory=tuple)
    money: MoneyView | None = None  # None when no spend is known for the shown weeks
    attention: Attention | None = None  # segments × steps that differ from the rest of the team
    plan: pd.DataFrame | None = None  # plan.PLAN_COLUMNS, one row per month × metric; None: no [[plan]]
    forecast: ForecastView | None = None  # the forecast's model, mature age, back-test
    flags: tuple[CohortFlag, ...] = ()  # steps that differ from their same-age history or target
    flag_min_leads: int = FlagRules.min_leads  # report.anomaly_min_leads, as applied

    @property
    def milestone_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.milestones)

    @property
    def final_name(self) -> str:
        return self.milestones[-1].name

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    @property
    def partial_week(self) -> date | None:
        flagged = self.cohorts.loc[self.cohorts[col.PARTIAL], col.COHORT_WEEK]
        return flagged.iloc[0].date() if len(flagged) else None

    def leads_table(self) -> pd.DataFrame:
        """The ``Leads`` table (:data:`cohort_service.schema.leads.LEADS`): local naive times, 0/1 flags."""
        return leads_frame(self.facts, self.row_context)

    @property
    def row_context(self) -> RowContext:
        facts = frozenset(str(c) for c in self.facts.columns)
        return RowContext(self.milestone_names, self.dimension_names, self.timezone, self.as_of, facts)


def build_report(
    facts: pd.DataFrame,
    *,
    as_of: datetime,
    timezone: str,
    weeks: Sequence[date],
    milestones: Sequence[MilestoneDef],
    dimensions: Sequence[DimensionSpec] = (),
    ages: Sequence[int] = (),
    orphan_leads: int = 0,
    events_only_leads: int = 0,
    last_sync: datetime | None = None,
    pipelines: Sequence[str] = (),
    notes: Sequence[str] = (),
    spend: pd.DataFrame | None = None,
    spend_dimension: str | None = None,
    spend_aliases: Mapping[str, str] | None = None,
    attention_rules: AttentionRules | None = None,
    targets: Sequence[SegmentTarget] = (),
    plans: Sequence[MonthPlan] = (),
    history: pd.DataFrame | None = None,
    forecast: ForecastSettings | None = None,
    flag_rules: FlagRules | None = None,
    flag_targets: Sequence[Target] = (),
) -> CohortReport:
    """All tables of the report from labelled facts (see :func:`labels.label_facts`); pure.

    ``spend`` (day, source, cost; see :mod:`money`) adds the money columns, ``cost`` per lead and
    Channels; ``spend_dimension`` names the dimension spend sources are matched through.
    ``attention_rules`` None leaves the attention list out. ``history``: the facts of the weeks
    before the shown ones too (the forecast's model is measured on it; default ``facts``)."""
    tz = ZoneInfo(timezone)
    names = [m.name for m in milestones]
    cohorts = cohort_table(facts, weeks=weeks, milestones=names, ages=ages, as_of=as_of, tz=tz)
    outlook = None
    if names:
        cohorts, outlook = attach_forecast(
            cohorts, facts if history is None else history, weeks=weeks, milestones=names, as_of=as_of,
            tz=tz, settings=forecast,
        )  # fmt: skip
    money = None
    if spend is not None and not spend.empty:
        dim_names = [d.name for d in dimensions]
        column = dim_col(dim_names.index(spend_dimension) + 1) if spend_dimension in dim_names else None
        cohorts, money = attach_money(
            facts,
            cohorts,
            spend,
            weeks=weeks,
            milestones=names,
            tz=tz,
            match=SpendMatch(column, spend_aliases or {}),
            dimension=spend_dimension if column else None,
        )
    listed = None
    if attention_rules is not None and names:
        facts[MANAGER_SEGMENT] = manager_segments(facts)
        funnel_leads, left_out, kept = funnel_facts(facts, milestones)
        segs = segmentations(dimensions)
        if outlook is not None and attention_rules.mature_days is None:  # the forecast's mature age
            attention_rules = replace(attention_rules, mature_days=outlook.mature_days)
        listed = attention(
            funnel_leads, milestones=names, segmentations=segs, weeks=weeks, as_of=as_of,
            rules=attention_rules, targets=targets, pipelines=kept,
        )  # fmt: skip
        shapes = funnel_shapes(
            funnel_leads,
            milestones=names,
            segmentation=segs[0],
            window=listed.mature_window,
            rules=attention_rules,
        )
        listed = replace(listed, shapes=shapes, notes=(*listed.notes, *left_out))
    cohorts = arrange(with_cac_forecast(cohorts, names[-1]), names, ages)
    flags = cohort_flags(facts, cohorts, weeks=weeks, milestones=names, as_of=as_of, tz=tz,
                         targets=flag_targets, rules=flag_rules) if names else []  # fmt: skip
    plan = None
    if plans:
        plan, plan_notes = plan_table(
            plans, facts, cohorts, spend, milestones=names, as_of=as_of, tz=tz, first_week=weeks[0]
        )
        notes = [*notes, *plan_notes]
    slices = {
        col.MANAGER: funnel_by(facts, col.MANAGER, names),
        col.PIPELINE: funnel_by(facts, col.PIPELINE, names),
    }
    for i, dim in enumerate(dimensions, start=1):
        slices[dim.name] = funnel_by(facts, dim_col(i), names, label=dim.name)
    return CohortReport(
        as_of=as_of,
        timezone=timezone,
        weeks=tuple(weeks),
        milestones=tuple(milestones),
        dimensions=tuple(dimensions),
        age_days=tuple(ages),
        facts=facts,
        cohorts=cohorts,
        timing=timing_table(facts, weeks=weeks, milestones=names),
        maturation=maturation_table(facts, weeks=weeks, final=len(names), as_of=as_of, tz=tz),
        slices=slices,
        loss_reasons=loss_reasons_table(facts),
        quality=data_quality(facts, names, orphan_leads, events_only_leads),
        last_sync=last_sync,
        pipelines=tuple(pipelines),
        notes=tuple(notes),
        money=money,
        attention=listed,
        plan=plan,
        forecast=outlook,
        flags=tuple(flags),
        flag_min_leads=(flag_rules or FlagRules()).min_leads,
    )
