"""The two CSV dialects: written by kind, read back by Python's csv module and pandas, and the
default chosen from the report's time zone (the tz database's own country table) or the locale."""

from __future__ import annotations

import csv
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort_service.export.csv import ENCODING, write_frame
from cohort_service.export.csv_dialect import DIALECTS, choose_dialect, country_zones, is_russian_zone
from cohort_service.schema.kinds import Kind

KINDS: list[Kind] = ["count", "pct", "delta", "estimate", "amount", "money", "days", "number", "text"]
NAMES = ["leads", "share %", "Δ", "forecast", "price", "revenue", "days", "CPL", "manager"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _expected(value: float, kind: Kind) -> float:
    """What the file must hold for ``value`` (docs/metrics.md): Excel's view of it (15 significant
    digits) rounded half away from zero, to the kind's decimals or to 10 significant digits."""
    decimals = {"pct": 4, "delta": 4, "estimate": 2, "amount": 2, "money": 2, "days": 2}
    shown = Decimal(f"{value:.15g}")
    if kind in decimals:
        return float(shown.quantize(Decimal(f"1e-{decimals[kind]}"), rounding=ROUND_HALF_UP))
    if value == 0:
        return 0.0
    return float(shown.quantize(Decimal(f"1e{shown.adjusted() - 9}"), rounding=ROUND_HALF_UP))


def _read_plain(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _read_ru(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def _number(cell: str, decimal: str) -> float:
    return math.nan if cell == "" else float(cell.replace(decimal, "."))


def _shown_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
texts = st.text(
    alphabet=st.sampled_from(list("ab;,\"'=+-@\t\r\n .1Жё")) | st.characters(codec="utf-8"), max_size=12
)
rows = st.lists(
    st.tuples(st.integers(-(10**12), 10**12), *([finite | st.just(math.nan)] * 7), texts),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows)
def test_both_dialects_read_back_to_the_same_rounded_values(
    data: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    """For any numbers and text: plain and excel-ru parse back (csv module and pandas) to the same
    values, each rounded by its kind; text survives whole, a formula start neutralised."""
    frame = pd.DataFrame(data, columns=NAMES)
    plain, ru = tmp_path / "plain.csv", tmp_path / "ru.csv"
    write_frame(frame, plain, KINDS, DIALECTS["plain"])
    write_frame(frame, ru, KINDS, DIALECTS["excel-ru"])
    assert plain.read_bytes().startswith(b"\xef\xbb\xbf")
    assert ru.read_bytes().startswith(b"\xef\xbb\xbf")
    by_csv = {"plain": _read_plain(plain), "excel-ru": _read_ru(ru)}
    for name, table in by_csv.items():
        decimal = DIALECTS[name].decimal  # type: ignore[index]
        assert table[0] == NAMES
        assert len(table) == len(data) + 1
        for row, source in zip(table[1:], data, strict=True):
            assert len(row) == len(NAMES)
            assert row[0] == str(source[0])  # whole numbers exactly, no ".0"
            for cell, value, kind in zip(row[1:8], source[1:8], KINDS[1:8], strict=True):
                got = _number(cell, decimal)
                if math.isnan(value):
                    assert cell == ""
                else:
                    assert got == _expected(value, kind), (name, kind, cell, value)
                    assert "e" not in cell.lower() or abs(got) < 1e-4, cell  # no exponent in 1e-4..1e9
            assert row[8] == _shown_text(source[8]), name
    numeric: dict[str, Any] = dict.fromkeys(NAMES[1:8], "float64")
    pandas_plain = pd.read_csv(plain, encoding=ENCODING, dtype={**numeric, "manager": str})
    pandas_ru = pd.read_csv(ru, encoding=ENCODING, sep=";", decimal=",", dtype={**numeric, "manager": str})
    pd.testing.assert_frame_equal(pandas_plain, pandas_ru, check_exact=True)
    numbers = pandas_plain[NAMES[1:8]]
    for i, kind in enumerate(KINDS[1:8]):
        want = [_expected(v, kind) for v in frame.iloc[:, i + 1]]
        assert numbers.iloc[:, i].tolist() == pytest.approx(want, nan_ok=True, rel=0, abs=0)


def test_a_semicolon_quote_newline_and_formula_survive_in_excel_ru(tmp_path: Path) -> None:
    """Hand-picked text: ';' inside a name is quoted, a doubled quote, a line break, '=cmd'."""
    frame = pd.DataFrame(
        {"manager": ["Иванов; Петров", 'ООО "Ромашка"', "две\nстроки", "=cmd|' /C calc'!A0", "-2+3"],
         "share %": [0.42293906, 0.1, 0.0, 1.0, -0.00001]}
    )  # fmt: skip
    path = write_frame(frame, tmp_path / "t.csv", ["text", "pct"], DIALECTS["excel-ru"])
    text = path.read_bytes().decode("utf-8-sig")
    assert text.startswith('manager;share %\r\n"Иванов; Петров";0,4229\r\n"ООО ""Ромашка""";0,1\r\n')
    assert _read_ru(path)[1:] == [
        ["Иванов; Петров", "0,4229"],
        ['ООО "Ромашка"', "0,1"],
        ["две\nстроки", "0,0"],
        ["'=cmd|' /C calc'!A0", "1,0"],
        ["'-2+3", "0,0"],  # a share that rounds to zero is 0, never "-0"
    ]


def test_halves_round_as_excel_shows_them(tmp_path: Path) -> None:
    """0.975 with two decimals is 0.98 in Excel (and 0.97 by Python's round): the file says 0.98."""
    frame = pd.DataFrame({"days": [0.975, 0.125, -0.125, 2.675, 1.0049999999999999], "share": [0.42295] * 5})
    path = write_frame(frame, tmp_path / "h.csv", ["days", "pct"], DIALECTS["plain"])
    assert [row[0] for row in _read_plain(path)[1:]] == ["0.98", "0.13", "-0.13", "2.68", "1.01"]
    assert {row[1] for row in _read_plain(path)[1:]} == {"0.423"}  # 0.42295 → 0.4230


def test_integral_kinds_stay_exact_and_blank_stays_blank(tmp_path: Path) -> None:
    """A count column with a blank (float64 in pandas) is still written as whole numbers."""
    frame = pd.DataFrame({"lead_id": [31_000_123_456, 7], "won": [1.0, math.nan], "flag": [True, False]})
    path = write_frame(frame, tmp_path / "ids.csv", ["int", "count", "flag"], DIALECTS["excel-ru"])
    assert _read_ru(path) == [["lead_id", "won", "flag"], ["31000123456", "1", "1"], ["7", "", "0"]]


def test_dates_are_iso_in_both_dialects(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"cohort_week": pd.to_datetime(["2022-09-19", "NaT"]),
         "created_at": pd.to_datetime(["2022-09-19 10:05:07", "2022-09-20 00:00:00"])}
    )  # fmt: skip
    for dialect in DIALECTS.values():
        path = write_frame(frame, tmp_path / f"{dialect.name}.csv", ["iso_date", "iso_datetime"], dialect)
        sep = dialect.separator
        assert path.read_bytes().decode("utf-8-sig").split("\r\n") == [
            f"cohort_week{sep}created_at",
            f"2022-09-19{sep}2022-09-19 10:05:07",
            f"{sep}2022-09-20 00:00:00",
            "",  # the file ends with a line break
        ]


@pytest.mark.parametrize(
    ("zone", "environ", "dialect"),
    [
        ("Europe/Moscow", {}, "excel-ru"),
        ("Asia/Yekaterinburg", {"LANG": "en_US.UTF-8"}, "excel-ru"),
        ("Europe/Kaliningrad", {}, "excel-ru"),
        ("Asia/Anadyr", {}, "excel-ru"),
        ("W-SU", {}, "excel-ru"),  # a link to Europe/Moscow (same TZif data)
        ("Europe/Simferopol", {}, "excel-ru"),  # zone1970.tab: RU,UA
        ("Europe/Berlin", {}, "plain"),
        ("Europe/Minsk", {}, "plain"),  # Belarus: not a Russian zone (set the key)
        ("Asia/Almaty", {}, "plain"),
        ("UTC", {"LANG": "C.UTF-8"}, "plain"),
        ("Europe/Berlin", {"LANG": "ru_RU.UTF-8"}, "excel-ru"),
        ("UTC", {"LC_NUMERIC": "ru_UA.UTF-8", "LANG": "en_US.UTF-8"}, "excel-ru"),
        ("UTC", {"LC_ALL": "C", "LANG": "ru_RU.UTF-8"}, "plain"),  # LC_ALL wins
        ("America/New_York", {"LANG": "rus"}, "plain"),  # not a POSIX ru locale name
    ],
)
def test_auto_default_by_zone_then_locale(zone: str, environ: dict[str, str], dialect: str) -> None:
    assert choose_dialect("auto", zone, environ).dialect.name == dialect


def test_configured_dialect_wins_over_the_zone() -> None:
    decision = choose_dialect("plain", "Europe/Moscow", {"LANG": "ru_RU.UTF-8"})
    assert decision.dialect.name == "plain"
    assert "plain (',' between fields, decimal point)" in decision.line()


def test_russian_zones_come_from_the_tz_database() -> None:
    """zone1970.tab's RU zones, every one a Russian zone; neighbours are not."""
    zones = country_zones("RU")
    assert {
        "Europe/Moscow",
        "Europe/Kaliningrad",
        "Asia/Yekaterinburg",
        "Asia/Vladivostok",
        "Asia/Kamchatka",
    } <= zones
    assert len(zones) >= 25
    assert all(is_russian_zone(zone) for zone in zones)
    assert not any(
        is_russian_zone(z) for z in ("Europe/Kyiv", "Europe/Helsinki", "Asia/Tbilisi", "Etc/GMT-3")
    )
    assert not is_russian_zone("../../etc/passwd")
    assert not is_russian_zone("Nowhere/Zone")
