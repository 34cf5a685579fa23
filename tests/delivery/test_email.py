"""The Monday message over a real SMTP server on loopback (aiosmtpd), with login required."""

from __future__ import annotations

import io
import logging
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cohort_service.delivery.email import (
    SmtpDeliveryError,
    backoff_delay,
    build_message,
    open_smtp,
    render_subject,
    send_message,
    workbook_filename,
)
from cohort_service.errors import ConfigError
from tests.delivery.conftest import SMTP_PASSWORD, SMTP_USER, Certificate, free_port
from tests.delivery.helpers import COHORT_ROWS, email_settings, headline, small_workbook

PLAINTEXT_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _message(tmp_path: Path, to: list[str] | None = None) -> EmailMessage:
    book = small_workbook(tmp_path / "built.xlsx")
    return build_message(
        headline=headline(),
        workbook=book,
        sender="Cohort reports <reports@example.com>",
        recipients=to or ["head@example.com", "analyst@example.com"],
        subject=render_subject(
            "Lead cohorts — week of {week_start:%d.%m.%Y}",
            week_start=date(2024, 10, 14),
            as_of=date(2024, 10, 20),
        ),
        attachment_name=workbook_filename(date(2024, 10, 14), date(2024, 10, 20)),
    )


def _parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content()), list(message.iter_attachments())  # type: ignore[arg-type]


def _no_password(*texts: str) -> None:
    for text in texts:
        assert SMTP_PASSWORD not in text


def test_message_has_text_html_and_the_workbook(tmp_path: Path) -> None:
    """mixed(alternative(plain, html), xlsx); the subject fills the week; the id uses the sender's domain."""
    message = _message(tmp_path)
    assert message.get_content_type() == "multipart/mixed"
    assert message["Subject"] == "Lead cohorts — week of 14.10.2024"
    assert message["Message-ID"].endswith("@example.com>")
    text, html, attachments = _parts(message)
    assert "14.10–20.10.2024 (partial)" in text
    assert "30%▼" in text  # qualified 60/200, flagged low
    assert "vs target 50 % ± 10 pp" in text
    assert "color:#b71c1c" in html
    assert "30% ▼" in html
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == XLSX
    assert attachments[0].get_filename() == "cohorts-week-of-2024-10-14.xlsx"


@PLAINTEXT_AUTH
def test_delivers_one_message_after_login_and_never_shows_the_password(
    tmp_path: Path, start_smtp: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server receives one message whose attachment opens with the numbers we attached."""
    caplog.set_level(logging.DEBUG)
    server = start_smtp()
    attempts = send_message(_message(tmp_path), email_settings(server), sleep=lambda _s: None)
    assert attempts == 1
    assert server.recorder.logins == [(SMTP_USER, SMTP_PASSWORD)]  # the password really went over the wire
    assert server.recorder.envelopes == [("reports@example.com", ["head@example.com", "analyst@example.com"])]
    [received] = server.recorder.messages
    text, html, [attachment] = _parts(received)
    assert "lead→paid %" in text
    assert "<table" in html
    assert attachment.get_filename() == "cohorts-week-of-2024-10-14.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()), read_only=True)
    rows = list(book["Cohorts"].iter_rows(min_row=2, values_only=True))
    assert rows == [(label, *counts) for label, _monday, *counts in COHORT_ROWS]
    out = capsys.readouterr()
    _no_password(caplog.text, out.out, out.err)


@PLAINTEXT_AUTH
def test_a_refusing_server_is_retried_with_backoff_then_fails(
    tmp_path: Path, start_smtp: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """554 on DATA three times → three attempts, waits of 5 s and 10 s, one clear error."""
    caplog.set_level(logging.DEBUG)
    server = start_smtp(refuse_with="554 5.7.1 Message rejected")
    waits: list[float] = []
    with pytest.raises(SmtpDeliveryError) as caught:
        send_message(_message(tmp_path), email_settings(server), sleep=waits.append)
    assert caught.value.attempts == 3
    assert server.recorder.data_commands == 3
    assert waits == [5.0, 10.0]
    assert str(caught.value) == (
        f"e-mail not delivered after 3 attempts: SMTP 127.0.0.1:{server.port} "
        "answered 554 5.7.1 Message rejected"
    )
    assert len([r for r in caplog.records if "attempt" in r.getMessage()]) == 3
    out = capsys.readouterr()
    _no_password(caplog.text, out.out, out.err, str(caught.value))


def test_a_closed_port_is_retried(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    cfg = email_settings_for_port(port)
    waits: list[float] = []
    with pytest.raises(SmtpDeliveryError) as caught:
        send_message(_message(tmp_path), cfg, sleep=waits.append)
    assert caught.value.attempts == 3
    assert waits == [5.0, 10.0]
    assert "ConnectionRefusedError" in str(caught.value)


def email_settings_for_port(port: int) -> Any:
    from cohort_service.config import EmailSettings

    return EmailSettings.model_validate(
        {"host": "127.0.0.1", "port": port, "security": "none", "from": "a@example.com",
         "to": ["b@example.com"], "max_attempts": 3, "timeout_s": 2}
    )  # fmt: skip


@PLAINTEXT_AUTH
def test_a_wrong_password_is_not_retried_and_not_shown(
    tmp_path: Path, start_smtp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = start_smtp()
    cfg = email_settings(server, password="wrong-Pw-7731")
    with pytest.raises(SmtpDeliveryError) as caught:
        send_message(_message(tmp_path), cfg, sleep=lambda _s: pytest.fail("must not wait"))
    assert caught.value.attempts == 1
    assert set(server.recorder.logins) == {(SMTP_USER, "wrong-Pw-7731")}  # smtplib tries PLAIN, then LOGIN
    assert "refused the login of reports@example.com (535)" in str(caught.value)
    assert "wrong-Pw-7731" not in str(caught.value)
    assert "wrong-Pw-7731" not in caplog.text
    assert server.recorder.data_commands == 0


def test_user_without_password_is_a_config_error(tmp_path: Path) -> None:
    cfg = email_settings_for_port(free_port()).model_copy(update={"user": "me@example.com"})
    with pytest.raises(ConfigError, match="COHORT_SMTP_PASSWORD"):
        send_message(_message(tmp_path), cfg)


def test_starttls_then_login(tmp_path: Path, start_smtp: Any, certificate: Certificate) -> None:
    """STARTTLS upgrades the connection before the password is sent (the server insists on it)."""
    server = start_smtp(tls_context=certificate.server_context())
    cfg = email_settings(server, security="starttls")
    assert send_message(_message(tmp_path), cfg, ssl_context=certificate.client_context()) == 1
    assert len(server.recorder.messages) == 1


@PLAINTEXT_AUTH
def test_implicit_ssl_then_login(tmp_path: Path, start_smtp: Any, certificate: Certificate) -> None:
    server = start_smtp(implicit_tls=certificate.server_context())
    cfg = email_settings(server, security="ssl")
    assert send_message(_message(tmp_path), cfg, ssl_context=certificate.client_context()) == 1
    assert server.recorder.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert len(server.recorder.messages) == 1


def test_starttls_with_an_untrusted_certificate_is_not_retried(
    tmp_path: Path, start_smtp: Any, certificate: Certificate
) -> None:
    server = start_smtp(tls_context=certificate.server_context())
    cfg = email_settings(server, security="starttls")
    with pytest.raises(SmtpDeliveryError, match="certificate not trusted") as caught:
        send_message(_message(tmp_path), cfg, sleep=lambda _s: None)
    assert caught.value.attempts == 1


def test_open_smtp_only_logs_in(start_smtp: Any, certificate: Certificate) -> None:
    """What doctor uses: connect + STARTTLS + login, no message."""
    server = start_smtp(tls_context=certificate.server_context())
    with open_smtp(
        email_settings(server, security="starttls"), ssl_context=certificate.client_context()
    ) as smtp:
        assert smtp.noop()[0] == 250
    assert server.recorder.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert server.recorder.data_commands == 0


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [5.0, 10.0, 20.0, 40.0, 80.0, 120.0, 120.0]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Cohorts {week_start:%d.%m} – {as_of:%d.%m.%Y}", "Cohorts 14.10 – 20.10.2024"),
        ("Weekly cohorts", "Weekly cohorts"),
    ],
)
def test_subject_template(template: str, expected: str) -> None:
    assert render_subject(template, week_start=date(2024, 10, 14), as_of=date(2024, 10, 20)) == expected


def test_subject_with_an_unknown_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"email.subject: .*\{week_start\} and \{as_of\}"):
        render_subject("Week {week}", week_start=date(2024, 10, 14), as_of=date(2024, 10, 20))


@pytest.mark.parametrize(
    ("week_start", "as_of", "name"),
    [
        (date(2024, 10, 14), date(2024, 10, 20), "cohorts-week-of-2024-10-14.xlsx"),  # Monday's send
        (date(2024, 10, 14), date(2024, 10, 16), "cohorts-week-of-2024-10-14-as-of-2024-10-16.xlsx"),
    ],
)
def test_the_file_names_the_week_the_subject_names(week_start: date, as_of: date, name: str) -> None:
    """The default subject names the week by its Monday; so does the file (a mid-week --as-of adds
    the day, so it never overwrites the Sunday's file)."""
    assert workbook_filename(week_start, as_of) == name
    subject = render_subject(
        "Lead cohorts — week of {week_start:%d.%m.%Y}", week_start=week_start, as_of=as_of
    )
    assert subject == f"Lead cohorts — week of {week_start:%d.%m.%Y}"


def test_every_time_in_the_message_is_in_the_report_zone(tmp_path: Path) -> None:
    """Title, freshness line and the Date header in Europe/Moscow (+03:00), never UTC."""
    from datetime import UTC, datetime

    message = build_message(
        headline=headline(),
        workbook=small_workbook(tmp_path / "b.xlsx"),
        sender="reports@example.com",
        recipients=["head@example.com"],
        subject="s",
        now=datetime(2024, 10, 21, 4, 0, tzinfo=UTC),
    )
    assert message["Date"] == "Mon, 21 Oct 2024 07:00:00 +0300"
    text, html, _attachments = _parts(message)
    assert "as of 20.10.2024 23:59 (Europe/Moscow)" in text  # 20:59:59 UTC
    assert "synced from amoCRM at 21.10.2024 06:58 (Europe/Moscow)" in text  # 03:58 UTC
    for body in (text, html):
        assert "UTC" not in body
        assert "+00:00" not in body
