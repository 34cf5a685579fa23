"""OAuth: codes, rotation, single-use refresh tokens, expiry and revocation, token rights."""

from __future__ import annotations

import httpx

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.model import SimAccount
from tests.helpers.clock import FakeClock
from tests.simulator.conftest import BASE_URL, mock_client, sample


def _exchange(client: httpx.Client, app: SimulatorApp, **fields: str) -> httpx.Response:
    body = {
        "client_id": app.oauth.client_id,
        "client_secret": app.oauth.client_secret,
        "redirect_uri": app.oauth.redirect_uri,
    }
    return client.post("/oauth2/access_token", json=body | fields)


def _leads(client: httpx.Client, token: str) -> int:
    return client.get("/api/v4/leads?limit=1", headers={"Authorization": f"Bearer {token}"}).status_code


def test_code_then_rotating_refresh(shared_account: SimAccount) -> None:
    clock = FakeClock(start=1_800_000_000)
    app = SimulatorApp(shared_account, limits=Limits(rps=None), access_ttl_s=3600, oauth_clock=clock)
    with httpx.Client(transport=app.transport(), base_url=BASE_URL) as client:
        code = app.oauth.issue_code()
        first = _exchange(client, app, grant_type="authorization_code", code=code)
        assert first.status_code == 200
        pair = first.json()
        assert (pair["token_type"], pair["expires_in"], pair["server_time"]) == (
            "Bearer",
            3600,
            1_800_000_000,
        )
        again = _exchange(client, app, grant_type="authorization_code", code=code)
        assert (again.status_code, again.json()["hint"]) == (400, "Authorization code has been revoked")
        assert _leads(client, pair["access_token"]) == 200
        second = _exchange(
            client, app, grant_type="refresh_token", refresh_token=pair["refresh_token"]
        ).json()
        assert second["refresh_token"] != pair["refresh_token"]
        assert second["access_token"] != pair["access_token"]
        reused = _exchange(client, app, grant_type="refresh_token", refresh_token=pair["refresh_token"])
        assert (reused.status_code, reused.json()) == (
            401,
            sample("issue_oauth_401_token_revoked_amocrm-api-php_123.json"),
        )
        clock.advance(3599)
        assert _leads(client, second["access_token"]) == 200
        clock.advance(1)
        expired = client.get("/api/v4/leads", headers={"Authorization": f"Bearer {second['access_token']}"})
        assert (expired.status_code, expired.json()["title"]) == (401, "Unauthorized")
        third = _exchange(
            client, app, grant_type="refresh_token", refresh_token=second["refresh_token"]
        ).json()
        assert _leads(client, third["access_token"]) == 200


def test_refusals(app: SimulatorApp) -> None:
    with httpx.Client(transport=app.transport(), base_url=BASE_URL) as client:
        wrong = _exchange(
            client, app, grant_type="authorization_code", code=app.oauth.issue_code(), client_id="x"
        )
        assert (wrong.status_code, wrong.json()) == (
            401,
            sample("issue_oauth_401_invalid_client_amocrm-api-php_235.json"),
        )
        redirect = _exchange(
            client,
            app,
            grant_type="authorization_code",
            code=app.oauth.issue_code(),
            redirect_uri="https://elsewhere.example",
        )
        assert redirect.status_code == 400
        assert _exchange(client, app, grant_type="password").status_code == 400
        assert client.post("/oauth2/access_token", content=b"").status_code == 400
        assert client.get("/oauth2/access_token").status_code == 405
        form = client.post(
            "/oauth2/access_token",
            data={
                "client_id": app.oauth.client_id,
                "client_secret": app.oauth.client_secret,
                "redirect_uri": app.oauth.redirect_uri,
                "grant_type": "authorization_code",
                "code": app.oauth.issue_code(),
            },
        )
        assert form.status_code == 200


def test_expire_and_revoke_on_demand(app: SimulatorApp) -> None:
    pair = app.oauth.issue_pair()
    long_lived = app.issue_token()
    with httpx.Client(transport=app.transport(), base_url=BASE_URL) as client:
        app.expire_tokens()
        assert _leads(client, pair["access_token"]) == 401
        assert _leads(client, long_lived) == 200
        fresh = _exchange(client, app, grant_type="refresh_token", refresh_token=pair["refresh_token"]).json()
        assert _leads(client, fresh["access_token"]) == 200
        app.revoke_tokens()
        assert _leads(client, fresh["access_token"]) == 401
        assert _leads(client, long_lived) == 401
        dead = _exchange(client, app, grant_type="refresh_token", refresh_token=fresh["refresh_token"])
        assert dead.json()["hint"] == "Token has been revoked"


def test_missing_or_malformed_bearer(app: SimulatorApp) -> None:
    with httpx.Client(transport=app.transport(), base_url=BASE_URL) as client:
        for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}):
            response = client.get("/api/v4/account", headers=headers)
            assert (response.status_code, response.json()) == (
                401,
                sample("test_fixture_401_shevernitskiy_amo.json"),
            )


def test_token_carries_its_users_rights(app: SimulatorApp) -> None:
    manager = app.non_admin_user()
    with mock_client(app, token=app.issue_token(manager.id)) as client:
        assert client.get("/api/v4/users").status_code == 403
        assert client.get(f"/api/v4/users/{manager.id}").status_code == 403
        assert client.get("/api/v4/leads?limit=1").status_code == 200
        assert client.get("/api/v4/account").json()["current_user_id"] == manager.id
    with mock_client(app) as admin:
        assert admin.get("/api/v4/users").status_code == 200
        assert admin.get("/api/v4/account").json()["current_user_id"] == app.account.admin.id
        assert admin.post("/api/v4/leads", json=[{"name": "x"}]).status_code == 405


def test_simulated_clock_expires_tokens_when_time_moves() -> None:
    from cohort_service.simulator.generate import generate_account

    app = SimulatorApp(
        generate_account(seed=2, leads=100, weeks=2), limits=Limits(rps=None), oauth_clock="sim"
    )
    pair = app.oauth.issue_pair()
    with httpx.Client(transport=app.transport(), base_url=BASE_URL) as client:
        assert _leads(client, pair["access_token"]) == 200
        app.advance(1.01)
        assert _leads(client, pair["access_token"]) == 401
