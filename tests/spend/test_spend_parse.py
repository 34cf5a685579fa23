"""Spend files: the shapes ad platforms export, and one line per problem for a bad one."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from cohort_service.spend.parse import parse_day, parse_decimal, read_spend_file


def _write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def test_semicolon_decimal_comma_russian_dates_and_bom(tmp_path: Path) -> None:
    """The Yandex-style export: BOM, ';', DD.MM.YYYY, '1 234,50' with a thin space."""
    f = _write(
        tmp_path / "yandex.csv",
        "Date;Source;Campaign;Cost;Impressions;Clicks;Currency\r\n"
        "01.12.2026;Яндекс.Директ;Бренд;1 234,50;10 000;120;rub\r\n"
        "02.12.2026;Яндекс.Директ;;99,9;;;RUB\r\n",
        bom=True,
    )
    parsed = read_spend_file(f)
    assert parsed.ok, parsed.problems
    first, second = parsed.rows
    assert (first.day, first.source, first.campaign, first.cost) == (
        date(2026, 12, 1),
        "Яндекс.Директ",
        "Бренд",
        Decimal("1234.50"),
    )
    assert (first.impressions, first.clicks, first.currency) == (10000, 120, "RUB")
    assert (second.campaign, second.cost, second.impressions) == ("", Decimal("99.9"), None)


def test_tab_and_comma_separators(tmp_path: Path) -> None:
    tab = _write(tmp_path / "a.tsv", "source\tdate\tcost\ngoogle\t2026-12-01\t10.5\n")
    comma = _write(tmp_path / "b.csv", 'date,source,cost\n2026-12-01,vk,"1,234.50"\n')
    assert [r.cost for r in read_spend_file(tab).rows] == [Decimal("10.5")]
    assert [(r.source, r.cost) for r in read_spend_file(comma).rows] == [("vk", Decimal("1234.50"))]


def test_xlsx_with_date_cells_and_numbers(tmp_path: Path) -> None:
    """A spreadsheet: real date cells, numeric costs, a numeric campaign id; line = the sheet row."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["date", "source", "campaign", "cost", "clicks"])
    sheet.append([datetime(2026, 12, 1), "google", 12345, 100.25, 7])  # noqa: DTZ001 - Excel has no zones
    sheet.append([None, None, None, None, None])
    sheet.append(["02.12.2026", "google", "", 50, None])
    path = tmp_path / "google.xlsx"
    book.save(path)
    parsed = read_spend_file(path)
    assert parsed.ok, parsed.problems
    assert [(r.line, r.day, r.campaign, r.cost, r.clicks) for r in parsed.rows] == [
        (2, date(2026, 12, 1), "12345", Decimal("100.25"), 7),
        (4, date(2026, 12, 2), "", Decimal(50), None),
    ]


def test_bad_xlsx_cells_name_their_row(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["date", "source", "cost"])
    sheet.append([datetime(2026, 12, 1, 13, 30), "google", "дорого"])  # noqa: DTZ001
    path = tmp_path / "bad.xlsx"
    book.save(path)
    assert read_spend_file(path, name="bad.xlsx").problems == (
        "bad.xlsx:2: date: must be a day, not a moment with a time",
        "bad.xlsx:2: cost: not a number: 'дорого'",
    )


def test_every_problem_of_a_file_is_listed_and_no_rows_are_kept(tmp_path: Path) -> None:
    f = _write(
        tmp_path / "bad.csv",
        "date;source;cost;clicks;currency\n"
        "2026-12-01;yandex;100;;RUB\n"
        "31.02.2026;yandex;100;;\n"  # no such day
        "2026-12-03;;abc;1.5;\n"
        "2026-12-04;vk;-5;;USD\n"
        "2026-12-05;vk;\n",
    )
    parsed = read_spend_file(f, name="bad.csv")
    assert parsed.rows == ()
    assert parsed.problems == (
        "bad.csv:3: date: not a date (use YYYY-MM-DD or DD.MM.YYYY)",
        "bad.csv:4: cost: not a number: 'abc'",
        "bad.csv:4: source: empty",
        "bad.csv:4: clicks: must be a whole number",
        "bad.csv:5: cost: must not be negative",
        "bad.csv:5: currency: USD differs from RUB on line 2 (one currency per account)",
        "bad.csv:6: cost: empty",
    )


def test_missing_column_names_what_the_header_has(tmp_path: Path) -> None:
    f = _write(tmp_path / "m.csv", "Дата;Источник;cost\n2026-12-01;x;1\n")
    assert read_spend_file(f, name="m.csv").problems == (
        "m.csv:1: date: missing column (the header row has: Дата, Источник, cost)",
        "m.csv:1: source: missing column (the header row has: Дата, Источник, cost)",
    )


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cp1251.csv"
    path.write_bytes("date;source;cost\n2026-12-01;Директ;1\n".encode("cp1251"))
    assert read_spend_file(path, name="cp1251.csv").problems == (
        "cp1251.csv:2: file: not UTF-8 text (save the export as UTF-8 CSV or as .xlsx)",
    )


def test_rows_of_one_key_are_added_up(tmp_path: Path) -> None:
    f = _write(tmp_path / "g.csv", "date,source,cost,clicks\n2026-12-01,vk,10,1\n2026-12-01,vk,2.5,\n")
    parsed = read_spend_file(f)
    assert parsed.merged == 1
    assert [(r.cost, r.clicks) for r in parsed.rows] == [(Decimal("12.5"), 1)]


@pytest.mark.parametrize(
    ("text", "value"),
    [("1 234,56", "1234.56"), ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("0,5", "0.5"), ("7", "7")],
)
def test_decimal_forms(text: str, value: str) -> None:
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["1,234,567", "12 ₽", "", "1e3", "--1", "nan"])
def test_not_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_decimal(text)


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_decimal_comma_round_trip(value: Decimal) -> None:
    """Whatever cents the platform wrote with a decimal comma come back exactly."""
    assert parse_decimal(f"{value:f}".replace(".", ",")) == value


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-07 00:00:00", date(2026, 12, 7)),
        ("2026-12-07T00:00", date(2026, 12, 7)),
        ("07.12.2026 00:00", date(2026, 12, 7)),
    ],
)
def test_a_day_written_with_a_midnight_time(text: str, day: date) -> None:
    assert parse_day(text) == day


@pytest.mark.parametrize("text", ["2026-12-07 13:30", "07.12.2026 09:00:00", "2026-02-30", "7/12/2026"])
def test_not_a_day(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a date|not a moment"):
        parse_day(text)
