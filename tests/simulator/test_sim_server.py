"""The simulator over real loopback HTTP: concurrency, dropped and slow answers, shutdown, the CLI."""

from __future__ import annotations

import re
import signal
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from cohort_service.amocrm.client import build_client
from cohort_service.amocrm.tokens import TokenStore
from cohort_service.config import load_settings
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.model import SimAccount
from cohort_service.simulator.server import serve
from tests.conftest import CliResult
from tests.helpers.cli_process import cohort_process
from tests.helpers.clock import FakeClock


def test_concurrent_keep_alive_clients(app: SimulatorApp) -> None:
    token = app.issue_token()
    results: list[int] = []
    lock = threading.Lock()

    def worker(base_url: str) -> None:
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ) as client:
            codes = [client.get(f"/api/v4/leads?limit=50&page={p}").status_code for p in range(1, 6)]
        with lock:
            results.extend(codes)

    with serve(app) as url:
        threads = [threading.Thread(target=worker, args=(url,)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 30
    assert app.log.count(path="/api/v4/leads", status=200) == 30


def test_faults_over_a_socket(app: SimulatorApp) -> None:
    headers = {"Authorization": f"Bearer {app.issue_token()}"}
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        app.script("drop")
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/api/v4/leads")
        assert client.get("/api/v4/leads?limit=1").status_code == 200
        app.script("truncate")
        cut = client.get("/api/v4/leads?limit=3")
        assert (cut.status_code, int(cut.headers["content-length"])) == (200, len(cut.content))
        app.script("slow", slow_s=60)
        with pytest.raises(httpx.ReadTimeout):
            client.get("/api/v4/leads", timeout=0.3)
    assert [r.fault for r in app.log.records()] == ["drop", None, "truncate", "slow"]


def test_rate_limit_over_a_socket(shared_account: SimAccount) -> None:
    clock = FakeClock()
    app = SimulatorApp(shared_account, limits=Limits(rps=3, body_429="html"), clock=clock)
    headers = {"Authorization": f"Bearer {app.issue_token()}"}
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        codes = [client.get("/api/v4/account").status_code for _ in range(4)]
        limited = client.get("/api/v4/account")
    assert codes == [200, 200, 200, 429]
    assert (limited.status_code, limited.headers["content-type"]) == (429, "text/html")
    assert "retry-after" not in limited.headers


def test_links_point_back_at_the_server(app: SimulatorApp) -> None:
    headers = {"Authorization": f"Bearer {app.issue_token()}"}
    with serve(app) as url, httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        body = client.get("/api/v4/leads?limit=2").json()
        assert body["_links"]["next"]["href"] == f"{url}/api/v4/leads?page=2&limit=2"
        assert client.get(body["_links"]["next"]["href"]).status_code == 200


def test_loopback_only(app: SimulatorApp) -> None:
    with pytest.raises(ValueError, match="loopback"), serve(app, host="0.0.0.0"):  # noqa: S104
        pass


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_cli_prints_url_and_token_and_stops_on_sigterm(tmp_path: Path) -> None:
    args = ["--port", "0", "--leads", "200", "--weeks", "4", "--seed", "3", "--rps", "0", "--no-filters"]
    with cohort_process("simulator", *args, cwd=tmp_path) as proc:
        assert proc.stdout is not None
        first, second = proc.stdout.readline(), proc.stdout.readline()
        assert first.startswith("base_url: http://127.0.0.1:")
        assert second.startswith("token: ")
        url, token = first.split(": ", 1)[1].strip(), second.split(": ", 1)[1].strip()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            account = client.get("/api/v4/account?with=is_api_filter_enabled").json()
            assert account["is_api_filter_enabled"] is False
            assert re.fullmatch(
                r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", account["uuid"]
            )
            assert client.get("/api/v4/leads?limit=250").status_code == 200
            newest = client.get("/api/v4/leads?limit=1&order[created_at]=desc").json()
        # the history runs up to the moment the simulator started, not to a fixed date
        created = newest["_embedded"]["leads"][0]["created_at"]
        assert time.time() - 7 * 86400 < created <= time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        rest = proc.stdout.read()
        assert rest.startswith("\n# config.toml for this account")
        config = tomllib.loads(rest)
        assert config["amocrm"] == {"base_url": url, "requests_per_second": 7, "token": token}
        assert len(config["report"]["milestones"]) == 4


def test_cli_oauth_mode_prints_an_integration_whose_refresh_token_works(
    tmp_path: Path, db_url: str, engine: Engine, run_cli: Callable[..., CliResult]
) -> None:
    """``simulator --oauth``: client id/secret, redirect URI, a refresh token and a code; the
    config it prints plus ``auth --refresh-token`` give a working OAuth client."""
    args = ["--port", "0", "--leads", "50", "--weeks", "2", "--seed", "4", "--rps", "0", "--oauth"]
    with cohort_process("simulator", *args, cwd=tmp_path) as proc:
        try:
            assert proc.stdout is not None
            printed = dict(proc.stdout.readline().strip().split(": ", 1) for _ in range(6))
            keys = ["base_url", "client_id", "client_secret", "redirect_uri", "refresh_token", "code"]
            assert list(printed) == keys
            config = tmp_path / "config.toml"
            config.write_text(
                f'[amocrm]\nbase_url = "{printed["base_url"]}"\n\n[amocrm.oauth]\n'
                f'client_id = "{printed["client_id"]}"\nclient_secret = "{printed["client_secret"]}"\n'
                f'redirect_uri = "{printed["redirect_uri"]}"\n\n[database]\nurl = "{db_url}"\n',
                encoding="utf-8",
            )
            result = run_cli("--config", str(config), "auth", "--refresh-token", printed["refresh_token"])
            assert result.exit_code == 0, result.stderr
            assert printed["refresh_token"] not in result.stdout + result.stderr
            settings = load_settings(config, env={})
            with build_client(settings, engine=engine) as client:
                assert client.account().subdomain
            stored = TokenStore(engine, printed["base_url"]).load()
            assert stored.refresh_token != printed["refresh_token"]  # used up, the new one is kept
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
