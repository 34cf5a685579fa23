"""CSV files of a report (``report --csv DIR``): UTF-8 with BOM, so Excel opens Cyrillic correctly.

Same columns as the workbook's sheets. Dates are ``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM:SS``
in the report time zone, shares are fractions (0.42 = 42%), flags 0/1, blanks empty.

Text never becomes a formula: a text cell (or header) starting with ``= + - @``, TAB or CR gets a
leading ``'`` (OWASP's rule for CSV injection), because a spreadsheet opening the file would run a
manager's, tag's or field's ``=HYPERLINK(…)``. Numbers are numbers and stay as they are. The files
of one run are written beside their targets and renamed into place together (:mod:`files`), so a
full disk or a planted symlink never leaves a truncated or misdirected file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.outlook import with_expected
from cohort_service.config.names import file_slug
from cohort_service.export.files import ensure_directory, replacing, sweep_partials

ENCODING = "utf-8-sig"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _dates_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """``cohort_week`` columns hold midnights; write them as plain dates."""
    out = frame.copy()
    if col.COHORT_WEEK in out.columns:
        out[col.COHORT_WEEK] = out[col.COHORT_WEEK].dt.date
    for name in out.columns:
        if out[name].dtype == bool:
            out[name] = out[name].astype("int64")
    return out


def inert(value: object) -> object:
    """A text value a spreadsheet shows as text: ``'`` before a leading formula character."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _inert_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.rename(columns=lambda name: inert(str(name)))
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out.isetitem(i, column.map(inert, na_action="ignore").to_numpy(dtype=object))
    return out


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    _inert_text(_dates_as_dates(frame)).to_csv(
        path, index=False, encoding=ENCODING, date_format=DATETIME_FORMAT, lineterminator="\r\n"
    )
    return path


def quality_frame(report: CohortReport) -> pd.DataFrame:
    return pd.DataFrame(report.quality.rows(), columns=["figure", "leads"])


def maturation_frame(report: CohortReport) -> pd.DataFrame:
    """The triangle and, last, the forecast model's expected share by the end of each week."""
    if report.forecast is None:
        return report.maturation
    return with_expected(report.maturation, report.forecast)


def write_csv(report: CohortReport, directory: Path) -> list[Path]:
    """cohorts.csv, leads.csv, managers.csv, pipelines.csv, by_<dimension>.csv, timing.csv,
    maturation.csv, loss_reasons.csv, quality.csv, attention.csv, channels.csv when spend is
    known and plan.csv when [[plan]] is set; returns the paths written."""
    frames = [
        ("cohorts.csv", report.cohorts),
        ("leads.csv", report.leads_table()),
        ("managers.csv", report.slices[col.MANAGER]),
        ("pipelines.csv", report.slices[col.PIPELINE]),
    ]
    frames += [(f"by_{file_slug(dim.name)}.csv", report.slices[dim.name]) for dim in report.dimensions]
    frames += [
        ("timing.csv", report.timing),
        ("maturation.csv", maturation_frame(report)),
        ("loss_reasons.csv", report.loss_reasons),
        ("quality.csv", quality_frame(report)),
    ]
    if report.money is not None:
        frames.append(("channels.csv", report.money.channels))
    if report.attention is not None:
        frames += [
            ("attention.csv", report.attention.csv_rows()),
            ("manager_funnels.csv", report.attention.shapes),
        ]
    if report.plan is not None:
        frames.append(("plan.csv", report.plan))
    ensure_directory(directory, "CSV files")
    targets = [directory / name for name, _ in frames]
    sweep_partials(directory, {name for name, _ in frames})
    with replacing(targets, "CSV files") as temps:
        for (_, frame), temp in zip(frames, temps, strict=True):
            write_frame(frame, temp)
    return targets
