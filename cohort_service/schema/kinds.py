"""The one vocabulary of cell kinds: what a column holds decides its Excel format, width and CSV text.

Every sheet (the small human-facing ones and the streamed tables) and every CSV takes a column's
kind from here, so a share is ``0.0%`` wherever it appears and a date is never written as text.

A CSV file writes a number with ``csv_decimals`` decimals: at least what ``excel_format`` shows and
enough for a program to recompute from the file what the sheet shows (docs/metrics.md, "The files").

Two date styles exist on purpose: the human sheets (Cohorts, Maturation, Managers) show
``dd.mm.yyyy`` like the cohort labels; the data tables (Leads, Transitions) show ISO dates, which
analysts sort and filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "text", "marker", "int", "count", "estimate", "number", "amount", "money", "cost", "days", "pct", "delta",
    "flag", "date", "datetime", "iso_date", "iso_datetime", "iso_seconds",
]  # fmt: skip
Write = Literal["text", "number", "date", "datetime"]


@dataclass(frozen=True, slots=True)
class CellKind:
    """``write``: how the cell is stored (a date kind is a real Excel date, never text);
    ``integral``: whole numbers (0/1 flags, ids, counts) stay ints on the way out;
    ``cache_numfmt``: the built-in number format a PivotTable cache field uses for it;
    ``csv_decimals``: decimals a CSV file keeps (integral kinds: 0, whole numbers written exactly),
    or None for 10 significant digits, as many as Excel's General format shows."""

    excel_format: str | None
    width: float
    write: Write
    integral: bool = False
    cache_numfmt: int = 0
    csv_decimals: int | None = None


KINDS: dict[str, CellKind] = {
    "text": CellKind(None, 18, "text"),
    "marker": CellKind(None, 8, "text"),  # a short word in an otherwise empty column ("yes")
    "int": CellKind(None, 11, "number", integral=True, csv_decimals=0),  # ids: no thousands separator
    "count": CellKind("#,##0", 9, "number", integral=True, csv_decimals=0),
    # an expected count: a forecast, with decimals (CSV: one more, so sums stay within the sheet's)
    "estimate": CellKind("#,##0.0", 9, "number", csv_decimals=2),
    "amount": CellKind("#,##0.00", 12, "number", csv_decimals=2),  # a lead's price, to the kopeck
    "money": CellKind("#,##0", 12, "number", csv_decimals=2),  # sums of kopeck amounts: exact in CSV
    # money per unit (spend ÷ a count: CPL, CAC): shown to the ruble like money; a ratio, not a sum of
    # kopecks, so CSV keeps its 10 significant digits and spend ÷ count reproduces it
    "cost": CellKind("#,##0", 12, "number"),
    "number": CellKind(None, 10, "number"),  # General: 10 significant digits in CSV
    "days": CellKind("0.0", 8, "number", csv_decimals=2),
    # a fraction: 0.42 shows as 42.0%; CSV: 4 decimals (0.01 percentage point)
    "pct": CellKind("0.0%", 9, "number", cache_numfmt=10, csv_decimals=4),
    "delta": CellKind("+0%;-0%;0%", 8, "number", csv_decimals=4),
    "flag": CellKind(None, 6, "number", integral=True, csv_decimals=0),  # 0/1, so SUM counts
    "date": CellKind("dd.mm.yyyy", 11, "date", cache_numfmt=14),
    "datetime": CellKind("dd.mm.yyyy hh:mm", 16, "datetime", cache_numfmt=22),
    "iso_date": CellKind("yyyy-mm-dd", 12, "date", cache_numfmt=14),
    "iso_datetime": CellKind("yyyy-mm-dd hh:mm", 17, "datetime", cache_numfmt=22),
    "iso_seconds": CellKind("yyyy-mm-dd hh:mm:ss", 17, "datetime", cache_numfmt=22),
}


def kind_of(kind: str) -> CellKind:
    """The kind's definition; an unknown name is a programming error, caught when a column is declared."""
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown cell kind {kind!r} (one of {', '.join(KINDS)})") from None
