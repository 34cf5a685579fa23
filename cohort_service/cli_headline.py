"""The headline table on a terminal: the e-mail's numbers, laid out to fit 100 columns.

The e-mail's text table (``delivery.headline.render_text``) is one line per week at whatever
width the milestone names need (150 columns for the demo's Russian names); a terminal wraps
those lines into an unreadable zig-zag. Here the same cells (``Headline.cells``) are set with
headers wrapped word by word over several lines, the week as ``dd.mm–dd.mm`` (the year is in the
title) and the partial week marked ``*`` with a footnote, so the demo's table is 99 columns.
When the names are longer than the width allows, the gap between columns narrows to one space,
then the equal-age columns are left out and a line says where they are; a number is never cut.
Paragraphs above and below the table are wrapped by rich at the console's width.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.text import Text

from cohort_service.delivery.headline import ARROWS, Headline, HeadlineRow, delta_legend

WIDTH = 100  # what the table is made to fit; a console narrower than this gets its own width
PARTIAL_MARK = "*"
STYLES = {"low": "bold red", "high": "bold green"}


@dataclass(frozen=True)
class Cell:
    text: str
    style: str = ""


def week_label(row: HeadlineRow) -> str:
    end = row.week_start + timedelta(days=6)
    return f"{row.week_start:%d.%m}–{end:%d.%m}" + (PARTIAL_MARK if row.partial else "")


def _rows(headline: Headline) -> list[list[Cell]]:
    rows = []
    for row in headline.rows:
        cells = [Cell(week_label(row))]
        for text, flag in headline.cells(row)[1:]:
            if flag is None:
                cells.append(Cell(text))
            else:
                cells.append(Cell(text + ARROWS[flag.direction], STYLES[flag.direction]))
        rows.append(cells)
    return rows


def _wrap(header: str, width: int) -> list[str]:
    """Words of a header over lines of at most ``width`` (a longer word gets a line of its own);
    ``lead→Продажа %`` may break after the arrow."""
    words = header.replace("→", "→ ").split()
    lines: list[str] = []
    for word in words:
        glue = "" if lines and lines[-1].endswith("→") else " "
        if lines and len(lines[-1]) + len(glue) + len(word) <= width:
            lines[-1] += glue + word
        else:
            lines.append(word)
    return lines or [""]


def _widths(headers: Sequence[str], rows: list[list[Cell]]) -> list[int]:
    """Each column as wide as its widest cell or the longest word of its header."""
    widths = []
    for i, header in enumerate(headers):
        longest_word = max(len(w) for w in header.replace("→", "→ ").split())
        widths.append(max([longest_word, *(len(r[i].text) for r in rows)]))
    return widths


@dataclass(frozen=True)
class Layout:
    columns: list[int]  # indexes of the columns shown
    widths: list[int]
    gap: int
    dropped: int = 0  # equal-age columns left out

    @property
    def total(self) -> int:
        return sum(self.widths) + self.gap * (len(self.widths) - 1)


def choose_layout(headline: Headline, width: int = WIDTH) -> Layout:
    """Two spaces between columns; one when that does not fit; then without the equal-age columns."""
    headers = _headers(headline)
    widths = _widths(headers, _rows(headline))
    everything = list(range(len(headers)))
    ages = len(headline.ages)
    without_ages = everything[: len(everything) - ages]
    candidates = [(everything, 2), (everything, 1), (without_ages, 2), (without_ages, 1)]
    for columns, gap in candidates:
        layout = Layout(columns, [widths[i] for i in columns], gap, len(everything) - len(columns))
        if layout.total <= width:
            return layout
    return layout  # the funnel alone is wider than the screen: the terminal wraps it


def _headers(headline: Headline) -> list[str]:
    return ["week", *headline.header()[1:]]


def table_text(headline: Headline, width: int = WIDTH) -> list[Text]:
    """The table's lines (header lines, a rule, one line per week), each at most ``width`` wide
    when the layout fits."""
    layout = choose_layout(headline, width)
    headers = [_headers(headline)[i] for i in layout.columns]
    wrapped = [_wrap(h, w) for h, w in zip(headers, layout.widths, strict=True)]
    depth = max(len(lines) for lines in wrapped)
    gap = " " * layout.gap
    out: list[Text] = []
    for level in range(depth):
        line = Text(style="bold")
        for i, (lines, w) in enumerate(zip(wrapped, layout.widths, strict=True)):
            # headers sit on their last line, so every column's name ends just above the rule
            part = lines[level - (depth - len(lines))] if level >= depth - len(lines) else ""
            line.append((gap if i else "") + (part.ljust(w) if i == 0 else part.rjust(w)))
        out.append(_rstrip(line))
    out.append(Text(gap.join("-" * w for w in layout.widths)))
    for cells in _rows(headline):
        line = Text()
        for i, index in enumerate(layout.columns):
            cell, w = cells[index], layout.widths[i]
            line.append(gap if i else "")
            line.append(cell.text.ljust(w) if i == 0 else cell.text.rjust(w), style=cell.style)
        out.append(_rstrip(line))
    return out


def _rstrip(line: Text) -> Text:
    line.rstrip()
    return line


def footnotes(headline: Headline, layout: Layout) -> list[str]:
    notes = []
    if any(row.partial for row in headline.rows):
        notes.append(f"{PARTIAL_MARK} the current week, still filling up (partial).")
    if layout.dropped:
        ages = ", ".join(f"≤{d}d %" for d in headline.ages)
        notes.append(f"The equal-age columns ({ages}) do not fit the screen: see the Cohorts sheet.")
    return notes


def blocks(headline: Headline) -> list[tuple[str, Sequence[str]]]:
    """The titled blocks under the table, as the e-mail has them; empty ones left out."""
    found = (
        ("Where to dig", headline.attention),
        ("Money", headline.money),
        ("Plan", headline.plan),
        ("Flagged", headline.notes()),
    )
    return [(title, items) for title, items in found if items]


def print_headline(console: Console, headline: Headline) -> None:
    """Title, the summary, the table, the legend and the blocks under it, at the console's width
    (at most ``WIDTH`` for the table; paragraphs wrapped by rich, never cut)."""
    width = min(console.width, WIDTH)
    layout = choose_layout(headline, width)

    def say(text: str | Text = "") -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=False, overflow="fold")

    say(Text(headline.title(), style="bold"))
    say()
    for line in [*headline.summary, *([""] if headline.summary else [])]:
        say(line)
    for text in table_text(headline, width) if headline.rows else [Text("(no cohorts in this report)")]:
        say(text)
    say()
    for note in [*footnotes(headline, layout), delta_legend(headline.final_name)]:
        say(note)
    for title, items in blocks(headline):
        say()
        say(Text(f"{title}:", style="bold"))
        for item in items:
            say(f"  {item}")
    say()
    for line in [headline.forecast_check or "", headline.freshness()]:
        if line:
            say(line)
    if headline.warnings:
        say()
        say(Text("Data quality:", style="bold"))
        for warning in headline.warnings:
            say(f"  ! {warning}")


def console_for(out: Console) -> Console:
    """``out`` on a terminal; for a pipe or a log, a console of ``WIDTH`` columns on the same
    stream without colour (rich would otherwise assume 80)."""
    if out.is_terminal:
        return out
    return Console(file=out.file, width=WIDTH, highlight=False, color_system=None)


def write_files_hint(
    as_of_day: date, *, config: Path | None, as_of: str | None, weeks: int | None
) -> list[str]:
    """The exact commands that write this report's files (same config, as-of and weeks), each on a
    line of its own so it can be copied whole."""
    base = ["cohort-service"]
    if config is not None:
        base += ["--config", str(config)]
    base.append("report")
    if as_of is not None:
        base += ["--as-of", as_of]
    if weeks is not None:
        base += ["--weeks", str(weeks)]
    workbook = shlex.join([*base, "--out", f"cohorts-{as_of_day:%Y-%m-%d}.xlsx"])
    csv = shlex.join([*base, "--csv", f"cohorts-{as_of_day:%Y-%m-%d}"])
    return [
        "Nothing was written. The workbook (Cohorts, Pivot, Leads…), or the CSV files, with:",
        f"  {workbook}",
        f"  {csv}",
    ]
