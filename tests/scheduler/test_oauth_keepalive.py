"""OAuth keep-alive and the kill drill: a process killed after amoCRM rotated the pair but before
the database save never locks the account out; serve refreshes the pair even when idle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, text

from cohort_service.amocrm.auth import authorize
from cohort_service.amocrm.token_journal import TokenJournal
from cohort_service.amocrm.tokens import TokenPair, TokenStore
from cohort_service.app.scheduler import KEEPALIVE_EVERY, build_scheduler, keepalive_work
from cohort_service.simulator.api import SimulatorApp
from cohort_service.simulator.faults import Limits
from cohort_service.simulator.generate import generate_account
from cohort_service.simulator.server import serve
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
SLOW_SAVE = """
CREATE FUNCTION drill_slow_save() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN PERFORM pg_sleep(120); RETURN NEW; END $$;
CREATE TRIGGER drill_slow_save BEFORE UPDATE ON oauth_tokens FOR EACH ROW EXECUTE FUNCTION drill_slow_save();
"""


def _oauth_settings(url: str, app: SimulatorApp, db_url: str, data_dir: Path) -> dict[str, object]:
    store = app.oauth
    return {
        "service": {"data_dir": str(data_dir)},
        "amocrm": {
            "base_url": url,
            "requests_per_second": 20,
            "oauth": {
                "client_id": store.client_id,
                "client_secret": store.client_secret,
                "redirect_uri": store.redirect_uri,
            },
        },
        "database": {"url": db_url},
    }


def _toml(data: dict[str, object]) -> str:
    import json

    lines: list[str] = []
    for section, body in data.items():
        assert isinstance(body, dict)
        nested = {k: v for k, v in body.items() if isinstance(v, dict)}
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in body.items() if k not in nested]
        for name, sub in nested.items():
            lines.append(f"[{section}.{name}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in sub.items()]
    return "\n".join(lines) + "\n"


def _expire_stored_access(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE oauth_tokens SET expires_at = now() - interval '1 hour'"))


def test_a_kill_between_the_token_answer_and_the_save_does_not_lock_the_account_out(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    app = SimulatorApp(generate_account(seed=12, leads=60, weeks=3), limits=Limits(rps=None))
    with serve(app) as url:
        data = _oauth_settings(url, app, db_url, tmp_path / "data")
        settings = make_settings(**data)  # type: ignore[arg-type]
        authorize(settings, app.oauth.issue_code(), engine=engine)
        before = TokenStore(engine, url).load()
        _expire_stored_access(engine)  # the next request refreshes first
        with engine.begin() as conn:
            conn.execute(text(SLOW_SAVE))
        config = tmp_path / "config.toml"
        config.write_text(_toml(data), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COHORT_")}
        cmd = [sys.executable, "-m", "cohort_service", "--config", str(config), "--quiet", "sync"]
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # amoCRM answered the refresh, and the process sits in the UPDATE that saves the pair
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                answered = app.log.count(path="/oauth2/access_token", status=200) == 2  # code, refresh
                with engine.connect() as conn:
                    saving = (
                        conn.execute(
                            text("SELECT pid FROM pg_stat_activity WHERE query LIKE 'UPDATE oauth_tokens%'")
                        )
                        .scalars()
                        .all()
                    )
                if answered and saving:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the sync exited before the refresh"
            assert answered, "amoCRM never answered the refresh"
            assert saving, "the sync never reached the save"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        with engine.begin() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                {"p": saving},
            )
            conn.execute(text("DROP TRIGGER drill_slow_save ON oauth_tokens"))
        # the database still holds the pair amoCRM has just killed
        assert TokenStore(engine, url).load().refresh_token == before.refresh_token
        assert app.oauth.exchange_would_fail(before.refresh_token)  # without the journal: locked out
        rerun = subprocess.run(
            cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        assert rerun.returncode == 0, rerun.stderr
        after = TokenStore(engine, url).load()
        assert after.refresh_token != before.refresh_token
        assert app.log.count(path="/oauth2/access_token", status=200) == 2  # recovered, not refreshed again
        assert not list((tmp_path / "data").glob("oauth-pending-*"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM leads")).scalar_one() > 0


def test_serve_keeps_the_refresh_token_alive_when_nothing_else_runs(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """A keep-alive job every 12 h makes one request; an expired access token is refreshed by it,
    so the refresh token is rotated at least daily, far inside its 3 months."""
    app = SimulatorApp(generate_account(seed=13, leads=20, weeks=2), limits=Limits(rps=None))
    with serve(app) as url:
        settings = make_settings(**_oauth_settings(url, app, db_url, tmp_path / "data"))  # type: ignore[arg-type]
        authorize(settings, app.oauth.issue_code(), engine=engine)
        first = TokenStore(engine, url).load()
        work = keepalive_work(settings)
        assert work() == {"requests": 1}  # a live access token: one cheap request, no refresh
        assert TokenStore(engine, url).load() == first
        _expire_stored_access(engine)
        assert work() == {"requests": 2}  # the token request and the account read
        assert TokenStore(engine, url).load().refresh_token != first.refresh_token
    job = build_scheduler(settings, ZoneInfo("UTC")).get_job("oauth_keepalive")  # never started here
    assert job is not None
    assert job.trigger.interval == KEEPALIVE_EVERY
    assert timedelta(days=1) >= KEEPALIVE_EVERY


def test_a_stale_journal_never_overwrites_a_later_pair(engine: Engine, tmp_path: Path) -> None:
    """A journal left from a refresh whose pair is not the stored one any more (re-authorized
    since, or saved after all) is dropped without touching the row."""
    url = "https://journal.amocrm.ru"
    store = TokenStore(engine, url, journal_dir=tmp_path)
    stored = TokenPair("access-now", "refresh-now", datetime(2030, 1, 1, tzinfo=UTC))
    store.save(stored)
    journal = TokenJournal(tmp_path, url)
    until = stored.expires_at
    journal.write(replaces="refresh-long-gone", access_token="a2", refresh_token="r2", expires_at=until)
    assert journal.path.stat().st_mode & 0o777 == 0o600
    assert store.recover() is False
    assert store.load() == stored
    assert journal.read() is None
    journal.write(replaces="refresh-now", access_token="a3", refresh_token="r3", expires_at=until)
    assert store.recover() is True
    assert (store.load().access_token, store.load().refresh_token) == ("a3", "r3")
