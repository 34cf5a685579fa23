"""Simulator test fixtures: a shared read-only account, fresh apps, clients over MockTransport or HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.model import SimAccount
from cohort_service.simulator.server import serve

HERE = Path(__file__).resolve().parent
SAMPLE_DIRS = (HERE / "samples", HERE.parent / "fixtures" / "amo")
BASE_URL = "https://sim.amocrm.ru"


def sample(name: str) -> Any:
    for folder in SAMPLE_DIRS:
        if (folder / name).exists():
            return json.loads((folder / name).read_text(encoding="utf-8"))
    pytest.skip(f"sample {name} is not in {', '.join(str(d) for d in SAMPLE_DIRS)}")


@pytest.fixture(scope="session")
def shared_account() -> SimAccount:
    """Read-only: tests that move time build their own account."""
    return generate_account(seed=5, leads=600, weeks=12)


@pytest.fixture
def app(shared_account: SimAccount) -> SimulatorApp:
    return SimulatorApp(shared_account, limits=Limits(rps=None))


def mock_client(app: SimulatorApp, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or app.issue_token()}"}
    return httpx.Client(transport=app.transport(), base_url=BASE_URL, headers=headers)


@pytest.fixture
def client(app: SimulatorApp) -> Iterator[httpx.Client]:
    with mock_client(app) as c:
        yield c


@pytest.fixture(params=["mock", "http"])
def both(request: pytest.FixtureRequest, app: SimulatorApp) -> Iterator[httpx.Client]:
    """The same client over MockTransport and over a real loopback server."""
    if request.param == "mock":
        with mock_client(app) as c:
            yield c
        return
    headers = {"Authorization": f"Bearer {app.issue_token()}"}
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=10) as c:
        yield c


def all_pages(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    """Follow ``_links.next`` until a 204; returns every page body."""
    pages = []
    response = client.get(url)
    while response.status_code == 200:
        body = response.json()
        pages.append(body)
        nxt = body["_links"].get("next")
        if nxt is None:
            break
        response = client.get(nxt["href"])
    assert response.status_code in (200, 204)
    return pages


Getter = Callable[[str], httpx.Response]
