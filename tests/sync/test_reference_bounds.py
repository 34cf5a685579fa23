"""Reference lists naming one id twice are refused with the entity and id, before anything is stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.conftest import CliResult
from tests.sync.harness import Sim, simulated


def _sync(run_cli: Callable[..., CliResult], sim: Sim, tmp_path: Path, db_url: str) -> CliResult:
    return run_cli("--config", str(sim.config_file(tmp_path / "config.toml", db_url)), "sync")


def _stored(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        counts = [
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("users", "pipelines", "leads")
        ]
    return counts[0], counts[1], counts[2]


@pytest.mark.parametrize("entity", ["user", "pipeline"])
def test_a_repeated_reference_id_is_one_line_and_nothing_is_stored(
    run_cli: Callable[..., CliResult], db_url: str, engine: Engine, tmp_path: Path, entity: str
) -> None:
    with simulated(seed=71, leads=50, weeks=3) as sim:
        account = sim.app.account
        if entity == "user":
            repeated = account.users[1].id
            account.users = (*account.users, dataclasses.replace(account.users[1], name="Twin"))
            path = "/api/v4/users"
        else:
            repeated = account.pipelines[0].id
            account.pipelines = (*account.pipelines, account.pipelines[0])
            path = "/api/v4/leads/pipelines"
        result = _sync(run_cli, sim, tmp_path, db_url)
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith(f"GET {path}: amoCRM listed {entity} id {repeated} twice")
    )
    assert "Traceback" not in result.stderr
    assert _stored(engine) == (0, 0, 0)
