"""Tokens and the client secret never reach exception text or logs, whatever goes wrong."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import Engine

from cohort_service.amocrm.client import AmoClient, build_client
from cohort_service.amocrm.queries import leads_list
from cohort_service.amocrm.tokens import TokenStore
from cohort_service.errors import AmoAPIError
from tests.amocrm.conftest import BASE_URL, TOKEN, Script, amo_settings, ok, raw, sample
from tests.amocrm.test_oauth import CLIENT_SECRET, OAUTH, pair
from tests.helpers.clock import FakeClock

SECRETS = (TOKEN, CLIENT_SECRET, "ACCESS-1", "REFRESH-1", "integration-id")

CASES: list[tuple[str, Callable[[], httpx.Response] | type[Exception]]] = [
    ("401", ok(sample("kommo_doc_http_401.json"), 401)),
    ("403", raw(403, b"<html>403 Forbidden</html>")),
    ("500", raw(500)),
    ("timeout", httpx.ReadTimeout),
    ("dropped", httpx.RemoteProtocolError),
]


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("step", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_long_lived_token_never_leaks(
    make_client: Callable[..., AmoClient], caplog: pytest.LogCaptureFixture, step: object
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(Script(step, step), max_attempts=2)
    with pytest.raises(AmoAPIError) as info:
        client.read(leads_list())
    assert str(info.value).startswith("GET /api/v4/leads")
    _assert_clean(str(info.value))
    _assert_clean(repr(info.value))
    _assert_clean(caplog.text)
    assert caplog.text  # something was logged (httpx's request lines, our retry warnings)


OAUTH_CASES: list[tuple[str, Callable[[], httpx.Response] | type[Exception]]] = [
    ("revoked", ok(sample("issue_oauth_401_token_revoked_amocrm-api-php_123.json"), 401)),
    ("bad-client", ok(sample("issue_oauth_401_invalid_client_amocrm-api-php_235.json"), 401)),
    ("403", raw(403)),
    ("500", raw(500)),
    ("timeout", httpx.ConnectTimeout),
]


@pytest.mark.parametrize("token_step", [c[1] for c in OAUTH_CASES], ids=[c[0] for c in OAUTH_CASES])
def test_oauth_secrets_never_leak(
    engine: Engine, db_url: str, caplog: pytest.LogCaptureFixture, token_step: object
) -> None:
    caplog.set_level(logging.DEBUG)
    TokenStore(engine, BASE_URL).save(pair(1))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/access_token":
            if isinstance(token_step, type):
                raise token_step("scripted", request=request)  # type: ignore[call-arg]
            assert callable(token_step)
            return token_step()  # type: ignore[no-any-return]
        return httpx.Response(401, json=sample("kommo_doc_http_401.json"))

    clock = FakeClock()
    client = build_client(
        amo_settings(db_url, oauth=OAUTH, max_attempts=2),
        engine=engine,
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=clock.sleep,
    )
    with pytest.raises(AmoAPIError) as info:
        client.loss_reasons()
    client.close()
    assert "/oauth2/access_token" in str(info.value)
    _assert_clean(str(info.value))
    _assert_clean(caplog.text)
