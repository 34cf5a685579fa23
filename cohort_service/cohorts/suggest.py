""" "Did you mean …": the account's real names closest to a name the config got wrong.

A typo in a status name ("Квалификацыя"), a different word order ("КП отправлено" for "Отправлено
КП") or another case should be answered with the name to write, not only with the whole list.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's ratio: below this the "suggestion" is noise


def _key(text: str) -> str:
    """Compare ignoring case, spacing and word order."""
    return " ".join(sorted(text.casefold().split()))


def closest(wrong: str, names: Iterable[str], *, limit: int = 3) -> list[str]:
    """Up to ``limit`` names like ``wrong``, best first; exact matches ignoring word order first."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(_key(name), name)
    want = _key(wrong)
    if want in by_key:
        return [by_key[want]]
    hits = difflib.get_close_matches(want, list(by_key), n=limit, cutoff=CUTOFF)
    return [by_key[h] for h in hits]


def did_you_mean(wrong: str, names: Iterable[str]) -> str:
    """``"; did you mean 'A' or 'B'?"`` — or empty when nothing is close."""
    hits = closest(wrong, names)
    if not hits:
        return ""
    return "; did you mean " + " or ".join(repr(h) for h in hits) + "?"
