"""The headline table of the Monday e-mail, as a small model rendered to HTML and to plain text.

The model is filled from the cohort engine's report (``app.outputs``) but knows nothing about
it, so the e-mail can be built, read and tested on its own. Shares are fractions (0.42 = 42%);
``None`` is a blank cell (a cohort too young for an equal-age column, a step after a 0-lead step).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cohort_service.cohorts import columns as col
from cohort_service.delivery.anomalies import Flag
from cohort_service.schema.cohorts import COHORTS, CohortSlot

BLANK = "–"
NO_LEADS, NO_LEADS_YET = "no leads created this week", "no leads created yet this week"
RED, GREEN = "#b71c1c", "#1b5e20"
RED_BG, GREEN_BG = "#fdecea", "#e8f5e9"
ARROWS = {"low": "▼", "high": "▲"}
_DIGIT_SPACE = re.compile(r"(?<=\d) (?=\d)")  # a thousands separator


@dataclass(frozen=True)
class HeadlineRow:
    week_start: date
    label: str
    leads: int
    steps: tuple[float | None, ...]
    final: float | None
    delta: float | None
    equal_age: tuple[float | None, ...] = ()
    partial: bool = False


@dataclass(frozen=True)
class Headline:
    milestones: tuple[str, ...]
    ages: tuple[int, ...]
    rows: tuple[HeadlineRow, ...]
    as_of: datetime
    timezone: str
    last_sync: datetime | None
    warnings: tuple[str, ...] = ()
    flags: Mapping[tuple[date, str], Flag] = field(default_factory=dict)
    money: tuple[str, ...] = ()  # CPL and CAC of the last complete week (when spend is known)
    plan: tuple[str, ...] = ()  # one line per planned metric of the current month
    attention: tuple[str, ...] = ()  # the attention list's top rows, one line each
    summary: tuple[str, ...] = ()  # the three lines the message opens with
    forecast_check: str | None = None  # the forecast's back-test, one line

    @property
    def final_name(self) -> str:
        return self.milestones[-1] if self.milestones else "final"

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.timezone))

    def header(self) -> list[str]:
        return [
            "cohort",
            "leads",
            *(f"{name} %" for name in self.milestones),
            f"lead→{self.final_name} %",
            "Δ vs prev",
            *(f"≤{days}d %" for days in self.ages),
        ]

    def no_leads(self, row: HeadlineRow) -> str | None:
        """A week without leads has no percentages at all: the e-mail says so in one sentence
        after its count instead of a row of dashes."""
        if row.leads:
            return None
        return NO_LEADS_YET if row.partial else NO_LEADS

    def cells(self, row: HeadlineRow) -> list[tuple[str, Flag | None]]:
        """The row as display strings, each with its flag (steps only carry flags)."""
        label = row.label + (" (partial)" if row.partial else "")
        cells: list[tuple[str, Flag | None]] = [(label, None), (f"{row.leads:,}".replace(",", " "), None)]
        for name, value in zip(self.milestones, row.steps, strict=False):
            cells.append((percent(value, 0), self.flags.get((row.week_start, name))))
        cells.append((percent(row.final, 2), None))
        cells.append((signed_percent(row.delta), None))
        cells.extend((percent(value, 1), None) for value in row.equal_age)
        return cells

    def notes(self) -> list[str]:
        """One line per flagged cell, in row order, saying why it is red or green."""
        lines = []
        for row in self.rows:
            for name in self.milestones:
                flag = self.flags.get((row.week_start, name))
                if flag is not None:
                    lines.append(f"{ARROWS[flag.direction]} {row.label}: {flag.reason}")
        return lines

    def freshness(self) -> str:
        if self.last_sync is None:
            return "Data freshness: no successful sync from amoCRM yet."
        return f"Data synced from amoCRM at {self.local(self.last_sync):%d.%m.%Y %H:%M} ({self.timezone})."

    def title(self) -> str:
        return f"Lead cohorts as of {self.local(self.as_of):%d.%m.%Y %H:%M} ({self.timezone})"


def percent(value: float | None, decimals: int) -> str:
    return BLANK if value is None else f"{value * 100:.{decimals}f}%"


def signed_percent(value: float | None) -> str:
    return BLANK if value is None else f"{value * 100:+.0f}%"


def attachment_lines(attachment_name: str | None) -> tuple[str, ...]:
    """What the body says about the file when the full workbook is attached as is."""
    return (f"The full workbook with the pivot is attached: {attachment_name}",) if attachment_name else ()


def render_text(
    headline: Headline, attachment_name: str | None = None, *, about_file: Sequence[str] | None = None
) -> str:
    """Fixed-width table for mail clients that show only text; flags become ▼/▲. ``about_file``:
    the closing lines about the workbook (default: it is attached as ``attachment_name``)."""
    header = headline.header()
    body = [
        [text + (ARROWS[flag.direction] if flag else "") for text, flag in headline.cells(row)]
        for row in headline.rows
    ]
    body = [
        line if (note := headline.no_leads(row)) is None else [*line[:2], note]
        for line, row in zip(body, headline.rows, strict=True)
    ]
    full = [header, *(line for line in body if len(line) == len(header))]
    widths = [max(len(line[i]) for line in full) for i in range(len(header))]
    for line in body:  # the label and the count of a week without leads are aligned too
        widths[:2] = [max(widths[0], len(line[0])), max(widths[1], len(line[1]))]

    def fmt(line: Sequence[str]) -> str:
        first = line[0].ljust(widths[0])
        if len(line) < len(header):  # a week without leads: its sentence after the count
            return "  ".join([first, line[1].rjust(widths[1]), line[2]]).rstrip()
        rest = (cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    lines = [headline.title(), ""]
    if headline.summary:
        lines += [*headline.summary, ""]
    lines += [fmt(header), fmt(["-" * w for w in widths])]
    lines += [fmt(line) for line in body] or ["(no cohorts in this report)"]
    lines += ["", delta_legend(headline.final_name)]
    lines += _footer(headline, attachment_lines(attachment_name) if about_file is None else about_file)
    return "\n".join(lines) + "\n"


def delta_legend(final: str) -> str:
    """What the table's ``Δ vs prev`` means: the Cohorts column's own header note, so it is said once."""
    column = next(c for c in COHORTS if c.header == col.DELTA)
    note = column.note(CohortSlot(final, final)) if callable(column.note) else column.note
    return f"{col.DELTA}: {note}"


def _sections(headline: Headline) -> list[tuple[str, tuple[str, ...]]]:
    """The short blocks under the table: where to dig, money, then the plan; empty ones left out."""
    blocks = (("Where to dig", headline.attention), ("Money", headline.money), ("Plan", headline.plan))
    return [(title, lines) for title, lines in blocks if lines]


def _footer(headline: Headline, about_file: Sequence[str]) -> list[str]:
    lines = [""]
    for title, items in _sections(headline):
        lines += [f"{title}:", *(f"  {item}" for item in items), ""]
    if notes := headline.notes():
        lines += ["Flagged:", *(f"  {note}" for note in notes), ""]
    if headline.forecast_check:
        lines.append(headline.forecast_check)
    lines.append(headline.freshness())
    if headline.warnings:
        lines += ["", "Data quality:", *(f"  ! {w}" for w in headline.warnings)]
    if about_file:
        lines += ["", *about_file]
    return lines


# Dark mode where the client honours it (Apple Mail, iOS, Outlook.com); clients that drop <style>
# (Gmail) invert colours themselves. The inline colours stay for light mode.
_HTML_HEAD = (
    '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
    '<meta name="color-scheme" content="light dark">'
    '<meta name="supported-color-schemes" content="light dark">'
    "<style>@media (prefers-color-scheme: dark) {"
    "body, h3, p, li, th, td { color: #e6e6e6 !important; background: #161616 !important; }"
    "th, td { border-color: #555 !important; } }</style>"
)


def render_html(
    headline: Headline, attachment_name: str | None = None, *, about_file: Sequence[str] | None = None
) -> str:
    """A short HTML body with inline styles (mail clients drop <style> blocks).

    The table fits a 1000 px reading pane: headers wrap between words (never inside one: the
    milestone names are Russian words a reader must recognise), numbers never wrap. A phone
    scrolls the table sideways instead."""

    esc = html.escape

    def keep(text: str) -> str:  # on a narrow screen "15.6 %" and "2 020 546" never break inside
        return _DIGIT_SPACE.sub("&nbsp;", esc(text).replace(" %", "&nbsp;%"))

    th = (
        "padding:4px 6px;border-bottom:2px solid #999;text-align:right;vertical-align:bottom;"
        "white-space:normal;word-break:normal;overflow-wrap:normal;hyphens:manual;font-weight:bold"
    )
    head = "".join(
        f'<th style="{th}{";text-align:left" if i == 0 else ""}">{_html_header(h)}</th>'
        for i, h in enumerate(headline.header())
    )
    rows = [_html_row(headline, row) for row in headline.rows]
    if not rows:
        rows = [f'<tr><td colspan="{len(headline.header())}">no cohorts in this report</td></tr>']
    parts = [
        f"<html><head>{_HTML_HEAD}</head>",
        '<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">',
        f'<h3 style="margin:0 0 8px">{esc(headline.title())}</h3>',
        *(f'<p style="margin:0 0 4px">{keep(line)}</p>' for line in headline.summary),
        # a phone scrolls the table sideways instead of cutting its right-hand columns off
        '<div style="overflow-x:auto;max-width:100%"><table style="border-collapse:collapse;font-size:13px">',
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>",
        f'<p style="margin:4px 0 0;color:#555;font-size:12px">{esc(delta_legend(headline.final_name))}</p>',
    ]
    for title, lines in _sections(headline):
        items = "".join(f"<li>{keep(line)}</li>" for line in lines)
        parts.append(
            f'<p style="margin:12px 0 0"><b>{esc(title)}</b></p><ul style="margin:4px 0">{items}</ul>'
        )
    if notes := headline.notes():
        items = "".join(f"<li>{keep(n)}</li>" for n in notes)
        parts.append(f'<p style="margin:12px 0 0">Flagged:</p><ul style="margin:4px 0">{items}</ul>')
    if headline.forecast_check:
        parts.append(f'<p style="color:#555">{esc(headline.forecast_check)}</p>')
    parts.append(f'<p style="color:#555">{esc(headline.freshness())}</p>')
    if headline.warnings:
        items = "".join(f"<li>{esc(w)}</li>" for w in headline.warnings)
        parts.append(
            f'<p style="margin:12px 0 0"><b>Data quality</b></p><ul style="margin:4px 0">{items}</ul>'
        )
    about = attachment_lines(attachment_name) if about_file is None else about_file
    if about:
        parts.append(f'<p style="margin:12px 0 0"><b>{esc(about[0])}</b></p>')
        parts += [f'<p style="margin:4px 0 0">{esc(line)}</p>' for line in about[1:]]
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_header(header: str) -> str:
    """Narrow headers: no "%" (every cell under them says it), short ones ("≤7d", "Δ vs prev")
    unbroken, long milestone names wrapped between words only."""
    text = html.escape(header.removesuffix(" %"))
    return text.replace(" ", "&nbsp;") if len(text) <= len("Δ vs prev") else text


def _html_row(headline: Headline, row: HeadlineRow) -> str:
    cells = []
    note = headline.no_leads(row)
    for index, (text, flag) in enumerate(headline.cells(row)):
        if index == 2 and note is not None:  # a week without leads: one sentence over the rest
            span = len(headline.header()) - 2
            style = (
                "padding:4px 6px;border-bottom:1px solid #ddd;text-align:left;color:#555;font-style:italic"
            )
            cells.append(f'<td colspan="{span}" style="{style}">{html.escape(note)}</td>')
            break
        style = "padding:4px 6px;border-bottom:1px solid #ddd;white-space:nowrap;" + (
            "text-align:left" if index == 0 else "text-align:right"
        )
        if flag is not None:
            colour, background = (RED, RED_BG) if flag.direction == "low" else (GREEN, GREEN_BG)
            style += f";color:{colour};background:{background};font-weight:bold"
            text = f"{text} {ARROWS[flag.direction]}"  # noqa: PLW2901 - the arrow survives colour loss
        title = f' title="{html.escape(flag.reason)}"' if flag is not None else ""
        cells.append(f'<td style="{style}"{title}>{html.escape(text)}</td>')
    shade = ";color:#777;font-style:italic" if row.partial else ""
    return f'<tr style="{shade.lstrip(";")}">{"".join(cells)}</tr>'
