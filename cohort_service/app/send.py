"""``cohort-service send``: sync, build the last complete week's report, e-mail it — once per week.

Order of work, and why:

1. Nothing to do when every recipient already has this week's report (checked before syncing,
   and again under the lock, so two concurrent sends cannot both deliver).
2. Sync. A failed sync does not cancel the Monday message: the report is built from what the
   database holds, and the e-mail says the sync failed and how fresh the data is.
3. Under the send lock (one send at a time; the report inside takes the run lock only while it
   reads): record a ``running`` row, compute the report and write the workbook into
   ``report.out_dir``, e-mail it with retries, record ``sent`` or ``failed``. A failed delivery
   keeps the workbook on disk and raises ``SendFailedError`` (exit code 1).
"""

from __future__ import annotations

import dataclasses
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from cohort_service.app.weeks import ReportWeek, last_complete_week, week_of_day
from cohort_service.app.zone import stored_report_zone
from cohort_service.config import EmailSettings, Settings
from cohort_service.db.engine import get_engine
from cohort_service.db.freshness import last_successful_sync
from cohort_service.db.migrate import upgrade
from cohort_service.delivery import runs
from cohort_service.delivery.addresses import bad_addresses
from cohort_service.delivery.attachment import (
    MB,
    Attachment,
    Compose,
    Fitted,
    WriteLight,
    fit_attachment,
    without_attachment,
)
from cohort_service.delivery.email import (
    SmtpDeliveryError,
    build_message,
    render_subject,
    send_message,
    workbook_filename,
)
from cohort_service.delivery.headline import Headline
from cohort_service.errors import AmoAPIError, ConfigError, DeliveryError, first_line
from cohort_service.spend.importer import FolderImport
from cohort_service.sync.runner import SyncSummary, run_sync
from cohort_service.ui import NULL_PROGRESS, ProgressSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportOutputs:
    """What a report builder hands back: the e-mail's headline and, when it can write one, a writer
    of the lighter workbook (no Transitions sheet, Leads from a given week) from the same report."""

    headline: Headline
    write_light: WriteLight | None = None


ReportBuilder = Callable[[Settings, Engine, datetime, Path], ReportOutputs]
"""Compute the report as of A (aware, report time zone), write the workbook at the path (never a
half-written file there), return the e-mail's headline (and the light writer). The default is
``app.outputs.build_report_outputs``: the cohort engine and the workbook writer."""


# "running" only while _deliver works on it; a result handed back is one of the other three.
SendStatus = Literal["running", "sent", "already_sent", "failed"]


@dataclass
class SendResult:
    status: SendStatus
    week: ReportWeek
    recipients: list[str]
    message_id: str | None = None
    attempts: int = 0
    file_path: Path | None = None
    sent_at: datetime | None = None
    error: str | None = None
    sync: SyncSummary | None = None
    sync_error: str | None = None
    notes: list[str] = field(default_factory=list)
    spend: FolderImport | None = None  # spend.folder files imported (or refused) before the report
    attachment: Attachment | None = None  # what the message carried, and why not the full workbook

    def lines(self) -> list[str]:
        week = f"week of {self.week.week_start:%d.%m.%Y}"
        if self.status == "already_sent":
            local = self.sent_at.astimezone(self.week.as_of.tzinfo) if self.sent_at else None
            when = f"{local:%d.%m.%Y %H:%M} ({self.week.as_of.tzinfo})" if local else "earlier"
            return [
                f"{week}: already sent to {', '.join(self.recipients)} at {when}; "
                "nothing to do (pass --force to send again)"
            ]
        lines = [f"note: {note}" for note in self.notes]
        if self.sync_error:
            lines.append(f"sync failed, reporting from the data already synced: {self.sync_error}")
        if self.spend is not None:
            lines += self.spend.lines()
        if self.attachment is not None and self.attachment.detail:
            lines.append(f"attachment: {self.attachment.detail}")
        if self.status == "sent":
            lines.append(
                f"{week}: sent to {', '.join(self.recipients)} "
                f"({self.attempts} attempt{'s' * (self.attempts != 1)}); workbook: {self.file_path}"
            )
        else:
            lines.append(f"{week}: NOT sent: {self.error}; workbook kept at {self.file_path}")
        return lines


class SendFailedError(DeliveryError):
    """Delivery failed after retries; the run is recorded as failed and the workbook kept."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.lines()[-1])
        self.result = result


def email_settings(settings: Settings) -> EmailSettings:
    if settings.email is None:
        raise ConfigError(
            [
                f"{settings.source}: email: required for send (an email table with host, from, to; "
                "see config.example.toml), password from COHORT_SMTP_PASSWORD"
            ]
        )
    return settings.email


def recipients_for(cfg: EmailSettings, to: Sequence[str] | None) -> list[str]:
    wanted = runs.normalise(to or cfg.to)
    if to and (problem := bad_addresses(wanted)) is not None:  # email.to was checked with the config
        raise ConfigError([f"--to: {problem}"])
    return wanted


def choose_week(tz: ZoneInfo, as_of_day: date | None, now: datetime) -> ReportWeek:
    return week_of_day(as_of_day, tz) if as_of_day else last_complete_week(now, tz)


def run_send(
    settings: Settings,
    *,
    as_of_day: date | None = None,
    to: Sequence[str] | None = None,
    force: bool = False,
    builder: ReportBuilder | None = None,
    progress: ProgressSink = NULL_PROGRESS,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    ssl_context: ssl.SSLContext | None = None,
    sync_wait_s: float = 0.0,
    lock_wait_s: float = 0.0,
) -> SendResult:
    """Deliver the report of the last complete week (or of ``as_of_day``) unless already delivered."""
    cfg = email_settings(settings)
    wanted = recipients_for(cfg, to)
    engine = get_engine(settings)
    upgrade(engine)
    if not force and (done := _already_sent(settings, engine, as_of_day, wanted, clock())) is not None:
        return done
    summary, sync_error = _sync(settings, progress, sync_wait_s)
    tz, zone_notes = stored_report_zone(settings, engine)  # the report inside applies the same rule
    week = choose_week(tz, as_of_day, clock())
    with runs.send_lock(engine, wait_s=lock_wait_s):
        with engine.connect() as conn:
            pending = wanted if force else runs.missing_recipients(conn, week.week_start, wanted)
            last_sync = last_successful_sync(conn)
            record = runs.sent_record(conn, week.week_start)
        if not pending:  # another send finished while we were syncing
            return SendResult("already_sent", week, wanted, sent_at=record.last_sent_at if record else None)
        result = SendResult("running", week, pending, sync=summary, sync_error=sync_error, notes=zone_notes)
        result.spend = _import_spend_folder(settings, engine)
        _deliver(
            settings=settings,
            cfg=cfg,
            engine=engine,
            result=result,
            builder=builder or default_builder(),
            last_sync=last_sync,
            sleep=sleep,
            ssl_context=ssl_context,
        )
    return result


def _already_sent(
    settings: Settings, engine: Engine, as_of_day: date | None, wanted: list[str], now: datetime
) -> SendResult | None:
    """Cheap check before syncing (the sync may change the zone only on the first run, when
    nothing was sent yet)."""
    tz, _notes = stored_report_zone(settings, engine)
    week = choose_week(tz, as_of_day, now)
    with engine.connect() as conn:
        if runs.missing_recipients(conn, week.week_start, wanted):
            return None
        record = runs.sent_record(conn, week.week_start)
    return SendResult("already_sent", week, wanted, sent_at=record.last_sent_at if record else None)


def _sync(settings: Settings, progress: ProgressSink, wait_s: float) -> tuple[SyncSummary | None, str | None]:
    try:
        return run_sync(settings, progress=progress, wait_s=wait_s), None
    except AmoAPIError as exc:
        log.warning("sync before send failed: %s", exc)
        return None, first_line(exc)


def _deliver(
    *,
    settings: Settings,
    cfg: EmailSettings,
    engine: Engine,
    result: SendResult,
    builder: ReportBuilder,
    last_sync: datetime | None,
    sleep: Callable[[float], None],
    ssl_context: ssl.SSLContext | None,
) -> None:
    week = result.week
    run_id = runs.start_run(
        engine, week_start=week.week_start, as_of=week.as_of, recipients=result.recipients
    )
    path = Path(settings.report.out_dir) / workbook_filename(week.week_start, week.as_of_day)
    result.file_path = path
    try:
        outputs = _build(settings, engine, builder, week.as_of, path)
        headline = dataclasses.replace(
            outputs.headline, last_sync=last_sync, warnings=_warnings(result, outputs.headline)
        )
        subject = render_subject(cfg.subject, week_start=week.week_start, as_of=week.as_of_day)

        def compose(workbook: Path | None, about: Sequence[str]) -> EmailMessage:
            return build_message(headline=headline, workbook=workbook, sender=cfg.sender,
                                 recipients=result.recipients, subject=subject, about_file=about)  # fmt: skip

        # lighter still: Leads of the weeks in the e-mail's table, then of its last week only
        cuts = sorted({row.week_start for row in headline.rows[:1] + headline.rows[-1:]})
        fitted = fit_attachment(compose, path, limit_bytes=round(cfg.max_attachment_mb * MB),
                                write_light=outputs.write_light, cuts=cuts)  # fmt: skip
        _send_fitted(fitted, compose, path, cfg, result, sleep=sleep, ssl_context=ssl_context)
    except SmtpDeliveryError as exc:
        result.status, result.attempts, result.error = "failed", result.attempts + exc.attempts, str(exc)
        runs.finish_run(engine, run_id, status="failed", attempts=result.attempts, file_path=str(path),
                        message_id=result.message_id, error=str(exc),
                        attachment=result.attachment)  # fmt: skip
        raise SendFailedError(result) from None
    except BaseException as exc:
        runs.finish_run(engine, run_id, status="failed", attempts=result.attempts,
                        error=first_line(exc), attachment=result.attachment)  # fmt: skip
        raise
    result.status, result.sent_at = "sent", datetime.now(UTC)
    runs.finish_run(engine, run_id, status="sent", attempts=result.attempts, message_id=result.message_id,
                    file_path=str(path.resolve()), attachment=result.attachment)  # fmt: skip


def _send_fitted(
    fitted: Fitted,
    compose: Compose,
    path: Path,
    cfg: EmailSettings,
    result: SendResult,
    *,
    sleep: Callable[[float], None],
    ssl_context: ssl.SSLContext | None,
) -> None:
    """Send the message chosen under the size limit. A server that still refuses it for its size
    (552, 5.3.4) gets the message once more without the file: the Monday numbers arrive, and the
    body and the run's record say what the server answered."""
    result.attachment, result.message_id = fitted.attachment, str(fitted.message["Message-ID"])
    if fitted.attachment.detail:
        log.warning("week of %s: %s", result.week.week_start, fitted.attachment.detail)
    try:
        result.attempts = send_message(fitted.message, cfg, sleep=sleep, ssl_context=ssl_context)
    except SmtpDeliveryError as exc:
        if not exc.too_big or fitted.attachment.kind == "none":
            raise
        log.warning("week of %s: %s; sending it again without the workbook", result.week.week_start, exc)
        result.attempts = exc.attempts
        bare = without_attachment(compose, path, exc.reason)
        result.attachment, result.message_id = bare.attachment, str(bare.message["Message-ID"])
        result.attempts += send_message(bare.message, cfg, sleep=sleep, ssl_context=ssl_context)


def _build(
    settings: Settings, engine: Engine, builder: ReportBuilder, as_of: datetime, path: Path
) -> ReportOutputs:
    path.parent.mkdir(parents=True, exist_ok=True)
    return builder(settings, engine, as_of, path)


def _import_spend_folder(settings: Settings, engine: Engine) -> FolderImport | None:
    """Spend files dropped in ``spend.folder`` since the last run, before the report reads spend."""
    if settings.spend.folder is None:
        return None
    from cohort_service.spend.importer import import_folder

    return import_folder(engine, settings.spend.folder)


def _warnings(result: SendResult, headline: Headline) -> tuple[str, ...]:
    extra = []
    if result.spend is not None:
        extra += result.spend.warnings()
    if result.sync_error:
        extra.append(
            f"The sync before this report failed ({result.sync_error}); figures are as of the last sync."
        )
    if result.sync is not None:
        extra += result.sync.warnings
    return (*extra, *headline.warnings)


def default_builder() -> ReportBuilder:
    """The cohort engine + workbook writer (imported lazily: the CLI starts fast)."""
    from cohort_service.app.outputs import build_report_outputs

    return build_report_outputs
