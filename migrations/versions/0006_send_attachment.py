"""What each send attached and why: report_runs.attachment, message_bytes, detail.

Revision ID: 0006_send_attachment
Revises: 0005_lead_paths
Create Date: 2026-12-06 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_send_attachment"
down_revision: str | None = "0005_lead_paths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # full | light | none; NULL on rows written before this column (they always attached the full file)
    op.add_column("report_runs", sa.Column("attachment", sa.Text()))
    op.add_column("report_runs", sa.Column("message_bytes", sa.BigInteger()))
    op.add_column("report_runs", sa.Column("detail", sa.Text()))


def downgrade() -> None:
    op.drop_column("report_runs", "detail")
    op.drop_column("report_runs", "message_bytes")
    op.drop_column("report_runs", "attachment")
