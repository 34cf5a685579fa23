"""What every command shares: the lazily loaded settings, the output, and the glue commands repeat
(a migrated engine, a day option, printing a result's lines), so cli.py holds only the commands."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer

from cohort_service.config import Settings, load_settings, no_config_found
from cohort_service.errors import ConfigError
from cohort_service.ui import UI

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from cohort_service.cohorts.model import CohortReport

# --as-of/--since bounds: amoCRM dates from 2009; the date arithmetic of a report breaks near year 1.
EARLIEST_DAY = date(2000, 1, 1)


@dataclass
class State:
    """Per-invocation context: settings are loaded once, on first use, never at import."""

    config_path: Path | None
    ui: UI
    _settings: Settings | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            logging.getLogger("cohort_service").setLevel(self._settings.service.log_level.upper())
        return self._settings

    def require_config(self) -> None:
        """Commands that talk to amoCRM: with no config file, say so and where it was looked for
        before anything else can fail (exit 2). Settings from the environment alone (a container's
        ``COHORT_AMOCRM_BASE_URL`` and token) are allowed, with a note."""
        missing = no_config_found(self.settings)
        if missing is None:
            return
        where, fix = missing
        if not self.settings.amocrm.configured:
            raise ConfigError([f"{where}; {fix}"])
        self.ui.info(f"note: {where}; using the COHORT_* environment")

    def engine(self) -> Engine:
        """The configured database, migrated first: a command that writes must not meet an old schema."""
        from cohort_service.db.engine import get_engine
        from cohort_service.db.migrate import upgrade

        engine = get_engine(self.settings)
        upgrade(engine)
        return engine

    def show_headline(self, report: CohortReport) -> None:
        """The report's headline table, as the e-mail has it, laid out for the terminal."""
        from cohort_service.app.outputs import headline_from_report
        from cohort_service.cli_headline import console_for, print_headline

        print_headline(console_for(self.ui.out), headline_from_report(report, self.settings))

    def say(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.ui.info(line)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # pragma: no cover - the callback always sets it
        raise TypeError("CLI state missing")
    return obj


def parse_day(text: str, option: str, timezone: str | None) -> datetime:
    """Start of that day in the report time zone (UTC when none is configured); a bad date is a usage
    error on one line (exit 2)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ConfigError([f"{option}: expected a date like 2024-01-31, got {text!r}"]) from None
    if day < EARLIEST_DAY:
        raise ConfigError([f"{option}: {day} is before {EARLIEST_DAY} (amoCRM has no history that old)"])
    if day > datetime.now(UTC).date() + timedelta(days=366):
        raise ConfigError([f"{option}: {day} is more than a year ahead"])
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone) if timezone else UTC)


def optional_day(text: str | None, option: str) -> date | None:
    """The calendar day an option names, or None when it was not given."""
    return parse_day(text, option, None).date() if text else None
