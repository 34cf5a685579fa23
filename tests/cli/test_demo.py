"""`cohort-service demo` as a newcomer runs it: an empty directory, no config, one command."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from tests.helpers.cli_process import cohort_run


def test_demo_in_an_empty_directory_writes_a_workbook_that_opens(outside_tmp: Path) -> None:
    """Runs outside pytest's basetemp: another pytest session re-tightens that to 0700, which locks
    out the embedded server's own system user (see ``outside_tmp``)."""
    tmp_path = outside_tmp
    done = cohort_run("demo", "--leads", "300", "--out", "out/demo.xlsx", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    book_path = tmp_path / "out" / "demo.xlsx"
    assert f"workbook: {book_path.resolve()}" in done.stdout
    assert "Lead cohorts as of" in done.stdout
    assert (tmp_path / ".cohort-service" / "pgdata").is_dir()  # the embedded Postgres, in the default place
    book = openpyxl.load_workbook(book_path, read_only=True)
    assert {"Cohorts", "Leads", "Channels"} <= set(book.sheetnames)  # the demo imports its spend export
    assert "Money:" in done.stdout
    leads_rows = book["Leads"].max_row
    assert leads_rows is not None
    assert leads_rows > 1
    book.close()
