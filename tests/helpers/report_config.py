"""The ``[report]`` part of a config file, written from Python values.

Tests that run the CLI each need a config naming milestones and dimensions; writing the TOML once
here keeps the quoting (names with quotes, ``%``, ``::``, Cyrillic) in one place and lets each test
say only what differs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

Statuses = Sequence[str | int]


def _value(value: object) -> str:
    """A TOML value: JSON's strings, integers and arrays of them are valid TOML as written."""
    return json.dumps(value, ensure_ascii=False)


def report_toml(
    milestones: Sequence[tuple[str, Statuses]],
    dimensions: Sequence[tuple[str, str]] = (),
    *,
    timezone: str | None = None,
    weeks: int | None = None,
    age_days: Sequence[int] | None = None,
) -> str:
    """``[report]`` with its settings, then one ``[[report.milestones]]`` / ``[[report.dimensions]]``
    table each; the header is left out when no setting is given (the tables alone are valid)."""
    settings = {
        "timezone": timezone,
        "weeks": weeks,
        "age_days": None if age_days is None else list(age_days),
    }
    lines = [f"{key} = {_value(value)}" for key, value in settings.items() if value is not None]
    parts = ["\n".join(["[report]", *lines])] if lines else []
    parts += [
        f"[[report.milestones]]\nname = {_value(name)}\nstatuses = {_value(list(statuses))}"
        for name, statuses in milestones
    ]
    parts += [
        f"[[report.dimensions]]\nname = {_value(name)}\nfield = {_value(field)}" for name, field in dimensions
    ]
    return "\n" + "\n\n".join(parts) + "\n"
