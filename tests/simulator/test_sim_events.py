"""Events endpoint: every spelling of the filters, the limits, ordering, and ids."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.model import EV_CONTACT, EV_DELETED, EV_RESTORED, EV_STATUS, SimAccount
from tests.simulator.conftest import all_pages, mock_client


def _events(client: httpx.Client, query: str) -> list[dict]:
    pages = all_pages(client, f"/api/v4/events?limit=100&{query}")
    return [e for page in pages for e in page["_embedded"]["events"]]


@pytest.mark.parametrize(
    "query",
    [
        "filter[type]=lead_deleted,lead_restored",
        "filter[type][]=lead_deleted&filter[type][]=lead_restored",
        "filter[type][0]=lead_deleted&filter[type][1]=lead_restored",
    ],
)
def test_type_filter_spellings(client: httpx.Client, shared_account: SimAccount, query: str) -> None:
    got = _events(client, query)
    ev = shared_account.events
    assert len(got) == int(np.isin(ev.type, [EV_DELETED, EV_RESTORED]).sum())
    assert {e["type"] for e in got} == {"lead_deleted", "lead_restored"}
    assert len({e["id"] for e in got}) == len(got)


def test_entity_filters(client: httpx.Client, shared_account: SimAccount) -> None:
    contacts = _events(client, "filter[entity][]=contact")
    assert len(contacts) == int((shared_account.events.type == EV_CONTACT).sum())
    assert {(e["type"], e["entity_type"]) for e in contacts} == {("contact_added", "contact")}
    leads_only = _events(client, "filter[entity]=lead&filter[type]=lead_added,contact_added")
    assert {e["type"] for e in leads_only} == {"lead_added"}
    ev = shared_account.events
    busy = np.bincount(np.searchsorted(shared_account.leads.id, ev.entity_id[ev.type == EV_STATUS])).argmax()
    lead_id = int(shared_account.leads.id[busy])
    own = _events(client, f"filter[entity]=lead&filter[entity_id][]={lead_id}")
    assert len(own) == int(((ev.entity_id == lead_id) & (ev.type != EV_CONTACT)).sum()) > 3
    assert {e["entity_id"] for e in own} == {lead_id}


def test_entity_id_rules(client: httpx.Client, shared_account: SimAccount) -> None:
    ids = "&".join(f"filter[entity_id][]={i}" for i in shared_account.leads.id[:11])
    too_many = client.get(f"/api/v4/events?filter[entity]=lead&{ids}")
    assert too_many.status_code == 400
    assert too_many.headers["content-type"] == "application/problem+json"
    assert too_many.json()["validation-errors"][0]["errors"][0]["path"] == "filter.entity_id"
    ten = "&".join(f"filter[entity_id][]={i}" for i in shared_account.leads.id[:10])
    assert client.get(f"/api/v4/events?filter[entity]=lead&{ten}").status_code == 200
    assert client.get(f"/api/v4/events?{ten}").status_code == 400
    assert (
        client.get(f"/api/v4/events?filter[entity][]=lead&filter[entity][]=contact&{ten}").status_code == 400
    )


def test_created_at_single_and_range(client: httpx.Client, shared_account: SimAccount) -> None:
    times = shared_account.events.created_at
    low, high = int(times[len(times) // 2]), int(times[len(times) // 2 + 40])
    got = _events(client, f"filter[created_at][from]={low}&filter[created_at][to]={high}")
    assert len(got) == int(((times >= low) & (times <= high)).sum())
    assert {min(e["created_at"] for e in got), max(e["created_at"] for e in got)} == {low, high}
    since = _events(client, f"filter[created_at]={high}")
    assert len(since) == int((times >= high).sum())
    assert min(e["created_at"] for e in since) == high
    only_to = _events(client, f"filter[created_at][to]={low}")
    assert len(only_to) == int((times <= low).sum())


def test_created_by_filter(client: httpx.Client, shared_account: SimAccount) -> None:
    admin = shared_account.admin.id
    got = _events(client, f"filter[created_by][]={admin}&filter[type]=lead_status_changed")
    ev = shared_account.events
    assert len(got) == int(((ev.created_by == admin) & (ev.type == EV_STATUS)).sum()) > 0
    assert {e["created_by"] for e in got} == {admin}


def test_limit(client: httpx.Client) -> None:
    assert len(client.get("/api/v4/events").json()["_embedded"]["events"]) == 50
    assert len(client.get("/api/v4/events?limit=100").json()["_embedded"]["events"]) == 100
    refused = client.get("/api/v4/events?limit=101")
    assert refused.status_code == 400
    assert refused.json()["validation-errors"][0]["errors"][0]["path"] == "limit"
    assert client.get("/api/v4/events?filter[type]=no_such_type").status_code == 204


@pytest.mark.parametrize("order", ["desc", "asc", "shuffled"])
def test_orders_serve_the_same_events(shared_account: SimAccount, order: str) -> None:
    app = SimulatorApp(shared_account, limits=Limits(rps=None), events_order=order)  # type: ignore[arg-type]
    with mock_client(app) as client:
        got = _events(client, "filter[type]=lead_status_changed")
    ids = [e["id"] for e in got]
    assert len(ids) == len(set(ids)) == int((shared_account.events.type == EV_STATUS).sum())
    times = [e["created_at"] for e in got]
    if order == "desc":
        assert times == sorted(times, reverse=True)
    elif order == "asc":
        assert times == sorted(times)
    else:
        assert times not in (sorted(times), sorted(times, reverse=True))


def test_event_by_id(client: httpx.Client) -> None:
    listed = client.get("/api/v4/events?limit=5&filter[type]=lead_status_changed").json()["_embedded"][
        "events"
    ]
    for event in listed:
        one = client.get(f"/api/v4/events/{event['id']}")
        assert one.status_code == 200
        assert one.json() == event
        assert len(event["id"]) == 26
        assert event["id"] == event["id"].lower()
    tampered = listed[0]["id"][:-1] + ("0" if listed[0]["id"][-1] != "0" else "1")
    assert client.get(f"/api/v4/events/{tampered}").status_code == 204
    assert client.get("/api/v4/events/01aaaaaaaaaaaaaaaaaaaaaaaa").status_code == 204
    by_id = client.get(f"/api/v4/events?filter[id]={listed[1]['id']}").json()["_embedded"]["events"]
    assert [e["id"] for e in by_id] == [listed[1]["id"]]


def test_status_values_follow_the_path(client: httpx.Client, shared_account: SimAccount) -> None:
    ev, st = shared_account.events, shared_account.statuses
    k = int(np.flatnonzero((ev.type == EV_STATUS) & (st.pipe[ev.before] != st.pipe[ev.after]))[0])
    lead_id = int(ev.entity_id[k])
    got = _events(client, f"filter[entity]=lead&filter[entity_id]={lead_id}&filter[type]=lead_status_changed")
    move = next(e for e in got if e["created_at"] == int(ev.created_at[k]))
    before, after = move["value_before"][0]["lead_status"], move["value_after"][0]["lead_status"]
    assert before["pipeline_id"] != after["pipeline_id"]
    assert (after["id"], after["pipeline_id"]) == (
        int(st.status_id[ev.after[k]]),
        int(st.pipeline_id[ev.after[k]]),
    )
