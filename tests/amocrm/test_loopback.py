"""The real HTTP stack on loopback: bodies cut off mid-transfer, slow answers, pooled connections."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from cohort_service.amocrm.client import AmoClient, build_client
from tests.amocrm.conftest import amo_settings
from tests.helpers.clock import FakeClock

BODY = json.dumps({"_embedded": {"loss_reasons": [{"id": 3, "name": "Цена", "sort": 10}]}}).encode()

# One behaviour per accepted request, in order; after the list runs out: answer normally.
Behaviour = Callable[[socket.socket], None]


def _headers(length: int) -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/hal+json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def answer(conn: socket.socket) -> None:
    conn.sendall(_headers(len(BODY)) + BODY)


def cut_mid_body(conn: socket.socket) -> None:
    """Promise the whole body, send half of it, hang up."""
    conn.sendall(_headers(len(BODY)) + BODY[: len(BODY) // 2])
    conn.shutdown(socket.SHUT_RDWR)


def slow(conn: socket.socket) -> None:
    time.sleep(0.6)  # the client gives up after 0.2 s
    answer(conn)


def hang_up(conn: socket.socket) -> None:
    conn.shutdown(socket.SHUT_RDWR)


class RawServer:
    """A tiny HTTP/1.1 server over raw sockets, so it can misbehave at the byte level."""

    def __init__(self, behaviours: list[Behaviour]) -> None:
        self.behaviours = behaviours
        self.requests = 0
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            while True:
                line = reader.readline()
                if not line:
                    return
                while reader.readline() not in (b"\r\n", b""):
                    pass
                self.requests += 1
                behaviour = self.behaviours.pop(0) if self.behaviours else answer
                try:
                    behaviour(conn)
                except OSError:
                    return
                if behaviour is not answer:
                    return

    def close(self) -> None:
        self.stopping = True
        self.sock.close()


@pytest.fixture
def server_factory() -> Iterator[Callable[[list[Behaviour]], RawServer]]:
    servers: list[RawServer] = []

    def make(behaviours: list[Behaviour]) -> RawServer:
        servers.append(RawServer(behaviours))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _client(url: str) -> AmoClient:
    clock = FakeClock()
    return build_client(
        amo_settings(base_url=url, timeout_s=0.2, connect_timeout_s=1, max_attempts=4),
        clock=clock,
        sleep=clock.sleep,
    )


@pytest.mark.parametrize(
    "faults",
    [[cut_mid_body], [hang_up, hang_up], [slow], [cut_mid_body, slow, hang_up]],
    ids=["truncated-body", "dropped-twice", "read-timeout", "mixed"],
)
def test_faults_on_real_sockets_are_retried(
    server_factory: Callable[[list[Behaviour]], RawServer], faults: list[Behaviour]
) -> None:
    server = server_factory(list(faults))
    with _client(server.url) as client:
        reasons = client.loss_reasons()
        assert [(r.id, r.name) for r in reasons] == [(3, "Цена")]
        stats = client.stats.snapshot()
    assert server.requests == len(faults) + 1
    assert (stats.retries, stats.network_errors) == (len(faults), len(faults))


def test_keep_alive_connections_are_reused(server_factory: Callable[[list[Behaviour]], RawServer]) -> None:
    """Reading the body inside the transport still returns the connection to the pool."""
    server = server_factory([])
    with _client(server.url) as client:
        for _ in range(5):
            client.loss_reasons()
    assert (server.requests, server.connections) == (5, 1)
