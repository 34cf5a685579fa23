"""How wide a header is, so a column fits its name without breaking a word.

No spreadsheet measures text when it opens a file: the widths and the header row's height are
whatever the file says. They are estimated here in Excel's width unit (the width of a digit in the
default 11-point font), per character: Cyrillic capitals and letters such as Ш or m are wider than a
digit, i or l narrower, and bold adds a little. The estimate errs wide, so a word that fits in Excel
also fits where LibreOffice substitutes a wider font for Calibri.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

NARROW = frozenset("iljtfrI.,:;!|'()[]{}-/ ")
WIDE = frozenset("mwMWШЩЖЮМФшщжюмф%@ЫыДд")
BOLD = 1.1  # a bold header is about a tenth wider than plain text
PADDING = 1.5  # the cell's margins and the wrap's slack
LINE_POINTS = 15.0  # one line of 11-point text
MAX_LINES = 3  # a header wrapping to more lines is widened instead
# A4 landscape inside 0.4" margins is 1045 px at 96 dpi; a spreadsheet without Calibri (LibreOffice
# without Carlito falls back to DejaVu) draws every column ~1.35x wider, and its automatic break would
# then cut a section in two. So pages are planned for the wider font.
PAGE_PIXELS = 760


def text_width(text: str, *, bold: bool = False) -> float:
    """``text`` on one line, in digit widths."""
    width = 0.0
    for ch in text:
        if ch in NARROW:
            width += 0.55
        elif ch in WIDE:
            width += 1.5
        elif ch.isupper():
            width += 1.25
        else:
            width += 1.05
    return width * (BOLD if bold else 1.0)


def word_width(text: str, *, bold: bool = True) -> float:
    """The widest word of ``text``: a column narrower than this breaks it mid-word."""
    return max((text_width(word, bold=bold) for word in text.split()), default=0.0)


def wrapped_lines(text: str, width: float, *, bold: bool = True) -> int:
    """Lines ``text`` takes when wrapped on spaces in a column ``width`` wide (a word never split)."""
    lines, used = 1, 0.0
    room = width - PADDING
    for word in text.split():
        size = text_width(word, bold=bold)
        gap = text_width(" ", bold=bold) if used else 0.0
        if used and used + gap + size > room:
            lines, used = lines + 1, size
        else:
            used += gap + size
    return lines


def header_width(text: str, least: float, *, most: float = 30.0) -> float:
    """A column width that holds ``text``'s longest word and wraps it on at most
    :data:`MAX_LINES` lines, never below ``least`` (the kind's width for its numbers)."""
    width = max(least, round(word_width(text) + PADDING + 0.4, 1))
    while wrapped_lines(text, width) > MAX_LINES and width < most:
        width += 1.0
    return width


def header_height(texts: Iterable[tuple[str, float]]) -> float:
    """Points for a header row whose cells (text, column width) all show in full."""
    lines = max((wrapped_lines(text, width) for text, width in texts), default=1)
    return LINE_POINTS * lines + 3.0


def line_width(text: str, least: float, *, bold: bool = True) -> float:
    """A width showing ``text`` on one line (a pivot's captions do not wrap)."""
    return max(least, round(text_width(text, bold=bold) + PADDING, 1))


def pixels(width: float) -> int:
    """A column's width on screen and paper at 100 %: Excel's 7-pixel digit plus 5 pixels of margins."""
    return int(width * 7 + 5) if width > 0 else 0


def print_pages(
    widths: Sequence[float], starts: Sequence[int], *, repeat: int = 1, page: int = PAGE_PIXELS
) -> tuple[list[int], int]:
    """Vertical page breaks and the print scale (%) for a wide sheet printed section by section.

    ``starts``: the columns where a section (a group of columns read together) begins; the first
    ``repeat`` columns print on every page. The scale is the largest that fits the widest section
    (with the repeated columns) on a page; consecutive sections share a page while they fit. Hidden
    columns are passed with width 0. Returns (the columns each new page starts at, the scale).
    """
    bounds = sorted({s for s in starts if repeat < s < len(widths)} | {repeat, len(widths)})
    sections = [(a, sum(pixels(w) for w in widths[a:b])) for a, b in itertools.pairwise(bounds)]
    head = sum(pixels(w) for w in widths[:repeat])
    widest = max((size for _, size in sections), default=0) + head
    scale = max(10, min(100, page * 100 // max(widest, 1)))
    room = page * 100 / scale - head
    breaks, used = [], 0.0
    for start, size in sections:
        if used and used + size > room:
            breaks.append(start)
            used = 0.0
        used += size
    return breaks, int(scale)
