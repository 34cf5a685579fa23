"""The headline on a terminal: 100 columns for the demo's Russian funnel, no number cut."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

from rich.console import Console

from cohort_service.cli_headline import choose_layout, print_headline, table_text, week_label
from cohort_service.delivery.anomalies import Flag
from cohort_service.delivery.headline import Headline, HeadlineRow

# The demo's funnel as the simulator names it (seed 1), and rows as its output had them.
NAMES = ("Первичный контакт", "Переговоры", "Отправлено КП", "Продажа")
WEEKS = [date(2026, 10, 26) + timedelta(weeks=k) for k in range(6)]
ROWS = (
    (102, (0.69, 0.69, 0.67, 0.47), 0.1471, None, (0.029, 0.069, 0.137)),
    (1102, (0.69, 0.53, 0.76, 0.64), 0.1765, 0.2, (0.088, 0.137, None)),
    (97, (0.62, 0.55, 0.88, 0.55), 0.1649, -0.07, (0.072, 0.103, None)),
    (108, (0.71, 0.47, 0.81, 0.45), 0.1204, None, (0.046, None, None)),
    (120, (0.68, 0.56, 0.63, 0.24), 0.0583, None, (None, None, None)),
    (94, (0.65, 0.46, 0.54, 0.13), 0.0213, None, (None, None, None)),
)


def demo_headline() -> Headline:
    rows = tuple(
        HeadlineRow(week, f"{week:%d.%m}–x", leads, steps, final, delta, ages, partial=week == WEEKS[-1])
        for week, (leads, steps, final, delta, ages) in zip(WEEKS, ROWS, strict=True)
    )
    flags = {(WEEKS[4], "Переговоры"): Flag("low", "56 % vs 70 % usual at 13 days")}
    return Headline(
        milestones=NAMES,
        ages=(7, 14, 30),
        rows=rows,
        as_of=datetime(2026, 12, 6, 4, 22, tzinfo=UTC),
        timezone="Europe/Moscow",
        last_sync=datetime(2026, 12, 6, 4, 21, tzinfo=UTC),
        flags=flags,
        summary=("Last complete week 23.11–29.11.2026: 120 leads, 7 reached Продажа (5.8 %); " * 3,),
        money=("yandex: spend 49 662, 37 leads, CPL 1 342, CAC 24 831",),
        attention=(
            "source vk, Переговоры: 15% vs 66% expected (66 leads at the base) — costs 9.6 deals " * 2,
        ),
    )


def rendered(headline: Headline, width: int = 100) -> list[str]:
    buffer = io.StringIO()
    print_headline(Console(file=buffer, width=width, color_system=None), headline)
    return buffer.getvalue().splitlines()


def test_the_demo_headline_fits_100_columns_and_keeps_every_cell() -> None:
    lines = rendered(demo_headline())
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "…" not in text  # rich never cropped anything
    table = [line for line in lines if re.match(r"\d\d\.\d\d–\d\d\.\d\d\*? ", line)]
    assert len(table) == 6
    # every number of the second row, in order, on one line
    assert table[1].split() == ["02.11–08.11", "1", "102", "69%", "53%", "76%", "64%", "17.65%", "+20%",
                                "8.8%", "13.7%", "–"]  # fmt: skip
    assert table[4].split()[3] == "56%▼"  # the flag's arrow survives without colour
    assert table[5].startswith("30.11–06.12*")
    assert "* the current week, still filling up (partial)." in lines
    # every word of every header is there, over the header lines
    last = next(i for i, line in enumerate(lines) if line.startswith("week"))
    header = " ".join(lines[last - 2 : last + 1])
    for word in ("Первичный", "контакт", "Переговоры", "Отправлено", "КП", "lead→", "Продажа", "≤30d"):
        assert word in header
    # the long paragraphs are wrapped, not cut: their last words are on screen
    words = " ".join(text.split())
    assert words.count("— costs 9.6 deals") == 2
    assert words.count("Last complete week 23.11–29.11.2026: 120 leads, 7 reached Продажа (5.8 %);") == 3


def test_the_layout_gives_up_the_equal_age_columns_before_cutting_a_number() -> None:
    headline = demo_headline()
    assert choose_layout(headline, 100).gap == 2
    assert choose_layout(headline, 100).dropped == 0
    narrow = choose_layout(headline, 80)
    assert narrow.dropped == 3
    assert narrow.total <= 80
    lines = rendered(headline, 80)
    assert max(len(line) for line in lines) <= 80
    assert "(≤7d %, ≤14d %, ≤30d %) do not fit the screen: see the Cohorts sheet" in " ".join(
        " ".join(lines).split()
    )
    assert [str(t) for t in table_text(headline, 80)][-1].split()[:2] == ["30.11–06.12*", "94"]


def test_week_label_is_the_monday_to_sunday_span() -> None:
    row = demo_headline().rows[-1]
    assert week_label(row) == "30.11–06.12*"
