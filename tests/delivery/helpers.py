"""Hand-built headline and a small real workbook for the e-mail tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import Engine

from cohort_service.app.send import ReportOutputs
from cohort_service.config import EmailSettings, Settings
from cohort_service.delivery.anomalies import Flag
from cohort_service.delivery.headline import Headline, HeadlineRow
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer

COHORT_ROWS = [
    # label, Monday, leads, target, qualified, paid
    ("07.10–13.10.2024", date(2024, 10, 7), 558, 236, 126, 23),
    ("14.10–20.10.2024", date(2024, 10, 14), 500, 200, 60, 10),
]


def _row(cohort: tuple[Any, ...], **rest: Any) -> HeadlineRow:
    """A headline row from one of COHORT_ROWS: each step over the one before it, final over leads."""
    label, monday, leads, *counts = cohort
    steps = tuple(reached / base for reached, base in zip(counts, [leads, *counts[:-1]], strict=True))
    final = counts[-1] / leads
    return HeadlineRow(week_start=monday, label=label, leads=leads, steps=steps, final=final, **rest)


def headline() -> Headline:
    first = _row(COHORT_ROWS[0], delta=None, equal_age=(0.01, None))
    second = _row(COHORT_ROWS[1], delta=(10 / 500) / (23 / 558) - 1, equal_age=(None, None), partial=True)
    return Headline(
        milestones=("target", "qualified", "paid"),
        ages=(7, 14),
        rows=(first, second),
        as_of=datetime(2024, 10, 20, 20, 59, 59, tzinfo=UTC),
        timezone="Europe/Moscow",
        last_sync=datetime(2024, 10, 21, 3, 58, tzinfo=UTC),
        warnings=("3 leads have no stage history",),
        flags={
            (date(2024, 10, 14), "qualified"): Flag(
                "low",
                "qualified 30 % vs target 50 % ± 10 pp; 236 at the base",
            )
        },
    )


def small_workbook(path: Path) -> Path:
    """A real xlsx with a Cohorts sheet holding COHORT_ROWS (the numbers the test compares)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Cohorts")
    sheet.write_row(0, 0, ["cohort", "leads", "target", "qualified", "paid"])
    for index, (label, _monday, *counts) in enumerate(COHORT_ROWS, start=1):
        sheet.write_row(index, 0, [label, *counts])
    book.close()
    return path


def email_settings(server: SmtpServer, **overrides: Any) -> EmailSettings:
    data: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "user": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from": "Cohort reports <reports@example.com>",
        "to": ["head@example.com", "analyst@example.com"],
        "max_attempts": 3,
        "timeout_s": 5,
    }
    data.update(overrides)
    return EmailSettings.model_validate(data)


built: list[datetime] = []


def small_builder(settings: Settings, engine: Engine, as_of: datetime, path: Path) -> ReportOutputs:
    """Stands where the cohort engine + workbook writer plug in: a real xlsx and a fixed headline."""
    del settings, engine
    built.append(as_of)
    small_workbook(path)
    return ReportOutputs(headline())
