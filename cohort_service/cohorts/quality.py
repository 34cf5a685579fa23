"""Data-quality figures of a report (DESIGN §5): how much of the funnel rests on assumptions.

Counted over the leads of the report's weeks, as of A, so a rebuilt report shows the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from cohort_service.cohorts.facts import imputed_col


@dataclass(frozen=True)
class DataQuality:
    leads: int = 0
    no_history: int = 0  # no status change at or before A: the path is the initial status only
    unknown_initial: int = 0  # earliest change had an empty value_before: the initial status is unknown
    unknown_status: int = 0  # a point at a status the synced pipelines do not have (deleted status)
    imputed: dict[str, int] = field(default_factory=dict)  # per milestone: reached only via a later one
    orphan_leads: int = 0  # history in the window for leads we cannot place (no lead row, no lead_added)
    events_only: int = 0  # leads counted from their events alone (deleted before the first sync)

    def rows(self) -> list[tuple[str, int]]:
        """(label, count) pairs for the About sheet, in a fixed order."""
        rows = [
            ("leads in the report", self.leads),
            ("leads with no stage history (initial status only)", self.no_history),
            ("leads whose initial status is unknown (empty value_before)", self.unknown_initial),
            ("leads that passed a status missing from the synced pipelines", self.unknown_status),
        ]
        rows += [
            (f"{name}: reached only via a later milestone (imputed)", n) for name, n in self.imputed.items()
        ]
        rows.append(
            ("leads counted from amoCRM events only (deleted before the first sync)", self.events_only)
        )
        rows.append(
            ("leads with stage history but no creation event or lead record (left out)", self.orphan_leads)
        )
        return rows

    def warnings(self) -> list[str]:
        """Short lines worth a reader's attention (empty when the data looks clean)."""
        out = []
        if self.unknown_initial:
            out.append(
                f"{self.unknown_initial} leads have an unknown initial status (amoCRM sent no value_before)"
            )
        if self.unknown_status:
            out.append(f"{self.unknown_status} leads passed statuses that no longer exist in the pipelines")
        if self.events_only:
            out.append(
                f"{self.events_only} leads were deleted before the first sync: counted from their events, "
                "without manager, price or fields"
            )
        if self.orphan_leads:
            out.append(
                f"{self.orphan_leads} leads have stage history but no creation event or record (left out)"
            )
        return out


def data_quality(
    facts: pd.DataFrame, milestones: Sequence[str], orphan_leads: int, events_only: int = 0
) -> DataQuality:
    return DataQuality(
        leads=len(facts),
        no_history=int((facts["changes"] == 0).sum()),
        unknown_initial=int(facts["unknown_initial"].sum()),
        unknown_status=int(facts["unknown_status"].sum()),
        imputed={name: int(facts[imputed_col(i)].sum()) for i, name in enumerate(milestones, start=1)},
        orphan_leads=orphan_leads,
        events_only=events_only,
    )
