"""Typed reads from amoCRM JSON objects, with errors that name the entity, its id and the field.

A malformed payload must stop the sync with a message an operator can act on
(``lead 123: status_id: expected an integer, got "x"``), never be skipped or coerced silently:
a string where an id belongs usually means the API changed, and guessing would corrupt history.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cohort_service.errors import AmoPayloadError

log = logging.getLogger(__name__)

_MISSING: Any = object()
# Integers land in Postgres bigint (ids), integer (sort) or smallint (status type) columns.
INT64 = 2**63 - 1
INT32 = 2**31 - 1
INT16 = 2**15 - 1
# A budget is stored as numeric(18, 2).
MAX_PRICE = 10**16
# Postgres text and jsonb hold neither NUL nor a lone UTF-16 surrogate (it cannot be encoded).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def shown(value: object) -> str:
    """A short JSON rendering of a bad value for an error message (long text is cut)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def storable(text: str) -> tuple[str, int]:
    """``text`` without NUL (dropped) and lone surrogates (U+FFFD), and how many were changed."""
    if not _UNSTORABLE.search(text):
        return text, 0
    count = 0

    def fix(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return "" if match.group() == "\x00" else "\ufffd"

    return _UNSTORABLE.sub(fix, text), count


def storable_json(value: Any, on_fix: Any) -> Any:
    """The same cleaning through a JSON value (custom field values go to a jsonb column)."""
    if isinstance(value, str):
        text, fixed = storable(value)
        if fixed:
            on_fix(fixed)
        return text
    if isinstance(value, list):
        return [storable_json(v, on_fix) for v in value]
    if isinstance(value, Mapping):
        return {storable_json(k, on_fix): storable_json(v, on_fix) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None  # jsonb has no Infinity/NaN; a field value that broken carries nothing
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Fields:
    """A JSON object being read as one amoCRM entity (``lead 123``, ``pipeline 5 status 142``)."""

    def __init__(
        self,
        entity: str,
        data: object,
        *,
        position: str = "",
        prefix: str = "",
        label: str = "",
        repairs: list[str] | None = None,
    ) -> None:
        self.label = label or (f"{entity} ({position})" if position else entity)
        self._entity = entity
        self.prefix = prefix
        # What was cleaned rather than refused, shared by the nested objects of one entity.
        self.repairs: list[str] = [] if repairs is None else repairs
        if not isinstance(data, Mapping):
            where = f"{prefix.rstrip('.')}: " if prefix else ""
            raise AmoPayloadError(f"{self.label}: {where}expected a JSON object, got {shown(data)}")
        self.data: Mapping[str, Any] = data

    def identify(self, key: str = "id") -> int:
        """Read the integer id; every later message names it (``lead 123: …``)."""
        value = self.integer(key)
        self.label = f"{self._entity} {value}"
        return value

    def identify_text(self, key: str = "id") -> str:
        """Read a string id (events use ULID-like strings)."""
        value = self.text(key)
        if not value:
            raise self.fail(key, "must not be empty")
        self.label = f"{self._entity} {value}"
        return value

    def fail(self, key: str, problem: str) -> AmoPayloadError:
        return AmoPayloadError(f"{self.label}: {self.prefix}{key}: {problem}")

    def _get(self, key: str, *, required: bool) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING and required:
            raise self.fail(key, "missing")
        return value

    def _expected(self, key: str, what: str, value: object) -> AmoPayloadError:
        return self.fail(key, f"expected {what}, got {shown(value)}")

    def _in_range(self, key: str, value: int, limit: int) -> int:
        if not -limit - 1 <= value <= limit:
            raise self.fail(key, f"{shown(value)} is beyond a {limit.bit_length() + 1}-bit integer")
        return int(value)

    def integer(self, key: str, *, limit: int = INT64) -> int:
        value = self._get(key, required=True)
        if not _is_int(value):
            raise self._expected(key, "an integer", value)
        return self._in_range(key, value, limit)

    def opt_integer(self, key: str) -> int | None:
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if not _is_int(value):
            raise self._expected(key, "an integer or null", value)
        return self._in_range(key, value, INT64)

    def number(self, key: str) -> int | float:
        """A JSON number; missing or null reads as 0 (amoCRM's budget default)."""
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._expected(key, "a number", value)
        if not math.isfinite(value):
            raise self._expected(key, "a finite number", value)
        if abs(value) >= MAX_PRICE:
            raise self.fail(key, f"{shown(value)} is beyond 10^16, the largest amount stored")
        return value

    def repaired(self, key: str, count: int) -> None:
        """Text Postgres cannot store is cleaned, not fatal: one broken name must not stop every sync."""
        note = f"{self.label}: {self.prefix}{key}: {count} NUL or invalid character(s) removed"
        self.repairs.append(note)
        log.warning("%s", note)

    def _storable(self, key: str, value: str) -> str:
        text, fixed = storable(value)
        if fixed:
            self.repaired(key, fixed)
        return text

    def text(self, key: str) -> str:
        value = self._get(key, required=True)
        if not isinstance(value, str):
            raise self._expected(key, "a string", value)
        return self._storable(key, value)

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, str):
            raise self._expected(key, "a string or null", value)
        return self._storable(key, value)

    def flag(self, key: str, default: bool | None = None) -> bool:
        """A JSON boolean; with a ``default``, a missing or null key reads as the default."""
        value = self._get(key, required=default is None)
        if default is not None and (value is _MISSING or value is None):
            return default
        if not isinstance(value, bool):
            raise self._expected(key, "true or false", value)
        return value

    def _moment(self, key: str, value: int) -> datetime:
        """A date; how plausible it is (a year ahead of the server's clock?) the sync decides."""
        try:
            return from_unix(value)
        except (OverflowError, OSError, ValueError):
            raise self.fail(key, f"{shown(value)} is not a Unix timestamp of a real date") from None

    def timestamp(self, key: str) -> datetime:
        value = self._get(key, required=True)
        if not _is_int(value):
            raise self._expected(key, "a Unix timestamp (integer seconds)", value)
        return self._moment(key, value)

    def opt_timestamp(self, key: str) -> datetime | None:
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if not _is_int(value):
            raise self._expected(key, "a Unix timestamp (integer seconds) or null", value)
        return self._moment(key, value)

    def array(self, key: str, *, required: bool = False) -> list[Any]:
        """A JSON array; a missing or null key reads as empty unless ``required``."""
        value = self._get(key, required=required)
        if not required and (value is _MISSING or value is None):
            return []
        if not isinstance(value, list):
            raise self._expected(key, "a list", value)
        return value

    def child(self, key: str, *, required: bool = False) -> Fields:
        """A nested object read under the same label, its keys prefixed (``rights.is_admin``)."""
        value = self._get(key, required=required)
        if not required and (value is _MISSING or value is None):
            value = {}
        return Fields(
            self._entity, value, prefix=f"{self.prefix}{key}.", label=self.label, repairs=self.repairs
        )

    def item(self, key: str, index: int, value: object) -> Fields:
        """Element ``index`` of the array at ``key`` (``custom_fields_values[2].field_id``)."""
        prefix = f"{self.prefix}{key}[{index}]."
        return Fields(self._entity, value, prefix=prefix, label=self.label, repairs=self.repairs)
