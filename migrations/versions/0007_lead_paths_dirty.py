"""Leads whose history changed since their lead_paths row was computed: lead_paths_dirty, kept by
triggers on lead_status_changes and lead_events (issue 15).

Any writer of the history (the sync, a resync's removals, an import, a test, a hand edit) marks the
leads it touched in the same statement, so a reader of lead_paths recomputes exactly those first
and never reads a stale summary. TRUNCATE of a history table forgets the summary's fingerprint: the
next reader rebuilds it in full.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0007_lead_paths_dirty"
down_revision: str | None = "0006_send_attachment"

_HISTORY = ("lead_status_changes", "lead_events")
# One function per transition-table shape (a trigger with transition tables serves one event).
_MARK = {
    "insert": ("NEW TABLE AS new_rows", "SELECT lead_id FROM new_rows"),
    "delete": ("OLD TABLE AS old_rows", "SELECT lead_id FROM old_rows"),
    "update": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT lead_id FROM old_rows UNION SELECT lead_id FROM new_rows",
    ),
}


def upgrade() -> None:
    op.create_table(
        "lead_paths_dirty",
        sa.Column("lead_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_lead_paths_dirty")),
    )
    for event, (_, ids) in _MARK.items():
        # Sorted, so two writers marking overlapping leads take the row locks in the same order.
        op.execute(
            f"""CREATE FUNCTION lead_paths_mark_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lead_paths_dirty (lead_id)
  SELECT DISTINCT lead_id FROM ({ids}) AS t(lead_id) ORDER BY lead_id
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$"""
        )
    op.execute(
        """CREATE FUNCTION lead_paths_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM lead_paths_meta;
  DELETE FROM lead_paths_dirty;
  RETURN NULL;
END $$"""
    )
    for table in _HISTORY:
        for event, (referencing, _) in _MARK.items():
            op.execute(
                f"CREATE TRIGGER {table}_paths_{event} AFTER {event.upper()} ON {table}"
                f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION lead_paths_mark_{event}()"
            )
        op.execute(
            f"CREATE TRIGGER {table}_paths_truncate AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION lead_paths_forget()"
        )


def downgrade() -> None:
    for table in _HISTORY:
        for event in (*_MARK, "truncate"):
            op.execute(f"DROP TRIGGER {table}_paths_{event} ON {table}")
    for event in _MARK:
        op.execute(f"DROP FUNCTION lead_paths_mark_{event}()")
    op.execute("DROP FUNCTION lead_paths_forget()")
    op.drop_table("lead_paths_dirty")
