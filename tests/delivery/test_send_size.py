"""The attachment under the mail size limit (``email.max_attachment_mb``): the full workbook, a lighter
one without Transitions, or none — with the real report, the real workbook and a real SMTP server."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openxml_audit import OpenXmlValidator, ValidationSeverity
from sqlalchemy import Engine, select

from cohort_service.app.demo import funnel_of
from cohort_service.app.send import ReportOutputs, SendFailedError, SendResult, run_send
from cohort_service.config import Settings
from cohort_service.db.models import report_runs
from cohort_service.delivery.attachment import MB, megabytes
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.model import SimAccount
from cohort_service.simulator.server import serve
from tests.conftest import make_settings
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer
from tests.delivery.helpers import headline
from tests.helpers.xlsx_package import package_problems

PLAINTEXT_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
MONDAY = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # the last complete week: 09.11–15.11.2026
FULL = "cohorts-week-of-2026-11-09.xlsx"
LIGHT = "cohorts-week-of-2026-11-09-light.xlsx"


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[SimAccount, str, str]]:
    sim = generate_account(seed=12, leads=300, weeks=8)
    app = SimulatorApp(sim, limits=Limits(rps=None))
    with serve(app) as url:
        yield sim, url, app.oauth.issue_long_lived()


def _settings(
    db_url: str, account: tuple[SimAccount, str, str], server: SmtpServer, out: Path, **email: Any
) -> Settings:
    sim, url, token = account
    return make_settings(
        db_url,
        amocrm={"base_url": url, "token": token, "requests_per_second": 50, "max_attempts": 1},
        report={"timezone": sim.timezone, "weeks": 8, "out_dir": str(out), "milestones": funnel_of(sim)},
        email={
            "host": server.host,
            "port": server.port,
            "security": "none",
            "user": SMTP_USER,
            "password": SMTP_PASSWORD,
            "from": "reports@example.com",
            "to": ["head@example.com"],
            "max_attempts": 3,
            "timeout_s": 5,
        }
        | email,
    )


def _last_run(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(report_runs).order_by(report_runs.c.id.desc()).limit(1)).one()


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def _flat(text: str) -> str:
    """Lines joined by one space (a received body may end its lines in CRLF)."""
    return " ".join(text.split())


def _subject_week(message: EmailMessage) -> date:
    match = re.search(r"week of (\d\d)\.(\d\d)\.(\d{4})", str(message["Subject"]))
    assert match is not None
    return date(int(match[3]), int(match[2]), int(match[1]))


def _file_week(name: str) -> date:
    match = re.fullmatch(r"cohorts-week-of-(\d{4})-(\d\d)-(\d\d)(?:-light)?\.xlsx", name)
    assert match is not None, name
    return date(int(match[1]), int(match[2]), int(match[3]))


def _send(settings: Settings) -> SendResult:
    return run_send(settings, clock=lambda: MONDAY, sleep=lambda _s: None, force=True)


def _sheets(content: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}


@PLAINTEXT_AUTH
def test_full_then_light_then_no_attachment_as_the_limit_shrinks(
    db_url: str, engine: Engine, account: tuple[SimAccount, str, str], start_smtp: Any, tmp_path: Path
) -> None:
    server: SmtpServer = start_smtp()
    out = tmp_path / "reports"

    # 1. Under the default 10 MB: the full workbook, named after the week the subject names.
    full = _send(_settings(db_url, account, server, out))
    [received] = server.recorder.messages
    [attachment] = received.iter_attachments()
    assert attachment.get_filename() == FULL
    assert _file_week(FULL) == _subject_week(received) == date(2026, 11, 9)
    # every time in the message is in the report zone (Europe/Moscow, +03:00), the Date header too
    assert str(received["Date"]).endswith("+0300")
    body = received.get_body(preferencelist=("html",))
    assert body is not None
    for text in (_text(received), str(body.get_content())):  # type: ignore[attr-defined]
        assert "(Europe/Moscow)" in text
        assert "UTC" not in text
        assert "+00:00" not in text
    on_disk = out / FULL
    file_bytes = on_disk.stat().st_size
    assert attachment.get_content() == on_disk.read_bytes()
    run = _last_run(engine)
    assert (run.status, run.attachment, run.detail) == ("sent", "full", None)
    # the message is measured as sent: base64 makes the file 4/3 larger, plus the bodies
    assert run.message_bytes > file_bytes * 4 / 3
    assert full.attachment is not None
    assert full.attachment.size == run.message_bytes
    full_message_bytes = run.message_bytes
    assert not (out / LIGHT).exists()
    full_sheets = _sheets(on_disk.read_bytes())
    assert "Transitions" in full_sheets

    # 2. A limit the FILE fits but its MESSAGE does not (5 % over the file): the lighter copy.
    limit_mb = file_bytes * 1.05 / MB
    light = _send(_settings(db_url, account, server, out, max_attachment_mb=limit_mb))
    received = server.recorder.messages[-1]
    [attachment] = received.iter_attachments()
    assert attachment.get_filename() == LIGHT
    assert _file_week(LIGHT) == _subject_week(received)
    assert attachment.get_content() == (out / LIGHT).read_bytes()
    assert on_disk.exists()
    assert on_disk.stat().st_size > (out / LIGHT).stat().st_size
    text = _text(received)
    flat = _flat(text)
    assert f"A lighter copy of the workbook is attached: {LIGHT}. It leaves out the Transitions" in flat
    assert f"the full workbook makes a {megabytes(full_message_bytes)} message, over the e-mail limit" in text
    assert f"The full workbook is kept on the report server: {on_disk.resolve()}" in text
    run = _last_run(engine)
    assert (run.status, run.attachment) == ("sent", "light")
    assert run.message_bytes <= limit_mb * MB < full_message_bytes
    run_light_bytes = run.message_bytes
    assert run.file_path == str(on_disk.resolve())
    assert run.detail.startswith(
        f"light workbook {LIGHT} attached (the Leads table and the pivot are complete): "
        f"the full workbook {FULL}"
    )
    assert f"attachment: {run.detail}" in light.lines()
    light_sheets = _sheets(attachment.get_content())
    assert "Transitions" not in light_sheets
    assert package_problems(out / LIGHT) == []  # parts, relationships, the pivot and its records
    schema = OpenXmlValidator().validate(out / LIGHT)
    assert [e.description for e in schema.errors if e.severity == ValidationSeverity.ERROR] == []
    assert light_sheets["Leads"] == full_sheets["Leads"]  # the pivot's table is complete
    cohorts = [row for row in light_sheets["Cohorts"] if row != ()]
    assert any("lighter copy" in str(cell) for row in cohorts for cell in row if cell)

    # 2b. 3 % under that light message (a message's size varies by a few bytes between runs: its
    # boundary and Message-ID): the Leads table (and the pivot) cut to the weeks of the e-mail's
    # table (the last 6 of the report's 8: from 05.10.2026); Cohorts keeps all 8.
    _send(_settings(db_url, account, server, out, max_attachment_mb=run_light_bytes * 0.97 / MB))
    received = server.recorder.messages[-1]
    [attachment] = received.iter_attachments()
    assert attachment.get_filename() == LIGHT
    assert (
        "It leaves out the Transitions sheet (the stage history of every lead), and the Leads table (and "
        "the pivot over it) holds only the cohort weeks from 05.10.2026; Cohorts and the other sheets "
        "cover every week"
    ) in " ".join(_text(received).split())
    run = _last_run(engine)
    assert (run.status, run.attachment) == ("sent", "light")
    assert run.message_bytes < run_light_bytes
    cut_sheets = _sheets(attachment.get_content())
    week_col = full_sheets["Leads"][0].index("cohort_week")
    assert cut_sheets["Leads"][0] == full_sheets["Leads"][0]
    assert cut_sheets["Leads"][1:] == [
        r for r in full_sheets["Leads"][1:] if r[week_col].date() >= date(2026, 10, 5)
    ]
    assert len(cut_sheets["Leads"]) < len(full_sheets["Leads"])
    assert cut_sheets["Cohorts"] != []
    assert package_problems(out / LIGHT) == []

    # 3. A limit not even the lightest copy fits: no attachment, the body says why and where.
    none = _send(_settings(db_url, account, server, out, max_attachment_mb=0.001))
    received = server.recorder.messages[-1]
    assert list(received.iter_attachments()) == []
    text = " ".join(_text(received).split())
    assert (
        f"No workbook is attached. It makes a {megabytes(full_message_bytes)} message, over the e-mail "
        f"limit of 1 kB (email.max_attachment_mb); without the Transitions sheet still every week "
        f"{megabytes(run_light_bytes)}, from 05.10.2026 {megabytes(run.message_bytes)}, from 09.11.2026 "
    ) in text
    assert f"The full workbook is kept on the report server: {on_disk.resolve()}" in text
    run = _last_run(engine)
    assert (run.status, run.attachment) == ("sent", "none")
    assert run.detail.startswith(f"no attachment: the full workbook {FULL} makes a")
    assert none.status == "sent"
    assert len(server.recorder.messages) == 4

    # 4. The light copy cannot be written (a directory stands in its place, as a full disk would
    # fail it): the Monday message still goes, without a file, and says why.
    (out / LIGHT).unlink()
    (out / LIGHT).mkdir()
    _send(_settings(db_url, account, server, out, max_attachment_mb=limit_mb))
    received = server.recorder.messages[-1]
    assert list(received.iter_attachments()) == []
    assert "; the lighter copy could not be written (" in _text(received)
    run = _last_run(engine)
    assert (run.status, run.attachment) == ("sent", "none")
    assert f"no attachment: the full workbook {FULL} makes a" in run.detail
    assert "the lighter copy could not be written" in run.detail


def _noise_workbook(path: Path, rows: int) -> Path:
    """A real xlsx of ~130 bytes a row that does not compress (random hex)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Noise")
    for row in range(rows):
        sheet.write_string(row, 0, os.urandom(60).hex())
    book.close()
    return path


def _big_builder(settings: Settings, engine: Engine, as_of: datetime, path: Path) -> ReportOutputs:
    """A ~200 KB workbook, the fixed headline, and a light copy a third of its size."""
    del settings, engine, as_of
    _noise_workbook(path, 1500)
    return ReportOutputs(headline(), lambda light, _since: _noise_workbook(light, 500))


@PLAINTEXT_AUTH
def test_a_server_refusing_the_size_gets_the_message_without_the_file(
    db_url: str, engine: Engine, account: tuple[SimAccount, str, str], start_smtp: Any, tmp_path: Path
) -> None:
    """The server's own SIZE (100 kB) is below our limit: it answers 552 at MAIL FROM; the message
    goes again without the workbook, once — not max_attempts times — and the reply is recorded."""
    server: SmtpServer = start_smtp(data_size_limit=100_000)
    settings = _settings(db_url, account, server, tmp_path / "out")
    result = run_send(settings, builder=_big_builder, clock=lambda: MONDAY, sleep=lambda _s: None)
    assert result.status == "sent"
    assert result.attempts == 2  # the refused message, then the one without the file
    [received] = server.recorder.messages
    assert list(received.iter_attachments()) == []
    text = _text(received)
    flat = _flat(text)
    assert "No workbook is attached. The mail server refused the message with it (SMTP 127.0.0.1:" in flat
    assert " answered 552 " in text
    run = _last_run(engine)
    assert (run.status, run.attachment, run.attempts) == ("sent", "none", 2)
    assert "answered 552" in run.detail
    assert run.message_bytes < 100_000


@PLAINTEXT_AUTH
def test_a_message_refused_even_without_the_file_is_recorded_failed(
    db_url: str, engine: Engine, account: tuple[SimAccount, str, str], start_smtp: Any, tmp_path: Path
) -> None:
    server: SmtpServer = start_smtp(data_size_limit=2_000)
    settings = _settings(db_url, account, server, tmp_path / "out")
    with pytest.raises(SendFailedError) as failed:
        run_send(settings, builder=_big_builder, clock=lambda: MONDAY, sleep=lambda _s: None)
    assert server.recorder.messages == []
    assert failed.value.result.attempts == 2  # never retried: the same size is refused again
    run = _last_run(engine)
    assert (run.status, run.attachment, run.attempts) == ("failed", "none", 2)
    assert "answered 552" in run.error
    assert "answered 552" in run.detail
    assert run.file_path is not None
    assert Path(run.file_path).exists()


@pytest.mark.parametrize(
    ("size", "shown"), [(1_000, "1 kB"), (50_000, "50 kB"), (204_650, "205 kB"), (10_000_000, "10.0 MB"),
                        (12_345_678, "12.3 MB")],
)  # fmt: skip
def test_sizes_read_in_decimal_units(size: int, shown: str) -> None:
    assert megabytes(size) == shown


@PLAINTEXT_AUTH
def test_the_light_copy_goes_when_it_fits_and_a_stale_one_is_removed(
    db_url: str, engine: Engine, account: tuple[SimAccount, str, str], start_smtp: Any, tmp_path: Path
) -> None:
    """~270 kB as a message over a 150 kB limit: the ~90 kB light copy goes. Sent again under the
    default limit, the full one goes and the week's light copy is removed (it would be stale)."""
    server: SmtpServer = start_smtp()
    out = tmp_path / "out"
    first = run_send(
        _settings(db_url, account, server, out, max_attachment_mb=0.15),
        builder=_big_builder, clock=lambda: MONDAY, sleep=lambda _s: None,
    )  # fmt: skip
    assert first.attachment is not None
    assert first.attachment.kind == "light"
    assert (out / LIGHT).exists()
    [attachment] = server.recorder.messages[-1].iter_attachments()
    assert attachment.get_filename() == LIGHT
    second = run_send(
        _settings(db_url, account, server, out), builder=_big_builder, clock=lambda: MONDAY, force=True
    )
    assert second.attachment is not None
    assert second.attachment.kind == "full"
    assert not (out / LIGHT).exists()
    assert (out / FULL).exists()
