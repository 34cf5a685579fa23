"""One request budget per amoCRM account shared by every process: request_budget."""

import sqlalchemy as sa
from alembic import op

revision: str = "0004_request_budget"
down_revision: str | None = "0003_ad_spend"


def upgrade() -> None:
    op.create_table(
        "request_budget",
        sa.Column("account_url", sa.Text(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_url", name=op.f("pk_request_budget")),
        prefixes=["UNLOGGED"],  # a crash may forget the mark; no WAL flush per amoCRM request
    )


def downgrade() -> None:
    op.drop_table("request_budget")
