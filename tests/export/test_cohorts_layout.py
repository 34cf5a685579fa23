"""The Cohorts sheet's reading order and the width arithmetic behind readable headers, without a
workbook: which columns the sheet shows, which it leaves off as duplicates, and how wide a header is."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort_service.export.csv import rounded
from cohort_service.export.measure import (
    header_width,
    pixels,
    print_pages,
    text_width,
    word_width,
    wrapped_lines,
)
from cohort_service.schema.cohorts import cohort_header, cohort_kinds
from cohort_service.schema.cohorts_sheet import duplicates, sections, sheet_columns
from cohort_service.schema.kinds import kind_of

RU = ["Первичный контакт", "Переговоры", "Отправлено КП", "Продажа"]


def test_the_sheet_shows_every_column_once_in_reading_order() -> None:
    every = cohort_header(RU, [7, 14])
    placed = sheet_columns(every, RU, [7, 14])
    names = [c.name for c in placed]
    assert len(set(names)) == len(names)
    assert set(every) - set(names) == {"Первичный контакт % of leads", "Продажа % of leads"}
    assert names[:4] == ["cohort", "cohort_week", "partial", "leads"]
    assert names[4:17] == [
        "Первичный контакт", "Первичный контакт %",
        "Переговоры", "Переговоры %", "Переговоры % of leads",
        "Отправлено КП", "Отправлено КП %", "Отправлено КП % of leads",
        "Продажа", "Продажа %", "lead→Продажа %", "Δ vs prev", "≤7d %",
    ]  # fmt: skip
    detail = [c.name for c in placed if c.detail]
    assert detail[:4] == ["cohort_week", "partial", "Δ at 7d", "Δ at 14d"]
    assert names.index("Δ at 7d") == names.index("≤7d %") + 1  # next to what it qualifies
    assert names.index("Продажа forecast high") == names.index("Продажа forecast") + 2
    starts = [(c.name, c.section) for c in placed if c.section is not None]
    assert starts == [("mature", "forecast"), ("spend", "money"), ("won", "outcome")]
    blocks = sections(placed)
    assert blocks[: names.index("mature")] == ["conversion"] * names.index("mature")
    assert blocks[names.index("CPL")] == "money"
    assert blocks[-1] == "outcome"
    assert names[-1] == "top loss reasons"


def test_columns_of_a_step_that_did_not_run_are_not_placed() -> None:
    counts = cohort_header(RU, [7], step="counts")
    names = [c.name for c in sheet_columns(counts, RU, [7])]
    assert "mature" not in names
    assert "spend" not in names
    assert names[-5:] == ["won", "lost", "open", "median days to final", "top loss reasons"]


def test_one_milestone_keeps_only_lead_to_final() -> None:
    assert duplicates(["Оплата"]) == {"Оплата % of leads": "lead→Оплата %", "Оплата %": "lead→Оплата %"}
    names = [c.name for c in sheet_columns(cohort_header(["Оплата"], []), ["Оплата"], [])]
    assert names[3:6] == ["leads", "Оплата", "lead→Оплата %"]


def test_a_column_with_no_place_on_the_sheet_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no place on the sheet.*'new column'"):
        sheet_columns([*cohort_header(RU, []), "new column"], RU, [])


def test_widths_hold_the_longest_word() -> None:
    # Hand numbers: П is a capital (1.25), ы wide (1.5), the other 7 letters 1.05; bold ×1.1.
    assert word_width("Первичный контакт") == pytest.approx((1.25 + 1.5 + 7 * 1.05) * 1.1)
    assert word_width("Первичный контакт %") == word_width("Первичный")
    assert header_width("leads", 9.0) == 9.0  # the kind's width when the header is short
    assert header_width("Отправлено КП % of leads", 9.0) >= word_width("Отправлено") + 1.5
    assert wrapped_lines("Отправлено КП % of leads", header_width("Отправлено КП % of leads", 9.0)) <= 3


@given(st.lists(st.text(alphabet="абвгдежзийклмнопрстуфхцчшщыэюяАБВШ%→ ", min_size=1), min_size=1))
def test_a_header_never_breaks_a_word_and_never_exceeds_three_lines_when_it_can(words: list[str]) -> None:
    text = " ".join(words)
    width = header_width(text, 9.0, most=400.0)
    assert width >= word_width(text) + 1.5
    assert wrapped_lines(text, width) <= 3
    assert text_width(text, bold=True) >= word_width(text)


def test_print_pages_by_section() -> None:
    # Column A (20) repeats; sections of 3 columns at 10 units (75 px each) start at 1, 4 and 7.
    widths = [20.0, *([10.0] * 9)]
    assert pixels(20.0) == 145
    assert pixels(10.0) == 75
    assert pixels(0.0) == 0
    breaks, scale = print_pages(widths, [4, 7], page=450)
    # widest section 225 px + 145 for A = 370: fits at 100 %; room 305 px holds one section a page
    assert (breaks, scale) == ([4, 7], 100)
    breaks, scale = print_pages(widths, [4, 7], page=800)
    assert (breaks, scale) == ([7], 100)  # two sections (450 px) fit beside A on an 800 px page
    breaks, scale = print_pages(widths, [4, 7], page=185)
    assert scale == 185 * 100 // 370
    assert breaks == [4, 7]
    hidden = [20.0, 10.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    assert print_pages(hidden, [4, 7], page=450) == ([7], 100)  # collapsed columns take no room


def test_money_per_unit_shows_to_the_ruble_and_keeps_its_digits_in_csv() -> None:
    """CPL, cost per <m>, CAC: `#,##0` on the sheets like money, but a ratio, so cohorts.csv keeps
    10 significant digits (spend ÷ leads reproduces it) where a sum of money keeps kopecks."""
    kinds = cohort_kinds(RU, [7])
    assert {kinds[n] for n in ("CPL", "cost per Переговоры", "CAC", "CAC forecast")} == {"cost"}
    assert (kinds["spend"], kinds["ROMI"]) == ("money", "delta")
    assert kind_of("cost").excel_format == kind_of("money").excel_format == "#,##0"
    values = pd.Series([69195.2 / 64, 69195.2 / 14, float("nan")])
    assert rounded(values, "cost").tolist()[:2] == [1081.175, 4942.514286]
    assert rounded(values, "money").tolist()[:2] == [1081.18, 4942.51]
    assert math.isnan(rounded(values, "cost").tolist()[2])
