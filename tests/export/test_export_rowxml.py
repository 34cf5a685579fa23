"""Cell serialisers of the fast engine: Excel serial dates, numbers, escaping."""

from __future__ import annotations

import datetime as dt

import pytest

from cohort_service.export.rowxml import date_cell, excel_serial, number_cell, text_cell


def naive(*parts: int) -> dt.datetime:
    return dt.datetime(*parts)  # noqa: DTZ001 - Excel has no time zones: naive local time by design


def test_excel_serial_dates() -> None:
    assert excel_serial(dt.date(1900, 3, 1)) == 61
    assert excel_serial(dt.date(2024, 1, 1)) == 45292
    assert excel_serial(naive(2024, 1, 1, 18)) == "45292.75"
    assert excel_serial(naive(2024, 1, 1, 0, 0, 1)) == f"{45292 + 1 / 86400:.16G}"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (dt.date(1900, 2, 28), "before 1900-03-01"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "no time zones"),
    ],
)
def test_excel_serial_refuses(value: dt.date, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        excel_serial(value)


def test_number_cells() -> None:
    cell = number_cell("C", ' s="2"')
    assert cell(7, 1) == '<c r="C7" s="2"><v>1</v></c>'
    assert cell(7, True) == '<c r="C7" s="2"><v>1</v></c>'
    assert cell(7, 0.1) == '<c r="C7" s="2"><v>0.1</v></c>'
    assert cell(7, 1e20) == '<c r="C7" s="2"><v>1E+20</v></c>'
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(ValueError, match="NaN or infinity"):
            cell(7, bad)
    with pytest.raises(ValueError, match="Unknown format code"):
        cell(7, "12")


def test_date_cell_keeps_the_style() -> None:
    assert date_cell("B", ' s="1"')(2, dt.date(2024, 1, 8)) == '<c r="B2" s="1"><v>45299</v></c>'


@pytest.mark.parametrize(
    ("value", "xml"),
    [
        ("Иванов", "<t>Иванов</t>"),
        ("a & <b>", "<t>a &amp; &lt;b&gt;</t>"),
        (' "q" ', '<t xml:space="preserve"> "q" </t>'),
        ("bell\x07\r", "<t>bell_x0007__x000D_</t>"),
        ("_x0041_", "<t>_x005F_x0041_</t>"),
        ("tab\tline\nend", "<t>tab\tline\nend</t>"),
    ],
)
def test_text_cells_escape_like_xlsxwriter(value: str, xml: str) -> None:
    assert text_cell("D", "")(3, value) == f'<c r="D3" t="inlineStr"><is>{xml}</is></c>'


def test_long_text_is_cut_at_excels_limit() -> None:
    cell = text_cell("A", "")(1, "я" * 40_000)
    assert cell.count("я") == 32_767
