"""Alembic environment: the same settings and engine factory as the service.

``cohort_service.db.migrate`` passes an open connection in ``config.attributes``; the ``alembic``
command line instead loads the settings (config.toml / COHORT_CONFIG / COHORT_DATABASE_URL).
"""

from alembic import context
from sqlalchemy import Connection

from cohort_service.db.models import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from cohort_service.config import load_settings
    from cohort_service.db.engine import get_engine

    engine = get_engine(load_settings())
    with engine.connect() as conn:
        _run(conn)
        conn.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
