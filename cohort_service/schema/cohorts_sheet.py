"""What the ``Cohorts`` sheet shows of the Cohorts table, in reading order.

``report.cohorts`` and ``cohorts.csv`` keep every column of :data:`~cohort_service.schema.cohorts.COHORTS`
in declared order: other tools read them by name. The sheet is read by a person, left to right, on one
screen: the cohort, its leads, each milestone (count, % of the previous step, % of leads), the final
conversion with its same-age comparisons next to it, the forecast, the money, then the outcome detail.
Printed, each section (conversion, forecast, money, outcome) starts a page unless it fits beside the
previous one, with the cohort column repeated.

Two kinds of column leave the screen:

* a **duplicate** (:func:`duplicates`) is not written at all, because another column on the sheet holds
  the same number: the first milestone's ``% of leads`` is its ``%`` (its previous step is ``leads``),
  and the final milestone's ``% of leads`` is ``lead→<final> %``;
* a **detail** column sits in a collapsed outline group right after the column it qualifies (the
  ``+`` above that column opens it): ``cohort_week`` and ``partial`` after ``cohort`` (the week's
  Monday as a real date, and the marker the grey row already shows), ``Δ at Nd`` after ``≤Nd %``,
  each forecast's 80 % bounds after it, the cost per milestone after ``CPL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cohort_service.cohorts import columns as col

Section = Literal["conversion", "forecast", "money", "outcome"]


@dataclass(frozen=True, slots=True)
class SheetColumn:
    name: str
    detail: bool = False  # in a collapsed outline group after the column it qualifies
    section: Section | None = None  # the section this column starts: a printed page may start here


def sections(placed: Sequence[SheetColumn]) -> list[Section]:
    """Each column's section: the one the nearest starting column at or before it opened."""
    out: list[Section] = []
    for c in placed:
        out.append(c.section or (out[-1] if out else "conversion"))
    return out


def duplicates(milestones: Sequence[str]) -> dict[str, str]:
    """Column left off the sheet → the column on the sheet that holds the same number."""
    first, final = milestones[0], milestones[-1]
    if first == final:  # one milestone: its step is leads, so its % is lead→final % too
        return dict.fromkeys((col.step_pct(first), col.of_leads_pct(final)), col.lead_to_final(final))
    return {col.of_leads_pct(first): col.step_pct(first), col.of_leads_pct(final): col.lead_to_final(final)}


def _reading_order(milestones: Sequence[str], ages: Sequence[int]) -> list[SheetColumn]:
    final = milestones[-1]
    out = [SheetColumn(col.COHORT), SheetColumn(col.COHORT_WEEK, True), SheetColumn(col.PARTIAL, True)]
    out.append(SheetColumn(col.LEADS))
    for m in milestones:
        out += [SheetColumn(m), SheetColumn(col.step_pct(m)), SheetColumn(col.of_leads_pct(m))]
    out += [SheetColumn(col.lead_to_final(final)), SheetColumn(col.DELTA)]
    for days in ages:
        out += [SheetColumn(col.equal_age(days)), SheetColumn(col.delta_at(days), True)]
    out.append(SheetColumn(col.MATURE, section="forecast"))
    for m in milestones:
        out.append(SheetColumn(col.forecast(m)))
        out += [SheetColumn(col.forecast_low(m), True), SheetColumn(col.forecast_high(m), True)]
    out += [SheetColumn(name) for name in (col.share_forecast(final), col.REVENUE, col.REVENUE_FORECAST)]
    out += [SheetColumn(col.AVG_CHECK), SheetColumn(col.SPEND, section="money"), SheetColumn(col.CPL)]
    out += [SheetColumn(col.cost_per(m), True) for m in milestones]
    out += [SheetColumn(name) for name in (col.CAC, col.CAC_FORECAST, col.ROMI)]
    out.append(SheetColumn(col.WON, section="outcome"))
    out += [SheetColumn(name) for name in (col.LOST, col.OPEN, col.MEDIAN_DAYS_TO_FINAL)]
    out.append(SheetColumn(col.TOP_LOSS_REASONS))
    return out


def sheet_columns(
    present: Sequence[str], milestones: Sequence[str], ages: Sequence[int]
) -> list[SheetColumn]:
    """The sheet's columns among ``present`` (the table's columns: the forecast and money ones only
    when their step ran), in reading order. A present column with no place on the sheet and no
    duplicate there is a programming error: a new Cohorts column must be given a place here."""
    dropped = duplicates(milestones)
    have = set(present)
    placed = [c for c in _reading_order(milestones, ages) if c.name in have and c.name not in dropped]
    names = {c.name for c in placed}
    missing = [n for n in present if n not in names and dropped.get(n) not in names]
    if missing:
        raise ValueError(f"Cohorts columns with no place on the sheet (schema/cohorts_sheet.py): {missing}")
    return placed
