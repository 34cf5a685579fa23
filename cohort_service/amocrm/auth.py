"""Authentication: a long-lived token, or OAuth 2.0 with single-use rotating refresh tokens.

Both are ``httpx.Auth`` flows, so the refresh request is yielded back into the client and goes
through the same rate-limited, retrying transport as every other request.

OAuth on a 401: take the row lock on the stored pair; if the stored access token is no longer the
one that just failed, another thread or process already refreshed — use the stored one. Otherwise
refresh, commit the new pair (its own transaction, before anything uses it), release the lock,
and retry the original request once. A pair close to expiry is refreshed the same way before it
is sent, which saves the 401 round trip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from cohort_service.amocrm.budget import SharedBudget
from cohort_service.amocrm.describe import describe_response, fatal_error
from cohort_service.amocrm.ratelimit import limiter_for
from cohort_service.amocrm.stats import RequestStats
from cohort_service.amocrm.tokens import REAUTHORIZE_HINT, TokenPair, TokenStore
from cohort_service.amocrm.transport import build_transport
from cohort_service.config import AmoSettings, OAuthSettings, Settings
from cohort_service.errors import AmoAuthError, AmoPayloadError, ConfigError

TOKEN_PATH = "/oauth2/access_token"  # noqa: S105 - a URL path, not a secret
REFRESH_AHEAD = timedelta(minutes=5)
REFRESH_RETRIES = 4


def _utcnow() -> datetime:
    return datetime.now(UTC)


class AmoAuth(httpx.Auth):
    """Common interface: the error to raise when amoCRM still answers 401."""

    def rejected(self, response: httpx.Response) -> AmoAuthError:
        raise NotImplementedError


class LongLivedTokenAuth(AmoAuth):
    """``Authorization: Bearer <long-lived token>``; no refresh exists for these tokens."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def rejected(self, response: httpx.Response) -> AmoAuthError:
        return AmoAuthError(
            f"{describe_response(response)}: the long-lived token was rejected (expired or revoked): "
            "generate a new one in the integration's Keys tab and set amocrm.token / COHORT_AMOCRM_TOKEN"
        )


def token_request(base_url: str, body: dict[str, str], timeout: httpx.Timeout) -> httpx.Request:
    """A POST to the token endpoint; explicit timeouts because it bypasses ``Client.build_request``."""
    return httpx.Request(
        "POST",
        base_url.rstrip("/") + TOKEN_PATH,
        json=body,
        extensions={"timeout": timeout.as_dict()},
    )


def parse_token_response(
    response: httpx.Response, now: datetime, *, grant: str = "refresh_token"
) -> TokenPair:
    """The new pair from a token-endpoint answer, or an error that says what to do."""
    if response.status_code in (400, 401):
        raise _refused(response, grant)
    if response.status_code != 200:
        raise fatal_error(response)
    body: Any = response.json()
    if not isinstance(body, dict):
        raise AmoPayloadError(f"{describe_response(response)}: expected a JSON object")
    access, refresh, expires_in = body.get("access_token"), body.get("refresh_token"), body.get("expires_in")
    if not (isinstance(access, str) and access and isinstance(refresh, str) and refresh):
        raise AmoPayloadError(f"{describe_response(response)}: access_token/refresh_token missing")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise AmoPayloadError(f"{describe_response(response)}: expires_in: expected a positive integer")
    return TokenPair(access, refresh, now + timedelta(seconds=expires_in))


def _refused(response: httpx.Response, grant: str) -> AmoAuthError:
    """400/401 from the token endpoint; the body's hint/title are amoCRM's fixed texts, no secrets."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    hint, title = str(body.get("hint") or ""), str(body.get("title") or "")
    where = describe_response(response)
    if grant == "authorization_code" and "client" not in title.lower() and "клиент" not in title.lower():
        return AmoAuthError(
            f"{where}: amoCRM refused the authorization code: a code works once and only for 20 "
            "minutes; get a new one from the integration and run `cohort-service auth --code CODE` again"
        )
    if "revoked" in hint.lower():
        return AmoAuthError(
            f"{where}: amoCRM refused the refresh token ({hint}): it was already used or revoked; "
            + REAUTHORIZE_HINT
        )
    if "клиент" in title.lower() or "client" in title.lower():
        return AmoAuthError(
            f"{where}: amoCRM refused the integration's credentials ({title}): check "
            "amocrm.oauth.client_id, client_secret (COHORT_AMOCRM_CLIENT_SECRET) and redirect_uri"
        )
    return AmoAuthError(f"{where}: amoCRM refused the token request; {REAUTHORIZE_HINT}")


class OAuthAuth(AmoAuth):
    """OAuth bearer tokens kept in Postgres, refreshed on 401 (or near expiry), serialized by row lock."""

    requires_response_body = True

    def __init__(
        self,
        oauth: OAuthSettings,
        store: TokenStore,
        *,
        timeout: httpx.Timeout,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._oauth = oauth
        self._store = store
        self._timeout = timeout
        self._now = now
        self._lock = threading.Lock()  # guards _pair
        self._refresh_lock = threading.Lock()  # one refresh attempt per process at a time
        self._pair: TokenPair | None = None
        self.refreshes = 0  # refresh requests this object sent (for tests and the summary)

    def _current(self) -> TokenPair:
        with self._lock:
            if self._pair is None:
                self._pair = self._store.load()
            return self._pair

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        pair = self._current()
        if pair.expires_at - REFRESH_AHEAD <= self._now():
            pair = yield from self._refresh(pair.access_token)
        request.headers["Authorization"] = f"Bearer {pair.access_token}"
        response = yield request
        # A 401 refreshes and retries, up to four times: a token refreshed a moment ago can be revoked
        # again before the paced retry goes out. A disabled integration fails at the token endpoint,
        # so only a user who lost API access costs the extra refreshes before the error.
        for _ in range(REFRESH_RETRIES):
            if response.status_code != 401:
                return
            pair = yield from self._refresh(pair.access_token)
            request.headers["Authorization"] = f"Bearer {pair.access_token}"
            response = yield request

    def _refresh(self, stale_access: str) -> Generator[httpx.Request, httpx.Response, TokenPair]:
        """A pair newer than ``stale_access``: someone else's if they refreshed first, else ours.

        One thread per process goes to the database at a time (the others wait here and reuse its
        result), so a burst of 401s never queues a pool's worth of connections on the row lock.
        """
        with self._refresh_lock:
            with self._lock:
                if self._pair is not None and self._pair.access_token != stale_access:
                    return self._pair  # another thread of this process refreshed already
            with self._store.locked_refresh() as locked:
                if locked.current.access_token == stale_access:
                    body = {
                        "client_id": self._oauth.client_id,
                        "client_secret": self._oauth.client_secret.get_secret_value(),
                        "grant_type": "refresh_token",
                        "refresh_token": locked.current.refresh_token,
                        "redirect_uri": self._oauth.redirect_uri,
                    }
                    self.refreshes += 1
                    response = yield token_request(self._store.account_url, body, self._timeout)
                    locked.replace(parse_token_response(response, self._now()))  # committed before use
                pair = locked.current
            with self._lock:
                self._pair = pair
            return pair

    def rejected(self, response: httpx.Response) -> AmoAuthError:
        return AmoAuthError(
            f"{describe_response(response)}: amoCRM rejected a freshly refreshed OAuth token: the "
            f"integration may have been disabled or its user lost access; {REAUTHORIZE_HINT}"
        )


def authorize(
    settings: Settings,
    code: str | None = None,
    *,
    engine: Engine,
    refresh_token: str | None = None,
    transport: httpx.BaseTransport | None = None,
    now: Callable[[], datetime] = _utcnow,
) -> TokenPair:
    """Exchange an authorization code — or a refresh token another tool held — for a token pair
    and store it (``cohort-service auth``)."""
    amo = settings.amocrm
    if amo.oauth is None:
        raise ConfigError(
            [f"{settings.source}: amocrm.oauth: required by `auth` (client_id, client_secret, redirect_uri)"]
        )
    url = amo.url
    stack = build_transport(
        amo,
        limiter=limiter_for(url, amo.requests_per_second, shared=SharedBudget(engine, url)),
        stats=RequestStats(),
        inner=transport,
    )
    if (code is None) == (refresh_token is None):
        raise ConfigError(["auth: give either --code or --refresh-token"])
    grant = "authorization_code" if code is not None else "refresh_token"
    body = {
        "client_id": amo.oauth.client_id,
        "client_secret": amo.oauth.client_secret.get_secret_value(),
        "grant_type": grant,
        "redirect_uri": amo.oauth.redirect_uri,
    }
    body |= {"code": code.strip()} if code is not None else {"refresh_token": (refresh_token or "").strip()}
    timeout = client_timeout(amo)
    with httpx.Client(transport=stack, timeout=timeout) as http:
        response = http.send(token_request(url, body, timeout))
    pair = parse_token_response(response, now(), grant=grant)
    TokenStore(engine, url).save(pair)
    return pair


def client_timeout(amo: AmoSettings) -> httpx.Timeout:
    return httpx.Timeout(amo.timeout_s, connect=amo.connect_timeout_s)
