"""The simulator over real HTTP on loopback: threaded, keep-alive, and able to misbehave.

Each request becomes an ``httpx.Request`` for ``SimulatorApp.handle``; a dropped-connection fault
(``httpx.RemoteProtocolError`` from the app) closes the socket without writing a byte, and a slow
fault really sleeps, so a client's own timeouts fire. Shutdown closes open keep-alive connections
and wakes sleeping slow responses, so tests never hang on teardown.
"""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

import httpx

from cohort_service.simulator.api import SimulatorApp


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SimulatorApp) -> None:
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.idle = threading.Condition(self.connections_lock)
        self.busy = 0
        super().__init__(address, _Handler)

    def enter(self) -> None:
        with self.connections_lock:
            self.busy += 1

    def leave(self) -> None:
        with self.connections_lock:
            self.busy -= 1
            self.idle.notify_all()

    def wait_idle(self, timeout: float) -> None:
        """Give woken slow responses a moment to finish, so the request log is complete."""
        with self.connections_lock:
            self.idle.wait_for(lambda: self.busy == 0, timeout=timeout)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-request (a drill's SIGKILL) is not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self.connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # an idle keep-alive connection is closed after this
    server: _Server

    _date: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the app keeps its own request log."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The app's Date (the simulated account's clock) instead of the wall clock."""
        return self._date or super().date_time_string(timestamp)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        request = httpx.Request(
            self.command, f"http://{host}{self.path}", headers=list(self.headers.items()), content=body
        )
        self.server.enter()
        try:
            response = self.server.app.handle(request)
        except httpx.TransportError:
            self.close_connection = True  # say nothing: the client sees the connection drop
            return
        finally:
            self.server.leave()
        try:
            self._date = response.headers.get("Date")
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() != "date":  # send_response already wrote it (date_time_string)
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.content)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch  # noqa: N815 - http.server's method names


def _check_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the simulator serves on loopback only, not {host}")


@contextmanager
def serve(app: SimulatorApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` in a background thread; yields the base URL (``http://127.0.0.1:PORT``)."""
    _check_loopback(host)
    server = _Server((host, port), app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        app.close()
        server.wait_idle(timeout=5)
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)


def run_forever(
    app: SimulatorApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down cleanly and return."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with serve(app, host, port) as base_url:
            if on_ready is not None:
                on_ready(base_url)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
