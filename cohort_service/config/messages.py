"""pydantic's validation errors as one ``<file>: <key path>: <what to do>`` line per key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError


def _loc_to_path(loc: Sequence[int | str]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("function-after", "function-before") or "[" in item:
            continue  # pydantic's internal validator frames
        else:
            parts.append(("." if parts else "") + ("from" if item == "sender" else item))
    return "".join(parts) or "(top level)"


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown key",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "model_attributes_type": "must be a table",
}


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_CTX_MESSAGES: dict[str, tuple[str, str]] = {
    "too_short": ("must not be empty", ""),
    "string_too_short": ("must not be empty", ""),
    "too_long": ("is too long (at most {})", "max_length"),
    "string_too_long": ("is too long (at most {})", "max_length"),
    "greater_than": ("must be greater than {}", "gt"),
    "greater_than_equal": ("must be at least {}", "ge"),
    "less_than_equal": ("must be at most {}", "le"),
    "literal_error": ("must be one of {}", "expected"),
    "timedelta_type": ("must be a duration like 30s, 15m, 1h, 2d or 1w", ""),
    "timedelta_parsing": ("must be a duration like 30s, 15m, 1h, 2d or 1w", ""),
    "path_type": ("must be a path", ""),
}


def _message(err: Mapping[str, Any]) -> str:
    """pydantic's wording, rewritten as the short imperative a config author acts on."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in _CTX_MESSAGES:
        template, key = _CTX_MESSAGES[kind]
        return template.format(_num(ctx.get(key))) if key else template
    return str(err["msg"])


_UNION_MEMBERS = ("str", "int", "constrained-str", "constrained-int")


def problem_lines(exc: ValidationError, source: str) -> list[str]:
    lines: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        # A union (str | int) reports one error per member; the first one is enough.
        loc = tuple(item for item in err["loc"] if item not in _UNION_MEMBERS)
        path = _loc_to_path(loc)
        lines.setdefault(path, f"{source}: {path}: {_message(err)}")
    return list(lines.values())
