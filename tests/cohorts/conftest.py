"""Fixtures for the cohort engine tests: a hand-built account, settings, and a report runner."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cohort_service.app.report import ReportRequest, build_cohort_report
from cohort_service.cohorts.model import CohortReport
from cohort_service.config import Settings
from tests.cohorts.rows import MILESTONES, Account, account
from tests.conftest import TEMPLATE, CliResult, make_settings

# Reports in these tests are built "now" = this moment unless they pass an as-of date.
NOW = datetime(2022, 9, 26, 9, 0, tzinfo=UTC)
ReportCli = Callable[..., CliResult]


@pytest.fixture(scope="module")
def module_db(pg_admin_url: str, template_url: str) -> Iterator[str]:
    """A migrated database shared by one test module (for read-only scenarios and property tests)."""
    del template_url
    name = f"t_mod_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    from cohort_service.db.engine import dispose_all

    dispose_all()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def module_engine(module_db: str) -> Iterator[Engine]:
    engine = create_engine(module_db, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def acct(engine: Engine) -> Iterator[Account]:
    """The test account in Europe/Moscow (pipelines Воронка and Партнёры, users, reasons, fields)."""
    built = account(engine)
    yield built
    built.conn.close()


@pytest.fixture
def cohort_settings(db_url: str) -> Callable[..., Settings]:
    def make(**report: Any) -> Settings:
        section: dict[str, Any] = {
            "timezone": "Europe/Moscow",
            "weeks": 3,
            "age_days": [7],
            "milestones": MILESTONES,
        }
        return make_settings(db_url, report=section | report)

    return make


@pytest.fixture
def run(engine: Engine, cohort_settings: Callable[..., Settings]) -> Callable[..., CohortReport]:
    """``run(as_of=date(...), **report settings)`` → the CohortReport, computed the product's way."""

    def build(as_of: date | datetime | None = None, weeks: int | None = None, **report: Any) -> CohortReport:
        request = ReportRequest(as_of=as_of, weeks=weeks, now=NOW)
        return build_cohort_report(cohort_settings(**report), request, engine=engine)

    return build


@pytest.fixture
def filled(request: pytest.FixtureRequest, acct: Account) -> Account:
    """``acct`` with the leads the test module's ``fill(acct)`` plants."""
    request.module.fill(acct)
    return acct


@pytest.fixture
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """``config.toml`` holding the test module's ``CONFIG`` (a test may rewrite it)."""
    path = tmp_path / "config.toml"
    path.write_text(request.module.CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def report_cli(run_cli: Callable[..., CliResult], config: Path, db_url: str) -> ReportCli:
    """``report_cli(*args)``: ``cohort-service report --as-of 2022-09-26 *args`` through the real
    entry point, with ``config`` on this test's database."""

    def run_report(*args: str) -> CliResult:
        env = {"COHORT_DATABASE_URL": db_url}
        return run_cli("--config", str(config), "report", "--as-of", "2022-09-26", *args, env=env)

    return run_report


def lead(report: CohortReport, lead_id: int) -> dict[str, Any]:
    """One row of the Leads table as a dict (NaN/NaT kept as they are)."""
    table = report.leads_table()
    rows = table[table["lead_id"] == lead_id]
    assert len(rows) == 1, f"lead {lead_id} is in the report {len(rows)} times"
    return rows.iloc[0].to_dict()


def cohort(report: CohortReport, monday: str) -> dict[str, Any]:
    rows = report.cohorts[report.cohorts["cohort_week"] == pd.Timestamp(monday)]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def ts(local: str) -> pd.Timestamp:
    """A local wall-clock time as it appears in the Leads table (naive, report zone)."""
    return pd.Timestamp(local)
