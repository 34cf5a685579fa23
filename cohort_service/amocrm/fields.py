"""Typed reads from amoCRM JSON objects, with errors that name the entity, its id and the field.

A malformed payload must stop the sync with a message an operator can act on
(``lead 123: status_id: expected an integer, got "x"``), never be skipped or coerced silently:
a string where an id belongs usually means the API changed, and guessing would corrupt history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cohort_service.errors import AmoPayloadError

_MISSING: Any = object()


def shown(value: object) -> str:
    """A short JSON rendering of a bad value for an error message (long text is cut)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Fields:
    """A JSON object being read as one amoCRM entity (``lead 123``, ``pipeline 5 status 142``)."""

    def __init__(
        self, entity: str, data: object, *, position: str = "", prefix: str = "", label: str = ""
    ) -> None:
        self.label = label or (f"{entity} ({position})" if position else entity)
        self._entity = entity
        self.prefix = prefix
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

    def integer(self, key: str) -> int:
        value = self._get(key, required=True)
        if not _is_int(value):
            raise self._expected(key, "an integer", value)
        return int(value)

    def opt_integer(self, key: str) -> int | None:
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if not _is_int(value):
            raise self._expected(key, "an integer or null", value)
        return int(value)

    def number(self, key: str) -> int | float:
        """A JSON number; missing or null reads as 0 (amoCRM's budget default)."""
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._expected(key, "a number", value)
        return value

    def text(self, key: str) -> str:
        value = self._get(key, required=True)
        if not isinstance(value, str):
            raise self._expected(key, "a string", value)
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, str):
            raise self._expected(key, "a string or null", value)
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        """A JSON boolean; with a ``default``, a missing or null key reads as the default."""
        value = self._get(key, required=default is None)
        if default is not None and (value is _MISSING or value is None):
            return default
        if not isinstance(value, bool):
            raise self._expected(key, "true or false", value)
        return value

    def timestamp(self, key: str) -> datetime:
        value = self._get(key, required=True)
        if not _is_int(value):
            raise self._expected(key, "a Unix timestamp (integer seconds)", value)
        return from_unix(value)

    def opt_timestamp(self, key: str) -> datetime | None:
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if not _is_int(value):
            raise self._expected(key, "a Unix timestamp (integer seconds) or null", value)
        return from_unix(value)

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
        return Fields(self._entity, value, prefix=f"{self.prefix}{key}.", label=self.label)

    def item(self, key: str, index: int, value: object) -> Fields:
        """Element ``index`` of the array at ``key`` (``custom_fields_values[2].field_id``)."""
        return Fields(self._entity, value, prefix=f"{self.prefix}{key}[{index}].", label=self.label)
