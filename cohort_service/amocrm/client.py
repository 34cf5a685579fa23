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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx
from sqlalchemy import Engine

from cohort_service import __version__
from cohort_service.amocrm.auth import AmoAuth, LongLivedTokenAuth, OAuthAuth, client_timeout
from cohort_service.amocrm.budget import SharedBudget
from cohort_service.amocrm.describe import describe_response, fatal_error
from cohort_service.amocrm.fields import shown
from cohort_service.amocrm.pagination import Page, Paginator
from cohort_service.amocrm.prefetch import run_paged
from cohort_service.amocrm.queries import (
    ListQuery,
    build_path,
    custom_fields_list,
    loss_reasons_list,
    pipelines_list,
    users_list,
)
from cohort_service.amocrm.ratelimit import RateLimiter, limiter_for
from cohort_service.amocrm.schemas import (
    Account,
    CustomField,
    LossReason,
    Pipeline,
    User,
    parse_account,
)
from cohort_service.amocrm.stats import RequestStats
from cohort_service.amocrm.tokens import TokenStore
from cohort_service.amocrm.transport import build_transport
from cohort_service.config import Settings
from cohort_service.errors import AmoPayloadError, ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")


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

    def get(self, url: str) -> httpx.Response:
        """One answer (2xx) for a list URL from a paginator: a path, or amoCRM's own ``next`` href."""
        return self._get(self._follow(url))

    def _follow(self, href: str) -> str:
        """A ``next`` link on our own origin as is; on any other host only its path and query.

        The token must never go to a host we were not configured for, and proxies or the
        simulator may write links with a different host name.
        """
        url, base = httpx.URL(href), self._http.base_url
        if (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port):
            return href
        return url.raw_path.decode("ascii")

    def read(
        self,
        query: ListQuery[T],
        *,
        stop: Callable[[Page[T]], bool] | None = None,
        max_in_flight: int = 1,
    ) -> list[T]:
        """Every item of a list (up to ``stop``), through the one paginator and prefetcher."""
        items: list[T] = []

        def keep(_paginator: Paginator[T], page: Page[T]) -> None:
            items.extend(page.items)

        run_paged([Paginator(query, stop=stop)], self.get, max_in_flight=max_in_flight, on_page=keep)
        return items

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
        return self.read(users_list())

    def pipelines(self) -> list[Pipeline]:
        return self.read(pipelines_list())

    def custom_fields(self) -> list[CustomField]:
        return self.read(custom_fields_list())

    def loss_reasons(self) -> list[LossReason]:
        return self.read(loss_reasons_list())


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
    account URL is used, and with a database (``engine``, or the OAuth token store's) it reserves
    its starts in the account's shared budget; injecting either gives the client a private
    limiter on that clock.
    """
    amo = settings.amocrm
    url = amo.url
    if engine is None and amo.token is None and amo.oauth is not None:
        from cohort_service.db.engine import get_engine

        engine = get_engine(settings)  # the token pair lives there anyway
    if limiter is None:
        if clock is time.monotonic and sleep is time.sleep:
            shared = SharedBudget(engine, url) if engine is not None else None
            limiter = limiter_for(url, amo.requests_per_second, shared=shared)
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
        store = TokenStore(engine, amo.url, journal_dir=settings.service.data_dir)
        return OAuthAuth(amo.oauth, store, timeout=client_timeout(amo))
    raise ConfigError(
        [
            f"{settings.source}: amocrm.token: required (a long-lived token from the integration's "
            "Keys tab, or COHORT_AMOCRM_TOKEN), or configure [amocrm.oauth]"
        ]
    )
