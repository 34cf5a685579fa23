"""What each send attached and why: report_runs.attachment, message_bytes, detail."""

import sqlalchemy as sa
from alembic import op

revision: str = "0006_send_attachment"
down_revision: str | None = "0005_lead_paths"


def upgrade() -> None:
    # full | light | none; NULL on rows written before this column (they always attached the full file)
    op.add_column("report_runs", sa.Column("attachment", sa.Text()))
    op.add_column("report_runs", sa.Column("message_bytes", sa.BigInteger()))
    op.add_column("report_runs", sa.Column("detail", sa.Text()))


def downgrade() -> None:
    op.drop_column("report_runs", "detail")
    op.drop_column("report_runs", "message_bytes")
    op.drop_column("report_runs", "attachment")
