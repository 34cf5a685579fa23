"""``cohort-service report`` with neither --out nor --csv: the headline table and the exact commands
that write the files, through the real entry point."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cohorts.test_cohort_csv import CONFIG, fill
from tests.conftest import CliResult

__all__ = ["CONFIG", "fill"]  # the config and leads the ``config``/``filled`` fixtures plant here

ROWS = [
    # lead 1 (19.09) reached целевой and was won, lead 2 (20.09) was lost; lead 3 (26.09) is open
    "19.09–25.09       2      50%     100%   50.00%     –    –",
    "26.09–02.10*      1       0%        –    0.00%     –    –",
]


@pytest.mark.usefixtures("filled")
def test_report_without_files_prints_the_table_and_how_to_write_them(
    run_cli: Callable[..., CliResult], config: Path, db_url: str
) -> None:
    folder = config.parent
    result = run_cli("--config", str(config), "report", "--as-of", "2022-09-26", cwd=folder,
                     env={"COHORT_DATABASE_URL": db_url})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Lead cohorts as of 26.09.2022 23:59 (Europe/Moscow)"
    table = lines[lines.index("week          leads        %        %        %  prev    %") + 2 :][:2]
    assert table == ROWS
    assert "* the current week, still filling up (partial)." in lines
    assert "cohorts as of 26.09.2022 23:59 (Europe/Moscow): 2 weeks from 19.09.2022, 3 leads" in lines
    hint = lines.index("Nothing was written. The workbook (Cohorts, Pivot, Leads…), or the CSV files, with:")
    base = f"cohort-service --config {config} report --as-of 2022-09-26"
    assert lines[hint + 1 :] == [
        f"  {base} --out cohorts-2022-09-26.xlsx",
        f"  {base} --csv cohorts-2022-09-26",
    ]
    assert max(len(line) for line in lines[:hint]) <= 100  # a command is never broken over two lines
    assert list(folder.iterdir()) == [config]  # nothing written

    # the printed command works as printed
    again = run_cli(*lines[hint + 1].split()[1:], cwd=folder, env={"COHORT_DATABASE_URL": db_url})
    assert again.exit_code == 0, again.stderr
    assert (folder / "cohorts-2022-09-26.xlsx").is_file()


@pytest.mark.usefixtures("filled")
def test_quiet_report_prints_only_the_table(
    run_cli: Callable[..., CliResult], config: Path, db_url: str
) -> None:
    result = run_cli("--quiet", "--config", str(config), "report", "--as-of", "2022-09-26",
                     env={"COHORT_DATABASE_URL": db_url})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "Lead cohorts as of 26.09.2022 23:59 (Europe/Moscow)"
    assert ROWS[0] in lines
    assert not any(line.startswith(("Nothing was written", "cohorts as of")) for line in lines)
