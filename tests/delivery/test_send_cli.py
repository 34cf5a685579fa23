"""`cohort-service send` through the real entry point: engine + workbook + SMTP, exit codes, no secrets."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select

from cohort_service.app.demo import funnel_of
from cohort_service.db.models import report_runs
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer

PLAINTEXT_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[Any, str, str]]:
    """An account whose history runs up to now, so the last complete week has leads."""
    sim = generate_account(seed=9, leads=400, weeks=8, end=datetime.now(UTC))
    app = SimulatorApp(sim, limits=Limits(rps=None))
    with serve(app) as url:
        yield sim, url, app.oauth.issue_long_lived()


def _config(tmp_path: Path, account: tuple[Any, str, str], smtp: SmtpServer, max_attempts: int) -> Path:
    sim, url, _token = account
    milestones = "".join(
        f'[[report.milestones]]\nname = "{m["name"]}"\nstatuses = {m["statuses"]!r}\n'.replace("'", '"')
        for m in funnel_of(sim)
    )
    path = tmp_path / "config.toml"
    path.write_text(
        f'[amocrm]\nbase_url = "{url}"\nrequests_per_second = 50\n'
        f'[report]\ntimezone = "{sim.timezone}"\nweeks = 8\nout_dir = "{tmp_path / "reports"}"\n'
        f"{milestones}"
        f'[email]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\nuser = "{SMTP_USER}"\n'
        f'from = "reports@example.com"\nto = ["head@example.com"]\nmax_attempts = {max_attempts}\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def run_send(
    db_url: str, account: tuple[Any, str, str], tmp_path: Path, run_cli: Callable[..., Any]
) -> Callable[..., Any]:
    """``run_send(smtp, *args, max_attempts=1)``: ``cohort-service send *args`` for the account into
    this test's database, mailing through ``smtp``; the secrets come from the environment."""
    secrets = {"COHORT_AMOCRM_TOKEN": account[2], "COHORT_SMTP_PASSWORD": SMTP_PASSWORD}
    env = {"COHORT_DATABASE_URL": db_url, **secrets}

    def run(smtp: SmtpServer, *args: str, max_attempts: int = 1) -> Any:
        config = _config(tmp_path, account, smtp, max_attempts)
        return run_cli("--config", str(config), "send", *args, env=env)

    return run


def _no_password(result: Any) -> None:
    for text in (result.stdout, result.stderr):
        assert SMTP_PASSWORD not in text


def _text_rows(message: EmailMessage) -> dict[str, list[str]]:
    """The plain-text table: label → its cells (leads, then step %, …)."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    rows: dict[str, list[str]] = {}
    for line in str(body.get_content()).splitlines():  # type: ignore[attr-defined]
        match = re.match(r"^(\d\d\.\d\d(?:\.\d{4})?–\d\d\.\d\d\.\d{4})(?: \(partial\))?\s+(.*)$", line)
        if match:
            rows[match.group(1)] = match.group(2).split()
    return rows


@PLAINTEXT_AUTH
def test_send_attaches_the_workbook_whose_numbers_the_mail_shows(
    account: tuple[Any, str, str], start_smtp: Any, run_send: Callable[..., Any]
) -> None:
    smtp: SmtpServer = start_smtp()
    first = run_send(smtp, max_attempts=2)
    assert first.exit_code == 0, first.stderr
    assert "sent to head@example.com (1 attempt)" in first.stdout
    [message] = smtp.recorder.messages
    [attachment] = list(message.iter_attachments())
    sheet = openpyxl.load_workbook(io.BytesIO(attachment.get_content()), read_only=True)["Cohorts"]
    table = list(sheet.iter_rows(values_only=True))
    header = list(table[2])
    by_label = {row[0]: dict(zip(header, row, strict=True)) for row in table[3:] if row[0]}
    mailed = _text_rows(message)
    assert len(mailed) == 6
    first_step = f"{funnel_of(account[0])[0]['name']} %"
    for label, cells in mailed.items():
        assert int(cells[0].replace(" ", "")) == by_label[label]["leads"]
        share = by_label[label][first_step]
        shown = cells[1].rstrip("▲▼")
        assert shown == ("–" if share is None else f"{share * 100:.0f}%")
    _no_password(first)

    again = run_send(smtp, max_attempts=2)
    assert again.exit_code == 0
    assert "already sent to head@example.com" in again.stdout
    assert len(smtp.recorder.messages) == 1


@PLAINTEXT_AUTH
def test_refused_send_exits_1_keeps_the_workbook_and_hides_the_password(
    engine: Engine, start_smtp: Any, run_send: Callable[..., Any]
) -> None:
    smtp: SmtpServer = start_smtp(refuse_with="554 5.7.1 Rejected")
    result = run_send(smtp, max_attempts=1)  # retries and backoff: see test_send.py
    assert result.exit_code == 1
    assert "NOT sent: e-mail not delivered after 1 attempt: SMTP" in result.stderr
    assert "554 5.7.1 Rejected" in result.stderr
    with engine.connect() as conn:
        [row] = conn.execute(select(report_runs.c.status, report_runs.c.file_path)).all()
    assert row.status == "failed"
    assert Path(row.file_path).exists()
    openpyxl.load_workbook(row.file_path, read_only=True).close()
    _no_password(result)


@PLAINTEXT_AUTH
@pytest.mark.parametrize(
    ("to", "shown"),
    [
        ("a@", "a@"),
        ("@@ @", "@@ @"),
        ("head@example.com\r\nBcc: spy@evil.test", "'head@example.com\\r\\nBcc: spy@evil.test'"),
    ],
)
def test_bad_to_is_a_usage_error_before_anything_runs(
    *, engine: Engine, start_smtp: Any, tmp_path: Path, run_send: Callable[..., Any], to: str, shown: str
) -> None:
    """``--to`` is parsed as e-mail.to is: one line naming --to, exit 2, no sync, no run, no mail."""
    smtp: SmtpServer = start_smtp()
    result = run_send(smtp, "--to", to)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: --to: not an e-mail address: {shown}"]
    assert "Traceback" not in result.stdout + result.stderr
    assert smtp.recorder.messages == []
    with engine.connect() as conn:
        assert conn.execute(select(report_runs)).all() == []
    assert not (tmp_path / "reports").exists()
