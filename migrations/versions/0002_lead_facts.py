"""Per-lead facts of the latest report for BI tools: lead_facts (unlogged) and lead_facts_meta."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_table(
        "lead_facts",
        sa.Column("lead_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("cohort_week", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("initial_status_id", sa.BigInteger(), nullable=True),
        sa.Column("status_pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("status_id", sa.BigInteger(), nullable=True),
        sa.Column("responsible_user_id", sa.BigInteger(), nullable=True),
        sa.Column("price", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("loss_reason_id", sa.BigInteger(), nullable=True),
        sa.Column("won", sa.Boolean(), nullable=False),
        sa.Column("lost", sa.Boolean(), nullable=False),
        sa.Column("reached_level", sa.SmallInteger(), nullable=False),
        sa.Column("lost_level", sa.SmallInteger(), nullable=True),
        sa.Column("reached_at", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("imputed", postgresql.ARRAY(sa.Boolean()), nullable=False),
        sa.Column("days_to_final", postgresql.DOUBLE_PRECISION(), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("unknown_initial", sa.Boolean(), nullable=False),
        sa.Column("unknown_status", sa.Boolean(), nullable=False),
        sa.Column("dimensions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_facts")),
        prefixes=["UNLOGGED"],
    )
    op.create_index(op.f("ix_lead_facts_cohort_week"), "lead_facts", ["cohort_week"], unique=False)
    op.create_table(
        "lead_facts_meta",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("first_week", sa.Date(), nullable=False),
        sa.Column("last_week", sa.Date(), nullable=False),
        sa.Column("milestones", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dimensions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_facts_meta")),
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS lead_facts_named")
    op.drop_table("lead_facts_meta")
    op.drop_index(op.f("ix_lead_facts_cohort_week"), table_name="lead_facts")
    op.drop_table("lead_facts")
