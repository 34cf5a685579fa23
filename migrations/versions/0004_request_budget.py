"""One request budget per amoCRM account shared by every process: request_budget.

Revision ID: 0004_request_budget
Revises: 0003_ad_spend
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_request_budget"
down_revision: str | None = "0003_ad_spend"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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
