"""`db upgrade` and `doctor` on good and broken setups, through the real entry point."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult, DoctorWith
from tests.helpers.cli_process import cohort_run


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cohort_run(*args, cwd=cwd, timeout=120)


def test_db_upgrade_in_empty_directory_then_doctor(outside_tmp: Path) -> None:
    """Embedded Postgres is created under ./.cohort-service, migrated once, reused; doctor checks it,
    and says there is no config file (exit 2) instead of ticking tools nobody configured."""
    tmp_path = outside_tmp
    first = _cli(tmp_path, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "database migrated: empty → 0001" in first.stdout.replace("\n", " ") or "→" in first.stdout
    assert (tmp_path / ".cohort-service" / "pgdata" / "PG_VERSION").exists()

    second = _cli(tmp_path, "db", "upgrade")
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout

    doctor = _cli(tmp_path, "doctor")
    assert doctor.returncode == 2, doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    assert lines[0] == (
        f"✗ config file: no config file found: looked for {(tmp_path / 'config.toml').resolve()} "
        "(no --config given, COHORT_CONFIG not set) — fix: copy config.example.toml to config.toml "
        "and fill it in, or pass --config PATH"
    )
    assert lines[1].startswith("✓ database reachable: embedded Postgres")
    assert lines[2].startswith("✓ database migrated")
    assert lines[3:] == [
        "– amoCRM: not configured (set amocrm.subdomain or amocrm.base_url) — skipped",
        "– SMTP: not configured (no email section in the config) — skipped",
        "– spend folder: not configured (spend.folder is empty) — skipped",
    ]
    # the server was stopped when the command exited: nothing keeps running
    assert not (tmp_path / ".cohort-service" / "pgdata" / "postmaster.pid").exists()


def test_doctor_in_an_empty_directory_creates_nothing(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    result = run_cli("doctor", cwd=tmp_path)
    assert result.exit_code == 2
    assert "✓" not in result.stdout
    assert result.stdout.splitlines()[0].startswith(
        f"✗ config file: no config file found: looked for {tmp_path.resolve() / 'config.toml'} "
    )
    pgdata = tmp_path.resolve() / ".cohort-service" / "pgdata"
    assert f"– database: not configured (no config file, and no embedded database in {pgdata}) — skipped" in (
        result.stdout.splitlines()
    )
    assert list(tmp_path.iterdir()) == []  # no embedded Postgres started in a random directory


def test_sync_without_a_config_says_so_first(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    for command in (["sync"], ["resync", "--since", "2026-01-01"], ["send"]):
        result = run_cli(*command, cwd=tmp_path)
        assert result.exit_code == 2, (command, result.stderr)
        assert result.stderr.splitlines() == [
            f"error: no config file found: looked for {tmp_path.resolve() / 'config.toml'} (no --config "
            "given, COHORT_CONFIG not set); copy config.example.toml to config.toml and fill it in, or pass "
            "--config PATH"
        ]
        assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []
    named = run_cli("sync", cwd=tmp_path, env={"COHORT_CONFIG": str(tmp_path / "prod.toml")})
    assert named.exit_code == 2
    assert named.stderr.splitlines() == [
        f"error: {tmp_path / 'prod.toml'}: file not found (pass --config or set COHORT_CONFIG)"
    ]


def test_doctor_all_good(db_url: str, doctor_with: DoctorWith) -> None:
    _, result = doctor_with(f'[database]\nurl = "{db_url}"\n')
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "database migrated" in result.stdout
    assert "✗" not in result.stdout


def test_doctor_unmigrated_database_says_how_to_fix(
    fresh_database: Callable[[bool], str], doctor_with: DoctorWith
) -> None:
    _, result = doctor_with(f'[database]\nurl = "{fresh_database(False)}"\n')
    assert result.exit_code == 1
    assert "✗" in result.stdout
    assert "nothing (empty database)" in result.stdout
    assert "cohort-service db upgrade" in result.stdout


def test_doctor_unreachable_database_hides_password(doctor_with: DoctorWith) -> None:
    _, result = doctor_with('[database]\nurl = "postgresql://u:s3cr3t-pw@127.0.0.1:9/x?connect_timeout=2"\n')
    assert result.exit_code == 1
    assert "database reachable" in result.stdout
    assert "✗" in result.stdout
    assert "COHORT_DATABASE_URL" in result.stdout
    assert "s3cr3t-pw" not in result.stdout + result.stderr


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path, run_cli: Callable[..., CliResult]) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[service]\ndata_dir = "{blocker / "data"}"\n', encoding="utf-8")
    result = run_cli("--config", str(cfg), "db", "upgrade")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: service.data_dir: cannot write to {blocker / 'data'}")


def test_version_flag(run_cli: Callable[..., CliResult]) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("cohort-service ")


def test_data_dir_held_by_another_program_is_a_clear_error(outside_tmp: Path) -> None:
    """postmaster.pid names a live process that is no Postgres: one clear line, exit 1, and that
    process is left alone (the embedded server's exit hook must not signal it)."""
    assert _cli(outside_tmp, "db", "upgrade").returncode == 0
    pgdata = outside_tmp / ".cohort-service" / "pgdata"
    holder = subprocess.Popen(["sleep", "60"])
    try:
        lines = [str(holder.pid), str(pgdata), "1700000000", "5432", str(pgdata), "", "  5432001 0", "ready"]
        (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
        result = _cli(outside_tmp, "db", "upgrade")
        assert result.returncode == 1
        [line] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert "another program may hold this directory" in line
        assert "Traceback" not in result.stderr
        assert holder.poll() is None  # still running
    finally:
        holder.kill()
        holder.wait()
