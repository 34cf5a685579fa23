"""The one paginator: a pure object fed hand-built responses, then the client following real links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cohort_service.amocrm import pagination
from cohort_service.amocrm.client import AmoClient
from cohort_service.amocrm.pagination import (
    MAX_PAGES,
    Page,
    PaginationLoopError,
    Paginator,
    next_href,
    parse_page,
)
from cohort_service.amocrm.queries import ListQuery, events_list, leads_list, users_list
from cohort_service.amocrm.schemas import Lead
from cohort_service.errors import AmoPayloadError
from tests.amocrm.conftest import BASE_URL, Script, ok, raw, sample

LEADS = f"{BASE_URL}/api/v4/leads"
USERS = f"{BASE_URL}/api/v4/users"


def lead(lead_id: int) -> dict[str, Any]:
    return {
        "id": lead_id, "name": f"Lead {lead_id}", "status_id": 142, "pipeline_id": 1300,
        "created_at": 1700000000, "updated_at": 1700000000 + lead_id,
    }  # fmt: skip


def user(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "name": f"U{user_id}",
        "email": None,
        "rights": {"is_admin": False, "is_active": True},
    }


def leads_body(ids: list[int], page: int, next_page: int | None, base: str = LEADS) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": f"{base}?limit=2&page={page}"}}
    if next_page is not None:
        links["next"] = {"href": f"{base}?limit=2&page={next_page}"}
    return {"_page": page, "_links": links, "_embedded": {"leads": [lead(i) for i in ids]}}


def users_body(ids: list[int], page: int, next_href_: str | None) -> dict[str, Any]:
    links: dict[str, Any] = {"self": {"href": f"{USERS}?page={page}"}}
    if next_href_ is not None:
        links["next"] = {"href": next_href_}
    return {"_page": page, "_links": links, "_embedded": {"users": [user(i) for i in ids]}}


def answer(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def ids(pages: list[Page[Lead]]) -> list[list[int]]:
    return [[x.id for x in p.items] for p in pages]


# -- the pure object ------------------------------------------------------------------------------


def test_number_paging_asks_known_pages_and_ends_on_204() -> None:
    paginator = Paginator(leads_list(limit=2))
    assert paginator.can_request(speculative=False)
    assert paginator.claim() == (1, "/api/v4/leads?page=1&limit=2")
    assert not paginator.can_request(speculative=False)  # page 2 is not known yet
    assert paginator.can_request(speculative=True)  # but may be guessed
    assert paginator.accept(paginator.parse(1, answer(leads_body([1, 2], 1, 2))))
    assert paginator.claim() == (2, "/api/v4/leads?page=2&limit=2")
    paginator.accept(paginator.parse(2, httpx.Response(204)))
    assert ids(paginator.take()) == [[1, 2]]
    assert paginator.done
    assert (paginator.finish(), paginator.finish()) == (True, False)
    assert not paginator.can_request(speculative=True)


def test_pages_arriving_out_of_order_are_handed_over_in_order() -> None:
    paginator = Paginator(leads_list(limit=2))
    for _ in range(4):
        paginator.claim()
    assert paginator.ahead == 4
    paginator.accept(paginator.parse(3, answer(leads_body([5, 6], 3, 4))))
    paginator.accept(paginator.parse(2, answer(leads_body([3, 4], 2, 3))))
    assert paginator.take() == []  # page 1 still missing
    paginator.accept(paginator.parse(1, answer(leads_body([1, 2], 1, 2))))
    assert ids(paginator.take()) == [[1, 2], [3, 4], [5, 6]]
    # page 4 has no next: the end; a guessed page 5 that answers later is wasted
    paginator.accept(paginator.parse(4, answer(leads_body([7], 4, None))))
    assert ids(paginator.take()) == [[7]]
    assert paginator.done
    assert not paginator.accept(paginator.parse(5, httpx.Response(204)))


def test_stop_predicate_ends_the_list_at_that_page() -> None:
    paginator = Paginator(leads_list(limit=2), stop=lambda page: any(x.id >= 3 for x in page.items))
    paginator.accept(paginator.parse(1, answer(leads_body([1, 2], 1, 2))))
    paginator.accept(paginator.parse(2, answer(leads_body([3, 4], 2, 3))))
    assert ids(paginator.take()) == [[1, 2], [3, 4]]
    assert paginator.done


def test_a_resumed_read_starts_at_its_first_page() -> None:
    paginator = Paginator(leads_list(limit=2), first_page=7)
    assert paginator.claim() == (7, "/api/v4/leads?page=7&limit=2")
    paginator.accept(paginator.parse(7, httpx.Response(204)))
    assert paginator.done
    assert paginator.take() == []


def test_204_on_the_first_page_is_an_empty_list() -> None:
    page = parse_page(leads_list(), 3, httpx.Response(204))
    assert (page.items, page.page, page.next_url, page.is_empty) == ([], 3, None, True)
    paginator = Paginator(leads_list())
    paginator.accept(paginator.parse(1, httpx.Response(204)))
    assert paginator.done
    assert paginator.finish()
    assert paginator.take() == []


def test_a_next_link_back_to_the_same_page_is_a_loop() -> None:
    with pytest.raises(
        PaginationLoopError,
        match=r"^GET /api/v4/leads page 2: _links.next leads to /api/v4/leads page 2, not to page 3",
    ):
        parse_page(leads_list(limit=2), 2, answer(leads_body([3, 4], 2, 2)))


def test_a_server_ignoring_the_page_number_is_a_loop() -> None:
    with pytest.raises(PaginationLoopError, match=r"^GET /api/v4/leads page 2: amoCRM answered with page 1"):
        parse_page(leads_list(limit=2), 2, answer(leads_body([1, 2], 1, 2)))


def test_following_links_takes_amocrms_href_and_refuses_the_same_link_twice() -> None:
    paginator = Paginator(users_list())
    assert paginator.claim() == (1, "/api/v4/users?page=1&limit=250")
    assert not paginator.can_request(speculative=True)  # a link-following list never guesses
    paginator.accept(paginator.parse(1, answer(users_body([1], 1, f"{USERS}?page=2&x=1"))))
    assert paginator.claim() == (2, f"{USERS}?page=2&x=1")
    paginator.accept(paginator.parse(2, answer(users_body([2], 2, f"{USERS}?page=3"))))
    assert paginator.claim() == (3, f"{USERS}?page=3")
    with pytest.raises(
        PaginationLoopError, match=r"^GET /api/v4/users page 3: amoCRM returned the same next link twice"
    ):
        paginator.accept(paginator.parse(3, answer(users_body([3], 3, f"{USERS}?page=2&x=1"))))


def test_more_items_than_the_limit_is_an_error_naming_the_endpoint() -> None:
    with pytest.raises(
        AmoPayloadError, match=r"^GET /api/v4/leads page 1: 3 items on one page, but limit=2 was asked for$"
    ):
        parse_page(leads_list(limit=2), 1, answer(leads_body([1, 2, 3], 1, None)))


def test_a_body_over_the_cap_is_an_error_naming_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagination, "MAX_BODY_BYTES", 1000)
    huge = answer(leads_body([1], 1, None) | {"padding": "x" * 1000})
    with pytest.raises(
        AmoPayloadError,
        match=r"^GET /api/v4/events page 4: a \d+-byte answer is over the 1000-byte cap for a page$",
    ):
        parse_page(events_list(types=["lead_added"]), 4, huge)


def test_runaway_lists_stop_at_max_pages() -> None:
    paginator = Paginator(leads_list(limit=2))
    paginator.accept(paginator.parse(MAX_PAGES - 1, answer(leads_body([1, 2], MAX_PAGES - 1, MAX_PAGES))))
    with pytest.raises(PaginationLoopError, match=rf"more than {MAX_PAGES} pages"):
        paginator.accept(paginator.parse(MAX_PAGES, answer(leads_body([1, 2], MAX_PAGES, MAX_PAGES + 1))))


def test_a_malformed_next_link_is_an_error_not_the_end() -> None:
    broken = {"_links": {"next": {"url": "x"}}, "_embedded": {"leads": []}}
    with pytest.raises(AmoPayloadError, match=r'page 1: _links.next: expected \{"href": URL\}'):
        parse_page(leads_list(), 1, answer(broken))
    assert next_href({"_links": {"self": {"href": "x"}}}) is None


def test_documented_list_sample_points_to_page_three() -> None:
    page = parse_page(leads_list(limit=2), 2, answer(sample("doc_leads_list.json")))
    assert page.next_url == "https://example.amocrm.ru/api/v4/leads?limit=2&page=3"
    assert len(page.items) == 2


# -- through the client ---------------------------------------------------------------------------


def test_client_full_last_page_whose_next_answers_204(make_client: Callable[..., AmoClient]) -> None:
    """Two full pages with next links; the third page answers 204: two pages, three requests."""
    script = Script(ok(leads_body([1, 2], 1, 2)), ok(leads_body([3, 4], 2, 3)), raw(204))
    client = make_client(script)
    assert [x.id for x in client.read(leads_list(limit=2))] == [1, 2, 3, 4]
    assert [r.url.params["page"] for r in script.requests] == ["1", "2", "3"]


def test_client_stops_on_missing_next(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(leads_body([1, 2], 1, 2)), ok(leads_body([3], 2, None)))
    assert [x.id for x in make_client(script).read(leads_list(limit=2))] == [1, 2, 3]
    assert len(script.requests) == 2


def test_client_loop_guard(make_client: Callable[..., AmoClient]) -> None:
    script = Script(ok(leads_body([1, 2], 1, 2)), ok(leads_body([3, 4], 2, 2)))
    with pytest.raises(PaginationLoopError):
        make_client(script).read(leads_list(limit=2))
    assert len(script.requests) == 2


def test_client_first_page_204_yields_nothing(make_client: Callable[..., AmoClient]) -> None:
    assert make_client(Script(raw(204))).read(events_list(types=["lead_status_changed"])) == []


def test_next_links_on_another_host_keep_our_host(make_client: Callable[..., AmoClient]) -> None:
    """A next link naming a different host is followed on the configured host (the token stays home)."""
    first = users_body([1], 1, "https://evil.example.com/api/v4/users?limit=250&page=2")
    script = Script(ok(first), raw(204))
    make_client(script).users()
    assert str(script.requests[1].url) == f"{USERS}?limit=250&page=2"


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


def test_a_list_query_names_page_and_limit_once() -> None:
    query: ListQuery[Lead] = leads_list(limit=10, order=("id", "asc"))
    assert query.url(4) == "/api/v4/leads?page=4&limit=10&order[id]=asc"
