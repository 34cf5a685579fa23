"""``[service]``, ``[database]`` and ``[schedule]``: where the service keeps its data and when it runs."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import SecretStr, field_validator

from cohort_service.config.fields import Section, as_duration, clean_path, not_negative

MIN_SYNC_EVERY = timedelta(minutes=1)


class ServiceSettings(Section):
    data_dir: Path = Path(".cohort-service")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # How long the weekly job, and the report inside any send, queue behind a running sync (or
    # send) for its database lock before giving up; a plain `sync`/`report` uses --wait instead.
    lock_wait: timedelta = timedelta(minutes=15)

    _data_dir = field_validator("data_dir")(clean_path)
    _lock_wait = field_validator("lock_wait")(not_negative)

    _duration = field_validator("lock_wait", mode="before")(as_duration)


class DatabaseSettings(Section):
    url: SecretStr | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _empty_is_embedded(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(r"^postgres(ql)?(\+psycopg)?://", value.get_secret_value()):
            raise ValueError("must be a postgresql:// URL (leave empty for the embedded Postgres)")
        return value


class ScheduleSettings(Section):
    sync_every: timedelta = timedelta(hours=1)
    report_cron: str = "0 7 * * mon"
    catchup_grace: timedelta = timedelta(hours=36)

    _duration = field_validator("sync_every", "catchup_grace", mode="before")(as_duration)

    _grace = field_validator("catchup_grace")(not_negative)

    @field_validator("sync_every")
    @classmethod
    def _sync_every(cls, value: timedelta) -> timedelta:
        if value < MIN_SYNC_EVERY:
            raise ValueError("must be at least 1m (more often only spends amoCRM's rate limit)")
        return value

    @field_validator("report_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("must be a 5-field cron expression, e.g. '0 7 * * mon'")
        from cohort_service.cron import cron_trigger

        try:
            cron_trigger(value, ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid cron expression ({exc})") from None
        return value
