"""The value rules every section shares: durations, ids, paths, secrets, time zones.

Each is a plain function a section attaches with ``field_validator``; a ``ValueError``'s text
becomes the message after ``<file>: <key>:``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, SecretStr

from cohort_service.config.names import check_chars

MAX_AGE_DAYS = 3650
MAX_ID = 2**63 - 1
_DURATION_RE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``"30m"`` → 30 minutes. Durations in config read better than bare seconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValueError("must be a duration like 30s, 15m, 1h, 2d or 1w")
    try:
        return timedelta(seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)])
    except OverflowError:
        raise ValueError("is too long a duration") from None


def as_duration(value: object) -> object:
    """A ``mode="before"`` validator: TOML gives durations as text; a timedelta passes as it is."""
    return parse_duration(value) if isinstance(value, str) else value


def not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("must not be negative")
    return value


def clean_path(value: Path) -> Path:
    """A path from config: not empty (that would mean the current directory), no control characters."""
    text = str(value)
    if not text or text == ".":
        raise ValueError("must not be empty")
    check_chars(text)
    return value


def names_or_ids(what: str) -> Callable[[object], object]:
    """A ``mode="before"`` validator for a list of ``what`` names or ids: TOML would let ``1.5`` or
    ``true`` through as an id; only names (strings) and integers mean one."""

    def check(value: object) -> object:
        if isinstance(value, list):
            for item in value:
                if isinstance(item, bool) or not isinstance(item, str | int):
                    shown = json.dumps(item, default=str, ensure_ascii=False)
                    raise ValueError(f"must hold {what} names or ids, not {shown}")  # noqa: TRY004 - pydantic's kind
        return value

    return check


def ids_in_range(value: list[str | int]) -> list[str | int]:
    """amoCRM ids are positive and fit Postgres's bigint; anything else can match nothing."""
    for item in value:
        if isinstance(item, str):
            check_chars(item)
        elif not 0 < item <= MAX_ID:
            raise ValueError(f"{item} is not an amoCRM id (ids are 1 to {MAX_ID})")
    return value


def clean_secret(value: SecretStr) -> SecretStr:
    """A token or secret pasted with a line break would split an HTTP header; never echoed."""
    secret = value.get_secret_value()
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in secret):
        raise ValueError("must not contain spaces, line breaks or control characters (check the paste)")
    return value


def load_zone(name: str) -> ZoneInfo | None:
    """The IANA zone, or None when the name is none this machine's tz database knows (a typo, a
    directory such as ``Europe``, a path): config and the account's zone are checked alike."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


class Section(BaseModel):
    """One TOML table: unknown keys refused, values frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)
