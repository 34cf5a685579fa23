"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; product code never calls create_all.

Tables keep amoCRM's ids as keys (DESIGN §6). A status is only unique as (pipeline_id, status_id)
because 142/143 exist in every pipeline. Lead events have no foreign key to ``leads``: events can
arrive before their lead (or for a lead the token can no longer see) and must not be dropped.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DOUBLE_PRECISION, JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _ts(name: str, *, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def _synced_at() -> Column[object]:
    return Column("synced_at", DateTime(timezone=True), nullable=False, server_default=text("now()"))


account = Table(
    "account",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("subdomain", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("currency", Text),
    Column("is_api_filter_enabled", Boolean, nullable=False),
    Column("is_loss_reason_enabled", Boolean, nullable=False),
    Column("is_unsorted_on", Boolean, nullable=False),
    _synced_at(),
)

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("email", Text),
    Column("is_admin", Boolean, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("group_id", BigInteger),
    _synced_at(),
)

pipelines = Table(
    "pipelines",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("sort", Integer, nullable=False),
    Column("is_main", Boolean, nullable=False),
    Column("is_unsorted_on", Boolean, nullable=False),
    Column("is_archive", Boolean, nullable=False),
    _synced_at(),
)

statuses = Table(
    "statuses",
    metadata,
    Column("pipeline_id", BigInteger, nullable=False),
    Column("status_id", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("sort", Integer, nullable=False),
    Column("type", SmallInteger, nullable=False),
    Column("color", String(16)),
    Column("is_editable", Boolean, nullable=False),
    _synced_at(),
    PrimaryKeyConstraint("pipeline_id", "status_id"),
    ForeignKeyConstraint(["pipeline_id"], ["pipelines.id"], ondelete="CASCADE"),
)

custom_fields = Table(
    "custom_fields",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("code", Text),
    Column("type", Text, nullable=False),
    Column("sort", Integer, nullable=False),
    _synced_at(),
)

custom_field_enums = Table(
    "custom_field_enums",
    metadata,
    Column("field_id", BigInteger, nullable=False),
    Column("enum_id", BigInteger, nullable=False),
    Column("value", Text, nullable=False),
    Column("sort", Integer, nullable=False),
    Column("code", Text),
    PrimaryKeyConstraint("field_id", "enum_id"),
    ForeignKeyConstraint(["field_id"], ["custom_fields.id"], ondelete="CASCADE"),
)

loss_reasons = Table(
    "loss_reasons",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("sort", Integer, nullable=False),
    _synced_at(),
)

leads = Table(
    "leads",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False, server_default=""),
    Column("pipeline_id", BigInteger, nullable=False),
    Column("status_id", BigInteger, nullable=False),
    Column("responsible_user_id", BigInteger),
    Column("group_id", BigInteger),
    Column("price", Numeric(18, 2), nullable=False, server_default="0"),
    Column("created_by", BigInteger),
    Column("updated_by", BigInteger),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    _ts("closed_at"),
    Column("loss_reason_id", BigInteger),
    Column("is_deleted", Boolean, nullable=False, server_default=text("false")),
    _ts("deleted_at"),
    # [{"field_id", "field_name", "field_code", "field_type", "values": [...]}] as amoCRM sends it.
    Column("custom_fields", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("tags", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    _synced_at(),
    Index(None, "created_at"),
    Index(None, "updated_at"),
    Index(None, "pipeline_id", "status_id"),
    Index(None, "responsible_user_id"),
)

lead_status_changes = Table(
    "lead_status_changes",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("lead_id", BigInteger, nullable=False),
    _ts("created_at", nullable=False),
    Column("before_pipeline_id", BigInteger),
    Column("before_status_id", BigInteger),
    Column("after_pipeline_id", BigInteger, nullable=False),
    Column("after_status_id", BigInteger, nullable=False),
    Column("created_by", BigInteger),
    _synced_at(),
    Index(None, "lead_id", "created_at"),
    Index(None, "created_at"),
)

lead_events = Table(
    "lead_events",
    metadata,
    Column("event_id", Text, primary_key=True),
    Column("lead_id", BigInteger, nullable=False),
    Column("type", Text, nullable=False),
    _ts("created_at", nullable=False),
    Column("created_by", BigInteger),
    _synced_at(),
    Index(None, "lead_id", "created_at"),
    Index(None, "type", "created_at"),
)

sync_checkpoints = Table(
    "sync_checkpoints",
    metadata,
    Column("stream", Text, primary_key=True),
    _ts("watermark"),
    Column("state", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _ts("updated_at", nullable=False),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    Column("status", Text, nullable=False),
    Column("stats", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("error", Text),
    Index(None, "status", "finished_at"),
)

oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    # One row per amoCRM account URL; the row lock serializes refreshes across processes.
    Column("account_url", Text, primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    _ts("expires_at", nullable=False),
    _ts("updated_at", nullable=False),
)

request_budget = Table(
    "request_budget",
    metadata,
    # One row per amoCRM account URL: the earliest moment the next request may start, on the
    # database's clock; every process and host reserves its starts here (amocrm/budget.py).
    # UNLOGGED: a crash may forget the mark (it is seconds old anyway), and no WAL flush per request.
    Column("account_url", Text, primary_key=True),
    _ts("next_at", nullable=False),
    prefixes=["UNLOGGED"],
)

report_runs = Table(
    "report_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("week_start", Date, nullable=False),
    _ts("as_of", nullable=False),
    Column("recipients", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("status", Text, nullable=False),
    Column("message_id", Text),
    Column("file_path", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    # what the message carried (full | light | none), its size as sent, and why not the full workbook
    Column("attachment", Text),
    Column("message_bytes", BigInteger),
    Column("detail", Text),
    Index(None, "kind", "week_start", "status"),
)


# Per-lead facts of the latest report run, for BI tools (docs/metrics.md). UNLOGGED: rebuilt by every
# report run, so crash safety is not worth the WAL of a million rows. Array slot i = milestone i.
lead_facts = Table(
    "lead_facts",
    metadata,
    Column("lead_id", BigInteger, primary_key=True, autoincrement=False),
    Column("cohort_week", Date, nullable=False),
    _ts("created_at", nullable=False),
    Column("pipeline_id", BigInteger),
    Column("initial_status_id", BigInteger),
    Column("status_pipeline_id", BigInteger),
    Column("status_id", BigInteger),
    Column("responsible_user_id", BigInteger),
    Column("price", Numeric(18, 2), nullable=False),
    Column("revenue", Numeric(18, 2), nullable=False),
    Column("loss_reason_id", BigInteger),
    Column("won", Boolean, nullable=False),
    Column("lost", Boolean, nullable=False),
    Column("reached_level", SmallInteger, nullable=False),
    Column("lost_level", SmallInteger),
    Column("reached_at", ARRAY(DateTime(timezone=True)), nullable=False),
    Column("imputed", ARRAY(Boolean), nullable=False),
    Column("days_to_final", DOUBLE_PRECISION),
    Column("changes", Integer, nullable=False),
    Column("unknown_initial", Boolean, nullable=False),
    Column("unknown_status", Boolean, nullable=False),
    Column("dimensions", ARRAY(Text), nullable=False),
    Index(None, "cohort_week"),
    prefixes=["UNLOGGED"],
)

# One row: what the facts in ``lead_facts`` were computed for (as-of, time zone, milestones, dimensions).
lead_facts_meta = Table(
    "lead_facts_meta",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    _ts("as_of", nullable=False),
    Column("timezone", Text, nullable=False),
    Column("first_week", Date, nullable=False),
    Column("last_week", Date, nullable=False),
    Column("milestones", JSONB, nullable=False),
    Column("dimensions", JSONB, nullable=False),
    _ts("built_at", nullable=False),
)

# Ad spend per local day × source × campaign (``spend import``). ``campaign`` is '' when the file had
# none, so the key is a plain primary key and a re-import of the same day, source and campaign replaces
# it. ``cost`` is exact (unconstrained numeric): the report's sums must equal the file's.
ad_spend = Table(
    "ad_spend",
    metadata,
    Column("day", Date, nullable=False),
    Column("source", Text, nullable=False),
    Column("campaign", Text, nullable=False, server_default=""),
    Column("cost", Numeric, nullable=False),
    Column("impressions", BigInteger),
    Column("clicks", BigInteger),
    Column("currency", Text),
    Column("file", Text, nullable=False),
    _ts("imported_at", nullable=False),
    PrimaryKeyConstraint("day", "source", "campaign"),
)

# Spend files imported, by content hash: a file dropped in ``spend.folder`` is imported once.
spend_files = Table(
    "spend_files",
    metadata,
    Column("sha256", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    _ts("imported_at", nullable=False),
)

# Per-lead path summary (issue 15): what of a lead's history does not depend on the as-of moment A, so
# facts as of any A are one scan with comparisons against A (cohorts/paths_sql.py). One row per lead
# with stage changes or delete/restore events. Array slot i of reach_at/sit_at = milestone i; the
# change_* and trash_* arrays are in event order (db/event_order.py).
lead_paths = Table(
    "lead_paths",
    metadata,
    Column("lead_id", BigInteger, primary_key=True, autoincrement=False),
    Column("first_before_pipeline_id", BigInteger),
    Column("first_before_status_id", BigInteger),
    Column("first_after_pipeline_id", BigInteger),
    Column("reach_at", ARRAY(DateTime(timezone=True))),
    Column("sit_at", ARRAY(DateTime(timezone=True))),
    _ts("unknown_at"),
    Column("change_at", ARRAY(DateTime(timezone=True))),
    Column("change_pipeline_id", ARRAY(BigInteger)),
    Column("change_status_id", ARRAY(BigInteger)),
    _ts("last_change_at"),
    Column("trash_at", ARRAY(DateTime(timezone=True))),
    Column("trash_deleted", ARRAY(Boolean)),
)

# One row: the fingerprint of the milestone levels and statuses ``lead_paths`` was built for; a
# different fingerprint means a full rebuild.
lead_paths_meta = Table(
    "lead_paths_meta",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("fingerprint", Text, nullable=False),
    _ts("built_at", nullable=False),
)

# Leads whose history changed since their lead_paths row was computed in a way a fold cannot
# append: filled by statement triggers (migrations 0007, 0008) on updates and deletes of
# lead_status_changes and on delete/restore events in lead_events, and by the fold for changes
# that do not come strictly after a lead's last one. Emptied by whoever recomputes them
# (cohorts/paths.py keep_paths) in the same transaction as the recomputed rows.
lead_paths_dirty = Table(
    "lead_paths_dirty",
    metadata,
    Column("lead_id", BigInteger, primary_key=True, autoincrement=False),
)

# New stage changes not yet in lead_paths: the insert trigger of lead_status_changes copies every
# inserted row here (migration 0009), unexamined and unindexed, so a sync pays a copy, not a
# summary update; the reader folds them in (keep_paths) and deletes them in the same statement.
# The stage change's own columns, as lead_status_changes has them (no key, no index).
TAIL_COLUMNS = ("event_id", "lead_id", "created_at", "before_pipeline_id", "before_status_id",
                "after_pipeline_id", "after_status_id")  # fmt: skip
lead_paths_tail = Table(
    "lead_paths_tail",
    metadata,
    *(
        Column(name, lead_status_changes.c[name].type, nullable=lead_status_changes.c[name].nullable)
        for name in TAIL_COLUMNS
    ),
)
