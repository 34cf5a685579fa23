"""What the attention list slices by, and segment targets resolved against the report's leads.

A manager is a person, not a name: real accounts have namesakes (several users called "Иван
Лебедев", often only one of them with leads). Segments are built per user id; a name is shown
alone unless two users of that name both have leads in the report, then each gets ``(id N)``.
A target names its manager by id, or by name when exactly one user of that name has leads in the
report; otherwise the config is ambiguous and the error lists the ids to choose from.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.attention import BLANK_VALUE, AttentionRules, Segmentation, SegmentTarget
from cohort_service.cohorts.catalog import Catalog
from cohort_service.cohorts.dimensions import DimensionSpec
from cohort_service.cohorts.facts import dim_col
from cohort_service.cohorts.labels import NO_MANAGER
from cohort_service.cohorts.milestones import MilestoneDef
from cohort_service.config import ReportSettings, Target
from cohort_service.errors import ConfigError

MANAGER_SEGMENT = "attention_manager"  # facts column: the manager label, namesakes told apart


def funnel_facts(
    facts: pd.DataFrame, milestones: Sequence[MilestoneDef]
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The leads whose pipeline at creation has a status for every milestone, a note naming the
    pipelines left out, and the names of those kept (empty when none is left out). Elsewhere a
    milestone is reached only by being won, so a step there reads ~100 % and would compare the
    configuration, not the people."""
    sets = [{s.pipeline_id for s in m.statuses} for m in milestones]
    complete = set.intersection(*sets) if sets else set()
    ids = facts["pipeline_id"]
    inside = ids.isin(sorted(complete)).fillna(False).astype(bool)
    if inside.all():
        return facts, [], []
    left = facts.loc[~inside.to_numpy(), col.PIPELINE].astype(str).value_counts()
    names = ", ".join(f"{name} ({count} leads)" for name, count in left.items())
    note = f"leads of pipelines where some milestone has no status are left out: {names}"
    kept = sorted(facts.loc[inside.to_numpy(), col.PIPELINE].dropna().astype(str).unique())
    return facts.loc[inside.to_numpy()], [note], kept


def attention_rules(report: ReportSettings) -> AttentionRules:
    return AttentionRules(report.attention_weeks, report.attention_min_leads, report.attention_fdr)


def manager_segments(facts: pd.DataFrame) -> pd.Series:
    """Per lead: the manager's name, ``name (id N)`` when another user of that name has leads too."""
    ids = facts["manager_id"]
    names = facts[col.MANAGER].astype(object)
    pairs = pd.DataFrame({"id": ids, "name": names}).dropna().drop_duplicates()
    shared = pairs.groupby("name")["id"].nunique()
    clash = set(shared[shared > 1].index)
    if not clash:
        return names
    tagged = names.astype(str) + " (id " + ids.astype("string").fillna("") + ")"
    return names.where(~names.isin(clash), tagged)


def segmentations(dimensions: Sequence[DimensionSpec]) -> list[Segmentation]:
    """Manager, pipeline (at creation), then every configured dimension (tags included)."""
    out = [Segmentation(col.MANAGER, MANAGER_SEGMENT), Segmentation(col.PIPELINE, col.PIPELINE)]
    return out + [Segmentation(d.name, dim_col(i)) for i, d in enumerate(dimensions, start=1)]


def _manager_value(ref: str | int, facts: pd.DataFrame, labels: pd.Series, catalog: Catalog) -> str:
    with_leads = set(facts["manager_id"].dropna().astype("int64"))
    if isinstance(ref, int) or ref.strip().isdigit():
        user = int(ref)
        if user not in catalog.users and user not in with_leads:
            raise ValueError(f"no user with id {user}")
        chosen = user
    else:
        want = ref.strip().casefold()
        users = sorted(uid for uid, name in catalog.users.items() if name.strip().casefold() == want)
        if not users:
            known = ", ".join(sorted(catalog.users[u] for u in with_leads if u in catalog.users)[:30])
            raise ValueError(f"no user named {ref!r} (managers with leads: {known or 'none'})")
        active = [u for u in users if u in with_leads]
        if len(users) > 1 and len(active) != 1:
            ids = ", ".join(str(u) for u in users)
            which = "none of them has" if not active else f"{len(active)} of them have"
            raise ValueError(
                f"{len(users)} users are named {ref!r} (ids {ids}) and {which} leads in the report;"
                f" write manager = <id>"
            )
        chosen = active[0] if active else users[0]
    rows = labels[facts["manager_id"].eq(chosen).fillna(False).astype(bool).to_numpy()]
    if len(rows):
        return str(rows.iloc[0])
    return catalog.users.get(chosen, NO_MANAGER)


def resolve_targets(
    targets: Sequence[Target], facts: pd.DataFrame, catalog: Catalog, *, source: str
) -> tuple[SegmentTarget, ...]:
    """The ``where`` targets as segment labels; every problem is one line of one ConfigError."""
    problems: list[str] = []
    out: list[SegmentTarget] = []
    labels = manager_segments(facts)
    for i, target in enumerate(targets):
        if not target.where:
            continue
        where: list[tuple[str, str]] = []
        for key, ref in target.where.items():
            try:
                if key == col.MANAGER:
                    value = _manager_value(ref, facts, labels, catalog)
                elif key == col.PIPELINE and (isinstance(ref, int) or ref.strip().isdigit()):
                    value = catalog.pipelines.get(int(ref), f"(pipeline {int(ref)})")
                else:
                    value = str(ref).strip() or BLANK_VALUE
            except ValueError as exc:
                problems.append(f"{source}: report.targets[{i}].where.{key}: {exc}")
                continue
            where.append((key, value))
        if len(where) == len(target.where):
            out.append(SegmentTarget(tuple(where), target.milestone, target.target, target.tolerance))
    if problems:
        raise ConfigError(problems)
    return tuple(out)
