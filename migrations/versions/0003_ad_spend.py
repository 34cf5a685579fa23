"""Ad spend per day × source × campaign, and the spend files imported (by content hash)."""

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ad_spend"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.create_table(
        "ad_spend",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("campaign", sa.Text(), server_default="", nullable=False),
        sa.Column("cost", sa.Numeric(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=True),
        sa.Column("clicks", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "campaign", name=op.f("pk_ad_spend")),
    )
    op.create_table(
        "spend_files",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_spend_files")),
    )


def downgrade() -> None:
    op.drop_table("spend_files")
    op.drop_table("ad_spend")
