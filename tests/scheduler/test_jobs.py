"""Jobs under the database lock, the start-up catch-up, and the daemon stopping on SIGTERM."""

from __future__ import annotations

import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from cohort_service.app.scheduler import build_scheduler, catch_up, run_job, serve, sync_work, weekly_work
from cohort_service.config import Settings
from cohort_service.db.lock import run_lock
from cohort_service.db.models import report_runs
from cohort_service.errors import ConfigError
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve as serve_simulator
from tests.conftest import make_settings
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer
from tests.delivery.helpers import small_builder
from tests.helpers.cli_process import cohort_process

PLAINTEXT_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
MONDAY_0800_UTC = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # 11:00 in Moscow, the cron fired at 07:00


def job_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "cohort_service.jobs"]


@pytest.fixture(scope="module")
def amo() -> Iterator[tuple[str, str]]:
    app = SimulatorApp(generate_account(seed=8, leads=200, weeks=6), limits=Limits(rps=None))
    with serve_simulator(app) as url:
        yield url, app.oauth.issue_long_lived()


def _email(host: str, port: int) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "security": "none",
        "user": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from": "reports@example.com",
        "to": ["head@example.com"],
    }


def _settings(
    db_url: str, amo: tuple[str, str], email: dict[str, Any] | None = None, lock_wait: str = "15m"
) -> Settings:
    sections: dict[str, Any] = {
        "service": {"lock_wait": lock_wait},
        "amocrm": {"base_url": amo[0], "token": amo[1], "requests_per_second": 50, "max_attempts": 1},
        "report": {"timezone": "Europe/Moscow"},
    }
    if email is not None:
        sections["email"] = email
    return make_settings(db_url, **sections)


def test_jobs_never_overlap_one_runs_one_skips(
    db_url: str, engine: Engine, amo: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """While one job holds the run lock, the sync job and the weekly job each log one 'skipped' line."""
    caplog.set_level(logging.INFO, logger="cohort_service.jobs")
    settings = _settings(db_url, amo)
    holding, release = threading.Event(), threading.Event()

    def long_job() -> dict[str, Any]:
        with run_lock(engine, "sync"):
            holding.set()
            release.wait(timeout=30)
        return {"leads_new": 0}

    first = threading.Thread(target=run_job, args=("sync", long_job))
    first.start()
    assert holding.wait(timeout=30)
    try:
        second = run_job("sync", sync_work(settings))
        weekly = run_job(
            "weekly", weekly_work(_settings(db_url, amo, _email("127.0.0.1", 1), lock_wait="0s"))
        )
    finally:
        release.set()
        first.join(timeout=30)
    assert second["outcome"] == "skipped"
    assert "holds the database lock" in second["error"]
    assert weekly["outcome"] == "skipped"
    lines = job_lines(caplog)
    assert [(line["job"], line["outcome"]) for line in lines] == [
        ("sync", "skipped"),
        ("weekly", "skipped"),
        ("sync", "ok"),
    ]
    assert all(set(line) == {"job", "outcome", "duration_s", "error"} for line in lines[:2])
    assert lines[2]["counts"] == {"leads_new": 0}


def test_a_job_error_is_one_failed_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cohort_service.jobs")

    def bad_config() -> dict[str, Any]:
        raise ConfigError(["config.toml: amocrm.subdomain: required", "second line"])

    def bug() -> dict[str, Any]:
        raise KeyError("leads")

    assert run_job("sync", bad_config)["error"] == "config.toml: amocrm.subdomain: required"
    assert run_job("sync", bug)["error"] == "KeyError: 'leads'"
    assert [line["outcome"] for line in job_lines(caplog)] == ["failed", "failed"]


@PLAINTEXT_AUTH
def test_missed_monday_is_sent_once_at_start_up(
    db_url: str, engine: Engine, amo: tuple[str, str], start_smtp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Down at Monday 07:00 (Moscow), up at 11:00: the week of 09.11 goes out at start-up, once."""
    caplog.set_level(logging.INFO, logger="cohort_service.jobs")
    smtp: SmtpServer = start_smtp()
    settings = _settings(db_url, amo, _email(smtp.host, smtp.port))
    stop = threading.Event()
    stop.set()  # start, catch up, stop: no waiting
    serve(settings, stop=stop, builder=small_builder, clock=lambda: MONDAY_0800_UTC)
    assert len(smtp.recorder.messages) == 1
    [line] = [line for line in job_lines(caplog) if line["job"] == "weekly"]
    assert line["outcome"] == "sent"
    assert line["counts"]["week"] == "2026-11-09"
    assert line["counts"]["attachment"] == "full"  # the small workbook fits the 10 MB default
    assert "attachment_detail" not in line["counts"]
    with engine.connect() as conn:
        assert conn.execute(select(report_runs.c.week_start, report_runs.c.status)).all() == [
            (date(2026, 11, 9), "sent")
        ]
    # Restarted again the same morning: nothing more is sent.
    assert catch_up(settings, ZoneInfo("Europe/Moscow"), MONDAY_0800_UTC, builder=small_builder) is None
    assert len(smtp.recorder.messages) == 1


def test_scheduler_wiring(db_url: str, amo: tuple[str, str]) -> None:
    tz = ZoneInfo("Europe/Moscow")
    with_email = _settings(db_url, amo, _email("127.0.0.1", 1))
    scheduler = build_scheduler(with_email, tz)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"sync", "weekly"}
    assert jobs["sync"].trigger.interval.total_seconds() == 3600
    assert jobs["weekly"].misfire_grace_time == 36 * 3600
    assert str(jobs["weekly"].trigger.timezone) == "Europe/Moscow"
    assert scheduler._job_defaults["coalesce"] is True
    assert scheduler._job_defaults["max_instances"] == 1
    # Without [email] the daemon only syncs.
    assert [job.id for job in build_scheduler(_settings(db_url, amo), tz).get_jobs()] == ["sync"]


def test_serve_stops_cleanly_on_sigterm(db_url: str, amo: tuple[str, str], tmp_path: Path) -> None:
    """The real command: first sync at start-up logs one JSON line on stdout; SIGTERM → exit 0."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[amocrm]\nbase_url = "{amo[0]}"\nrequests_per_second = 50\n'
        '[report]\ntimezone = "Europe/Moscow"\n[schedule]\nsync_every = "1h"\n',
        encoding="utf-8",
    )
    env = {"COHORT_CONFIG": str(config), "COHORT_DATABASE_URL": db_url, "COHORT_AMOCRM_TOKEN": amo[1]}
    with cohort_process("serve", cwd=tmp_path, env=env) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        line = json.loads(proc.stdout.readline())  # blocks until the first job has run
        assert (line["job"], line["outcome"]) == ("sync", "ok")
        assert line["counts"]["leads_new"] > 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert amo[1] not in proc.stderr.read()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[report]\ntimezone = 'UTC'\n", "amocrm.subdomain: required for serve"),
        (
            "[amocrm]\nsubdomain = 'acme'\n[schedule]\nreport_cron = '0 7 * * 9'\n",
            "schedule.report_cron: '0 7 * * 9' is not a valid cron expression",
        ),
    ],
    ids=["no-amocrm", "bad-cron"],
)
def test_serve_refuses_a_config_it_cannot_run(
    config: str, message: str, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    result = run_cli("--config", str(path), "serve")
    assert result.exit_code == 2
    assert message in result.stderr
