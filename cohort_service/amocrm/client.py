"""The amoCRM API v4 client the sync uses: typed objects in, amoCRM's wire format stays here.

One factory, ``build_client``, used by the CLI, the scheduler, benchmarks and tests. The client
is safe to share between threads: its own state is immutable, and the parts that change (the
rate limiter, the counters, the OAuth pair) lock internally; httpx's pooled client is thread-safe.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import httpx
from sqlalchemy import Engine

from cohort_service import __version__
from cohort_service.amocrm.auth import AmoAuth, LongLivedTokenAuth, OAuthAuth, client_timeout
from cohort_service.amocrm.describe import describe_response, fatal_error
from cohort_service.amocrm.fields import shown
from cohort_service.amocrm.pagination import LinksNextPaginator, Page, next_href, page_number
from cohort_service.amocrm.queries import (
    CUSTOM_FIELDS_LIMIT,
    EVENTS_MAX_LIMIT,
    LEADS_MAX_LIMIT,
    build_path,
    events_query,
    leads_query,
)
from cohort_service.amocrm.ratelimit import RateLimiter, limiter_for
from cohort_service.amocrm.schemas import (
    Account,
    CustomField,
    DeletedLead,
    Event,
    Lead,
    LossReason,
    Pipeline,
    User,
    parse_account,
    parse_custom_field,
    parse_deleted_lead,
    parse_event,
    parse_lead,
    parse_loss_reason,
    parse_pipeline,
    parse_user,
)
from cohort_service.amocrm.stats import RequestStats
from cohort_service.amocrm.tokens import TokenStore
from cohort_service.amocrm.transport import build_transport
from cohort_service.config import Settings
from cohort_service.errors import AmoPayloadError, ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")
Parser = Callable[[object, str], T]


class AmoClient:
    """Typed reads from one amoCRM account (see ``build_client``)."""

    def __init__(
        self, http: httpx.Client, *, auth: AmoAuth, stats: RequestStats, limiter: RateLimiter
    ) -> None:
        self._http = http
        self._auth = auth
        self.stats = stats
        self.limiter = limiter
        # amoCRM's clock at the last account() call (its Date header): the sync's signpost, so a
        # local clock that runs ahead or behind never opens a gap between two windows.
        self.server_time: datetime | None = None

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AmoClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _get(self, url: str) -> httpx.Response:
        response = self._http.get(url)
        if response.status_code == 401:
            raise self._auth.rejected(response)
        if not 200 <= response.status_code < 300:
            raise fatal_error(response)
        return response

    def _body(self, response: httpx.Response) -> Mapping[str, Any] | None:
        """The JSON object of a 2xx answer; None for 204 (the transport already checked JSON)."""
        if response.status_code == 204 or not response.content:
            return None
        body = response.json()
        if not isinstance(body, Mapping):
            raise AmoPayloadError(f"{describe_response(response)}: expected a JSON object, got {shown(body)}")
        return body

    def _items(self, body: Mapping[str, Any], key: str, parse: Parser[T], where: str) -> list[T]:
        embedded = body.get("_embedded")
        raw = embedded.get(key) if isinstance(embedded, Mapping) else None
        if not isinstance(raw, list):
            raise AmoPayloadError(f"{where}: _embedded.{key}: expected a list, got {shown(raw)}")
        return [parse(item, f"{where}, item {i}") for i, item in enumerate(raw)]

    def _page(self, url: str, key: str, parse: Parser[T]) -> tuple[Page[T], httpx.Response, Any]:
        response = self._get(url)
        body = self._body(response)
        requested = page_number(url)
        if body is None:
            return Page([], requested, None, is_empty=True), response, body
        where = f"{key} page {requested}"
        number = body.get("_page", requested)
        if isinstance(number, bool) or not isinstance(number, int):
            raise AmoPayloadError(f"{where}: _page: expected an integer, got {shown(number)}")
        page = Page(self._items(body, key, parse, where), number, next_href(body, where))
        return page, response, body

    def _follow(self, href: str) -> str:
        """A ``next`` link on our own origin as is; on any other host only its path and query.

        The token must never go to a host we were not configured for, and proxies or the
        simulator may write links with a different host name.
        """
        url, base = httpx.URL(href), self._http.base_url
        if (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port):
            return href
        return url.raw_path.decode("ascii")

    def _pages(self, first: str, key: str, parse: Parser[T]) -> Iterator[Page[T]]:
        paginator = LinksNextPaginator(key)
        url = first
        while True:
            page, response, body = self._page(url, key, parse)
            paginator.advance(response, body)
            if not page.is_empty:
                yield page
            if paginator.finished or paginator.next_url is None:
                return
            url = self._follow(paginator.next_url)

    def _all(self, first: str, key: str, parse: Parser[T]) -> list[T]:
        return [item for page in self._pages(first, key, parse) for item in page.items]

    def fetch_page(self, url: str, key: str, parse: Parser[T]) -> Page[T]:
        """One page by URL (e.g. a ``next_url``), for callers that page by hand."""
        return self._page(self._follow(url), key, parse)[0]

    # -- reference data ---------------------------------------------------------------------

    def account(self) -> Account:
        path = build_path(
            "/api/v4/account", [("with", "datetime_settings,is_api_filter_enabled,users_groups")]
        )
        response = self._get(path)
        self.server_time = server_date(response)
        body = self._body(response)
        if body is None:
            raise AmoPayloadError("GET /api/v4/account: empty answer (HTTP 204)")
        return parse_account(body)

    def users(self) -> list[User]:
        """All users (needs an administrator's token: 403 otherwise)."""
        return self._all(build_path("/api/v4/users", [("page", 1), ("limit", 250)]), "users", parse_user)

    def pipelines(self) -> list[Pipeline]:
        return self._all("/api/v4/leads/pipelines", "pipelines", parse_pipeline)

    def custom_fields(self) -> list[CustomField]:
        first = build_path("/api/v4/leads/custom_fields", [("page", 1), ("limit", CUSTOM_FIELDS_LIMIT)])
        return self._all(first, "custom_fields", parse_custom_field)

    def loss_reasons(self) -> list[LossReason]:
        first = build_path("/api/v4/leads/loss_reasons", [("page", 1), ("limit", 250)])
        return self._all(first, "loss_reasons", parse_loss_reason)

    # -- leads ------------------------------------------------------------------------------

    @overload
    def leads_page(
        self,
        page: int,
        *,
        limit: int = ...,
        order: tuple[str, str] | None = ...,
        updated_from: datetime | None = ...,
        updated_to: datetime | None = ...,
        ids: Sequence[int] | None = ...,
        only_deleted: Literal[False] = ...,
    ) -> Page[Lead]: ...
    @overload
    def leads_page(
        self,
        page: int,
        *,
        limit: int = ...,
        order: tuple[str, str] | None = ...,
        updated_from: datetime | None = ...,
        updated_to: datetime | None = ...,
        ids: Sequence[int] | None = ...,
        only_deleted: Literal[True],
    ) -> Page[DeletedLead]: ...
    def leads_page(
        self,
        page: int,
        *,
        limit: int = LEADS_MAX_LIMIT,
        order: tuple[str, str] | None = None,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
        ids: Sequence[int] | None = None,
        only_deleted: bool = False,
    ) -> Page[Lead] | Page[DeletedLead]:
        """One page of ``GET /api/v4/leads``; ``only_deleted`` reads the trash (reduced model)."""
        path = leads_query(
            page,
            limit=limit,
            order=order,
            updated_from=updated_from,
            updated_to=updated_to,
            ids=ids,
            only_deleted=only_deleted,
        )
        if only_deleted:
            return self._page(path, "leads", parse_deleted_lead)[0]
        return self._page(path, "leads", parse_lead)[0]

    @overload
    def iter_leads(
        self,
        *,
        limit: int = ...,
        order: tuple[str, str] | None = ...,
        updated_from: datetime | None = ...,
        updated_to: datetime | None = ...,
        ids: Sequence[int] | None = ...,
        only_deleted: Literal[False] = ...,
        start_page: int = ...,
    ) -> Iterator[Page[Lead]]: ...
    @overload
    def iter_leads(
        self,
        *,
        limit: int = ...,
        order: tuple[str, str] | None = ...,
        updated_from: datetime | None = ...,
        updated_to: datetime | None = ...,
        ids: Sequence[int] | None = ...,
        only_deleted: Literal[True],
        start_page: int = ...,
    ) -> Iterator[Page[DeletedLead]]: ...
    def iter_leads(
        self,
        *,
        limit: int = LEADS_MAX_LIMIT,
        order: tuple[str, str] | None = None,
        updated_from: datetime | None = None,
        updated_to: datetime | None = None,
        ids: Sequence[int] | None = None,
        only_deleted: bool = False,
        start_page: int = 1,
    ) -> Iterator[Page[Lead]] | Iterator[Page[DeletedLead]]:
        """Non-empty pages from ``start_page`` on, following ``_links.next`` until 204 or no link."""
        path = leads_query(
            start_page,
            limit=limit,
            order=order,
            updated_from=updated_from,
            updated_to=updated_to,
            ids=ids,
            only_deleted=only_deleted,
        )
        if only_deleted:
            return self._pages(path, "leads", parse_deleted_lead)
        return self._pages(path, "leads", parse_lead)

    # -- events -----------------------------------------------------------------------------

    def events_page(
        self,
        page: int,
        *,
        types: Sequence[str],
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        entity: str = "lead",
        limit: int = EVENTS_MAX_LIMIT,
    ) -> Page[Event]:
        """One page of ``GET /api/v4/events`` (order undocumented: window by time, upsert by id)."""
        path = events_query(
            page, types=types, created_from=created_from, created_to=created_to, entity=entity, limit=limit
        )
        return self._page(path, "events", parse_event)[0]

    def iter_events(
        self,
        *,
        types: Sequence[str],
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        entity: str = "lead",
        limit: int = EVENTS_MAX_LIMIT,
        start_page: int = 1,
    ) -> Iterator[Page[Event]]:
        path = events_query(
            start_page,
            types=types,
            created_from=created_from,
            created_to=created_to,
            entity=entity,
            limit=limit,
        )
        return self._pages(path, "events", parse_event)


def server_date(response: httpx.Response) -> datetime | None:
    """The response's ``Date`` header as an aware datetime; None when absent or unreadable."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def build_client(
    settings: Settings,
    *,
    engine: Engine | None = None,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    limiter: RateLimiter | None = None,
    rng: random.Random | None = None,
) -> AmoClient:
    """The one way to get a client.

    ``transport`` replaces the network (``httpx.MockTransport`` in tests); rate limiting and
    retries still wrap it. With the real ``clock`` and ``sleep`` the process-wide limiter of the
    account URL is used; injecting either gives the client a private limiter on that clock.
    """
    amo = settings.amocrm
    url = amo.url
    if limiter is None:
        if clock is time.monotonic and sleep is time.sleep:
            limiter = limiter_for(url, amo.requests_per_second)
        else:
            limiter = RateLimiter(amo.requests_per_second, clock=clock, sleep=sleep)
    stats = RequestStats()
    auth = _auth(settings, engine)
    stack = build_transport(
        amo, limiter=limiter, stats=stats, inner=transport, clock=clock, sleep=sleep, rng=rng
    )
    http = httpx.Client(
        base_url=url,
        auth=auth,
        transport=stack,
        timeout=client_timeout(amo),
        headers={"User-Agent": f"cohort-service/{__version__}", "Accept": "application/json"},
        follow_redirects=False,
    )
    return AmoClient(http, auth=auth, stats=stats, limiter=limiter)


def _auth(settings: Settings, engine: Engine | None) -> AmoAuth:
    amo = settings.amocrm
    if amo.token is not None:
        return LongLivedTokenAuth(amo.token.get_secret_value())
    if amo.oauth is not None:
        if engine is None:
            from cohort_service.db.engine import get_engine

            engine = get_engine(settings)
        return OAuthAuth(amo.oauth, TokenStore(engine, amo.url), timeout=client_timeout(amo))
    raise ConfigError(
        [
            f"{settings.source}: amocrm.token: required (a long-lived token from the integration's "
            "Keys tab, or COHORT_AMOCRM_TOKEN), or configure [amocrm.oauth]"
        ]
    )
