"""``--as-of`` and ``--since`` outside any history amoCRM can hold: a usage error on one line, exit 2
(issue 16.9), before anything is read or written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CliResult

TOO_OLD = "is before 2000-01-01 (amoCRM has no history that old)"
AHEAD = "is more than a year ahead"
NEXT_YEAR_AND_A_DAY = (datetime.now(UTC).date() + timedelta(days=367)).isoformat()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["report", "--as-of", "0001-01-01"], f"--as-of: 0001-01-01 {TOO_OLD}"),
        (["report", "--as-of", "9999-12-31"], f"--as-of: 9999-12-31 {AHEAD}"),
        (["report", "--as-of", NEXT_YEAR_AND_A_DAY], f"--as-of: {NEXT_YEAR_AND_A_DAY} {AHEAD}"),
        (["report", "--as-of", "1999-12-31"], f"--as-of: 1999-12-31 {TOO_OLD}"),
        (["report", "--as-of", "2024-02-30"], "--as-of: expected a date like 2024-01-31, got '2024-02-30'"),
        (["send", "--as-of", "9999-12-31"], f"--as-of: 9999-12-31 {AHEAD}"),
        (["resync", "--since", "0001-01-01"], f"--since: 0001-01-01 {TOO_OLD}"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)  # fmt: skip
def test_a_date_no_account_can_hold_is_a_usage_error(
    tmp_path: Path, run_cli: Callable[..., CliResult], args: list[str], expected: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    result = run_cli("--config", str(config), *args, cwd=tmp_path)
    assert (result.exit_code, result.stderr.strip().splitlines()) == (2, [f"error: {expected}"])
    assert "Traceback" not in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == [config]  # nothing written, not even the data directory
