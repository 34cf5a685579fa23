"""Migrations: upgrade from empty, downgrade to base, upgrade again; the models match the schema."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from cohort_service.db import migrate
from cohort_service.db.models import metadata

EXPECTED_TABLES = {
    "account",
    "users",
    "pipelines",
    "statuses",
    "custom_fields",
    "custom_field_enums",
    "loss_reasons",
    "leads",
    "lead_status_changes",
    "lead_events",
    "sync_checkpoints",
    "sync_runs",
    "oauth_tokens",
    "report_runs",
    "ad_spend",
    "spend_files",
    "lead_paths",
    "lead_paths_meta",
    "lead_paths_dirty",
    "lead_paths_tail",
    "alembic_version",
}


def test_upgrade_downgrade_upgrade(fresh_database: Callable[[bool], str]) -> None:
    """An empty database goes to head, back to base (nothing left) and to head again."""
    engine = create_engine(fresh_database(False), poolclass=NullPool)
    before, after = migrate.upgrade(engine)
    assert (before, after) == (None, migrate.head_revision())
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES

    assert migrate.upgrade(engine) == (after, after)  # idempotent

    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    engine.dispose()


def test_models_match_migrations(db_url: str) -> None:
    """`alembic check` in test form: no model change ships without a revision."""
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_statuses_keyed_by_pipeline_and_status(db_url: str) -> None:
    """142/143 repeat in every pipeline, so the key is the pair."""
    engine = create_engine(db_url, poolclass=NullPool)
    insp = inspect(engine)
    assert insp.get_pk_constraint("statuses")["constrained_columns"] == ["pipeline_id", "status_id"]
    assert insp.get_pk_constraint("lead_status_changes")["constrained_columns"] == ["event_id"]
    indexed = {tuple(ix["column_names"]) for ix in insp.get_indexes("lead_status_changes")}
    assert ("lead_id", "created_at") in indexed
    engine.dispose()
