"""The one e-mail address check (config email.from/email.to and send --to)."""

from __future__ import annotations

import pytest

from cohort_service.delivery.addresses import address_problem, bad_addresses


@pytest.mark.parametrize(
    "good",
    [
        "head@example.com",
        "Head.Of-Sales+weekly@sub.example.co.uk",
        "a@b",  # an intranet host without a dot: syntax only, no DNS
        "Cohort reports <reports@example.com>",
        "Отчёты по когортам <reports@example.com>",  # any script in a display name
        '"Sales, head" <head@example.com>',
        "<head@example.com>",
        "user@пример.рф",  # an internationalised domain (sent as punycode)
    ],
)
def test_good_addresses(good: str) -> None:
    assert address_problem(good) is None


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "nobody",
        "a@",
        "@@ @",
        "@example.com",
        "a b@example.com",
        "x@b..c",
        "a@b, c@d",  # two addresses in one entry
        "Sales, head <head@example.com>",  # would read as two addresses in the To header
        "Name <a@>",
        "x <a@b.c> y",
        "ю@example.com",  # a non-ASCII local part needs SMTPUTF8, which not every server has
        "head@example.com\r\nBcc: spy@evil.test",
        "head@example.com\nBcc: spy@evil.test",
        "head@example.com\x00",
        "head@example.com\u2028",
    ],
)
def test_bad_addresses(bad: str) -> None:
    assert address_problem(bad) is not None


def test_the_message_names_every_bad_one_on_one_line() -> None:
    assert bad_addresses(["ok@example.com", "a@", "x\r\ny@z.c", ""]) == (
        "not an e-mail address: a@, 'x\\r\\ny@z.c', ''"
    )
    assert bad_addresses(["ok@example.com", "Reports <r@example.com>"]) is None
