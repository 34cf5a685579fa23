"""The client against the simulator over real loopback HTTP: everything parses, OAuth rotates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from cohort_service.amocrm.auth import authorize
from cohort_service.amocrm.client import AmoClient, build_client
from cohort_service.amocrm.queries import events_list, leads_list, trash_list
from cohort_service.amocrm.tokens import TokenStore
from cohort_service.errors import AmoAuthError
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import FaultConfig, Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from cohort_service.simulator.truth import account_row, lead_events_frame, leads_frame, status_changes_frame
from tests.amocrm.conftest import amo_settings
from tests.helpers.clock import FakeClock


@dataclass
class Sim:
    app: SimulatorApp
    url: str


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    account = generate_account(seed=11, leads=400, weeks=12)
    app = SimulatorApp(account, limits=Limits(rps=None))
    with serve(app) as url:
        yield Sim(app, url)


def _client(sim: Sim, **amocrm: object) -> AmoClient:
    clock = FakeClock()
    section = {"base_url": sim.url, "token": sim.app.oauth.issue_long_lived()} | amocrm
    return build_client(amo_settings(**section), clock=clock, sleep=clock.sleep)


def test_whole_account_reads_and_matches_truth(sim: Sim) -> None:
    account = sim.app.account
    with _client(sim) as client:
        got = client.account()
        assert (got.id, got.subdomain, got.timezone, got.is_api_filter_enabled) == (
            account_row(account)["id"],
            account.subdomain,
            account.timezone,
            account.filters_enabled,
        )
        assert {p.id for p in client.pipelines()} == {p.id for p in account.pipelines}
        assert {u.id for u in client.users()} == {u.id for u in account.users}
        assert {f.id for f in client.custom_fields()} == {f.id for f in account.custom_fields}
        assert {r.id for r in client.loss_reasons()} == {r.id for r in account.loss_reasons}

        truth = leads_frame(account)
        live = client.read(leads_list(), max_in_flight=3)
        assert sorted(lead.id for lead in live) == sorted(truth.loc[~truth["is_deleted"], "id"].tolist())
        trash = client.read(trash_list())
        assert sorted(d.id for d in trash) == sorted(truth.loc[truth["is_deleted"], "id"].tolist())

        changes = client.read(events_list(types=["lead_status_changed"]), max_in_flight=3)
        expected = status_changes_frame(account)
        assert sorted(e.id for e in changes) == sorted(expected["event_id"].tolist())
        assert all(e.after is not None for e in changes)
        other = ["lead_added", "lead_deleted", "lead_restored"]
        lead_events = client.read(events_list(types=other))
        assert len(lead_events) == len(lead_events_frame(account))
        stats = client.stats.snapshot()
    assert stats.rate_limited == 0
    assert stats.requests == sum(stats.responses.values())


def test_bad_weather_is_absorbed(sim: Sim) -> None:
    sim.app.faults = FaultConfig(seed=3, error_rate=0.15, drop_rate=0.1, truncate_rate=0.1)
    try:
        with _client(sim, max_attempts=10) as client:
            ids = [lead.id for lead in client.read(leads_list(limit=50), max_in_flight=2)]
            stats = client.stats.snapshot()
    finally:
        sim.app.faults = FaultConfig()
    truth = leads_frame(sim.app.account)
    assert sorted(ids) == sorted(truth.loc[~truth["is_deleted"], "id"].tolist())
    assert stats.retries > 0


def test_oauth_code_then_rotation_then_revocation(sim: Sim, db_url: str, engine: Engine) -> None:
    oauth = sim.app.oauth
    section = {
        "base_url": sim.url,
        "oauth": {"client_id": oauth.client_id, "client_secret": oauth.client_secret,
                  "redirect_uri": oauth.redirect_uri},
    }  # fmt: skip
    settings = amo_settings(db_url, **section)
    first = authorize(settings, oauth.issue_code(), engine=engine)
    clock = FakeClock()
    with build_client(settings, engine=engine, clock=clock, sleep=clock.sleep) as client:
        assert client.account().id == sim.app.account.id
        oauth.expire_access_tokens()  # 401 mid-run: refresh, store the new pair, carry on
        assert client.pipelines()
        second = TokenStore(engine, sim.url).load()
        assert second.refresh_token != first.refresh_token
        oauth.expire_access_tokens()
        oauth.revoke_all()
        with pytest.raises(AmoAuthError, match="cohort-service auth --code CODE"):
            client.users()
    assert TokenStore(engine, sim.url).load() == second
