"""How the CSV files are spelled for the spreadsheet that will open them (``[report] csv_dialect``).

Excel splits a double-clicked ``.csv`` by the *list separator* of the reader's Windows region and
reads numbers with its *decimal separator*. In Russia (and most of Europe) those are ``;`` and ``,``,
so a comma-separated file lands in column A and ``0.42`` becomes text or a date. Hence two dialects:

* ``excel-ru``: ``;`` between fields, a decimal comma; for people opening the file in Excel.
* ``plain``: ``,`` and a decimal point, the RFC 4180 file programs expect.

Both keep UTF-8 with BOM, ISO dates and the same rounding (:mod:`cohort_service.schema.kinds`), so
the two parse back to the same values. ``auto`` (the default) picks ``excel-ru`` when the report's
time zone is a Russian one or the process's locale is Russian, else ``plain``: the server's locale
is usually ``C``, and the account's zone is the best evidence of where its readers sit.

The Russian zones are read from the tz database itself (``zone1970.tab`` of the ``tzdata``
package, a dependency): every zone whose countries include ``RU``, and any key that is a link to
one (``W-SU`` is ``Europe/Moscow``: same TZif bytes). So a zone the tz database adds is known on
the next ``tzdata`` release, with no list here to forget.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Literal, get_args

DialectName = Literal["excel-ru", "plain"]
DialectChoice = Literal["auto", "excel-ru", "plain"]
DIALECT_CHOICES: tuple[str, ...] = get_args(DialectChoice)
COUNTRY = "RU"
LANGUAGE = "ru"
LOCALE_VARIABLES = ("LC_ALL", "LC_NUMERIC", "LANG")  # POSIX precedence for how numbers are written


@dataclass(frozen=True, slots=True)
class CsvDialect:
    name: DialectName
    separator: str
    decimal: str


DIALECTS: dict[DialectName, CsvDialect] = {
    "excel-ru": CsvDialect("excel-ru", ";", ","),
    "plain": CsvDialect("plain", ",", "."),
}


@dataclass(frozen=True, slots=True)
class DialectDecision:
    """The dialect and why, in words for the CLI's output."""

    dialect: CsvDialect
    reason: str

    def line(self) -> str:
        d = self.dialect
        point = "decimal comma" if d.decimal == "," else "decimal point"
        return f"CSV dialect {d.name} ('{d.separator}' between fields, {point}): {self.reason}"


def _zoneinfo() -> resources.abc.Traversable:
    return resources.files("tzdata").joinpath("zoneinfo")


def _tzif(key: str) -> bytes | None:
    """The zone's compiled data as ``tzdata`` ships it (a link is a copy of its target)."""
    path = _zoneinfo()
    for part in key.split("/"):
        if part in ("", ".", ".."):
            return None
        path = path.joinpath(part)
    try:
        return path.read_bytes()
    except OSError:
        return None


@functools.cache
def country_zones(country: str) -> frozenset[str]:
    """The canonical zones ``zone1970.tab`` lists for ``country`` (an ISO 3166 code)."""
    text = _zoneinfo().joinpath("zone1970.tab").read_text(encoding="utf-8")
    zones = set()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3 and country in fields[0].split(","):
            zones.add(fields[2])
    return frozenset(zones)


@functools.cache
def _country_tzifs(country: str) -> frozenset[bytes]:
    return frozenset(data for zone in country_zones(country) if (data := _tzif(zone)) is not None)


def is_russian_zone(key: str) -> bool:
    """``key`` is a Russian zone or a link to one (``Europe/Moscow``, ``W-SU``, ``Asia/Yekaterinburg``)."""
    if key in country_zones(COUNTRY):
        return True
    data = _tzif(key)
    return data is not None and data in _country_tzifs(COUNTRY)


def russian_locale(environ: Mapping[str, str]) -> str | None:
    """The locale that decides how numbers are written, when it is Russian (``ru_RU.UTF-8``)."""
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:
            language = value.split(".")[0].split("@")[0].split("_")[0]
            return value if language.lower() == LANGUAGE else None
    return None


def choose_dialect(
    choice: DialectChoice, timezone: str, environ: Mapping[str, str], source: str = "report.csv_dialect"
) -> DialectDecision:
    """The dialect for ``choice`` (set by ``source``); ``auto`` decides by the report's time zone,
    then the locale."""
    if choice != "auto":
        return DialectDecision(DIALECTS[choice], f"set by {source}")
    change = f"; {source} = plain or excel-ru to choose"
    if is_russian_zone(timezone):
        return DialectDecision(DIALECTS["excel-ru"], f"the report time zone {timezone} is Russian{change}")
    if (locale := russian_locale(environ)) is not None:
        return DialectDecision(DIALECTS["excel-ru"], f"the locale {locale} is Russian{change}")
    return DialectDecision(
        DIALECTS["plain"], f"neither the time zone {timezone} nor the locale is Russian{change}"
    )
