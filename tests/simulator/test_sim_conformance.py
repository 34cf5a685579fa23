"""Every sample payload the simulator serves: each key path exists with the same JSON type."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.model import EV_ADDED, SimAccount
from tests.simulator.conftest import mock_client, sample
from tests.simulator.shapes import mismatches


def assert_conforms(name: str, actual: Any, skip: tuple[str, ...] = ()) -> None:
    assert mismatches(sample(name), actual, skip=skip) == []


def _lost_lead(account: SimAccount) -> int:
    """A live lost lead with a reason, tags, a company, a contact and UTM fields."""
    leads = account.leads
    has_utm = np.array([c.source is not None for c in account.channels])[leads.channel]
    ok = (
        account.statuses.is_lost[leads.code]
        & (leads.loss_reason >= 0)
        & (leads.tags > 0)
        & (leads.company_id > 0)
        & (leads.contact_id > 0)
        & ~leads.is_deleted
        & has_utm
    )
    return int(leads.id[np.flatnonzero(ok)[0]])


def _get(client: httpx.Client, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/hal+json"
    return response.json()


def test_leads_lists(both: httpx.Client) -> None:
    assert_conforms("real_leads_list_gormonn_amo-crm-test.json", _get(both, "/api/v4/leads?page=1&limit=250"))
    assert_conforms("doc_leads_list.json", _get(both, "/api/v4/leads?with=source_id&limit=2&page=2"))


def test_lead_by_id(both: httpx.Client, shared_account: SimAccount) -> None:
    lead_id = _lost_lead(shared_account)
    full = _get(
        both, f"/api/v4/leads/{lead_id}?with=loss_reason,contacts,source_id,is_price_modified_by_robot"
    )
    not_served = ("$._embedded.catalog_elements", "$._embedded.source")  # catalogs and sources: out of scope
    assert_conforms("doc_lead_by_id_fixed.json", full, skip=not_served)
    with_contacts = _get(both, f"/api/v4/leads/{lead_id}?with=contacts")
    assert_conforms("real_lead_kommo_with_custom_fields_unknown_repo.json", with_contacts)
    assert with_contacts["_links"]["self"]["href"].endswith(f"/api/v4/leads/{lead_id}?with=contacts")


def test_pipelines_and_statuses(both: httpx.Client, shared_account: SimAccount) -> None:
    pipeline_id = shared_account.pipelines[0].id
    assert_conforms("doc_pipelines_list.json", _get(both, "/api/v4/leads/pipelines"))
    assert_conforms(
        "real_pipeline_AVolkodav_test-task.json", _get(both, f"/api/v4/leads/pipelines/{pipeline_id}")
    )
    statuses = _get(both, f"/api/v4/leads/pipelines/{pipeline_id}/statuses?with=descriptions")
    assert_conforms("doc_pipeline_statuses_list.json", statuses)


def test_custom_fields_users_account(both: httpx.Client, shared_account: SimAccount) -> None:
    assert_conforms("doc_leads_custom_fields_list.json", _get(both, "/api/v4/leads/custom_fields?limit=2"))
    assert_conforms("doc_users_list.json", _get(both, "/api/v4/users?with=role,group&limit=2"))
    assert_conforms("doc_user_by_id.json", _get(both, f"/api/v4/users/{shared_account.users[1].id}"))
    every = (
        "amojo_id,uuid,amojo_rights,users_groups,task_types,version,entity_names,datetime_settings,drive_url"
    )
    assert_conforms(
        "doc_account_fixed.json", _get(both, f"/api/v4/account?with={every},is_api_filter_enabled")
    )
    assert_conforms("kommo_doc_http_200_account.json", _get(both, "/api/v4/account"))


def test_events(both: httpx.Client, shared_account: SimAccount) -> None:
    assert_conforms(
        "doc_events_list_fixed.json", _get(both, "/api/v4/events?limit=1&filter[type]=lead_added")
    )
    index = int(np.flatnonzero(shared_account.events.type == EV_ADDED)[0])
    event_id = shared_account.codec.encode_one(index, int(shared_account.events.created_at[index]))
    assert_conforms("doc_event_by_id.json", _get(both, f"/api/v4/events/{event_id}"))
    status = _get(both, "/api/v4/events?limit=1&filter[type][]=lead_status_changed")["_embedded"]["events"][0]
    assert_conforms("real_event_lead_status_changed_probe_unknown_repo.json", status)
    assert_conforms("doc_event_values_lead_status_changed_fixed.json", status)


@pytest.mark.parametrize(
    ("event_type", "name", "skip"),
    [
        ("lead_added", "doc_event_values_note_lead_added.json", ()),
        ("entity_responsible_changed", "doc_event_values_entity_responsible_changed.json", ()),
        # a first fill or a new tag has nothing before it; the doc example shows a replacement
        (
            "custom_field_value_changed",
            "doc_event_values_custom_field_value_changed.json",
            ("$.value_before",),
        ),
        ("entity_tag_added", "doc_event_values_entity_tag_added_deleted.json", ("$.value_before",)),
        ("lead_deleted", "doc_event_values_empty_deleted_restored_merged.json", ()),
        ("lead_restored", "doc_event_values_empty_deleted_restored_merged.json", ()),
    ],
)
def test_event_values(client: httpx.Client, event_type: str, name: str, skip: tuple[str, ...]) -> None:
    event = _get(client, f"/api/v4/events?limit=1&filter[type]={event_type}")["_embedded"]["events"][0]
    assert_conforms(name, event, skip=skip)
    if name.endswith("empty_deleted_restored_merged.json"):
        assert (event["value_before"], event["value_after"]) == ([], [])


def _token(client: httpx.Client, app: SimulatorApp, **fields: str) -> httpx.Response:
    body = {
        "client_id": app.oauth.client_id,
        "client_secret": app.oauth.client_secret,
        "redirect_uri": app.oauth.redirect_uri,
    } | fields
    return client.post("/oauth2/access_token", json=body)


def test_oauth_bodies(both: httpx.Client, app: SimulatorApp) -> None:
    first = _token(both, app, grant_type="authorization_code", code=app.oauth.issue_code())
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert_conforms("doc_oauth_token_response.json", first.json())
    refresh = first.json()["refresh_token"]
    assert _token(both, app, grant_type="refresh_token", refresh_token=refresh).status_code == 200
    reused = _token(both, app, grant_type="refresh_token", refresh_token=refresh)
    assert reused.status_code == 401
    assert reused.json() == sample("issue_oauth_401_token_revoked_amocrm-api-php_123.json")
    wrong = _token(both, app, grant_type="refresh_token", refresh_token=refresh, client_secret="nope")
    assert (wrong.status_code, wrong.json()) == (
        401,
        sample("issue_oauth_401_invalid_client_amocrm-api-php_235.json"),
    )


def test_error_bodies(app: SimulatorApp) -> None:
    app.limits.retry_after_s = 300
    with mock_client(app) as client, mock_client(app, token="not-a-token") as stranger:
        unauthorized = stranger.get("/api/v4/leads")
        assert (unauthorized.status_code, unauthorized.headers["content-type"]) == (
            401,
            "application/problem+json",
        )
        assert unauthorized.json() == sample("test_fixture_401_shevernitskiy_amo.json")
        assert_conforms("kommo_doc_http_401.json", unauthorized.json())
        too_big = client.get("/api/v4/leads?limit=251")
        assert (too_big.status_code, too_big.json()) == (422, sample("kommo_doc_http_422_limit_250.json"))
        missing = client.get("/api/v4/contacts/plenty")
        assert missing.status_code == 404
        assert_conforms("kommo_doc_http_404.json", missing.json())
        invalid = client.get("/api/v4/events?limit=101")
        assert invalid.status_code == 400
        assert_conforms("doc_error_400_validation.json", invalid.json())
        app.script("status", status=500)
        failed = client.get("/api/v4/leads")
        assert failed.status_code == 500
        assert_conforms("kommo_doc_http_500.json", failed.json())
        app.script("rate_limit")
        limited = client.get("/api/v4/leads")
        assert (limited.status_code, limited.json()) == (429, sample("kommo_doc_http_429.json"))
        assert "retry-after" not in limited.headers


def test_samples_are_valid_json_and_checker_catches_drift() -> None:
    """The checker itself: a missing key and a type change are both reported."""
    doc = sample("doc_leads_list.json")
    lead = json.loads(json.dumps(doc["_embedded"]["leads"][0]))
    del lead["pipeline_id"]
    lead["price"] = str(lead["price"])
    problems = mismatches(doc["_embedded"]["leads"][0], lead)
    assert problems == ["$.price: sample number, simulator string", "$.pipeline_id: missing"]
