"""The report's time zone: one rule for ``report``, ``send`` and ``serve``.

``report.timezone`` when set (validated with the config), else the synced account's own zone, else
UTC with a note saying why. A zone this machine's tz database does not know also falls back to UTC
with a note: the Monday message must still go out when the account reports an odd zone.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from cohort_service.config import Settings, load_zone
from cohort_service.db.freshness import account_timezone


def report_timezone(settings: Settings, account_zone: str | None) -> tuple[str, list[str]]:
    """The zone's name and the notes to show beside the report (empty when nothing fell back)."""
    if settings.report.timezone:
        return settings.report.timezone, []
    if not account_zone:
        return "UTC", ["the account is not synced yet and report.timezone is empty; weeks use UTC"]
    if load_zone(account_zone) is None:
        return "UTC", [f"the account's time zone {account_zone!r} is unknown here; weeks use UTC"]
    return account_zone, []


def zone_known(settings: Settings, engine: Engine) -> bool:
    """False before the first sync when ``report.timezone`` is empty: the zone is still a guess."""
    if settings.report.timezone:
        return True
    with engine.connect() as conn:
        return account_timezone(conn) is not None


def stored_report_zone(settings: Settings, engine: Engine) -> tuple[ZoneInfo, list[str]]:
    """:func:`report_timezone` for the account stored in the database."""
    with engine.connect() as conn:
        name, notes = report_timezone(settings, account_timezone(conn))
    return ZoneInfo(name), notes
