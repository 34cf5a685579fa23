"""The ``Managers`` sheet: the engine's funnel per manager, then per pipeline, per dimension, and the
loss reasons — one block under another, each with its own title. A share is coloured only where the
row differs significantly from the rest of the table (Fisher, Benjamini–Hochberg; cohorts/colours.py).

All blocks count the leads of the report's weeks as of A (the same leads as the Leads table), so a
manager's row equals the pivot filtered to that manager with the week rows summed.
"""

from __future__ import annotations

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.colours import segment_colours
from cohort_service.cohorts.model import CohortReport
from cohort_service.export.book import StreamedWorkbook
from cohort_service.export.cells import Styles, set_widths, write_block
from cohort_service.export.kinds import column_kinds, kinds_for
from cohort_service.export.sheets_cohorts import FILLS
from cohort_service.schema.cohorts_sheet import duplicates

SHEET = "Managers"
HEADER_ROW = 3


def blocks(report: CohortReport) -> list[tuple[str, str]]:
    """(title, slice key) in sheet order: manager first, then pipeline and each dimension."""
    order = [("Funnel by manager", col.MANAGER), ("Funnel by pipeline (at creation)", col.PIPELINE)]
    order += [(f"Funnel by {name} (latest synced values)", name) for name in report.dimension_names]
    return [(title, key) for title, key in order if key in report.slices]


def write_slices(book: StreamedWorkbook, styles: Styles, report: CohortReport) -> None:
    ws = book.add_worksheet(SHEET)
    known = column_kinds(report)
    frames = [_shown(report.slices[key], report) for _, key in blocks(report)]
    first = frames[0] if frames else None
    widths = set_widths(
        ws, kinds_for(first, known) if first is not None else ["text"], {0: 26.0},
        headers=[[str(c) for c in frame.columns] for frame in (*frames, report.loss_reasons)],
    )  # fmt: skip
    ws.freeze_panes(HEADER_ROW + 1, 1)
    weeks = f"{report.weeks[0]:%d.%m.%Y}–{report.weeks[-1]:%d.%m.%Y}" if report.weeks else "—"
    ws.write_string(
        0, 0, f"Funnels over the leads of weeks {weeks}, as of {report.as_of:%d.%m.%Y %H:%M} "
        f"({report.timezone})", styles.title
    )  # fmt: skip
    ws.write_string(
        1, 0, "'(blank)' = leads without a value; managers and dimensions are the latest synced values. "
        "'<milestone> %': share of the previous step; '% of leads': share of the row's leads.",
        styles.subtitle,
    )  # fmt: skip
    row = HEADER_ROW - 1
    for (title, _), frame in zip(blocks(report), frames, strict=True):
        ws.write_string(row, 0, title, styles.section)
        kinds = kinds_for(frame, known)
        names = [str(c) for c in frame.columns]
        grades = segment_colours(frame, report.milestone_names, min_leads=report.flag_min_leads)
        formats = {
            (r, names.index(c)): styles.shaded(kinds[names.index(c)], FILLS[g])
            for (r, c), g in grades.items()
            if c in names
        }
        block = write_block(ws, styles, row + 1, frame, kinds, widths=widths, cell_formats=formats)
        row = block.last_row + 3
    ws.write_string(row, 0, "Loss reasons (leads lost as of the report moment)", styles.section)
    losses = report.loss_reasons
    write_block(ws, styles, row + 1, losses, kinds_for(losses, known), widths=widths)


def _shown(frame: pd.DataFrame, report: CohortReport) -> pd.DataFrame:
    """The slice without the columns that repeat another's number (as on Cohorts)."""
    dropped = duplicates(report.milestone_names)
    return frame[[c for c in frame.columns if c not in dropped]]
