"""Expanding declared columns into a table's column instances, in table order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import groupby
from typing import TypeVar

Entry = TypeVar("Entry")
Slot = TypeVar("Slot")
Key = TypeVar("Key")


def expand(
    entries: Sequence[Entry], per: Callable[[Entry], Key], slots: Callable[[Key], Sequence[Slot]]
) -> Iterator[tuple[Entry, Slot]]:
    """Consecutive entries with the same ``per`` repeat together for each of its slots, so a table
    reads ``<m>``, ``<m> at`` for the first milestone, then for the next, and so on."""
    for key, group in groupby(entries, key=per):
        members = list(group)
        for slot in slots(key):
            for entry in members:
                yield entry, slot
