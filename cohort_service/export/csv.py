"""CSV files of a report (``report --csv DIR``): UTF-8 with BOM, so Excel opens Cyrillic correctly.

Same columns as the workbook's sheets, spelled in one of two dialects (:mod:`csv_dialect`:
``excel-ru`` with ``;`` and a decimal comma, ``plain`` with ``,`` and a point). Whatever the
dialect, a number is rounded by its column's kind (:mod:`cohort_service.schema.kinds`,
``csv_decimals``): whole numbers exactly, shares to 4 decimals of the fraction (0.4229 = 42.29%),
amounts and money to the kopeck, days and forecasts to 2 decimals, anything else to 10 significant
digits; never a 16-digit float. Dates are ``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM:SS`` in the
report time zone (ISO: every Excel reads them as dates, whatever its region), flags 0/1, blanks empty.

Text never becomes a formula: a text cell (or header) starting with ``= + - @``, TAB or CR gets a
leading ``'`` (OWASP's rule for CSV injection), because a spreadsheet opening the file would run a
manager's, tag's or field's ``=HYPERLINK(…)``. A field holding the separator, a quote or a line
break is quoted (RFC 4180), so ``;`` in a name stays in its cell. The files of one run are written
beside their targets and renamed into place together (:mod:`files`), so a full disk or a planted
symlink never leaves a truncated or misdirected file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.outlook import with_expected
from cohort_service.config.names import file_slug
from cohort_service.export.csv_dialect import DIALECTS, CsvDialect
from cohort_service.export.csv_numbers import round_all_significant, round_decimals
from cohort_service.export.files import ensure_directory, replacing, sweep_partials
from cohort_service.export.kinds import (
    ATTENTION_KINDS,
    PLAN_KINDS,
    column_kinds,
    kinds_for,
    money_kinds,
    shape_kinds,
)
from cohort_service.export.leads_table import leads_columns
from cohort_service.schema.kinds import Kind, kind_of

ENCODING = "utf-8-sig"
DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """A text value a spreadsheet shows as text: ``'`` before a leading formula character."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def rounded(series: pd.Series, kind: Kind) -> pd.Series:
    """``series`` (numbers, NaN for blank) rounded as a CSV file keeps ``kind``; whole numbers of an
    integral kind become exact integers (a blank stays blank)."""
    spec = kind_of(kind)
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    finite = values[np.isfinite(values)]
    if spec.integral and np.array_equal(finite, np.round(finite)) and np.all(np.abs(finite) < 2**53):
        return pd.Series(pd.array(values, dtype="Int64"), index=series.index, name=series.name)
    if spec.csv_decimals is not None and not spec.integral:
        out = round_decimals(values, spec.csv_decimals)
    else:
        out = round_all_significant(values)
    return pd.Series(out, index=series.index, name=series.name)


def _all_numbers(series: pd.Series) -> bool:
    """An object column whose values are all numbers (a blank aside): written as numbers."""
    values = series.dropna().tolist()
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _cells(series: pd.Series, kind: Kind) -> pd.Series:
    """One column as written: numbers rounded, dates ISO, text inert."""
    spec = kind_of(kind)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype("int64")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps: pd.Series = series.dt.strftime(DATE_FORMAT if spec.write == "date" else DATETIME_FORMAT)
        return stamps.astype(object).where(series.notna(), None)
    if pd.api.types.is_numeric_dtype(series.dtype) or (series.dtype == object and _all_numbers(series)):
        return rounded(series, kind if spec.write == "number" else "number")
    text: pd.Series = series.map(inert, na_action="ignore").astype(object)
    return text


def csv_cells(frame: pd.DataFrame, kinds: Sequence[Kind]) -> pd.DataFrame:
    """``frame`` as the CSV holds it, column by column (``kinds`` in frame order); headers inert."""
    if len(kinds) != frame.shape[1]:
        raise ValueError(f"{len(kinds)} kinds for {frame.shape[1]} columns")
    cells = {i: _cells(frame.iloc[:, i], kind) for i, kind in enumerate(kinds)}
    out = pd.DataFrame(cells, index=frame.index)
    out.columns = pd.Index([inert(str(name)) for name in frame.columns], dtype=object)
    return out


def write_frame(
    frame: pd.DataFrame, path: Path, kinds: Sequence[Kind], dialect: CsvDialect = DIALECTS["plain"]
) -> Path:
    csv_cells(frame, kinds).to_csv(
        path, index=False, sep=dialect.separator, decimal=dialect.decimal, encoding=ENCODING,
        lineterminator="\r\n",
    )  # fmt: skip
    return path


def quality_frame(report: CohortReport) -> pd.DataFrame:
    return pd.DataFrame(report.quality.rows(), columns=["figure", "leads"])


def maturation_frame(report: CohortReport) -> pd.DataFrame:
    """The triangle and, last, the forecast model's expected share by the end of each week."""
    if report.forecast is None:
        return report.maturation
    return with_expected(report.maturation, report.forecast)


def csv_frames(report: CohortReport) -> list[tuple[str, pd.DataFrame, list[Kind]]]:
    """Each file's name, table and column kinds (as the workbook declares them), in writing order."""
    known = column_kinds(report)
    leads = report.leads_table()
    tables = [
        ("cohorts.csv", report.cohorts),
        ("managers.csv", report.slices[col.MANAGER]),
        ("pipelines.csv", report.slices[col.PIPELINE]),
        *((f"by_{file_slug(dim.name)}.csv", report.slices[dim.name]) for dim in report.dimensions),
        ("timing.csv", report.timing),
        ("maturation.csv", maturation_frame(report)),
        ("loss_reasons.csv", report.loss_reasons),
        ("quality.csv", quality_frame(report)),
    ]
    out = [(name, frame, kinds_for(frame, known)) for name, frame in tables]
    out.insert(1, ("leads.csv", leads, [c.kind for c in leads_columns(leads, report.row_context)]))
    if report.money is not None:
        channels = report.money.channels
        out.append(("channels.csv", channels, kinds_for(channels, money_kinds(report))))
    if report.attention is not None:
        rows, shapes = report.attention.csv_rows(), report.attention.shapes
        out.append(("attention.csv", rows, kinds_for(rows, ATTENTION_KINDS)))
        out.append(("manager_funnels.csv", shapes, shape_kinds(report, shapes)))
    if report.plan is not None:
        out.append(("plan.csv", report.plan, kinds_for(report.plan, PLAN_KINDS)))
    return out


def write_csv(report: CohortReport, directory: Path, dialect: CsvDialect = DIALECTS["plain"]) -> list[Path]:
    """cohorts.csv, leads.csv, managers.csv, pipelines.csv, by_<dimension>.csv, timing.csv,
    maturation.csv, loss_reasons.csv, quality.csv, attention.csv, channels.csv when spend is
    known and plan.csv when [[plan]] is set; returns the paths written."""
    frames = csv_frames(report)
    ensure_directory(directory, "CSV files")
    targets = [directory / name for name, _, _ in frames]
    sweep_partials(directory, {name for name, _, _ in frames})
    with replacing(targets, "CSV files") as temps:
        for (_, frame, kinds), temp in zip(frames, temps, strict=True):
            write_frame(frame, temp, kinds, dialect)
    return targets
