"""A small hand-built account for the workbook tests, with the numbers worked out by hand.

Europe/Moscow, report as of 2022-09-26 (end of day), 3 weeks: 12.09, 19.09 and the partial 26.09.
Milestones target → qualified → proposal → paid (tests/cohorts/rows.py); dimensions source, product.

    week 12.09: lead 1 (Анна, Яндекс, Курс) target 12.09, qualified 13.09, proposal 14.09, won 15.09, 1000
                lead 2 (Борис, Google) target 14.09, lost 16.09 (Дорого)
                lead 3 (Анна) no history
    week 19.09: lead 4 (Борис, Яндекс, Подписка) qualified 21.09 (target imputed), won 23.09, 2500
                lead 5 (Анна) target 22.09; proposal 28.09 is after the as-of moment
    week 26.09: lead 6 (Борис) target 26.09 12:00                      ← partial week
    after A:    lead 7 created 27.09 (not in the report)

Expected (leads, target, qualified, proposal, paid) per week: 12.09 (3, 2, 1, 1, 1),
19.09 (2, 2, 1, 1, 1), 26.09 (1, 1, 0, 0, 0); lead→paid 1/3, 1/2, 0; Δ blank, +50%, −100%;
≤7d % 1/3, blank (too young), blank.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from tests.cohorts.rows import PRODUCTS, Account

AS_OF = date(2022, 9, 26)
WEEKS = [date(2022, 9, 12), date(2022, 9, 19), date(2022, 9, 26)]
MILESTONES = ("target", "qualified", "proposal", "paid")
EXPECTED = {  # week → leads, then reached per milestone
    WEEKS[0]: [3, 2, 1, 1, 1],
    WEEKS[1]: [2, 2, 1, 1, 1],
    WEEKS[2]: [1, 1, 0, 0, 0],
}
DIMENSIONS = [{"name": "source", "field": "UTM_SOURCE"}, {"name": "product", "field": "Продукт"}]
KURS, PODPISKA = (9001, 9002)
assert PRODUCTS[KURS] == "Курс"


def fill(acct: Account) -> None:
    full = [
        ("2022-09-12 12:00", "Целевой"),
        ("2022-09-13 12:00", "Квалификация"),
        ("2022-09-14 12:00", "КП отправлено"),
        ("2022-09-15 12:00", "won"),
    ]
    acct.lead(1, "2022-09-12 10:00", full, price=1000, user=7, source="Яндекс", products=[KURS])
    acct.lead(
        2, "2022-09-13 11:00", [("2022-09-14 09:00", "Целевой"), ("2022-09-16 09:00", "lost")],
        user=8, loss_reason=31, source="Google", price=500,
    )  # fmt: skip
    acct.lead(3, "2022-09-14 15:30", user=7)
    acct.lead(
        4, "2022-09-20 10:00", [("2022-09-21 10:00", "Квалификация"), ("2022-09-23 18:45", "won")],
        price=2500, user=8, source="Яндекс", products=[PODPISKA],
    )  # fmt: skip
    acct.lead(5, "2022-09-21 08:00", [("2022-09-22 08:00", "Целевой"), ("2022-09-28 08:00", "КП отправлено")])
    acct.lead(6, "2022-09-26 10:00", [("2022-09-26 12:00", "Целевой")], user=8)
    acct.lead(7, "2022-09-27 10:00", [("2022-09-27 11:00", "Целевой")])
    acct.sync_run("2022-09-26 06:00")
    # Authors: a user, a robot (0), an id nobody synced, and none.
    conn = acct.conn
    conn.execute(text("UPDATE lead_status_changes SET created_by = 7 WHERE lead_id = 1"))
    conn.execute(text("UPDATE lead_status_changes SET created_by = 0 WHERE lead_id = 2"))
    conn.execute(text("UPDATE lead_status_changes SET created_by = 999 WHERE lead_id = 4"))


# The Transitions rows expected for the leads of the report (lead, local time, from, to, author).
SALES = "Воронка"
TRANSITIONS = [
    (1, "2022-09-12 12:00", SALES, "Новая", SALES, "Целевой", "Анна"),
    (1, "2022-09-13 12:00", SALES, "Целевой", SALES, "Квалификация", "Анна"),
    (1, "2022-09-14 12:00", SALES, "Квалификация", SALES, "КП отправлено", "Анна"),
    (1, "2022-09-15 12:00", SALES, "КП отправлено", SALES, "Успешно реализовано", "Анна"),
    (2, "2022-09-14 09:00", SALES, "Новая", SALES, "Целевой", "(system)"),
    (2, "2022-09-16 09:00", SALES, "Целевой", SALES, "Закрыто и не реализовано", "(system)"),
    (4, "2022-09-21 10:00", SALES, "Новая", SALES, "Квалификация", "(user 999)"),
    (4, "2022-09-23 18:45", SALES, "Квалификация", SALES, "Успешно реализовано", "(user 999)"),
    (5, "2022-09-22 08:00", SALES, "Новая", SALES, "Целевой", None),
    (6, "2022-09-26 12:00", SALES, "Новая", SALES, "Целевой", None),
]
