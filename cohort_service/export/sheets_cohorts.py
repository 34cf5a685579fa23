"""The ``Cohorts`` sheet: the table the sales head reads in the Monday meeting.

One row per cohort week with the engine's own columns and numbers; shares are fractions shown as
percentages, each % cell coloured against earlier weeks at the same age (cohorts/colours.py; the
partial week never), Δ green/red by sign, the partial week in italic grey with ``partial = yes``, and every
blank explained by a comment on its column header and a footnote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.colours import HIGH, LOW, STRONG_HIGH, STRONG_LOW, same_age_colours
from cohort_service.cohorts.model import CohortReport
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.cells import (
    Block,
    Styles,
    set_widths,
    sign_colours,
    write_block,
    write_lines,
)
from cohort_service.export.kinds import column_kinds, kinds_for
from cohort_service.export.measure import print_pages
from cohort_service.export.sheets_money import write_plan
from cohort_service.schema.cohorts import cohort_notes, cohort_widths, coloured
from cohort_service.schema.cohorts_sheet import SheetColumn, sections, sheet_columns

SHEET = "Cohorts"
FILLS = {STRONG_LOW: "#F8696B", LOW: "#FCD5D6", HIGH: "#D5EED9", STRONG_HIGH: "#63BE7B"}
HEADER_ROW = 2
# The header's colour says which block a column belongs to, so the eye finds the forecast or the money.
SECTION_FILLS = {"conversion": "#DDEBF7", "forecast": "#FFF2CC", "money": "#E2EFDA", "outcome": "#EDEDED"}
PARTIAL_MARK = "yes"


@dataclass(frozen=True)
class CohortsLayout:
    """Where the Cohorts table sits, for charts on other sheets (0-based rows and columns)."""

    block: Block
    complete_rows: int  # data rows before the partial week (the charts plot these)


def title(report: CohortReport) -> str:
    return f"Cohorts as of {report.as_of:%d.%m.%Y %H:%M} ({report.timezone})"


def subtitle(report: CohortReport) -> str:
    return (
        f"Leads by creation week (Monday–Sunday, {report.timezone}). '<milestone> %': share of the previous "
        "step; '% of leads': share of the cohort; the + over a column opens its detail (cohort_week, Δ at "
        "Nd, forecast bounds, cost per milestone)."
    )


def header_notes(report: CohortReport) -> dict[str, str]:
    return cohort_notes(report.milestone_names, report.age_days)


def footnotes(report: CohortReport, extra: Sequence[str]) -> list[str]:
    lines = []
    partial = report.cohorts.loc[report.cohorts[col.PARTIAL], col.COHORT]
    if len(partial):
        lines.append(
            f"Partial week (in progress, italic grey): {partial.iloc[0]}; its numbers will still grow."
        )
    if report.age_days:
        ages = ", ".join(
            f"{col.equal_age(d)} is blank until a cohort is {d + 7} days old" for d in report.age_days
        )
        lines.append(f"Immature cells are left blank: {ages} (at the as-of moment).")
    lines.append("Other blanks: a % of a step with no leads; Δ with no earlier cohort or one at 0%.")
    lines.append(
        "Each milestone count equals the sum of its 0/1 column of the Leads table for that cohort_week "
        "(the Pivot sheet does exactly that)."
    )
    return [*lines, *extra]


def same_age_formats(
    report: CohortReport, styles: Styles, names: Sequence[str], kinds: Sequence[str]
) -> dict[tuple[int, int], Format]:
    """Each heat column's cells coloured against earlier weeks at the same age (cohorts/colours.py)."""
    heat = set(coloured(report.milestone_names, report.age_days, "heat"))
    grades = same_age_colours(
        report.facts, report.cohorts, weeks=report.weeks, milestones=report.milestone_names,
        ages=report.age_days, as_of=report.as_of, tz=ZoneInfo(report.timezone),
    )  # fmt: skip
    out = {}
    for (row, name), grade in grades.items():
        if name in heat and name in names:
            c = names.index(name)
            out[(row, c)] = styles.shaded(kinds[c], FILLS[grade])
    return out


def print_setup(ws: Worksheet, widths: Sequence[float], placed: Sequence[SheetColumn]) -> None:
    """Printed section by section (conversion, forecast, money, outcome), each page as large as the
    widest section allows, the cohort column and the header row on every page; collapsed detail
    columns are not printed. One page wide would shrink ~35 columns to unreadable type."""
    shown = [0.0 if c.detail else w for w, c in zip(widths, placed, strict=True)]
    breaks, scale = print_pages(shown, [i for i, c in enumerate(placed) if c.section is not None])
    ws.set_margins(left=0.4, right=0.4)
    ws.set_print_scale(scale)
    ws.set_v_pagebreaks(breaks)
    ws.repeat_rows(HEADER_ROW)
    ws.repeat_columns(0)


def write_cohorts(
    book: StreamedWorkbook, styles: Styles, report: CohortReport, *, notes: Sequence[str] = ()
) -> CohortsLayout:
    ws = book.add_worksheet(SHEET)
    placed = sheet_columns(list(report.cohorts.columns), report.milestone_names, report.age_days)
    frame = report.cohorts[[c.name for c in placed]].copy()
    for marker in (col.PARTIAL, col.MATURE):
        if marker in frame.columns:
            frame[marker] = [PARTIAL_MARK if flag else None for flag in report.cohorts[marker]]
    kinds = kinds_for(frame, column_kinds(report))
    names = [str(c) for c in frame.columns]
    overrides = cohort_widths(report.milestone_names, report.age_days)
    widths = set_widths(
        ws, kinds, {names.index(name): width for name, width in overrides.items() if name in names},
        headers=[names], detail=[c.detail for c in placed], fit_width=False,
    )  # fmt: skip
    ws.freeze_panes(HEADER_ROW + 1, 1)
    print_setup(ws, widths, placed)
    ws.write_string(0, 0, title(report), styles.title)
    ws.write_string(1, 0, subtitle(report), styles.subtitle)
    partial_rows = [i for i, flag in enumerate(report.cohorts[col.PARTIAL]) if flag]
    heads = {name: styles.header_in(fill) for name, fill in SECTION_FILLS.items()}
    block = write_block(
        ws, styles, HEADER_ROW, frame, kinds, partial_rows=partial_rows, notes=header_notes(report),
        widths=widths, cell_formats=same_age_formats(report, styles, names, kinds),
        header_formats=[heads[s] for s in sections(placed)],
    )  # fmt: skip
    complete = block.rows - (1 if partial_rows == [block.rows - 1] else 0)
    for name in coloured(report.milestone_names, report.age_days, "sign"):
        if name in block.columns:
            sign_colours(ws, styles, block.first_data_row, block.last_row, block.col(name))
    after = write_lines(ws, block.last_row + 2, footnotes(report, notes), styles.note)
    write_plan(ws, styles, report, after + 1)
    return CohortsLayout(block=block, complete_rows=complete)
