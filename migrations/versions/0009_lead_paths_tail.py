"""New stage changes are copied, unexamined, to lead_paths_tail; the reader folds them into
lead_paths (issue 15: the sync's upkeep).

Appending to a lead's summary row in the writer's statement (0008) cost the sync a row write per
changed lead plus ~0.5 ms of executor start-up per statement: 12-17 % of its database time. A
copy into an unindexed table costs about a tenth of that, and the fold reads each changed lead
once per reader however many syncs changed it (cohorts/paths.py keep_paths). Every insert is
copied, with or without a summary: a copy that depended on reading lead_paths_meta could miss a
rebuild that has not committed yet, while the rebuild locks the tail against new copies before it
empties it. Updates and deletes of stage changes still mark their leads (0007), and so do
delete/restore events (0008).
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0009_lead_paths_tail"
down_revision: str | None = "0008_lead_paths_append"

_INSERT_TRIGGER = "lead_status_changes_paths_insert"


def _retrigger(function: str) -> None:
    op.execute(f"DROP TRIGGER {_INSERT_TRIGGER} ON lead_status_changes")
    op.execute(
        f"CREATE TRIGGER {_INSERT_TRIGGER} AFTER INSERT ON lead_status_changes"
        f" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )


def upgrade() -> None:
    op.create_table(
        "lead_paths_tail",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("lead_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("before_pipeline_id", sa.BigInteger(), nullable=True),
        sa.Column("before_status_id", sa.BigInteger(), nullable=True),
        sa.Column("after_pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("after_status_id", sa.BigInteger(), nullable=False),
    )
    op.execute(
        """CREATE FUNCTION lead_paths_tail_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lead_paths_tail (event_id, lead_id, created_at, before_pipeline_id, before_status_id,
                               after_pipeline_id, after_status_id)
  SELECT event_id, lead_id, created_at, before_pipeline_id, before_status_id,
         after_pipeline_id, after_status_id
  FROM new_rows;
  RETURN NULL;
END $$"""
    )
    _retrigger("lead_paths_tail_insert")
    op.execute("DROP FUNCTION lead_paths_append()")


def downgrade() -> None:
    # 0008's function as its migration left it (marks only); the next rebuild rewrites it.
    op.execute(
        """CREATE FUNCTION lead_paths_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lead_paths_dirty (lead_id)
  SELECT DISTINCT lead_id FROM new_rows ORDER BY lead_id
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$"""
    )
    _retrigger("lead_paths_append")
    op.execute("DROP FUNCTION lead_paths_tail_insert()")
    op.drop_table("lead_paths_tail")
    op.execute("DELETE FROM lead_paths_meta")  # the tail's changes are in no row: rebuild
