"""The ``Attention`` sheet: the attention list, worst first, then each manager's funnel shape.

Each row carries the filter that reproduces it in the pivot over ``Leads`` (the segment, the
window's ``cohort_week``s, which milestone columns to sum), so an analyst can check any number.
"""

from __future__ import annotations

from cohort_service.cohorts import attention as att
from cohort_service.cohorts.model import CohortReport
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.cells import Styles, set_widths, write_block, write_lines
from cohort_service.export.kinds import ATTENTION_KINDS, shape_kinds

SHEET = "Attention"
WIDTHS = {0: 20.0, 1: 26.0, 2: 22.0, 3: 20.0, 13: 60.0, 14: 60.0}  # col 0 also holds manager names


def _method(report: CohortReport, listed: att.Attention) -> list[str]:
    rules = listed.rules
    windows = "; ".join(
        f"{w.label}: cohort weeks {w.weeks[0]:%d.%m.%Y}–{w.weeks[-1]:%d.%m.%Y}" for w in listed.windows
    )
    mature = "not measurable" if listed.mature_days is None else f"{listed.mature_days:g} days"
    return [
        f"Each segment's step conversion against the rest of the team in the same cohort weeks (mature age "
        f"{mature}); windows — {windows or 'none yet'}.",
        f"Listed when Fisher's exact test survives Benjamini–Hochberg at FDR {rules.fdr:g} over "
        f"{listed.tested} comparisons and both sides have at least {rules.min_leads} leads at the step's "
        "base; segment targets outside their tolerance are always listed (kind = target).",
        f"deals = (expected − actual) × base × the team's conversion from the step to {report.final_name}: "
        "deals lost (negative: won above the norm); money = deals × the team's average check.",
        *([f"Window: {short}."] if (short := listed.short_window()) else []),
        *(f"Note: {note}." for note in listed.notes),
    ]


def write_attention(book: StreamedWorkbook, styles: Styles, report: CohortReport) -> None:
    listed = report.attention
    if listed is None:
        return
    ws = book.add_worksheet(SHEET)
    rows = listed.rows
    kinds = [ATTENTION_KINDS[str(c)] for c in rows.columns]
    heads = [[str(c) for c in frame.columns] for frame in (rows, listed.shapes)]
    widths = set_widths(ws, kinds, WIDTHS, headers=heads)  # the shape block's columns fit too
    ws.write_string(
        0, 0, f"Where to dig: segments and steps that differ from the rest of the team, as of "
        f"{report.as_of:%d.%m.%Y %H:%M} ({report.timezone})", styles.title
    )  # fmt: skip
    top = write_lines(ws, 1, _method(report, listed), styles.subtitle) + 1
    ws.write_string(top, 0, "Attention list (worst first)", styles.section)
    block = write_block(ws, styles, top + 1, rows, kinds, widths=widths)
    ws.freeze_panes(top + 2, 2)
    if block.rows:
        col = block.col(att.DEALS)
        for criteria, fmt in ((">", styles.red), ("<", styles.green)):
            rule = {"type": "cell", "criteria": criteria, "value": 0, "format": fmt}
            ws.conditional_format(block.first_data_row, col, block.last_row, col, rule)
    else:
        ws.write_string(block.header_row + 1, 0, "Nothing significant in this report.", styles.subtitle)
    shapes = listed.shapes
    if shapes.empty:
        return
    row = block.last_row + 3
    window = listed.mature_window
    span = f" (cohorts {window.span})" if window is not None else ""
    ws.write_string(row, 0, f"Funnel shape by manager{span}: each step against the rest", styles.section)
    write_block(ws, styles, row + 1, shapes, shape_kinds(report, shapes), widths=widths)
