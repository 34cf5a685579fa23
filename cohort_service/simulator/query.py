"""Reading amoCRM's PHP-style query strings: ``filter[id][]=1``, ``filter[id][0]=1``, ``a,b`` lists.

Clients in the wild use every one of these spellings for the same thing, so each accessor accepts
all of them. Malformed numbers are a 400 with the documented validation body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cohort_service.simulator import problems

Params = list[tuple[str, str]]
_INDEXED = re.compile(r"^(?P<key>.+?)\[(?P<index>\d*)\]$")


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def values(params: Params, key: str) -> list[str]:
    """Every value given for ``key`` as ``key=a,b``, ``key[]=a`` or ``key[3]=a``."""
    out: list[str] = []
    for name, value in params:
        match = _INDEXED.match(name)
        if name == key or (match is not None and match.group("key") == key):
            out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def first(params: Params, key: str) -> str | None:
    return next((v for k, v in params if k == key), None)


def as_int(text: str, path: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise problems.validation(path, "InvalidType", "This value should be of type int.") from None


def ints(params: Params, key: str) -> list[int]:
    return [as_int(v, key) for v in values(params, key)]


def with_set(params: Params) -> set[str]:
    return set(values(params, "with"))


def time_range(params: Params, key: str) -> tuple[int | None, int | None] | None:
    """``key[from]``/``key[to]`` (inclusive); a bare ``key=ts`` means "from ts on"."""
    start = first(params, f"{key}[from]")
    stop = first(params, f"{key}[to]")
    single = first(params, key)
    if start is None and stop is None and single is None:
        return None
    if start is None and stop is None and single is not None:
        return as_int(single, key), None
    return (
        as_int(start, f"{key}[from]") if start is not None else None,
        as_int(stop, f"{key}[to]") if stop is not None else None,
    )


def order(params: Params, allowed: tuple[str, ...]) -> tuple[str, bool] | None:
    """``order[field]=asc|desc`` → (field, descending); unknown fields are ignored."""
    for name, value in params:
        match = re.fullmatch(r"order\[(\w+)\]", name)
        if match and match.group(1) in allowed:
            return match.group(1), value.strip().lower() == "desc"
    return None


def page(params: Params, *, default_limit: int, maximum: int, over_limit: str = "422") -> Page:
    """Page and limit; a limit above ``maximum`` is refused (422 or 400, as the endpoint does)."""
    number = max(as_int(first(params, "page") or "1", "page"), 1)
    limit = as_int(first(params, "limit") or str(default_limit), "limit")
    if limit > maximum:
        if over_limit == "422":
            raise problems.limit_exceeded(maximum)
        raise problems.validation(
            "limit", "InvalidValue", f"This value should be less than or equal to {maximum}."
        )
    return Page(number, limit if limit > 0 else default_limit)
