"""Names for the ids in the facts frame: pipeline, status, manager, loss reason, lost-from stage.

Pure (the catalog is passed in). Ids the catalog does not know stay visible as ``(user 123)``
rather than disappearing into a blank, so a pivot never silently merges them with "no manager".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.catalog import Catalog

NO_MANAGER = "(no manager)"
NO_REASON = "(no reason)"
UNKNOWN_STATUS = "(unknown)"
_KEY = 10**11  # status ids stay far below this, so pipeline * _KEY + status is unique


def _names(ids: pd.Series, known: Mapping[int, str], unknown: str, missing: str | None) -> pd.Series:
    """Map ids to names via their unique values (cheap on a million rows)."""
    uniques = ids.dropna().unique()
    table = {int(i): known.get(int(i), unknown.format(int(i))) for i in uniques}
    out = ids.map(table).astype(object)
    return out.where(ids.notna(), missing)


def label_facts(facts: pd.DataFrame, catalog: Catalog, milestones: Sequence[str]) -> pd.DataFrame:
    """The facts with the name columns of the Leads table added (the id columns stay, for slicing
    and BI). A new frame: ``facts`` is left as it was (a shallow copy; pandas copies on write)."""
    out = facts.copy(deep=False)
    out[col.PIPELINE] = _names(out["pipeline_id"], catalog.pipelines, "(pipeline {})", UNKNOWN_STATUS)
    out[col.STATUS_PIPELINE] = _names(
        out["status_pipeline_id"], catalog.pipelines, "(pipeline {})", UNKNOWN_STATUS
    )
    out[col.STATUS] = _status_names(out, catalog)
    out[col.MANAGER] = _names(out["manager_id"], catalog.users, "(user {})", NO_MANAGER)
    reasons = _names(out["loss_reason_id"], catalog.loss_reasons, "(reason {})", NO_REASON)
    out[col.LOSS_REASON] = reasons.where(out["lost"], None)
    stage_names = {0: f"(before {milestones[0]})", **{i + 1: name for i, name in enumerate(milestones)}}
    stage = out["lost_level"].map(stage_names).astype(object)
    out[col.LOST_FROM_STAGE] = stage.where(out["lost"], None)
    return out


def _status_names(facts: pd.DataFrame, catalog: Catalog) -> pd.Series:
    """Status names by (pipeline, status): 142/143 repeat in every pipeline, so both ids count."""
    key = facts["status_pipeline_id"].fillna(0).astype("int64") * _KEY + facts["status_id"].fillna(-1).astype(
        "int64"
    )
    table: dict[int, str] = {}
    for pid, sid in facts[["status_pipeline_id", "status_id"]].drop_duplicates().itertuples(index=False):
        if pd.notna(sid):
            pipeline = int(pid) if pd.notna(pid) else 0
            table[pipeline * _KEY + int(sid)] = catalog.status_name(pipeline, int(sid)) or UNKNOWN_STATUS
    return key.map(table).astype(object).where(facts["status_id"].notna(), UNKNOWN_STATUS)
