"""OAuth with rotating single-use refresh tokens, against a real Postgres token store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from cohort_service.amocrm.auth import OAuthAuth, authorize
from cohort_service.amocrm.client import AmoClient, build_client
from cohort_service.amocrm.tokens import TokenPair, TokenStore
from cohort_service.config import Settings
from cohort_service.errors import AmoAuthError, ConfigError
from tests.amocrm.conftest import BASE_URL, amo_settings, sample
from tests.helpers.clock import FakeClock

CLIENT_SECRET = "CLIENT-SECRET-4b1d"
Handler = Callable[[httpx.Request], httpx.Response]
OAUTH = {
    "client_id": "integration-id",
    "client_secret": CLIENT_SECRET,
    "redirect_uri": "https://example.com/cb",
}
REASONS = {"_embedded": {"loss_reasons": []}}
PATH = "/api/v4/leads/loss_reasons"


def pair(n: int, *, expires_in: timedelta = timedelta(days=1)) -> TokenPair:
    return TokenPair(f"ACCESS-{n}", f"REFRESH-{n}", datetime.now(UTC) + expires_in)


@dataclass
class FakeAmo:
    """amoCRM's token rules: one valid access token; refresh tokens work once and rotate n → n+1."""

    store: TokenStore
    valid: str | None = None  # the access token the API accepts (None: all expired)
    current: int = 1  # the refresh token the server will accept is REFRESH-<current>
    log: list[str] = field(default_factory=list)
    token_bodies: list[dict[str, str]] = field(default_factory=list)
    stored_on_retry: list[str] = field(default_factory=list)
    token_delay_s: float = 0.0
    barrier: threading.Barrier | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/access_token":
            return self._token(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self.lock:
            self.log.append(f"GET {bearer}")
        if bearer != self.valid:
            if self.barrier is not None:
                self.barrier.wait(timeout=10)
            return httpx.Response(401, json=sample("kommo_doc_http_401.json"))
        # What the database (another connection) held when the request with this token arrived.
        self.stored_on_retry.append(self.store.load().access_token)
        return httpx.Response(200, json=REASONS)

    def _token(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        with self.lock:
            self.token_bodies.append(body)
            self.log.append(f"POST {body.get('refresh_token') or body.get('code')}")
        time.sleep(self.token_delay_s)  # widen the race window for the concurrency tests
        with self.lock:
            if body.get("refresh_token") != f"REFRESH-{self.current}":
                return httpx.Response(
                    401, json=sample("issue_oauth_401_token_revoked_amocrm-api-php_123.json")
                )
            self.current += 1
            self.valid = f"ACCESS-{self.current}"
            n = self.current
        return httpx.Response(
            200,
            json={"token_type": "Bearer", "expires_in": 86400, "server_time": 1751621727,
                  "access_token": f"ACCESS-{n}", "refresh_token": f"REFRESH-{n}"},
        )  # fmt: skip


@pytest.fixture
def oauth_settings(db_url: str) -> Settings:
    return amo_settings(db_url, oauth=OAUTH)


@pytest.fixture
def store(engine: Engine) -> TokenStore:
    return TokenStore(engine, BASE_URL)


@pytest.fixture
def clients(oauth_settings: Settings, engine: Engine) -> Iterator[Callable[[Handler], AmoClient]]:
    made: list[AmoClient] = []

    def make(fake: Handler) -> AmoClient:
        clock = FakeClock()
        client = build_client(
            oauth_settings, engine=engine, transport=httpx.MockTransport(fake), clock=clock, sleep=clock.sleep
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def refreshes(client: AmoClient) -> int:
    auth = client._auth
    assert isinstance(auth, OAuthAuth)
    return auth.refreshes


def test_401_refreshes_commits_the_new_pair_then_retries(
    store: TokenStore, clients: Callable[[FakeAmo], AmoClient]
) -> None:
    store.save(pair(1))
    fake = FakeAmo(store, valid=None, current=1)  # ACCESS-1 has expired on the server
    client = clients(fake)
    assert client.loss_reasons() == []
    assert fake.log == ["GET ACCESS-1", "POST REFRESH-1", "GET ACCESS-2"]
    assert fake.stored_on_retry == ["ACCESS-2"]  # committed before the retried request went out
    assert fake.token_bodies == [
        {"client_id": "integration-id", "client_secret": CLIENT_SECRET, "grant_type": "refresh_token",
         "refresh_token": "REFRESH-1", "redirect_uri": "https://example.com/cb"}
    ]  # fmt: skip
    stored = store.load()
    assert (stored.access_token, stored.refresh_token) == ("ACCESS-2", "REFRESH-2")
    assert timedelta(hours=23) < stored.expires_at - datetime.now(UTC) <= timedelta(days=1)
    # the next call uses the new token straight away
    client.loss_reasons()
    assert fake.log[-1] == "GET ACCESS-2"
    assert client.stats.snapshot().responses == {200: 3, 401: 1}


def test_two_clients_hitting_401_together_refresh_once(
    store: TokenStore, clients: Callable[[FakeAmo], AmoClient]
) -> None:
    """Two clients (as two processes would) get 401 at the same moment; the row lock lets one refresh."""
    store.save(pair(1))
    fake = FakeAmo(store, valid=None, token_delay_s=0.2, barrier=threading.Barrier(2))
    a, b = clients(fake), clients(fake)
    errors: list[BaseException] = []

    def call(client: AmoClient) -> None:
        try:
            client.loss_reasons()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(c,)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [line for line in fake.log if line.startswith("POST")] == ["POST REFRESH-1"]
    assert refreshes(a) + refreshes(b) == 1
    assert sorted(fake.log) == [
        "GET ACCESS-1",
        "GET ACCESS-1",
        "GET ACCESS-2",
        "GET ACCESS-2",
        "POST REFRESH-1",
    ]


def test_threads_of_one_client_refresh_once(
    store: TokenStore, clients: Callable[[FakeAmo], AmoClient]
) -> None:
    store.save(pair(1))
    fake = FakeAmo(store, valid=None, token_delay_s=0.05, barrier=threading.Barrier(4))
    client = clients(fake)
    threads = [threading.Thread(target=client.loss_reasons) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refreshes(client) == 1
    assert fake.log.count("GET ACCESS-2") == 4


def test_someone_else_already_refreshed(store: TokenStore, clients: Callable[[FakeAmo], AmoClient]) -> None:
    """Another process rotated the pair since we loaded it: use the stored token, do not refresh."""
    store.save(pair(1))
    fake = FakeAmo(store, valid="ACCESS-1")
    client = clients(fake)
    client.loss_reasons()
    store.save(pair(2))  # the other process's refresh
    fake.valid, fake.current = "ACCESS-2", 2
    client.loss_reasons()
    assert fake.log == ["GET ACCESS-1", "GET ACCESS-1", "GET ACCESS-2"]
    assert refreshes(client) == 0


def test_expired_pair_is_refreshed_before_use(
    store: TokenStore, clients: Callable[[FakeAmo], AmoClient]
) -> None:
    store.save(pair(1, expires_in=timedelta(hours=-1)))
    fake = FakeAmo(store, valid=None)
    clients(fake).loss_reasons()
    assert fake.log == ["POST REFRESH-1", "GET ACCESS-2"]


def test_revoked_refresh_token_asks_to_reauthorize(
    store: TokenStore, clients: Callable[[FakeAmo], AmoClient]
) -> None:
    store.save(pair(1))
    fake = FakeAmo(store, valid=None, current=5)  # REFRESH-1 was used long ago
    with pytest.raises(AmoAuthError) as info:
        clients(fake).loss_reasons()
    assert str(info.value) == (
        "POST /oauth2/access_token → HTTP 401: amoCRM refused the refresh token (Token has been revoked): "
        "it was already used or revoked; re-authorize: open the integration in amoCRM, get a new "
        "authorization code and run `cohort-service auth --code CODE` within 20 minutes"
    )
    stored = store.load()
    assert (stored.access_token, stored.refresh_token) == ("ACCESS-1", "REFRESH-1")  # untouched


def test_invalid_client_credentials(store: TokenStore, clients: Callable[[Handler], AmoClient]) -> None:
    store.save(pair(1))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/access_token":
            return httpx.Response(401, json=sample("issue_oauth_401_invalid_client_amocrm-api-php_235.json"))
        return httpx.Response(401)

    client = clients(handler)
    with pytest.raises(AmoAuthError, match=r"refused the integration's credentials \(Некорректный клиент\)"):
        client.loss_reasons()


def test_401_after_a_fresh_refresh(store: TokenStore, clients: Callable[[Handler], AmoClient]) -> None:
    store.save(pair(1))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/access_token":
            return httpx.Response(
                200, json={"access_token": "A2", "refresh_token": "R2", "expires_in": 86400}
            )
        return httpx.Response(401)

    client = clients(handler)
    with pytest.raises(
        AmoAuthError, match=r"^GET /api/v4/leads/loss_reasons → HTTP 401: amoCRM rejected a freshly"
    ):
        client.loss_reasons()


def test_no_stored_tokens(clients: Callable[[FakeAmo], AmoClient], store: TokenStore) -> None:
    with pytest.raises(
        AmoAuthError, match=r"^no OAuth tokens are stored for https://example.amocrm.ru; re-auth"
    ):
        clients(FakeAmo(store)).loss_reasons()


def test_authorize_exchanges_the_code_and_stores_the_pair(
    oauth_settings: Settings, engine: Engine, store: TokenStore
) -> None:
    fake = FakeAmo(store)

    def handler(request: httpx.Request) -> httpx.Response:
        fake.token_bodies.append(json.loads(request.content))
        return httpx.Response(200, json=sample("doc_oauth_token_response.json"))

    got = authorize(oauth_settings, " CODE-123 ", engine=engine, transport=httpx.MockTransport(handler))
    assert fake.token_bodies == [
        {"client_id": "integration-id", "client_secret": CLIENT_SECRET, "grant_type": "authorization_code",
         "code": "CODE-123", "redirect_uri": "https://example.com/cb"}
    ]  # fmt: skip
    assert (got.access_token, got.refresh_token) == ("xxxxxx", "xxxxx")
    assert store.load() == got
    assert "xxxxx" not in repr(got)


def test_authorize_with_a_stale_code(oauth_settings: Settings, engine: Engine) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"hint": "Authorization code has expired", "status": 400})

    with pytest.raises(
        AmoAuthError, match=r"refused the authorization code: a code works once and only for 20"
    ):
        authorize(oauth_settings, "OLD", engine=engine, transport=httpx.MockTransport(handler))


def test_authorize_needs_oauth_settings(engine: Engine, db_url: str) -> None:
    with pytest.raises(ConfigError, match=r"amocrm.oauth: required by `auth`"):
        authorize(amo_settings(db_url), "CODE", engine=engine)
