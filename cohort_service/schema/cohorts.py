"""The ``Cohorts`` table's columns, declared once: name, kind, meaning and colour rule.

The order of ``report.cohorts`` (and so of ``cohorts.csv`` and the sheet), each column's cell kind,
its header comment on the sheet (``note``), its line on About (``about``) and its colour rule come
from :data:`COHORTS`. The numbers themselves are computed by the step named in ``step``:
``"counts"`` is :func:`cohort_service.cohorts.build.cohort_table`; a later step (a forecast, money)
adds its columns to ``report.cohorts`` and calls :func:`arrange` to put them in declared order.

A column is ``per`` one of: ``"cohort"`` (one column), ``"milestone"`` (one per milestone, named
from it), ``"final"`` (one, named from the final milestone), ``"age"`` (one per ``report.age_days``).
Consecutive per-milestone entries repeat together per milestone (``<m>``, ``<m> %``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.schema.kinds import Kind, kind_of
from cohort_service.schema.order import expand

Per = Literal["cohort", "milestone", "final", "age"]
Colour = Literal["heat", "sign"]  # heat: 3-colour scale over complete weeks; sign: Δ green/red


@dataclass(frozen=True, slots=True)
class CohortSlot:
    """One instance of a column: its milestone (or the final one) and, for ``age``, the days."""

    milestone: str
    final: str
    days: int = 0


Text = Callable[[CohortSlot], str]


@dataclass(frozen=True, slots=True)
class CohortColumn:
    header: str | Text
    kind: Kind
    per: Per = "cohort"
    note: str | Text | None = None  # header comment: what the number means, when it is blank
    about: Text | None = None  # its line on the About sheet
    colour: Colour | None = None
    width: float | None = None  # default: the kind's
    step: str = "counts"

    def __post_init__(self) -> None:
        kind_of(self.kind)

    def name(self, slot: CohortSlot) -> str:
        return self.header if isinstance(self.header, str) else self.header(slot)


def _equal_age_note(s: CohortSlot) -> str:
    return (
        f"Share of the cohort that reached {s.final} within {s.days} days of creation. Blank while the "
        f"cohort is younger than {s.days + 7} days at the as-of moment: its last leads have not had "
        f"{s.days} days yet, so it is not comparable with older cohorts."
    )


COHORTS: tuple[CohortColumn, ...] = (
    CohortColumn(col.COHORT, "text", width=20.0, note="The cohort: leads created Monday–Sunday of the week."),
    CohortColumn(col.COHORT_WEEK, "date", note="The cohort's Monday (a real date: sorting, the pivot)."),
    CohortColumn(
        col.PARTIAL, "marker",
        note="yes: the week containing the as-of moment. It is still in progress, so its numbers "
        "will grow; it is never coloured, flagged or charted.",
    ),
    CohortColumn(
        col.LEADS, "count", note="Leads created in the week (pipeline filter applied), alive at the as-of."
    ),
    CohortColumn(
        lambda s: s.milestone, "count", "milestone",
        note=lambda s: f"Leads of the cohort that reached {s.milestone} (or a later milestone) by the as-of "
        "moment.",
    ),
    CohortColumn(
        lambda s: col.step_pct(s.milestone), "pct", "milestone", colour="heat",
        note=lambda s: f"{s.milestone} as a share of the previous step. Blank when that step had no leads. "
        "Coloured by how far it is from earlier cohorts at the same age (About).",
    ),
    CohortColumn(
        lambda s: col.of_leads_pct(s.milestone), "pct", "milestone", colour="heat",
        note=lambda s: f"{s.milestone} as a share of the cohort's leads. Coloured against the same age.",
    ),
    CohortColumn(
        lambda s: col.lead_to_final(s.final), "pct", "final", colour="heat",
        note=lambda s: f"Share of the cohort's leads that reached {s.final} by the as-of moment. Coloured "
        "against earlier cohorts at the same age, so a young week is not red for being young.",
    ),
    CohortColumn(
        col.DELTA, "delta", colour="sign",
        note=lambda s: f"Relative change of lead→{s.final} % against the cohort a week earlier "
        "(4.12% vs 3.38% → +22%). Shown only once the week is mature (both weeks' results are final); "
        "blank before, when there is no earlier cohort, or when it had 0%. Young weeks: Δ at Nd.",
    ),
    CohortColumn(
        lambda s: col.equal_age(s.days), "pct", "age", colour="heat", note=_equal_age_note,
        about=lambda s: f"reached {s.final} within {s.days} days of creation; blank until the cohort is "
        f"{s.days + 7} days old",
    ),
    CohortColumn(
        lambda s: col.delta_at(s.days), "delta", "age", colour="sign",
        note=lambda s: f"Relative change of {col.equal_age(s.days)} against the week before: the two weeks "
        f"compared at the same age ({s.days} days per lead). Blank while either is blank or 0%.",
    ),
    # The forecast (cohorts/forecast.py, cohorts/outlook.py).
    CohortColumn(
        col.MATURE, "marker", step="forecast",
        note="yes: every lead of the week is older than the mature age (About), so its counts are "
        "final and its forecast equals them.",
    ),
    CohortColumn(
        lambda s: col.forecast(s.milestone), "estimate", "milestone", step="forecast",
        note=lambda s: f"Expected {s.milestone} count of the cohort when mature: what it has now plus, "
        f"for each lead not through yet, its chance to get through at its age (conversion-time model, "
        f"About). Equals {s.milestone} for a mature cohort.",
    ),
    CohortColumn(
        lambda s: col.forecast_low(s.milestone), "estimate", "milestone", step="forecast",
        note=lambda s: f"Low end of the 80 % interval of {s.milestone} forecast: 1 in 10 cohorts ends lower.",
    ),
    CohortColumn(
        lambda s: col.forecast_high(s.milestone), "estimate", "milestone", step="forecast",
        note=lambda s: f"High end of the 80 % interval of {s.milestone} forecast: 1 in 10 cohorts ends "
        "higher.",
    ),
    CohortColumn(
        lambda s: col.share_forecast(s.final), "pct", "final", step="forecast",
        note=lambda s: f"{s.final} forecast ÷ leads: the cohort's expected lead→{s.final} % when mature.",
    ),
    CohortColumn(
        col.REVENUE_FORECAST, "money", step="forecast",
        note=lambda s: f"revenue + ({s.final} forecast − {s.final}) × the average check of leads won in "
        "the last 91 days (all won leads when fewer than 10).",
    ),
    CohortColumn(col.OPEN, "count", note="Leads of the cohort neither won nor lost at the as-of moment."),
    CohortColumn(col.WON, "count", note="Leads of the cohort at a won status (142) at the as-of moment."),
    CohortColumn(col.LOST, "count", note="Leads of the cohort at a lost status (143) at the as-of moment."),
    CohortColumn(col.REVENUE, "money", note="Prices of the cohort's leads won at the as-of moment, summed."),
    CohortColumn(col.AVG_CHECK, "money", note="revenue ÷ won. Blank when nobody is won."),
    CohortColumn(
        col.MEDIAN_DAYS_TO_FINAL, "days",
        note=lambda s: f"Median days from creation to {s.final}, over the cohort's leads that reached it.",
    ),
    CohortColumn(
        col.TOP_LOSS_REASONS, "text", width=44.0,
        note="The three most frequent loss reasons among the cohort's leads lost at the as-of moment.",
    ),
    # Money (cohorts/money.py), present when spend is known.
    CohortColumn(col.SPEND, "money", step="money", note="Ad spend of the week's days (imported spend)."),
    CohortColumn(col.CPL, "cost", step="money", note="spend ÷ leads: cost per lead. Blank at 0 leads."),
    CohortColumn(
        lambda s: col.cost_per(s.milestone), "cost", "milestone", step="money",
        note=lambda s: f"spend ÷ {s.milestone}. Blank when nobody reached it.",
    ),
    CohortColumn(col.CAC, "cost", step="money", note=lambda s: f"spend ÷ {s.final}: cost per customer."),
    CohortColumn(
        col.CAC_FORECAST, "cost", step="money",
        note=lambda s: f"spend ÷ {s.final} forecast: cost per customer once the cohort is mature.",
    ),
    CohortColumn(
        col.ROMI, "delta", step="money",
        note="revenue ÷ spend − 1: return on marketing spend (+100 % = revenue twice the spend).",
    ),
)  # fmt: skip


def _slots(per: Per, milestones: Sequence[str], ages: Sequence[int]) -> list[CohortSlot]:
    final = milestones[-1]
    if per == "milestone":
        return [CohortSlot(m, final) for m in milestones]
    if per == "age":
        return [CohortSlot(final, final, days) for days in ages]
    return [CohortSlot(final, final)]


def cohort_columns(
    milestones: Sequence[str], ages: Sequence[int]
) -> Iterator[tuple[CohortColumn, CohortSlot]]:
    """Every column instance in table order."""
    return expand(COHORTS, lambda c: c.per, lambda per: _slots(per, milestones, ages))


def cohort_header(milestones: Sequence[str], ages: Sequence[int], step: str | None = None) -> list[str]:
    """Column names in order; ``step``: only the columns that step fills."""
    return [c.name(s) for c, s in cohort_columns(milestones, ages) if step is None or c.step == step]


def arrange(frame: pd.DataFrame, milestones: Sequence[str], ages: Sequence[int]) -> pd.DataFrame:
    """``frame``'s columns in declared order; an undeclared column is a programming error."""
    order = [name for name in cohort_header(milestones, ages) if name in frame.columns]
    extra = [str(name) for name in frame.columns if name not in set(order)]
    if extra:
        raise ValueError(f"Cohorts columns not declared in cohort_service.schema.cohorts: {extra}")
    return frame[order]


def cohort_kinds(milestones: Sequence[str], ages: Sequence[int]) -> dict[str, Kind]:
    return {c.name(s): c.kind for c, s in cohort_columns(milestones, ages)}


def cohort_notes(milestones: Sequence[str], ages: Sequence[int]) -> dict[str, str]:
    return {c.name(s): _text(c.note, s) for c, s in cohort_columns(milestones, ages) if c.note is not None}


def _text(text: str | Text, slot: CohortSlot) -> str:
    return text if isinstance(text, str) else text(slot)


def cohort_about(milestones: Sequence[str], ages: Sequence[int]) -> list[tuple[str, str]]:
    """Every column's one-line definition for About: its ``about``, else its header note."""
    pairs = []
    for c, s in cohort_columns(milestones, ages):
        text = c.about(s) if c.about is not None else _text(c.note, s) if c.note is not None else None
        if text is not None:
            pairs.append((c.name(s), text))
    return pairs


def cohort_widths(milestones: Sequence[str], ages: Sequence[int]) -> dict[str, float]:
    return {c.name(s): c.width for c, s in cohort_columns(milestones, ages) if c.width is not None}


def coloured(milestones: Sequence[str], ages: Sequence[int], colour: Colour) -> list[str]:
    return [c.name(s) for c, s in cohort_columns(milestones, ages) if c.colour == colour]
