"""Rules for the names a user gives milestones and dimensions, which become column and file names.

A name travels far: a Postgres column of the BI view (``lead_facts_named``), an Excel table header
and pivot caption, a CSV header and, for a dimension, a file name (``by_<name>.csv``). So the config
is refused, naming the key, only where a name truly cannot work everywhere:

* Postgres cuts identifiers at 63 bytes of UTF-8 (a Cyrillic letter takes 2) without an error, so
  ``<milestone> at`` and the dimension name must fit, or two columns silently become one.
* Control and bidirectional-override characters: invisible in Excel, they make two names that
  look equal differ (or one name look like another).
* Two of the user's own names that give the same column when compared ignoring case (Excel
  compares table headers and pivot captions so), or the same ``by_<name>.csv`` file.

Anything else works: quotes, ``:word``, ``%`` and the like are made inert by quoting in SQL.
Clashes with the fixed columns are the report's business, not the config's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence

from cohort_service.cohorts import columns as col

PG_IDENTIFIER_BYTES = 63
# Bidirectional embeddings, overrides and isolates: they reorder how a name is displayed.
_BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def _bad_char(value: str) -> str | None:
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") or ord(ch) in _BIDI:
            return f"U+{ord(ch):04X}"
    return None


def check_chars(value: str) -> str:
    """Raise ValueError on a control, line-separator or bidi-override character."""
    found = _bad_char(value)
    if found:
        raise ValueError(f"must not contain control characters (found {found})")
    return value


def _check_bytes(column: str, what: str) -> None:
    size = len(column.encode("utf-8"))
    if size > PG_IDENTIFIER_BYTES:
        raise ValueError(
            f"is too long: {what} takes {size} bytes of UTF-8 and a Postgres column name at most"
            f" {PG_IDENTIFIER_BYTES} (a Cyrillic letter takes 2)"
        )


def check_milestone_name(value: str) -> str:
    """The name and its ``<name> at`` column must both fit a Postgres identifier."""
    check_chars(value)
    column = col.reached_at(value)
    _check_bytes(column, f"its column {column!r}")
    return value


def check_dimension_name(value: str) -> str:
    check_chars(value)
    _check_bytes(value, "it")
    return value


def file_slug(name: str) -> str:
    """The part of ``by_<slug>.csv`` a dimension name gives (letters of any script survive)."""
    return re.sub(r"[^\w]+", "_", name, flags=re.UNICODE).strip("_").lower() or "dimension"


def milestone_columns(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The Leads and the Cohorts columns a milestone's name makes (schema/ declares where they sit;
    tests/config/test_name_columns.py keeps the two in step without importing it here)."""
    leads = (name, col.reached_at(name))
    cohorts = (name, col.step_pct(name), col.of_leads_pct(name), col.forecast(name), col.forecast_low(name),
               col.forecast_high(name), col.cost_per(name))  # fmt: skip
    return leads, cohorts


def final_columns(name: str) -> tuple[str, ...]:
    """The Cohorts columns named after the final milestone only."""
    return col.lead_to_final(name), col.share_forecast(name)


def _tables(milestones: Sequence[str], dimensions: Sequence[str]) -> Iterator[list[tuple[str, str, str]]]:
    """Per table holding user names: (key, name, column it makes) in column order."""
    ms = [(f"report.milestones[{i}].name", name) for i, name in enumerate(milestones)]
    ds = [(f"report.dimensions[{i}].name", name) for i, name in enumerate(dimensions)]
    # Leads (milestones first only so that a clash is reported on the dimension, as written below them)
    yield [(k, n, c) for k, n in ms for c in milestone_columns(n)[0]] + [(k, n, n) for k, n in ds]
    cohorts = [(k, n, c) for k, n in ms for c in milestone_columns(n)[1]]
    yield cohorts + [(k, n, c) for k, n in ms[-1:] for c in final_columns(n)]  # Cohorts


def name_clashes(milestones: Sequence[str], dimensions: Sequence[str]) -> list[str]:
    """One ``report.<key>[i].name: …`` line per name that clashes with an earlier one of the user's.

    Within one table (Leads, Cohorts) two names clash when they make columns equal ignoring case;
    two dimensions clash when they would be written to the same ``by_<name>.csv``.
    """
    found: dict[str, str] = {}
    for table in _tables(milestones, dimensions):
        owners: dict[str, tuple[str, str, str]] = {}
        for key, name, column in table:
            other = owners.setdefault(column.casefold(), (key, name, column))
            if other[0] != key and key not in found:
                found[key] = _clash(name, column, other)
    files: dict[str, tuple[str, str]] = {}
    for i, name in enumerate(dimensions):
        key, slug = f"report.dimensions[{i}].name", file_slug(name)
        first_key, first = files.setdefault(slug, (key, name))
        if first_key != key and key not in found:
            found[key] = f"{name!r} and {first_key} ({first!r}) would both be written to by_{slug}.csv"
    order = [f"report.milestones[{i}].name" for i in range(len(milestones))]
    order += [f"report.dimensions[{i}].name" for i in range(len(dimensions))]
    return [f"{key}: {found[key]}" for key in order if key in found]


def _clash(name: str, column: str, other: tuple[str, str, str]) -> str:
    other_key, other_name, other_column = other
    if name == other_name:
        return f"repeats {other_key}; names must be unique"
    if column == other_column:
        return f"{name!r} and {other_key} ({other_name!r}) both make the column {column!r}"
    return (
        f"{name!r} clashes with {other_key} ({other_name!r}): the columns {column!r} and {other_column!r}"
        " differ only in case, and Excel compares column names ignoring case"
    )
