"""The ``Maturation`` sheet: the triangle, the latest mature cohort's funnel, timing, and two charts.

*Latest mature cohort* (the funnel chart): the newest cohort week that is complete (not partial),
has leads, and is old enough that all its equal-age columns exist — by the engine's own rule, a
cohort becomes comparable ``days + 7`` days after its Monday, for the longest configured age. With
no ages configured, the newest complete week with leads. Older cohorts would be riper still, but the
newest mature one is what the meeting wants to see.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.build import ended_by
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.weeks import local_midnight
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.cells import Block, Styles, heat_map, set_widths, write_block
from cohort_service.export.kinds import column_kinds, kinds_for
from cohort_service.export.sheets_cohorts import SHEET as COHORTS
from cohort_service.export.sheets_cohorts import CohortsLayout

SHEET = "Maturation"
HEADER_ROW = 3
STAGE, COUNT, SHARE = "stage", "count", "% of leads"
CHART_ROWS = 16  # a 300-pixel chart covers about 15 default rows
CHART_SIZE = {"width": 520, "height": 300}


def latest_mature(report: CohortReport) -> int | None:
    """Row (in ``report.cohorts``) of the newest complete, old-enough cohort with leads; None if none."""
    tz = ZoneInfo(report.timezone)
    age = max(report.age_days, default=0)
    cohorts = report.cohorts
    for i in range(len(cohorts) - 1, -1, -1):
        if bool(cohorts[col.PARTIAL].iloc[i]) or int(cohorts[col.LEADS].iloc[i]) == 0:
            continue
        week: date = pd.Timestamp(cohorts[col.COHORT_WEEK].iloc[i]).date()
        if ended_by(local_midnight(week + timedelta(days=7 + age), tz), report.as_of):
            return i
    return None


def funnel_frame(report: CohortReport, row: int) -> pd.DataFrame:
    """Leads, then each milestone's count and share of the cohort's leads."""
    cohort = report.cohorts.iloc[row]
    leads = int(cohort[col.LEADS])
    stages = [(col.LEADS, leads), *((m, int(cohort[m])) for m in report.milestone_names)]
    return pd.DataFrame(
        {
            STAGE: [name for name, _ in stages],
            COUNT: [n for _, n in stages],
            SHARE: [n / leads for _, n in stages],
        }
    )


def write_maturation(
    book: StreamedWorkbook, styles: Styles, report: CohortReport, cohorts: CohortsLayout
) -> int | None:
    """Write the sheet; returns the row of the cohort used for the funnel chart (None: no chart)."""
    ws = book.add_worksheet(SHEET)
    triangle = report.maturation
    kinds = kinds_for(triangle, column_kinds(report))
    widths = set_widths(
        ws, kinds, {0: 20.0}, headers=[[str(c) for c in frame.columns] for frame in (triangle, report.timing)]
    )
    ws.freeze_panes(HEADER_ROW + 1, 1)
    ws.write_string(
        0, 0, f"Maturation of lead→{report.final_name} % — as of {report.as_of:%d.%m.%Y %H:%M} "
        f"({report.timezone})", styles.title
    )  # fmt: skip
    ws.write_string(
        1,
        0,
        f"Share of each cohort that reached {report.final_name} by the end of week N after its cohort "
        "week (week 0 = the cohort week itself). Blank: that week has not ended by the as-of moment.",
        styles.subtitle,
    )
    block = write_block(ws, styles, HEADER_ROW, triangle, kinds, widths=widths)
    weeks = block.cols("pct")
    if block.rows:  # one scale per column: every cell of a column had the same time to mature
        heat_map(ws, block.first_data_row, block.last_row, weeks)
    row = block.last_row + 2
    mature = latest_mature(report)
    line_at = 4
    if mature is None:
        ws.write_string(row, 0, "No cohort is mature yet: no funnel chart.", styles.note)
        end = row
    else:
        label = str(report.cohorts[col.COHORT].iloc[mature])
        ws.write_string(row, 0, f"Funnel of the latest mature cohort: {label}", styles.section)
        funnel = write_block(ws, styles, row + 1, funnel_frame(report, mature), ["text", "count", "pct"])
        _funnel_chart(book, ws, funnel, label, anchor=(row, 4))
        end, line_at = funnel.last_row, 13
    charted = _line_chart(book, ws, report, cohorts, anchor=(row, line_at))
    if charted or mature is not None:
        end = max(end, row + CHART_ROWS)
    row = end + 2
    ws.write_string(row, 0, "Days from creation to each milestone (leads that reached it)", styles.section)
    timing = report.timing
    write_block(ws, styles, row + 1, timing, kinds_for(timing, column_kinds(report)), widths=widths)
    return mature


def _funnel_chart(
    book: StreamedWorkbook, ws: Worksheet, funnel: Block, label: str, anchor: tuple[int, int]
) -> None:
    chart = book.workbook.add_chart({"type": "bar"})
    first, last = funnel.first_data_row, funnel.last_row
    chart.add_series(
        {
            "name": label,
            "categories": [SHEET, first, 0, last, 0],
            "values": [SHEET, first, 1, last, 1],
            "data_labels": {"value": True},
            "fill": {"color": "#4472C4"},
            "gap": 60,
        }
    )
    chart.set_title({"name": f"Funnel: {label}"})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True})  # a bar chart's category axis: leads on top
    chart.set_size(CHART_SIZE)
    ws.insert_chart(anchor[0], anchor[1], chart)


def _line_chart(
    book: StreamedWorkbook,
    ws: Worksheet,
    report: CohortReport,
    cohorts: CohortsLayout,
    anchor: tuple[int, int],
) -> bool:
    """lead→final % (and each equal-age %) by complete cohort week, from the Cohorts sheet."""
    block = cohorts.block
    if cohorts.complete_rows == 0:
        return False
    first, last = block.first_data_row, block.header_row + cohorts.complete_rows
    chart = book.workbook.add_chart({"type": "line"})
    series = [col.lead_to_final(report.final_name), *(col.equal_age(d) for d in report.age_days)]
    for name in series:
        c = block.col(name)
        chart.add_series(
            {
                "name": [COHORTS, block.header_row, c],
                "categories": [COHORTS, first, 0, last, 0],
                "values": [COHORTS, first, c, last, c],
                "marker": {"type": "circle"},
            }
        )
    chart.set_title({"name": f"lead→{report.final_name} % by cohort"})
    chart.set_y_axis({"num_format": "0%", "min": 0})
    chart.set_legend({"position": "bottom"})
    chart.set_size(CHART_SIZE)
    ws.insert_chart(anchor[0], anchor[1], chart)
    return True
