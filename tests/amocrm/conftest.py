"""Helpers for client tests: sample payloads, a fake clock, and scripted MockTransport handlers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from cohort_service.amocrm.client import AmoClient, build_client
from cohort_service.amocrm.pagination import Page, parse_page
from cohort_service.amocrm.queries import ListQuery
from cohort_service.config import Settings
from tests.conftest import make_settings
from tests.helpers.clock import FakeClock

T = TypeVar("T")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amo"
BASE_URL = "https://example.amocrm.ru"
TOKEN = "LONG-LIVED-SECRET-7f3a9c"

Handler = Callable[[httpx.Request], httpx.Response]


def sample(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sample_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def amo_settings(db_url: str | None = None, **amocrm: object) -> Settings:
    section: dict[str, object] = {"base_url": BASE_URL, "token": TOKEN}
    section.update(amocrm)
    if "oauth" in amocrm:
        section.pop("token")
    return make_settings(db_url, amocrm=section)


class Script:
    """A MockTransport handler answering from a list of steps, then from ``rest`` (if given).

    A step is an ``httpx.Response`` factory or an exception class raised for the request.
    Every request is recorded.
    """

    def __init__(self, *steps: Callable[[], httpx.Response] | type[Exception], rest: Handler | None = None):
        self.steps = list(steps)
        self.rest = rest
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            step = self.steps.pop(0) if self.steps else None
        if step is None:
            if self.rest is None:
                raise AssertionError(f"unexpected request {request.method} {request.url}")
            return self.rest(request)
        if isinstance(step, type) and issubclass(step, Exception):
            if issubclass(step, httpx.RequestError):
                raise step("scripted failure", request=request)
            raise step("scripted failure")
        assert callable(step)
        return step()


def ok(body: object, status: int = 200) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(status, json=body)


def raw(
    status: int, content: bytes = b"", headers: dict[str, str] | None = None
) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(status, content=content, headers=headers)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., AmoClient]]:
    """``make_client(handler, **amocrm_settings)`` → a client on MockTransport and the fake clock."""
    made: list[AmoClient] = []

    def make(handler: Handler, **amocrm: object) -> AmoClient:
        client = build_client(
            amo_settings(**amocrm),
            transport=httpx.MockTransport(handler),
            clock=clock,
            sleep=clock.sleep,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def read_page(client: AmoClient, query: ListQuery[T], number: int = 1) -> Page[T]:
    """One page of a list, as the prefetcher would parse it (query strings, errors, 204)."""
    return parse_page(query, number, client.get(query.url(number)))
