"""The headline table as the Monday reader sees it, in plain text and HTML."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from cohort_service.delivery.anomalies import Flag
from cohort_service.delivery.headline import Headline, HeadlineRow, render_html, render_text
from tests.delivery.helpers import headline

EXPECTED_TEXT = """\
Lead cohorts as of 20.10.2024 23:59 (Europe/Moscow)

cohort                      leads  target %  qualified %  paid %  lead→paid %  Δ vs prev  ≤7d %  ≤14d %
--------------------------  -----  --------  -----------  ------  -----------  ---------  -----  ------
07.10–13.10.2024              558       42%          53%     18%        4.12%          –   1.0%       –
14.10–20.10.2024 (partial)    500       40%         30%▼     17%        2.00%       -51%      –       –

Δ vs prev: Relative change of lead→paid % against the cohort a week earlier (4.12% vs 3.38% → +22%). \
Shown only once the week is mature (both weeks' results are final); blank before, when there is no \
earlier cohort, or when it had 0%. Young weeks: Δ at Nd.

Flagged:
  ▼ 14.10–20.10.2024: qualified 30 % vs target 50 % ± 10 pp; 236 at the base

Data synced from amoCRM at 21.10.2024 06:58 (Europe/Moscow).

Data quality:
  ! 3 leads have no stage history

The full workbook with the pivot is attached: cohorts-2024-10-20.xlsx
"""


def test_plain_text_table() -> None:
    """236/558 = 42%, 126/236 = 53%, 23/126 = 18%, 23/558 = 4.12%; Δ = 2.00/4.12 − 1 = −51%."""
    assert render_text(headline(), "cohorts-2024-10-20.xlsx") == EXPECTED_TEXT


def test_html_colours_flags_and_escapes() -> None:
    base = headline()
    row = dataclasses.replace(base.rows[0], label="<b>week</b>")
    flags = {
        (date(2024, 10, 7), "paid"): Flag("high", "above the usual 5%–9% (4 earlier cohorts at this age)")
    }
    html = render_html(dataclasses.replace(base, rows=(row,), flags=flags), "a&b.xlsx")
    assert "&lt;b&gt;week&lt;/b&gt;" in html
    assert "<b>week</b>" not in html
    assert 'color:#1b5e20;background:#e8f5e9;font-weight:bold" title="above the usual 5%–9%' in html
    assert "18% ▲</td>" in html
    assert "a&amp;b.xlsx" in html
    assert "Data quality" in html


def test_no_sync_yet_and_no_rows() -> None:
    empty = Headline(
        milestones=("paid",),
        ages=(),
        rows=(),
        as_of=datetime(2024, 1, 7, 23, 0, tzinfo=UTC),
        timezone="UTC",
        last_sync=None,
    )
    text = render_text(empty)
    assert "(no cohorts in this report)" in text
    assert "no successful sync from amoCRM yet" in text
    assert "Flagged" not in text
    assert "no cohorts in this report" in render_html(empty)


def test_blank_cells_are_dashes_not_zero() -> None:
    """A week with leads but no value yet (nobody reached a, no earlier week) shows dashes."""
    row = HeadlineRow(date(2024, 1, 1), "01.01–07.01.2024", 12, (0.0, None), 0.0, None, (None,))
    line = render_text(
        dataclasses.replace(headline(), milestones=("a", "b"), ages=(7,), rows=(row,), flags={})
    )
    table_line = next(line for line in line.splitlines() if line.startswith("01.01"))
    assert table_line.split() == ["01.01–07.01.2024", "12", "0%", "–", "0.00%", "–", "–"]


def test_a_week_without_leads_says_so_in_words() -> None:
    """0 leads: the count, then one sentence instead of a row of dashes; the columns of the other
    rows keep their alignment, and the HTML spans the sentence over the remaining columns."""
    empty = HeadlineRow(date(2024, 1, 1), "01.01–07.01.2024", 0, (None, None), None, None, (None,))
    full = HeadlineRow(date(2024, 1, 8), "08.01–14.01.2024", 40, (0.5, 0.25), 0.125, None, (0.1,))
    young = dataclasses.replace(empty, week_start=date(2024, 1, 15), label="15.01–21.01.2024", partial=True)
    base = dataclasses.replace(
        headline(), milestones=("a", "b"), ages=(7,), rows=(empty, full, young), flags={}
    )
    lines = render_text(base).splitlines()
    header = next(line for line in lines if line.startswith("cohort"))
    assert len(base.cells(empty)) == len(base.header())  # other readers (the terminal) get every column
    label_width = len("15.01–21.01.2024 (partial)")  # the widest label; "leads" is 5 wide
    assert next(line for line in lines if line.startswith("01.01")) == (
        f"{'01.01–07.01.2024':<{label_width}}      0  no leads created this week"
    )
    assert next(line for line in lines if line.startswith("15.01")) == (
        "15.01–21.01.2024 (partial)      0  no leads created yet this week"
    )
    row = next(line for line in lines if line.startswith("08.01"))
    assert row.split() == ["08.01–14.01.2024", "40", "50%", "25%", "12.50%", "–", "10.0%"]
    assert len(row) == len(header)  # the right-aligned columns end where the header ends
    page = render_html(base)
    assert '<td colspan="5" style="' in page
    assert ">no leads created this week</td>" in page
    assert ">no leads created yet this week</td>" in page
    assert "<td" not in page.split("no leads created this week")[1].split("</tr>")[0]


def test_where_to_dig_comes_first_under_the_table() -> None:
    lines = ("manager <Анна>, proposal: 21% vs 42% expected — costs 32.5 deals", "source vk, qualified: …")
    with_list = dataclasses.replace(headline(), attention=lines, money=("spend 1 000",))
    text = render_text(with_list)
    block = text[text.index("Where to dig:") : text.index("Money:")]
    assert block.splitlines() == ["Where to dig:", f"  {lines[0]}", f"  {lines[1]}", ""]
    html = render_html(with_list)
    assert html.index("Where to dig") < html.index("Money")
    assert "<li>manager &lt;Анна&gt;, proposal: 21% vs 42% expected — costs 32.5 deals</li>" in html
    assert "Where to dig" not in render_text(headline())


def test_summary_opens_and_forecast_check_closes() -> None:
    summary = (
        "Last complete week 07.10–13.10.2024: 558 leads, 23 reached paid (4.1 %); weeks at the same age "
        "(14 days, 8 weeks) reached 2.0 %–3.5 %.",
        "Young weeks (6, not yet 62 days old): paid expected 140 when mature (80 %: 120–160; 90 so far).",
        "1 significant flag — 14.10–20.10.2024: qualified 30 % vs target 50 % ± 10 pp; 236 at the base.",
    )
    check = (
        "Forecast check: forecasts at 4 weeks were off by 11 % on the last 12 mature cohorts; "
        "the as-of reading by 33 %."
    )
    base = dataclasses.replace(headline(), summary=summary, forecast_check=check)
    text = render_text(base)
    assert text.startswith(f"{base.title()}\n\n{summary[0]}\n{summary[1]}\n{summary[2]}\n\ncohort ")
    assert f"{check}\nData synced from amoCRM" in text
    html = render_html(base)
    assert html.index(summary[2].replace(" %", "&nbsp;%")) < html.index("<table")  # "%" kept with its number
    assert html.index("<table") < html.index("Forecast check: forecasts at 4 weeks")


def test_html_scrolls_on_a_phone_and_has_a_dark_mode() -> None:
    """The table sits in a sideways-scrolling box (a 400 px viewport keeps every column reachable) and
    a dark scheme overrides the light inline colours where the client honours it."""
    from lxml import html as lxml_html

    page = render_html(headline(), "a.xlsx")
    tree = lxml_html.fromstring(page)
    (table,) = tree.iter("table")
    assert "overflow-x:auto" in table.getparent().get("style", "")
    assert tree.find(".//meta[@name='color-scheme']").get("content") == "light dark"
    style = tree.find(".//style").text_content()
    assert "@media (prefers-color-scheme: dark)" in style
    assert "color: #e6e6e6 !important" in style


def test_delta_vs_prev_is_explained_in_both_bodies() -> None:
    base = headline()
    legend = f"Δ vs prev: Relative change of lead→{base.final_name} % against the cohort a week earlier"
    assert legend in render_text(base)
    assert legend in render_html(base)
    assert "Shown only once the week is mature" in render_text(base)


def test_numbers_do_not_break_inside_on_a_phone() -> None:
    """In the HTML's sentences a number keeps its thousands separators and its "%" on one line."""
    money = ("spend 2 020 546, CPL 1 184; 1 2 3 of 12 %",)
    page = render_html(dataclasses.replace(headline(), money=money))
    assert "<li>spend 2&nbsp;020&nbsp;546, CPL 1&nbsp;184; 1&nbsp;2&nbsp;3 of 12&nbsp;%</li>" in page
    assert render_text(dataclasses.replace(headline(), money=money)).count("2 020 546") == 1  # text as is
