"""Query strings exactly as amoCRM documents them, brackets left literal.

``order[updated_at]=desc``, ``filter[updated_at][from]=…``, ``filter[type][]=…``: amoCRM (PHP)
decodes either form, but the literal one reads like the docs in logs and in the simulator.
Arguments are checked here, before any request is spent on them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

Param = tuple[str, str | int]

LEADS_MAX_LIMIT = 250
EVENTS_MAX_LIMIT = 100  # the RU docs say 100; Kommo's 250 is not safe everywhere
CUSTOM_FIELDS_LIMIT = 50  # "up to 50 fields per request", whatever limit is asked for
LEAD_ORDER_FIELDS = ("created_at", "updated_at", "id")


def _unix(moment: datetime, *, round_up: bool) -> int:
    """Unix seconds for a filter bound; rounding outward so no second at an edge is lost."""
    if moment.tzinfo is None:
        raise ValueError("filter bounds must be timezone-aware datetimes")
    seconds = moment.timestamp()
    return math.ceil(seconds) if round_up else math.floor(seconds)


def build_path(path: str, params: Sequence[Param]) -> str:
    """``/api/v4/leads?filter[updated_at][from]=…``: brackets kept literal, as amoCRM documents."""
    if not params:
        return path
    query = "&".join(f"{key}={quote(str(value), safe=',')}" for key, value in params)
    return f"{path}?{query}"


def _range(name: str, start: datetime | None, end: datetime | None) -> list[Param]:
    params: list[Param] = []
    if start is not None:
        params.append((f"filter[{name}][from]", _unix(start, round_up=False)))
    if end is not None:
        params.append((f"filter[{name}][to]", _unix(end, round_up=True)))
    return params


def leads_query(
    page: int,
    *,
    limit: int = LEADS_MAX_LIMIT,
    order: tuple[str, str] | None = None,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    ids: Sequence[int] | None = None,
    only_deleted: bool = False,
) -> str:
    if not 1 <= limit <= LEADS_MAX_LIMIT:
        raise ValueError(f"limit must be 1..{LEADS_MAX_LIMIT}")
    params: list[Param] = []
    if only_deleted:
        params.append(("with", "only_deleted"))
    params += [("page", page), ("limit", limit)]
    if order is not None:
        field, direction = order
        if field not in LEAD_ORDER_FIELDS or direction not in ("asc", "desc"):
            raise ValueError(f"order must be ({'|'.join(LEAD_ORDER_FIELDS)}, asc|desc), got {order}")
        params.append((f"order[{field}]", direction))
    params += _range("updated_at", updated_from, updated_to)
    params += [("filter[id][]", lead_id) for lead_id in ids or ()]
    return build_path("/api/v4/leads", params)


def events_query(
    page: int,
    *,
    types: Sequence[str],
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    entity: str = "lead",
    limit: int = EVENTS_MAX_LIMIT,
) -> str:
    if not 1 <= limit <= EVENTS_MAX_LIMIT:
        raise ValueError(f"limit must be 1..{EVENTS_MAX_LIMIT}")
    if not types:
        raise ValueError("at least one event type is required")
    params: list[Param] = [("page", page), ("limit", limit)]
    params += [("filter[type][]", event_type) for event_type in types]
    params.append(("filter[entity][]", entity))
    params += _range("created_at", created_from, created_to)
    return build_path("/api/v4/events", params)
