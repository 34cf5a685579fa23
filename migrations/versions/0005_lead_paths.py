"""Per-lead path summary for facts as of any moment: lead_paths, lead_paths_meta (issue 15)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_lead_paths"
down_revision: str | None = "0004_request_budget"

_MOMENTS = postgresql.ARRAY(sa.DateTime(timezone=True))


def upgrade() -> None:
    op.create_table(
        "lead_paths",
        sa.Column("lead_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_before_pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("first_before_status_id", sa.BigInteger(), nullable=True),
        sa.Column("first_after_pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("reach_at", _MOMENTS, nullable=True),
        sa.Column("sit_at", _MOMENTS, nullable=True),
        sa.Column("unknown_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_at", _MOMENTS, nullable=True),
        sa.Column("change_pipeline_id", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("change_status_id", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("last_change_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trash_at", _MOMENTS, nullable=True),
        sa.Column("trash_deleted", postgresql.ARRAY(sa.Boolean()), nullable=True),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_paths")),
    )
    op.create_table(
        "lead_paths_meta",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_paths_meta")),
    )


def downgrade() -> None:
    op.drop_table("lead_paths_meta")
    op.drop_table("lead_paths")
