"""What to read from amoCRM: list queries exactly as amoCRM documents them, brackets left literal.

``order[updated_at]=desc``, ``filter[updated_at][from]=…``, ``filter[type][]=…``: amoCRM (PHP)
decodes either form, but the literal one reads like the docs in logs and in the simulator.
Arguments are checked here, before any request is spent on them. A ``ListQuery`` names one list
(path, filters, page size, how items parse); reading it is the paginator's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from urllib.parse import quote

from cohort_service.amocrm.schemas import (
    CustomField,
    DeletedLead,
    Event,
    Lead,
    LossReason,
    Pipeline,
    User,
    parse_custom_field,
    parse_deleted_lead,
    parse_event,
    parse_lead,
    parse_loss_reason,
    parse_pipeline,
    parse_user,
)

T = TypeVar("T")
Param = tuple[str, str | int]

LEADS_MAX_LIMIT = 250
EVENTS_MAX_LIMIT = 100  # the RU docs say 100; Kommo's 250 is not safe everywhere
USERS_MAX_LIMIT = 250
CUSTOM_FIELDS_LIMIT = 50  # "up to 50 fields per request", whatever limit is asked for
LEAD_ORDER_FIELDS = ("created_at", "updated_at", "id")


@dataclass(frozen=True)
class ListQuery(Generic[T]):
    """One amoCRM list: ``params`` hold ``("page", n)`` when the list pages by number.

    ``follow_links``: each next page is exactly the ``_links.next`` amoCRM gave (read one after
    another); otherwise pages are addressed by number, so the prefetcher may ask for several at once.
    """

    path: str
    params: tuple[Param, ...]
    embedded: str
    parse: Callable[[object, str], T]
    limit: int | None = None
    follow_links: bool = False

    def url(self, page: int) -> str:
        """The path and query of page ``page`` (the first page when the list has no page number)."""
        return build_path(self.path, [(k, page if k == "page" else v) for k, v in self.params])


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


def _check_limit(limit: int, most: int) -> None:
    if not 1 <= limit <= most:
        raise ValueError(f"limit must be 1..{most}")


def leads_list(
    *,
    limit: int = LEADS_MAX_LIMIT,
    order: tuple[str, str] | None = None,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    ids: Sequence[int] | None = None,
) -> ListQuery[Lead]:
    """``GET /api/v4/leads``: the live leads (the list never shows the trash)."""
    _check_limit(limit, LEADS_MAX_LIMIT)
    params: list[Param] = [("page", 1), ("limit", limit)]
    if order is not None:
        field, direction = order
        if field not in LEAD_ORDER_FIELDS or direction not in ("asc", "desc"):
            raise ValueError(f"order must be ({'|'.join(LEAD_ORDER_FIELDS)}, asc|desc), got {order}")
        params.append((f"order[{field}]", direction))
    params += _range("updated_at", updated_from, updated_to)
    params += [("filter[id][]", lead_id) for lead_id in ids or ()]
    return ListQuery("/api/v4/leads", tuple(params), "leads", parse_lead, limit)


def trash_list(*, limit: int = LEADS_MAX_LIMIT) -> ListQuery[DeletedLead]:
    """``with=only_deleted``: the leads in amoCRM's trash (a reduced model)."""
    _check_limit(limit, LEADS_MAX_LIMIT)
    params: tuple[Param, ...] = (("with", "only_deleted"), ("page", 1), ("limit", limit))
    return ListQuery("/api/v4/leads", params, "leads", parse_deleted_lead, limit)


def events_list(
    *,
    types: Sequence[str],
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    entity: str = "lead",
    limit: int = EVENTS_MAX_LIMIT,
) -> ListQuery[Event]:
    """``GET /api/v4/events`` (order undocumented: window by time, upsert by id)."""
    _check_limit(limit, EVENTS_MAX_LIMIT)
    if not types:
        raise ValueError("at least one event type is required")
    params: list[Param] = [("page", 1), ("limit", limit)]
    params += [("filter[type][]", event_type) for event_type in types]
    params.append(("filter[entity][]", entity))
    params += _range("created_at", created_from, created_to)
    return ListQuery("/api/v4/events", tuple(params), "events", parse_event, limit)


def users_list() -> ListQuery[User]:
    """All users (needs an administrator's token: 403 otherwise)."""
    params: tuple[Param, ...] = (("page", 1), ("limit", USERS_MAX_LIMIT))
    return ListQuery("/api/v4/users", params, "users", parse_user, USERS_MAX_LIMIT, follow_links=True)


def pipelines_list() -> ListQuery[Pipeline]:
    """Not paginated (at most 50 pipelines), but a ``next`` link would still be followed."""
    return ListQuery("/api/v4/leads/pipelines", (), "pipelines", parse_pipeline, follow_links=True)


def custom_fields_list() -> ListQuery[CustomField]:
    params: tuple[Param, ...] = (("page", 1), ("limit", CUSTOM_FIELDS_LIMIT))
    return ListQuery(
        "/api/v4/leads/custom_fields",
        params,
        "custom_fields",
        parse_custom_field,
        CUSTOM_FIELDS_LIMIT,
        follow_links=True,
    )


def loss_reasons_list() -> ListQuery[LossReason]:
    params: tuple[Param, ...] = (("page", 1), ("limit", 250))
    return ListQuery(
        "/api/v4/leads/loss_reasons", params, "loss_reasons", parse_loss_reason, 250, follow_links=True
    )
