"""The ``Channels`` sheet (spend and funnel per source) and the Plan block under the Cohorts table.

Source names come from spend files and amoCRM: they are written as strings, never as formulas.
No colours: a young week's CAC and ROMI read badly only because its sales are still to come, and a
colour would say otherwise (the fair-reading layer owns colours).
"""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet

from cohort_service.cohorts import money as m
from cohort_service.cohorts import plan as p
from cohort_service.cohorts.model import CohortReport
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.cells import Styles, set_widths, write_block, write_lines
from cohort_service.export.kinds import PLAN_KINDS, kinds_for, money_kinds

SHEET = "Channels"
HEADER_ROW = 3


def write_channels(book: StreamedWorkbook, styles: Styles, report: CohortReport) -> None:
    """Totals per source over the weeks shown, then one row per cohort week × source."""
    if report.money is None:
        return
    ws = book.add_worksheet(SHEET)
    known = money_kinds(report)
    names = report.milestone_names
    totals = m.source_totals(report.money.channels, names)
    frame = report.money.channels
    heads = [[str(c) for c in f.columns] for f in (totals, frame)]
    widths = set_widths(ws, kinds_for(frame, known), {0: 20.0, 2: 22.0}, headers=heads)
    ws.write_string(0, 0, f"Spend and funnel by source, as of {report.as_of:%d.%m.%Y %H:%M}", styles.title)
    ws.write_string(1, 0, report.money.describe(), styles.subtitle)
    ws.write_string(HEADER_ROW - 1, 0, "All weeks shown, per source (most spend first)", styles.section)
    block = write_block(ws, styles, HEADER_ROW, totals, kinds_for(totals, known), widths=widths)
    row = block.last_row + 3
    ws.write_string(row - 1, 0, "Per cohort week and source", styles.section)
    weekly = write_block(ws, styles, row, frame, kinds_for(frame, known), widths=widths)
    write_lines(
        ws,
        weekly.last_row + 2,
        [
            "Blank, never 0: a ratio whose denominator is 0, or no spend known for that week and source.",
            "A source with spend and 0 leads: spend no lead came from. Blank spend: no spend known for it.",
            f"ROMI = revenue ÷ spend − 1; low for young weeks whose {report.final_name} is still to come.",
        ],
        styles.note,
    )


def write_plan(ws: Worksheet, styles: Styles, report: CohortReport, row: int) -> int:
    """The Plan block at ``row`` of the Cohorts sheet; returns the next free row."""
    if report.plan is None or report.plan.empty:
        return row
    ws.write_string(row, 0, "Plan vs fact (the month's leads; forecast at month end)", styles.section)
    kinds = [PLAN_KINDS[name] for name in p.PLAN_COLUMNS]
    block = write_block(ws, styles, row + 1, report.plan[p.PLAN_COLUMNS], kinds)
    return write_lines(
        ws,
        block.last_row + 1,
        [
            "Leads and spend: the fact carried to the month's end at its own pace. Milestones and revenue:"
            " the fact plus what the month's open leads are expected to bring when mature (blank without"
            " the forecast). See docs/metrics.md, Plan vs fact."
        ],
        styles.note,
    )
