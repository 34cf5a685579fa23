"""``cohort-service serve``: the two jobs on APScheduler 3, the start-up catch-up, one JSON line a job.

* ``sync`` every ``schedule.sync_every`` (the first one at start-up);
* ``weekly`` on ``schedule.report_cron`` in the report time zone: sync, then send (standard cron
  weekdays, 0 or 7 = Sunday, translated for APScheduler, whose own numbers start at Monday).

Jobs run one at a time (a single worker; coalesced; one instance each) and, against other
processes, under the database lock: a job that finds the lock taken logs ``skipped`` and returns.
A weekly report missed while the service was down is sent at start-up if the missed fire time is
within ``schedule.catchup_grace`` and that week has no successful send. SIGTERM/SIGINT stop the
scheduler after the running job. Every job logs exactly one JSON line.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from cohort_service.app.send import ReportBuilder, run_send
from cohort_service.app.weeks import ReportWeek, last_complete_week
from cohort_service.app.zone import stored_report_zone, zone_known
from cohort_service.config import Settings
from cohort_service.cron import cron_trigger
from cohort_service.db.engine import get_engine
from cohort_service.db.migrate import upgrade
from cohort_service.delivery import runs
from cohort_service.errors import CohortServiceError, ConfigError, LockBusyError, first_line
from cohort_service.sync.runner import run_sync

log = logging.getLogger(__name__)
job_log = logging.getLogger("cohort_service.jobs")

# OAuth keep-alive: one authenticated request this often. An access token lives 24 h, so the pair is
# refreshed (the refresh token rotated) at least every 36 h, however long nothing else runs; amoCRM
# revokes a refresh token unused for 3 months.
KEEPALIVE_EVERY = timedelta(hours=12)


# -- triggers ----------------------------------------------------------------------------------


def report_trigger(expression: str, tz: ZoneInfo) -> CronTrigger:
    try:
        return cron_trigger(expression, tz)
    except (ValueError, IndexError) as exc:
        raise ConfigError(
            [f"schedule.report_cron: {expression!r} is not a valid cron expression ({exc})"]
        ) from None


def sync_trigger(every: timedelta, tz: ZoneInfo, *, start: datetime | None = None) -> IntervalTrigger:
    """Every ``every`` of elapsed time (not wall-clock: a DST change neither skips nor doubles a run)."""
    return IntervalTrigger(seconds=max(int(every.total_seconds()), 60), timezone=tz, start_date=start)


def previous_fire_time(trigger: CronTrigger, now: datetime, *, lookback: timedelta) -> datetime | None:
    """The trigger's last fire time at or before ``now`` (APScheduler 3 only looks forward)."""
    last: datetime | None = None
    limit = now.astimezone(UTC)  # compare in UTC: same-zone comparisons ignore the DST fold
    moment: datetime | None = trigger.get_next_fire_time(None, now - lookback)
    while moment is not None and moment.astimezone(UTC) <= limit:
        last = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return last


def missed_report(
    *, last_fire: datetime | None, now: datetime, grace: timedelta, last_sent_week: date | None, tz: ZoneInfo
) -> ReportWeek | None:
    """The week to send at start-up, or None: no fire yet, fired too long ago, or already sent."""
    if last_fire is None or now.astimezone(UTC) - last_fire.astimezone(UTC) > grace:
        return None
    week = last_complete_week(last_fire, tz)
    if last_sent_week is not None and last_sent_week >= week.week_start:
        return None
    return week


# -- jobs --------------------------------------------------------------------------------------


def run_job(
    name: str, work: Callable[[], dict[str, Any]], *, clock: Callable[[], float] = time.monotonic
) -> dict[str, Any]:
    """Run one job and log its one JSON line: job, outcome, duration_s, and counts or error."""
    started = clock()
    record: dict[str, Any] = {"job": name}
    try:
        counts = work()
        record["outcome"] = counts.pop("outcome", "ok")
        record["counts"] = counts
    except LockBusyError as exc:
        record |= {"outcome": "skipped", "error": first_line(exc)}
    except CohortServiceError as exc:
        record |= {"outcome": "failed", "error": first_line(exc)}
    except Exception as exc:  # a bug must not kill the daemon; the next run tries again
        log.debug("job %s crashed", name, exc_info=True)
        record |= {"outcome": "failed", "error": f"{type(exc).__name__}: {first_line(exc)}"}
    record["duration_s"] = round(clock() - started, 3)
    job_log.info(json.dumps(record, ensure_ascii=False, default=str))
    return record


def sync_work(settings: Settings) -> Callable[[], dict[str, Any]]:
    def work() -> dict[str, Any]:
        summary = run_sync(settings)
        keys = (
            "leads_new",
            "leads_changed",
            "leads_deleted",
            "status_changes_new",
            "requests",
            "rate_limited",
        )
        return {key: getattr(summary, key) for key in keys}

    return work


def keepalive_work(settings: Settings) -> Callable[[], dict[str, Any]]:
    """One cheap request (the account); the OAuth flow refreshes an expired pair on the way. No
    run lock: it is one request through the account's shared budget."""
    from cohort_service.amocrm.client import build_client

    def work() -> dict[str, Any]:
        with build_client(settings, engine=get_engine(settings)) as client:
            client.account()
            return {"requests": client.stats.snapshot().requests}

    return work


def weekly_work(
    settings: Settings,
    *,
    as_of_day: date | None = None,
    builder: ReportBuilder | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Callable[[], dict[str, Any]]:
    """The weekly send; it queues behind a running sync for ``service.lock_wait``, then logs
    ``skipped``."""
    wait_s = settings.service.lock_wait.total_seconds()

    def work() -> dict[str, Any]:
        result = run_send(
            settings,
            as_of_day=as_of_day,
            builder=builder,
            clock=clock,
            sync_wait_s=wait_s,
            lock_wait_s=wait_s,
        )  # SendFailedError is a CohortServiceError: run_job logs it as failed
        counts: dict[str, Any] = {
            "outcome": result.status,
            "week": result.week.week_start.isoformat(),
            "recipients": len(result.recipients),
            "attempts": result.attempts,
        }
        if result.sync_error:
            counts["sync_error"] = result.sync_error
        if result.attachment is not None:  # full | light | none, and why not the full workbook
            counts["attachment"] = result.attachment.kind
            if result.attachment.detail:
                counts["attachment_detail"] = result.attachment.detail
        return counts

    return work


# -- the daemon --------------------------------------------------------------------------------


def build_scheduler(
    settings: Settings, tz: ZoneInfo, *, builder: ReportBuilder | None = None, sync_at: datetime | None = None
) -> BackgroundScheduler:
    """The two jobs; ``sync_at`` moves the first sync forward (e.g. to start-up)."""
    schedule = settings.schedule
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=tz,
    )
    scheduler.add_job(
        run_job,
        sync_trigger(schedule.sync_every, tz),
        args=("sync", sync_work(settings)),
        id="sync",
        misfire_grace_time=max(int(schedule.sync_every.total_seconds() / 2), 60),
        **({"next_run_time": sync_at} if sync_at is not None else {}),
    )
    if settings.amocrm.oauth is not None:
        scheduler.add_job(
            run_job,
            IntervalTrigger(seconds=int(KEEPALIVE_EVERY.total_seconds()), timezone=tz),
            args=("oauth_keepalive", keepalive_work(settings)),
            id="oauth_keepalive",
            misfire_grace_time=int(KEEPALIVE_EVERY.total_seconds()),
        )
    if settings.email is None:
        return scheduler  # nothing to send to: sync only
    scheduler.add_job(
        run_job,
        report_trigger(schedule.report_cron, tz),
        args=("weekly", weekly_work(settings, builder=builder)),
        id="weekly",
        misfire_grace_time=max(int(schedule.catchup_grace.total_seconds()), 60),
    )
    return scheduler


def _zone(settings: Settings) -> ZoneInfo:
    """The report time zone; before the very first sync it is learned by syncing once."""
    engine = get_engine(settings)
    if not zone_known(settings, engine):
        run_job("sync", sync_work(settings))
    tz, notes = stored_report_zone(settings, engine)
    for note in notes:
        log.warning("%s", note)
    return tz


def catch_up(
    settings: Settings, tz: ZoneInfo, now: datetime, *, builder: ReportBuilder | None = None
) -> dict[str, Any] | None:
    """Send the weekly report missed while the service was down (once; see ``missed_report``)."""
    if settings.email is None:
        return None
    trigger = report_trigger(settings.schedule.report_cron, tz)
    grace = settings.schedule.catchup_grace
    with get_engine(settings).connect() as conn:
        last_sent = runs.last_sent_week(conn)
    last_fire = previous_fire_time(trigger, now, lookback=grace + timedelta(days=1))
    week = missed_report(last_fire=last_fire, now=now, grace=grace, last_sent_week=last_sent, tz=tz)
    if week is None:
        return None
    log.info("weekly report of %s missed at %s; sending it now", week.week_start, last_fire)
    return run_job(
        "weekly", weekly_work(settings, as_of_day=week.as_of_day, builder=builder, clock=lambda: now)
    )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("signal %d: stopping after the running job", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def serve(
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    builder: ReportBuilder | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Migrate, catch up a missed weekly report, then run the schedule until stopped."""
    if not settings.amocrm.configured:
        raise ConfigError([f"{settings.source}: amocrm.subdomain: required for serve (or amocrm.base_url)"])
    report_trigger(settings.schedule.report_cron, ZoneInfo("UTC"))  # a bad cron fails now, not on Monday
    if settings.email is None:
        log.warning("no email section in the config: serve only syncs, the weekly report is not sent")
    stop = stop or threading.Event()
    upgrade(get_engine(settings))
    tz = _zone(settings)
    caught_up = catch_up(settings, tz, clock(), builder=builder)
    # A catch-up has just synced; otherwise the first sync runs at once.
    sync_at = None if caught_up is not None else clock().astimezone(tz)
    scheduler = build_scheduler(settings, tz, builder=builder, sync_at=sync_at)
    with _stop_on_signals(stop):
        scheduler.start()
        for job in scheduler.get_jobs():
            log.info("job %s: next run %s", job.id, job.next_run_time)
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)


def jobs_to_stdout() -> None:
    """The daemon's job lines go to stdout as bare JSON, one per line (for log shippers)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    job_log.addHandler(handler)
    job_log.setLevel(logging.INFO)
    job_log.propagate = False
