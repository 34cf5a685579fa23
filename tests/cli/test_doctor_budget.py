"""doctor's requests to amoCRM take their starts from the account's shared budget in Postgres, as a
running sync's do, so doctor beside a sync never pushes the account over its limit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, text

from cohort_service.amocrm.ratelimit import account_key
from tests.conftest import CliResult
from tests.sync.harness import simulated


def test_doctor_reserves_its_requests_in_the_shared_budget(
    db_url: str, engine: Engine, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    with simulated(seed=3, leads=50, weeks=4) as sim:
        config = sim.config_file(tmp_path / "config.toml", db_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM request_budget")).scalar_one() == 0
        result = run_cli("--config", str(config), "doctor")
        requests = sim.app.log.count()
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("✓ amoCRM token valid: account ") for line in lines), lines
    assert "– SMTP: not configured (no email section in the config) — skipped" in lines
    assert requests >= 3  # the probe, the account, the users
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT account_url, next_at > now() - interval '1 minute' FROM request_budget")
        ).all()
    assert [tuple(row) for row in rows] == [(account_key(sim.url), True)]


def test_sync_from_the_environment_alone_notes_the_missing_file_and_runs(
    db_url: str, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    """A container may configure everything through COHORT_*: no file is then a note, not an error."""
    with simulated(seed=4, leads=60, weeks=4) as sim:
        env = {
            "COHORT_AMOCRM_BASE_URL": sim.url,
            "COHORT_AMOCRM_TOKEN": sim.token,
            "COHORT_DATABASE_URL": db_url,
        }
        result = run_cli("sync", cwd=tmp_path, env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"note: no config file found: looked for {tmp_path.resolve() / 'config.toml'} (no --config given, "
        "COHORT_CONFIG not set); using the COHORT_* environment"
    )
    assert lines[1].startswith("sync done in ")
