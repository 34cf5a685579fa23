"""Client calls: exact queries as amoCRM documents them, typed results, long-lived auth, threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from cohort_service.amocrm.client import AmoClient, build_client
from cohort_service.amocrm.queries import events_list, leads_list, trash_list
from cohort_service.config import Settings
from cohort_service.errors import AmoAuthError, ConfigError
from tests.amocrm.conftest import TOKEN, Script, ok, raw, read_page, sample
from tests.conftest import make_settings

FROM = datetime(2024, 1, 1, tzinfo=UTC)  # 1704067200
TO = datetime(2024, 1, 8, 0, 0, 0, 500000, tzinfo=UTC)  # 1704672000.5 → rounded up


def query(request: httpx.Request) -> str:
    return request.url.query.decode()


def test_account_query_and_bearer_header(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(sample("doc_account_fixed.json")))
    account = make_client(script).account()
    (request,) = script.requests
    assert request.url.path == "/api/v4/account"
    assert query(request) == "with=datetime_settings,is_api_filter_enabled,users_groups"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert (account.timezone, account.is_api_filter_enabled) == ("Europe/Moscow", True)


def test_incremental_leads_query_with_filter(make_client: Callable[..., AmoClient]) -> None:
    script = Script(raw(204))
    read_page(
        make_client(script), leads_list(order=("updated_at", "asc"), updated_from=FROM, updated_to=TO), 3
    )
    assert query(script.requests[0]) == (
        "page=3&limit=250&order[updated_at]=asc"
        "&filter[updated_at][from]=1704067200&filter[updated_at][to]=1704672001"
    )


def test_leads_without_filter_add_on_order_desc(make_client: Callable[..., AmoClient]) -> None:
    script = Script(raw(204))
    make_client(script).read(leads_list(order=("updated_at", "desc")))
    assert query(script.requests[0]) == "page=1&limit=250&order[updated_at]=desc"


def test_leads_by_ids_and_other_offsets(make_client: Callable[..., AmoClient]) -> None:
    script = Script(raw(204))
    msk = timezone(timedelta(hours=3))
    make_client(script).read(
        leads_list(ids=[5, 7], limit=50, updated_from=datetime(2024, 1, 1, 3, tzinfo=msk))
    )
    assert (
        query(script.requests[0])
        == "page=1&limit=50&filter[updated_at][from]=1704067200&filter[id][]=5&filter[id][]=7"
    )


def test_deleted_leads_use_only_deleted(make_client: Callable[..., AmoClient]) -> None:
    body = {"_page": 1, "_embedded": {"leads": [{"id": 11, "updated_at": 1700000000, "is_deleted": True}]}}
    script = Script(ok(body))
    page = read_page(make_client(script), trash_list())
    assert query(script.requests[0]) == "with=only_deleted&page=1&limit=250"
    assert [(d.id, d.is_deleted) for d in page.items] == [(11, True)]


def test_events_query(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(sample("doc_events_list_fixed.json")))
    events = events_list(types=["lead_status_changed", "lead_added"], created_from=FROM, created_to=TO)
    page = read_page(make_client(script), events)
    assert query(script.requests[0]) == (
        "page=1&limit=100&filter[type][]=lead_status_changed&filter[type][]=lead_added"
        "&filter[entity][]=lead&filter[created_at][from]=1704067200&filter[created_at][to]=1704672001"
    )
    assert page.next_url == "https://example.amocrm.ru/api/v4/events?limit=1&page=2"
    assert [e.id for e in page.items] == ["01pz58t6p04ymgsgfbmfyfy1mf"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.read(leads_list(limit=251)), "limit must be 1..250"),
        (lambda c: c.read(leads_list(order=("name", "asc"))), "order must be"),
        (lambda c: c.read(leads_list(updated_from=datetime(2024, 1, 1))), "timezone-aware"),  # noqa: DTZ001
        (lambda c: c.read(events_list(types=[], created_from=FROM)), "at least one event type"),
        (lambda c: c.read(events_list(types=["lead_added"], limit=250)), "limit must be 1..100"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    make_client: Callable[..., AmoClient], call: Callable[[AmoClient], object], message: str
) -> None:
    script = Script()
    with pytest.raises(ValueError, match=message):
        call(make_client(script))
    assert script.requests == []


def test_users_and_pipelines(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(sample("doc_users_list.json")), ok(sample("doc_pipelines_list.json")))
    client = make_client(script)
    assert [u.id for u in client.users()] == [123123, 321321]
    assert [len(p.statuses) for p in client.pipelines()] == [5]
    assert [r.url.path for r in script.requests] == ["/api/v4/users", "/api/v4/leads/pipelines"]


def test_long_lived_token_rejected(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(sample("kommo_doc_http_401.json"), 401))
    with pytest.raises(AmoAuthError) as info:
        make_client(script).account()
    assert str(info.value) == (
        "GET /api/v4/account → HTTP 401: the long-lived token was rejected (expired or revoked): generate a "
        "new one in the integration's Keys tab and set amocrm.token / COHORT_AMOCRM_TOKEN"
    )
    assert len(script.requests) == 1


def test_no_credentials_is_a_config_error() -> None:
    settings: Settings = make_settings(amocrm={"base_url": "https://example.amocrm.ru"})
    with pytest.raises(ConfigError, match=r"test: amocrm.token: required"):
        build_client(settings)


def test_many_threads_share_one_client(make_client: Callable[..., AmoClient]) -> None:
    """16 threads × 10 pages on one client: every answer parsed, every request counted once."""
    seen: list[str] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        with lock:
            seen.append(request.url.params["page"])
        lead = {"id": page, "status_id": 1, "pipeline_id": 2, "created_at": 0, "updated_at": page}
        return httpx.Response(200, json={"_page": page, "_embedded": {"leads": [lead]}})

    client = make_client(Script(rest=handler))
    results: dict[int, int] = {}

    def worker(base: int) -> None:
        for page in range(base, base + 10):
            got = read_page(client, leads_list(), page)
            with lock:
                results[page] = got.items[0].id

    threads = [threading.Thread(target=worker, args=(n * 10 + 1,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {page: page for page in range(1, 161)}
    assert sorted(map(int, seen)) == list(range(1, 161))
    assert client.stats.snapshot().responses == {200: 160}
