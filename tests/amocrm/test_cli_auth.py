"""`cohort-service auth --code` against a token endpoint on loopback: stores the pair, prints no secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cohort_service.amocrm.tokens import TokenStore
from tests.conftest import CliResult

ACCESS = "eyJ0eXAiOiJKV1Qi.access.SECRET-abc"
REFRESH = "def50200-refresh-SECRET-xyz"


class TokenEndpoint(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012 - per-server, reset by the fixture

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({"path": self.path, **body})
        if body.get("code") != "GOOD-CODE":
            self._answer(400, {"hint": "Authorization code has expired", "status": 400})
            return
        self._answer(200, {"token_type": "Bearer", "expires_in": 86400, "access_token": ACCESS,
                           "refresh_token": REFRESH})  # fmt: skip

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def token_server() -> Iterator[str]:
    TokenEndpoint.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _config(tmp_path: Path, base_url: str, db_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[amocrm]\nbase_url = "{base_url}"\n\n'
        '[amocrm.oauth]\nclient_id = "integration-id"\nredirect_uri = "https://example.com/cb"\n\n'
        f'[database]\nurl = "{db_url}"\n',
        encoding="utf-8",
    )
    return path


def auth_with_code(run_cli: Callable[..., CliResult], config: Path, code: str) -> CliResult:
    """``auth --code`` with the integration's secret in the environment, as a deployment keeps it."""
    return run_cli(
        "--config", str(config), "auth", "--code", code, env={"COHORT_AMOCRM_CLIENT_SECRET": "CS-SECRET-1"}
    )


def test_auth_code_is_exchanged_and_stored(
    run_cli: Callable[..., CliResult], token_server: str, db_url: str, engine: Engine, tmp_path: Path
) -> None:
    config = _config(tmp_path, token_server, db_url)
    result = auth_with_code(run_cli, config, "GOOD-CODE")
    assert result.exit_code == 0, result.stderr
    assert f"OAuth tokens stored for {token_server}; the access token expires 20" in result.stdout
    for secret in (ACCESS, REFRESH, "CS-SECRET-1", "GOOD-CODE"):
        assert secret not in result.stdout + result.stderr
    assert TokenEndpoint.received == [
        {"path": "/oauth2/access_token", "client_id": "integration-id", "client_secret": "CS-SECRET-1",
         "grant_type": "authorization_code", "code": "GOOD-CODE", "redirect_uri": "https://example.com/cb"}
    ]  # fmt: skip
    stored = TokenStore(engine, token_server).load()
    assert (stored.access_token, stored.refresh_token) == (ACCESS, REFRESH)


def test_auth_with_an_expired_code_fails_with_one_line(
    run_cli: Callable[..., CliResult], token_server: str, db_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, token_server, db_url)
    result = auth_with_code(run_cli, config, "OLD-CODE")
    assert result.exit_code == 1
    assert "refused the authorization code: a code works once and only for 20 minutes" in result.stderr
    assert "CS-SECRET-1" not in result.stderr
    assert "OLD-CODE" not in result.stderr
