"""``send`` end to end: simulator → sync → workbook → real SMTP server; once per week; failures kept."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine, select

from cohort_service.app.send import SendFailedError, run_send
from cohort_service.config import Settings
from cohort_service.db.models import report_runs
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from tests.conftest import make_settings
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, SmtpServer, free_port
from tests.delivery.helpers import COHORT_ROWS, built, small_builder

PLAINTEXT_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
# Monday 2026-11-16 11:00 in Moscow: the last complete week is 09.11–15.11.2026.
MONDAY = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
WEEK = date(2026, 11, 9)


@pytest.fixture(scope="module")
def amo() -> Iterator[tuple[str, str]]:
    app = SimulatorApp(generate_account(seed=5, leads=250, weeks=8), limits=Limits(rps=None))
    with serve(app) as url:
        yield url, app.oauth.issue_long_lived()


def _settings(db_url: str, amo: tuple[str, str], smtp_port: int, out: Path, **email: Any) -> Settings:
    return make_settings(
        db_url,
        amocrm={"base_url": amo[0], "token": amo[1], "requests_per_second": 50, "max_attempts": 1},
        report={"timezone": "Europe/Moscow", "out_dir": str(out)},
        email={
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "user": SMTP_USER,
            "password": SMTP_PASSWORD,
            "from": "Cohort reports <reports@example.com>",
            "to": ["head@example.com"],
            "max_attempts": 3,
            "timeout_s": 5,
        }
        | email,
    )


@dataclass
class Env:
    server: SmtpServer
    settings: Settings
    engine: Engine
    out: Path


@pytest.fixture
def env(db_url: str, engine: Engine, amo: tuple[str, str], start_smtp: Any, tmp_path: Path) -> Env:
    server: SmtpServer = start_smtp()
    out = tmp_path / "reports"
    return Env(server, _settings(db_url, amo, server.port, out), engine, out)


def _runs(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(report_runs).order_by(report_runs.c.id)).all())


@PLAINTEXT_AUTH
def test_send_once_then_nothing_then_force(
    env: Env, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    server, settings, engine = env.server, env.settings, env.engine
    built.clear()

    first = run_send(settings, builder=small_builder, clock=lambda: MONDAY, sleep=lambda _s: None)
    assert first.status == "sent"
    assert first.week.week_start == WEEK
    assert built == [datetime(2026, 11, 15, 23, 59, 59, 999999, tzinfo=first.week.as_of.tzinfo)]
    assert first.sync is not None
    assert first.sync.leads_new > 0
    [received] = server.recorder.messages
    assert received["Message-ID"] == first.message_id
    [attachment] = list(received.iter_attachments())
    # the subject and the file name the same week: its Monday
    assert received["Subject"] == "Lead cohorts — week of 09.11.2026"
    assert attachment.get_filename() == "cohorts-week-of-2026-11-09.xlsx"
    on_disk = env.out / "cohorts-week-of-2026-11-09.xlsx"
    assert on_disk.exists()
    mailed = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))["Cohorts"]
    assert [tuple(r) for r in mailed.iter_rows(min_row=2, values_only=True)] == [
        (label, *counts) for label, _monday, *counts in COHORT_ROWS
    ]
    [row] = _runs(engine)
    assert (row.kind, row.week_start, row.status, row.attempts, row.recipients) == (
        "send", WEEK, "sent", 1, ["head@example.com"]
    )  # fmt: skip
    assert row.message_id == first.message_id
    assert row.file_path == str(on_disk.resolve())
    assert row.as_of == datetime(2026, 11, 15, 20, 59, 59, 999999, tzinfo=UTC)

    again = run_send(settings, builder=small_builder, clock=lambda: MONDAY)
    assert again.status == "already_sent"
    assert "already sent to head@example.com" in again.lines()[0]
    sent_local = _runs(engine)[0].finished_at.astimezone(first.week.as_of.tzinfo)
    assert f"at {sent_local:%d.%m.%Y %H:%M} (Europe/Moscow)" in again.lines()[0]  # the report zone
    assert len(server.recorder.messages) == 1
    assert len(_runs(engine)) == 1
    assert len(built) == 1

    # A new recipient for the same week gets it; the one who has it does not get it twice.
    extra = run_send(
        settings, builder=small_builder, clock=lambda: MONDAY, to=["Head@example.com", "cfo@example.com"]
    )
    assert extra.recipients == ["cfo@example.com"]
    assert server.recorder.envelopes[-1][1] == ["cfo@example.com"]

    forced = run_send(settings, builder=small_builder, clock=lambda: MONDAY, force=True)
    assert forced.status == "sent"
    assert len(server.recorder.messages) == 3
    assert [r.status for r in _runs(engine)] == ["sent", "sent", "sent"]

    out = capsys.readouterr()
    for text in (caplog.text, out.out, out.err):
        assert SMTP_PASSWORD not in text


@PLAINTEXT_AUTH
def test_refused_delivery_is_retried_recorded_and_keeps_the_workbook(env: Env) -> None:
    server, settings, engine = env.server, env.settings, env.engine
    server.recorder.refuse_with = "554 5.7.1 Rejected by policy"
    waits: list[float] = []
    with pytest.raises(SendFailedError) as caught:
        run_send(settings, builder=small_builder, clock=lambda: MONDAY, sleep=waits.append)
    result = caught.value.result
    assert server.recorder.data_commands == 3
    assert waits == [5.0, 10.0]
    assert result.attempts == 3
    assert result.file_path is not None
    assert result.file_path.exists()
    [row] = _runs(engine)
    assert (row.status, row.attempts, row.week_start) == ("failed", 3, WEEK)
    assert "554 5.7.1 Rejected by policy" in row.error
    assert str(caught.value).startswith("week of 09.11.2026: NOT sent: e-mail not delivered after 3 attempts")
    assert SMTP_PASSWORD not in str(caught.value)
    assert SMTP_PASSWORD not in row.error

    # The failure does not count as sent: the next run (server fixed) delivers.
    server.recorder.refuse_with = None
    assert (
        run_send(settings, builder=small_builder, clock=lambda: MONDAY, sleep=waits.append).status == "sent"
    )


@PLAINTEXT_AUTH
def test_amocrm_down_still_sends_with_a_warning(env: Env) -> None:
    """The Monday message goes out from the data already synced and says the sync failed."""
    server, settings = env.server, env.settings
    down = settings.model_copy(
        update={"amocrm": settings.amocrm.model_copy(update={"base_url": f"http://127.0.0.1:{free_port()}"})}
    )
    result = run_send(down, builder=small_builder, clock=lambda: MONDAY, sleep=lambda _s: None)
    assert result.status == "sent"
    assert result.sync_error is not None
    text = server.recorder.messages[0].get_body(preferencelist=("plain",))
    assert text is not None
    body = str(text.get_content())  # type: ignore[attr-defined]
    assert "The sync before this report failed" in body
    assert "no successful sync from amoCRM yet" in body
    assert result.lines()[0].startswith("sync failed, reporting from the data already synced:")


@PLAINTEXT_AUTH
def test_unknown_account_zone_and_amocrm_down_still_sends_in_utc_with_a_note(env: Env) -> None:
    """report.timezone empty, the stored account's zone unknown here, amoCRM unreachable: the
    report and the send apply the one zone rule (UTC, with a note) and the message goes out."""
    from sqlalchemy import text

    from cohort_service.config import Milestone
    from cohort_service.sync.runner import run_sync

    server, settings, engine = env.server, env.settings, env.engine
    run_sync(settings)
    with engine.begin() as conn:
        conn.execute(text("UPDATE account SET timezone = 'Mars/Olympus'"))
    down = settings.model_copy(
        update={
            "amocrm": settings.amocrm.model_copy(update={"base_url": f"http://127.0.0.1:{free_port()}"}),
            "report": settings.report.model_copy(
                update={"timezone": None, "milestones": [Milestone(name="Продажа", statuses=[142])]}
            ),
        }
    )
    result = run_send(down, clock=lambda: MONDAY, sleep=lambda _s: None)
    note = "the account's time zone 'Mars/Olympus' is unknown here; weeks use UTC"
    assert result.status == "sent"
    assert result.sync_error is not None
    assert result.week.week_start == WEEK
    assert result.week.as_of.isoformat() == "2026-11-15T23:59:59.999999+00:00"
    assert result.lines()[0] == f"note: {note}"
    [message] = server.recorder.messages
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert note in str(body.get_content())  # type: ignore[attr-defined]


@PLAINTEXT_AUTH
def test_two_sends_at_once_one_waits_its_turn(env: Env) -> None:
    """While one send holds the send lock, another stops with a clear line and sends nothing."""
    from cohort_service.delivery.runs import send_lock
    from cohort_service.errors import LockBusyError

    with send_lock(env.engine), pytest.raises(LockBusyError, match="another send is running"):
        run_send(env.settings, builder=small_builder, clock=lambda: MONDAY)
    assert env.server.recorder.messages == []
    assert _runs(env.engine) == []
