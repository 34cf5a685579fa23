"""Leads, users and custom fields lists: paging edges, limits, order, filters on and off, the trash."""

from __future__ import annotations

import dataclasses

import httpx
import numpy as np
import pytest

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.model import SimAccount
from cohort_service.simulator.truth import leads_frame
from tests.simulator.conftest import all_pages, mock_client


def _ids(pages: list[dict]) -> list[int]:
    return [lead["id"] for page in pages for lead in page["_embedded"]["leads"]]


def test_every_live_lead_once_and_trash_apart(both: httpx.Client, shared_account: SimAccount) -> None:
    truth = leads_frame(shared_account, custom_fields=False)
    live = _ids(all_pages(both, "/api/v4/leads?limit=250"))
    assert live == sorted(truth.loc[~truth["is_deleted"], "id"].tolist())  # default order: id ascending
    trash_pages = all_pages(both, "/api/v4/leads?with=only_deleted&limit=250")
    trash = [lead for page in trash_pages for lead in page["_embedded"]["leads"]]
    assert sorted(lead["id"] for lead in trash) == sorted(truth.loc[truth["is_deleted"], "id"].tolist())
    assert {tuple(sorted(lead)) for lead in trash} == {
        ("_links", "account_id", "id", "is_deleted", "updated_at", "updated_by")
    }
    assert all(lead["is_deleted"] is True for lead in trash)
    gone = trash[0]["id"]
    assert both.get(f"/api/v4/leads/{gone}").status_code == 204
    assert both.get("/api/v4/leads/1").status_code == 204


def test_exactly_full_last_page_links_to_204(both: httpx.Client, shared_account: SimAccount) -> None:
    deleted = int(shared_account.leads.is_deleted.sum())
    first = both.get(f"/api/v4/leads?with=only_deleted&limit={deleted}")
    assert first.status_code == 200
    body = first.json()
    assert len(body["_embedded"]["leads"]) == deleted
    nxt = body["_links"]["next"]["href"]
    assert "page=2" in nxt
    assert "prev" not in body["_links"]
    last = both.get(nxt)
    assert (last.status_code, last.content, last.headers.get("content-type")) == (204, b"", None)
    second = both.get(f"/api/v4/leads?with=only_deleted&limit={deleted - 1}&page=2").json()
    assert len(second["_embedded"]["leads"]) == 1
    assert "next" not in second["_links"]
    assert second["_links"]["prev"]["href"].endswith(f"with=only_deleted&page=1&limit={deleted - 1}")
    assert second["_links"]["first"]["href"].endswith(f"with=only_deleted&page=1&limit={deleted - 1}")


def test_limits(client: httpx.Client) -> None:
    assert len(client.get("/api/v4/leads").json()["_embedded"]["leads"]) == 50
    assert len(client.get("/api/v4/leads?limit=250").json()["_embedded"]["leads"]) == 250
    for url in ("/api/v4/leads?limit=251", "/api/v4/users?limit=251"):
        refused = client.get(url)
        assert (refused.status_code, refused.json()["detail"]) == (422, "Limit 250 per page")
    assert client.get("/api/v4/leads?limit=abc").status_code == 400
    assert client.get("/api/v4/leads?page=999").status_code == 204


@pytest.mark.parametrize(
    ("order", "key", "reverse"),
    [("updated_at", "updated_at", True), ("created_at", "created_at", False), ("id", "id", True)],
)
def test_order(client: httpx.Client, order: str, key: str, reverse: bool) -> None:
    direction = "desc" if reverse else "asc"
    pages = all_pages(client, f"/api/v4/leads?order[{order}]={direction}&limit=250")
    values = [lead[key] for page in pages for lead in page["_embedded"]["leads"]]
    assert values == sorted(values, reverse=reverse)
    assert len(set(_ids(pages))) == len(values)


def test_filters_when_the_add_on_is_on(client: httpx.Client, shared_account: SimAccount) -> None:
    truth = leads_frame(shared_account, custom_fields=False)
    live = truth[~truth["is_deleted"]]
    low, high = int(live["updated_at"].iloc[10].timestamp()), int(live["updated_at"].iloc[20].timestamp())
    low, high = min(low, high), max(low, high)
    got = _ids(
        all_pages(client, f"/api/v4/leads?filter[updated_at][from]={low}&filter[updated_at][to]={high}")
    )
    stamps = live["updated_at"].map(lambda t: int(t.timestamp()))
    assert got == sorted(live.loc[(stamps >= low) & (stamps <= high), "id"].tolist())  # both ends included
    created = int(live["created_at"].iloc[100].timestamp())
    got = _ids(all_pages(client, f"/api/v4/leads?filter[created_at][from]={created}&limit=250"))
    assert got == sorted(live.loc[live["created_at"].map(lambda t: t.timestamp()) >= created, "id"].tolist())
    a, b, c = (int(i) for i in live["id"].iloc[[3, 7, 9]])
    for query in (
        f"filter[id]={a}",
        f"filter[id][]={a}&filter[id][]={b}&filter[id][]={c}",
        f"filter[id][0]={a}&filter[id][1]={b}&filter[id][2]={c}",
        f"filter[id]={a},{b},{c}",
    ):
        expected = [a] if query.count(str(b)) == 0 else [a, b, c]
        assert _ids(all_pages(client, f"/api/v4/leads?{query}")) == expected


def test_filters_are_ignored_without_the_add_on() -> None:
    account = generate_account(seed=5, leads=300, weeks=6, filters_enabled=False)
    app = SimulatorApp(account, limits=Limits(rps=None))
    with mock_client(app) as client:
        flag = client.get("/api/v4/account?with=is_api_filter_enabled").json()["is_api_filter_enabled"]
        assert flag is False
        plain = client.get("/api/v4/leads?limit=20").json()["_embedded"]["leads"]
        lead_id = int(account.leads.id[-1])
        filtered = client.get(
            f"/api/v4/leads?limit=20&filter[id]={lead_id}&filter[updated_at][from]=2000000000"
        )
        assert [x["id"] for x in filtered.json()["_embedded"]["leads"]] == [x["id"] for x in plain]
        ordered = client.get("/api/v4/leads?limit=5&order[updated_at]=desc").json()["_embedded"]["leads"]
        assert ordered[0]["updated_at"] == int(account.leads.updated_at[~account.leads.is_deleted].max())


def test_users_paging_and_rights(client: httpx.Client, shared_account: SimAccount) -> None:
    pages = all_pages(client, "/api/v4/users?limit=2")
    users = [u for page in pages for u in page["_embedded"]["users"]]
    assert [u["id"] for u in users] == [u.id for u in shared_account.users]
    assert pages[0]["_total_items"] == len(shared_account.users)
    assert pages[0]["_page_count"] == -(-len(shared_account.users) // 2)
    assert [u["rights"]["is_admin"] for u in users].count(True) == 1
    assert {u["rights"]["is_active"] for u in users} == {True, False}


def test_custom_fields_come_fifty_a_page() -> None:
    account = generate_account(seed=5, leads=50, weeks=2)
    first = account.custom_fields[0]
    account.custom_fields = tuple(
        dataclasses.replace(first, id=first.id + 1000 + i, name=f"Поле {i}", key=f"extra{i}")
        for i in range(60)
    )
    app = SimulatorApp(account, limits=Limits(rps=None))
    with mock_client(app) as client:
        page = client.get("/api/v4/leads/custom_fields?limit=250").json()
        assert len(page["_embedded"]["custom_fields"]) == 50
        assert (page["_total_items"], page["_page_count"]) == (60, 2)
        rest = client.get(page["_links"]["next"]["href"]).json()
        assert len(rest["_embedded"]["custom_fields"]) == 10
        assert client.get("/api/v4/leads/custom_fields?page=3").status_code == 204


def test_same_seed_same_bytes() -> None:
    urls = [
        "/api/v4/leads?limit=250&with=contacts,loss_reason&page=2",
        "/api/v4/leads?with=only_deleted",
        "/api/v4/events?limit=100&page=3",
        "/api/v4/events?filter[type]=lead_status_changed&limit=100",
        "/api/v4/leads/pipelines",
        "/api/v4/users",
        "/api/v4/leads/custom_fields",
        "/api/v4/account?with=datetime_settings,users_groups,is_api_filter_enabled",
    ]
    bodies = []
    for seed in (31, 31, 32):
        app = SimulatorApp(generate_account(seed=seed, leads=800, weeks=10), limits=Limits(rps=None))
        with mock_client(app) as client:
            bodies.append([client.get(url).content for url in urls])
    assert bodies[0] == bodies[1]
    assert all(a != b for a, b in zip(bodies[0], bodies[2], strict=True))


def test_advance_is_seen_through_the_api() -> None:
    app = SimulatorApp(generate_account(seed=12, leads=1000, weeks=12), limits=Limits(rps=None))
    before = app.account.now
    with mock_client(app) as client:
        assert client.get(f"/api/v4/leads?filter[updated_at][from]={before + 1}").status_code == 204
        app.advance(3)
        fresh = _ids(all_pages(client, f"/api/v4/leads?filter[updated_at][from]={before + 1}&limit=250"))
        leads = app.account.leads
        expected = leads.id[(leads.updated_at > before) & ~leads.is_deleted]
        assert fresh == sorted(expected.tolist())
        assert np.any(leads.created_at[np.isin(leads.id, fresh)] <= before), "old leads moved too"
        assert np.any(leads.created_at[np.isin(leads.id, fresh)] > before), "new leads arrived"
