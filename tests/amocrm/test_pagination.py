"""Pagination: the pure paginator on hand-built responses, then the client following real links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cohort_service.amocrm.client import AmoClient
from cohort_service.amocrm.pagination import LinksNextPaginator, PaginationLoopError, next_href
from cohort_service.errors import AmoPayloadError
from tests.amocrm.conftest import BASE_URL, Script, ok, raw, sample

LEADS = f"{BASE_URL}/api/v4/leads"


def body(next_page: int | None, page: int = 1) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": f"{LEADS}?limit=2&page={page}"}}
    if next_page is not None:
        links["next"] = {"href": f"{LEADS}?limit=2&page={next_page}"}
    return {"_page": page, "_links": links, "_embedded": {"leads": []}}


def test_follows_next_then_stops_on_missing_next() -> None:
    paginator = LinksNextPaginator()
    paginator.advance(httpx.Response(200, json=body(2)))
    assert (paginator.next_url, paginator.finished) == (f"{LEADS}?limit=2&page=2", False)
    paginator.advance(httpx.Response(200, json=body(3, page=2)))
    assert paginator.next_url == f"{LEADS}?limit=2&page=3"
    paginator.advance(httpx.Response(200, json=body(None, page=3)))
    assert (paginator.next_url, paginator.finished, paginator.pages) == (None, True, 3)


def test_stops_on_204() -> None:
    paginator = LinksNextPaginator()
    paginator.advance(httpx.Response(200, json=body(2)))
    paginator.advance(httpx.Response(204))
    assert (paginator.next_url, paginator.finished, paginator.pages) == (None, True, 2)


def test_same_next_link_twice_raises() -> None:
    paginator = LinksNextPaginator("leads")
    paginator.advance(httpx.Response(200, json=body(2)))
    with pytest.raises(
        PaginationLoopError, match=r"leads: amoCRM returned the same next link twice .*page 2"
    ):
        paginator.advance(httpx.Response(200, json=body(2, page=2)))


def test_a_cycle_through_an_earlier_link_raises() -> None:
    paginator = LinksNextPaginator()
    for nxt in (2, 3):
        paginator.advance(httpx.Response(200, json=body(nxt)))
    with pytest.raises(PaginationLoopError):
        paginator.advance(httpx.Response(200, json=body(2)))


def test_a_malformed_next_link_is_an_error_not_the_end() -> None:
    broken = {"_links": {"next": {"url": "x"}}, "_embedded": {"leads": []}}
    with pytest.raises(AmoPayloadError, match=r'page: _links.next: expected \{"href": URL\}'):
        LinksNextPaginator().advance(httpx.Response(200, json=broken))
    assert next_href({"_links": {"self": {"href": "x"}}}) is None


def test_documented_list_sample_points_to_page_three() -> None:
    paginator = LinksNextPaginator()
    paginator.advance(httpx.Response(200, json=sample("doc_leads_list.json")))
    assert paginator.next_url == "https://example.amocrm.ru/api/v4/leads?limit=2&page=3"


def lead(lead_id: int) -> dict[str, Any]:
    return {
        "id": lead_id, "name": f"Lead {lead_id}", "status_id": 142, "pipeline_id": 1300,
        "created_at": 1700000000, "updated_at": 1700000000 + lead_id,
    }  # fmt: skip


def leads_body(ids: list[int], page: int, next_page: int | None) -> dict[str, Any]:
    data = body(next_page, page)
    data["_embedded"]["leads"] = [lead(i) for i in ids]
    return data


def test_client_full_last_page_whose_next_answers_204(make_client: Callable[..., AmoClient]) -> None:
    """Two full pages with next links; the third link answers 204: two pages, three requests."""
    script = Script(
        ok(leads_body([1, 2], 1, 2)),
        ok(leads_body([3, 4], 2, 3)),
        raw(204),
    )
    client = make_client(script)
    pages = list(client.iter_leads(limit=2))
    assert [[lead.id for lead in p.items] for p in pages] == [[1, 2], [3, 4]]
    assert [p.page for p in pages] == [1, 2]
    assert [r.url.params["page"] for r in script.requests] == ["1", "2", "3"]
    assert pages[-1].next_url == f"{LEADS}?limit=2&page=3"


def test_client_stops_on_missing_next(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(leads_body([1, 2], 1, 2)), ok(leads_body([3], 2, None)))
    client = make_client(script)
    pages = list(client.iter_leads(limit=2))
    assert [[lead.id for lead in p.items] for p in pages] == [[1, 2], [3]]
    assert pages[-1].next_url is None
    assert len(script.requests) == 2


def test_client_loop_guard(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(leads_body([1, 2], 1, 2)), ok(leads_body([3, 4], 2, 2)))
    client = make_client(script)
    with pytest.raises(PaginationLoopError):
        list(client.iter_leads(limit=2))
    assert len(script.requests) == 2


def test_client_first_page_204_yields_nothing(make_client: Callable[..., AmoClient]) -> None:
    client = make_client(Script(raw(204)))
    assert list(client.iter_events(types=["lead_status_changed"])) == []


def test_next_links_on_another_host_keep_our_host(make_client: Callable[..., AmoClient]) -> None:
    """A next link naming a different host is followed on the configured host (the token stays home)."""
    first = leads_body([1], 1, None)
    first["_links"]["next"] = {"href": "https://evil.example.com/api/v4/leads?limit=1&page=2"}
    script = Script(ok(first), raw(204))
    client = make_client(script)
    list(client.iter_leads(limit=1))
    assert str(script.requests[1].url) == f"{LEADS}?limit=1&page=2"


def test_custom_fields_follow_pages_of_fifty(make_client: Callable[..., AmoClient]) -> None:
    page1 = sample("doc_leads_custom_fields_list.json")
    page2 = {"_page": 2, "_links": {}, "_embedded": {"custom_fields": [
        {"id": 77, "name": "Источник", "code": "UTM_SOURCE", "sort": 510, "type": "text", "enums": None},
    ]}}  # fmt: skip
    script = Script(ok(page1), ok(page2))
    client = make_client(script)
    fields = client.custom_fields()
    assert [(f.id, f.code) for f in fields] == [(4439091, None), (4440043, None), (77, "UTM_SOURCE")]
    assert script.requests[0].url.params["limit"] == "50"
    assert script.requests[1].url.params["page"] == "2"
