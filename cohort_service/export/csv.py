"""CSV files of a report (``report --csv DIR``): UTF-8 with BOM, so Excel opens Cyrillic correctly.

Same columns as the workbook's sheets. Dates are ``YYYY-MM-DD``, date-times ``YYYY-MM-DD HH:MM:SS``
in the report time zone, shares are fractions (0.42 = 42%), flags 0/1, blanks empty.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cohort_service.cohorts import columns as col
from cohort_service.cohorts.model import CohortReport
from cohort_service.cohorts.outlook import with_expected
from cohort_service.config_names import file_slug

ENCODING = "utf-8-sig"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _dates_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """``cohort_week`` columns hold midnights; write them as plain dates."""
    out = frame.copy()
    if col.COHORT_WEEK in out.columns:
        out[col.COHORT_WEEK] = out[col.COHORT_WEEK].dt.date
    for name in out.columns:
        if out[name].dtype == bool:
            out[name] = out[name].astype("int64")
    return out


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    _dates_as_dates(frame).to_csv(
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
    directory.mkdir(parents=True, exist_ok=True)
    files = [
        write_frame(report.cohorts, directory / "cohorts.csv"),
        write_frame(report.leads_table(), directory / "leads.csv"),
        write_frame(report.slices[col.MANAGER], directory / "managers.csv"),
        write_frame(report.slices[col.PIPELINE], directory / "pipelines.csv"),
    ]
    for dim in report.dimensions:
        files.append(write_frame(report.slices[dim.name], directory / f"by_{file_slug(dim.name)}.csv"))
    files += [
        write_frame(report.timing, directory / "timing.csv"),
        write_frame(maturation_frame(report), directory / "maturation.csv"),
        write_frame(report.loss_reasons, directory / "loss_reasons.csv"),
        write_frame(quality_frame(report), directory / "quality.csv"),
    ]
    if report.money is not None:
        files.append(write_frame(report.money.channels, directory / "channels.csv"))
    if report.attention is not None:
        files.append(write_frame(report.attention.csv_rows(), directory / "attention.csv"))
        files.append(write_frame(report.attention.shapes, directory / "manager_funnels.csv"))
    if report.plan is not None:
        files.append(write_frame(report.plan, directory / "plan.csv"))
    return files
