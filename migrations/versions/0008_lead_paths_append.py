"""New stage changes in time order extend a lead's lead_paths row in the inserting statement; only
trash events mark a lead through lead_events (issue 15: the sync's upkeep).

The insert trigger of lead_status_changes now runs lead_paths_append(). Here it only marks, as
before; each full rebuild of the summary replaces it with the version written for the rebuilt
funnel (cohorts/paths_sql.py append_function_sql). The summary's fingerprint is forgotten so the
next reader rebuilds and installs it. lead_events rows other than lead_deleted/lead_restored are
not part of the summary: writing them (every new lead's lead_added) no longer marks the lead.
"""

from alembic import op

revision: str = "0008_lead_paths_append"
down_revision: str | None = "0007_lead_paths_dirty"

_TRASH = "type IN ('lead_deleted', 'lead_restored')"
# Per transition-table shape, as in 0007: how the trigger refers to the rows, and the leads to mark.
_EVENTS = {
    "insert": ("NEW TABLE AS new_rows", f"SELECT lead_id FROM new_rows WHERE {_TRASH}"),
    "delete": ("OLD TABLE AS old_rows", f"SELECT lead_id FROM old_rows WHERE {_TRASH}"),
    "update": (
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        f"SELECT lead_id FROM old_rows WHERE {_TRASH} UNION SELECT lead_id FROM new_rows WHERE {_TRASH}",
    ),
}


def _mark_function(name: str, ids: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lead_paths_dirty (lead_id)
  SELECT DISTINCT lead_id FROM ({ids}) AS t(lead_id) ORDER BY lead_id
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$"""


def _retrigger(table: str, event: str, function: str) -> None:
    referencing = _EVENTS[event][0]
    op.execute(f"DROP TRIGGER {table}_paths_{event} ON {table}")
    op.execute(
        f"CREATE TRIGGER {table}_paths_{event} AFTER {event.upper()} ON {table}"
        f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    )


def upgrade() -> None:
    op.execute(_mark_function("lead_paths_append", "SELECT lead_id FROM new_rows"))
    _retrigger("lead_status_changes", "insert", "lead_paths_append")
    for event, (_, ids) in _EVENTS.items():
        op.execute(_mark_function(f"lead_paths_mark_trash_{event}", ids))
        _retrigger("lead_events", event, f"lead_paths_mark_trash_{event}")
    op.execute("DELETE FROM lead_paths_meta")


def downgrade() -> None:
    for event in _EVENTS:
        _retrigger("lead_events", event, f"lead_paths_mark_{event}")
        op.execute(f"DROP FUNCTION lead_paths_mark_trash_{event}()")
    _retrigger("lead_status_changes", "insert", "lead_paths_mark_insert")
    op.execute("DROP FUNCTION lead_paths_append()")
    op.execute("DELETE FROM lead_paths_meta")
