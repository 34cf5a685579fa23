"""Bring a database to the current schema, idempotently, with Alembic (never create_all)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from cohort_service.errors import DatabaseError

# Distinct from the run lock: migrations are short and every command takes this one first.
MIGRATION_LOCK_KEY = 0x636F686F7274_01


def _script_location() -> Path:
    return Path(str(resources.files("cohort_service._migrations")))


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_script_location()))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise DatabaseError("no migrations found in the installed package")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Upgrade under an advisory lock; return (revision before, revision after)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
        try:
            before = current_revision(conn)
            conn.commit()
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
            after = current_revision(conn)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            conn.commit()
    return before, after or "base"


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), revision)
        conn.commit()


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return current_revision(conn) == head_revision()
