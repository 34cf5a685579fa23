"""The Monday message: headline table (HTML + plain text) and the workbook, sent over SMTP.

Retries: a server that is down, slow, or answers an error is tried again ``email.max_attempts``
times with exponential backoff (the sleep is injected so tests never wait). A refused login, a
server without STARTTLS or a certificate that does not verify is not retried: the next attempt
would fail the same way, and repeated bad logins get mailboxes locked.

The SMTP password goes to ``smtplib.login`` and nowhere else: smtplib's debug output stays off,
and every error text is built from the server's reply with the password scrubbed out anyway.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from cohort_service.config import EmailSettings
from cohort_service.delivery.headline import Headline, render_html, render_text
from cohort_service.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)

XLSX_MAINTYPE = "application"
XLSX_SUBTYPE = "vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 120.0


class SmtpDeliveryError(DeliveryError):
    """Delivery failed; ``attempts`` says how many times the server was tried; ``too_big``: the
    server refused the message for its size (the same message would be refused again)."""

    def __init__(
        self, message: str, *, attempts: int, retriable: bool, too_big: bool = False, reason: str = ""
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.retriable = retriable
        self.too_big = too_big
        self.reason = reason or message  # the server's side of it, one line


def refused_for_size(exc: BaseException) -> bool:
    """552 (at MAIL FROM when the server read our SIZE, or after DATA) or the enhanced status
    5.3.4 "message too big for system" under any code."""
    if not isinstance(exc, smtplib.SMTPResponseException):
        return False
    error = exc.smtp_error
    reply = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return exc.smtp_code == 552 or reply.lstrip().startswith("5.3.4")


def workbook_filename(week_start: date, as_of_day: date) -> str:
    """Named after the week the subject names (its Monday); a report as of a day before that
    week's Sunday (``send --as-of``) says so, so two files of one week never collide."""
    name = f"cohorts-week-of-{week_start:%Y-%m-%d}"
    if as_of_day != week_start + timedelta(days=6):
        name += f"-as-of-{as_of_day:%Y-%m-%d}"
    return name + ".xlsx"


def render_subject(template: str, *, week_start: date, as_of: date) -> str:
    try:
        return template.format(week_start=week_start, as_of=as_of)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ConfigError(
            [
                f"email.subject: cannot fill {template!r} ({type(exc).__name__}: {exc}); "
                "only {week_start} and {as_of} (dates) are available"
            ]
        ) from None


def build_message(
    *,
    headline: Headline,
    workbook: Path | None,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    attachment_name: str | None = None,
    about_file: Sequence[str] | None = None,
    now: datetime | None = None,
) -> EmailMessage:
    """multipart/mixed: (text/plain | text/html) alternatives, then the .xlsx attachment (none when
    ``workbook`` is None). ``about_file``: what the body says about the file (default: attached).
    The Date header is in the report time zone, like every time in the body."""
    name = attachment_name or (workbook.name if workbook is not None else None)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(headline.local(now or datetime.now(UTC)))
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("cohorts", domain=domain)
    message.set_content(render_text(headline, name, about_file=about_file))
    message.add_alternative(render_html(headline, name, about_file=about_file), subtype="html")
    if workbook is not None:
        message.add_attachment(
            workbook.read_bytes(), maintype=XLSX_MAINTYPE, subtype=XLSX_SUBTYPE, filename=name
        )
    return message


def message_size(message: EmailMessage) -> int:
    """Bytes on the wire: the base64 of the attachment (4/3 of the file, plus line ends), the
    bodies and the headers, with CRLF line ends as smtplib sends them. Mail size limits apply
    to this, not to the file."""
    return len(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))


def backoff_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): 5, 10, 20, … ≤ 120."""
    return float(min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_CAP_S))


def _password(cfg: EmailSettings) -> str | None:
    if cfg.user is None:
        return None
    if cfg.password is None or not cfg.password.get_secret_value():
        raise ConfigError(
            [f"email.password: required when email.user is set ({cfg.user}); set COHORT_SMTP_PASSWORD"]
        )
    return cfg.password.get_secret_value()


@contextmanager
def open_smtp(cfg: EmailSettings, *, ssl_context: ssl.SSLContext | None = None) -> Iterator[smtplib.SMTP]:
    """Connect, EHLO, STARTTLS or SSL as configured, log in when a user is set."""
    password = _password(cfg)
    context = ssl_context or ssl.create_default_context()
    smtp: smtplib.SMTP
    if cfg.security == "ssl":
        smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s, context=context)
    else:
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
    try:
        smtp.ehlo()
        if cfg.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if cfg.user is not None and password is not None:
            smtp.login(cfg.user, password)
        yield smtp
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def scrub(text: str, cfg: EmailSettings) -> str:
    """Remove the password, plain or base64 (AUTH PLAIN/LOGIN), from text bound for a log."""
    if cfg.password is None:
        return text
    secret = cfg.password.get_secret_value()
    if not secret:
        return text
    forms = {secret, base64.b64encode(secret.encode()).decode()}
    if cfg.user:
        forms.add(base64.b64encode(f"\0{cfg.user}\0{secret}".encode()).decode())
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _fatal_reason(exc: BaseException, cfg: EmailSettings, where: str) -> str | None:
    """The failures another attempt cannot fix (and that may lock the mailbox if repeated)."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"SMTP {where} refused the login of {cfg.user} ({exc.smtp_code}): "
            "check email.user and COHORT_SMTP_PASSWORD"
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"SMTP {where}: {exc} (check email.security)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"SMTP {where}: TLS certificate not trusted ({exc.verify_message})"
    return None


def describe_smtp_error(exc: BaseException, cfg: EmailSettings) -> tuple[str, bool]:
    """One line for the operator, and whether another attempt could succeed."""
    where = f"{cfg.host}:{cfg.port}"
    fatal = _fatal_reason(exc, cfg, where)
    if fatal is not None:
        reason, retriable = fatal, False
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{addr} ({code})" for addr, (code, _msg) in exc.recipients.items())
        reason, retriable = f"SMTP {where} refused the recipients: {refused}", True
    elif isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        reply = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        # a message refused for its size is refused again: never retried
        reason, retriable = (
            f"SMTP {where} answered {exc.smtp_code} {reply}".strip(),
            not refused_for_size(exc),
        )
    elif isinstance(exc, OSError) and exc.strerror:
        reason, retriable = f"SMTP {where}: {type(exc).__name__}: {exc.strerror}", True
    else:
        reason, retriable = f"SMTP {where}: {type(exc).__name__}: {exc}", True
    return scrub(reason, cfg), retriable


def send_message(
    message: EmailMessage,
    cfg: EmailSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    ssl_context: ssl.SSLContext | None = None,
) -> int:
    """Deliver ``message`` to its To addresses; return the attempts used or raise SmtpDeliveryError."""
    recipients = [parseaddr(part)[1] for part in str(message["To"]).split(",")]
    attempt = 0
    while True:
        attempt += 1
        try:
            with open_smtp(cfg, ssl_context=ssl_context) as smtp:
                smtp.send_message(message, to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as exc:
            reason, retriable = describe_smtp_error(exc, cfg)
            log.warning("e-mail attempt %d/%d failed: %s", attempt, cfg.max_attempts, reason)
            if not retriable or attempt >= cfg.max_attempts:
                raise SmtpDeliveryError(
                    f"e-mail not delivered after {attempt} attempt{'s' if attempt > 1 else ''}: {reason}",
                    attempts=attempt,
                    retriable=retriable,
                    too_big=refused_for_size(exc),
                    reason=reason,
                ) from None
            sleep(backoff_delay(attempt))
        else:
            return attempt
