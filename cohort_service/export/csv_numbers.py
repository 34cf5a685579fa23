"""How a number is rounded in a CSV file: as Excel would show it with the column's format.

Excel reads a double to 15 significant digits and rounds that decimal half away from zero
(0.975 shown with two decimals is 0.98, 0.125 is 0.13), while ``round`` and numpy round the exact
binary value half to even (0.97, 0.12). A CSV that is "what the workbook shows" follows Excel:
each value is taken as its 15-digit decimal and rounded half up. numpy does the bulk; only values
within a few ulps of a half are redone with :mod:`decimal`, so a million-row ``leads.csv`` stays a
vectorised pass.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy.typing as npt

EXCEL_DIGITS = 15  # the significant digits Excel keeps of a double
GENERAL_DIGITS = 10  # what Excel's General format shows at most in a default-width column
TIE_ULPS = 64.0  # scaled values this close to a half are decided by the decimal rule


def excel_decimal(value: float) -> Decimal:
    return Decimal(f"{value:.{EXCEL_DIGITS}g}")


def round_half_up(value: float, decimals: int) -> float:
    """``value`` rounded to ``decimals`` as Excel shows it (half away from zero, 15 digits)."""
    return float(excel_decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def round_significant(value: float, digits: int = GENERAL_DIGITS) -> float:
    """``value`` to ``digits`` significant digits, half away from zero (0 stays 0)."""
    if value == 0 or not np.isfinite(value):
        return value
    exact = excel_decimal(value)
    return float(exact.quantize(Decimal(1).scaleb(exact.adjusted() - digits + 1), rounding=ROUND_HALF_UP))


def round_decimals(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.float64]:
    """Every value rounded to ``decimals`` as :func:`round_half_up` does (NaN and ±inf kept)."""
    out = np.round(values, decimals)
    whole = np.abs(values) >= 2.0**52 / 10.0**decimals  # no fraction left in a double this large
    out[whole] = values[whole]
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(values) * 10.0**decimals
        distance = np.abs(scaled - np.floor(scaled) - 0.5)
        ties = np.isfinite(values) & ~whole & (distance <= TIE_ULPS * np.spacing(scaled))
    for i in np.flatnonzero(ties).tolist():
        out[i] = round_half_up(float(values[i]), decimals)
    return out + 0.0  # -0.0 → 0.0: a share rounding to zero reads 0, not -0


def round_all_significant(
    values: npt.NDArray[np.float64], digits: int = GENERAL_DIGITS
) -> npt.NDArray[np.float64]:
    out = np.array([round_significant(v, digits) for v in values.tolist()], dtype="float64")
    return out + 0.0
