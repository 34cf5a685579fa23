"""E-mail addresses checked once, the same way for ``email.from``, ``email.to`` and ``send --to``.

Parsed with ``email-validator`` (syntax only: no DNS lookup, so an intranet domain without a dot
works): ``a@`` or ``@@ @`` are refused instead of failing later inside the SMTP conversation or
being recorded as sent to ``<>``. A line break or any other control character is refused first,
so no value can add a header to the message. An optional display name (``Отчёты <r@x.ru>``, any
script: the message encodes it) is kept as written, but one that would read as a second address
(an unquoted ``,`` ``;`` ``@`` …) is refused; the local part must be ASCII (not every server
speaks SMTPUTF8), the domain may be internationalised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email

from cohort_service.config.names import check_chars

_NAMED = re.compile(r"\s*(.*?)\s*<([^<>]*)>\s*")  # Display Name <addr-spec>
_NAME_SPECIALS = re.compile(r'[,;:@<>()\[\]\\"]')


def address_problem(text: str) -> str | None:
    """Why ``text`` is not one usable address, or None when it is."""
    try:
        check_chars(text)
    except ValueError as exc:
        return str(exc)
    named = _NAMED.fullmatch(text)
    if named is not None:
        name, text = named.group(1), named.group(2)
        quoted = len(name) >= 2 and name[0] == name[-1] == '"' and '"' not in name[1:-1]
        if not quoted and _NAME_SPECIALS.search(name):
            return "a display name with , ; : @ < > ( ) [ ] \\ or quotes must be in double quotes"
    try:
        validate_email(text, check_deliverability=False, globally_deliverable=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def shown(text: str) -> str:
    """The value as an error message may print it: on one line, whatever it holds."""
    return text if text.isprintable() and text.strip() else repr(text)


def bad_addresses(addresses: Iterable[str]) -> str | None:
    """``not an e-mail address: …`` naming every bad one, or None when all are good."""
    bad = [shown(addr) for addr in addresses if address_problem(addr) is not None]
    return f"not an e-mail address: {', '.join(bad)}" if bad else None
