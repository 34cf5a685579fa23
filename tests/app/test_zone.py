"""The report time zone rule shared by report, send and serve (pure: settings + the account's zone)."""

from __future__ import annotations

import pytest

from cohort_service.app.zone import report_timezone
from tests.conftest import make_settings

UNSYNCED = "the account is not synced yet and report.timezone is empty; weeks use UTC"


@pytest.mark.parametrize(
    ("configured", "account", "expected"),
    [
        ("Asia/Yekaterinburg", "Europe/Moscow", ("Asia/Yekaterinburg", [])),
        ("Asia/Yekaterinburg", "Mars/Olympus", ("Asia/Yekaterinburg", [])),
        (None, "Europe/Moscow", ("Europe/Moscow", [])),
        (None, None, ("UTC", [UNSYNCED])),
        (None, "", ("UTC", [UNSYNCED])),
        (
            None,
            "Mars/Olympus",
            ("UTC", ["the account's time zone 'Mars/Olympus' is unknown here; weeks use UTC"]),
        ),
        (None, "Europe", ("UTC", ["the account's time zone 'Europe' is unknown here; weeks use UTC"])),
        (
            None,
            "../etc/passwd",
            ("UTC", ["the account's time zone '../etc/passwd' is unknown here; weeks use UTC"]),
        ),
    ],
)
def test_report_timezone(
    configured: str | None, account: str | None, expected: tuple[str, list[str]]
) -> None:
    settings = make_settings(None, report={"timezone": configured} if configured else {})
    assert report_timezone(settings, account) == expected
