"""The metadata schema, one description for SQLite and PostgreSQL.

Every module that keeps metadata reads and writes these tables through SQLAlchemy Core
expressions; the migrations in ``migrations/versions`` create and change them. A change here
comes with a migration (``tests/meta/test_migrations.py`` compares the two).

Milliseconds since the epoch and counters are 64-bit (PostgreSQL's ``integer`` is 32-bit);
ids are ``INTEGER PRIMARY KEY AUTOINCREMENT`` on SQLite (a rowid alias that never comes back
after a delete, so a client holding an old id cannot touch a newer object) and identity
columns on PostgreSQL. Flags stay 0/1 integers, as the code compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

Id = BigInteger().with_variant(Integer(), "sqlite")
Ms = BigInteger


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


table_settings = Table(
    "table_settings",
    metadata,
    Column("name", Text, primary_key=True),
    Column("retention_days", Integer),
)

# One API key pair per domain; rotation replaces it. The secret stays recoverable because HMAC
# verification needs it.
domains = Table(
    "domains",
    metadata,
    Column("name", Text, primary_key=True),
    Column("created_ms", Ms, nullable=False),
    Column("api_key", Text, nullable=False, unique=True),
    Column("api_secret", Text, nullable=False),
)

# Tokens are stored only as the SHA-256 of their plaintext.
tokens = Table(
    "tokens",
    metadata,
    Column("token_sha256", Text, primary_key=True),
    Column("domain", Text, ForeignKey("domains.name"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("tables", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_ms", Ms, nullable=False),
    Index("tokens_by_domain", "domain"),
)

saved_queries = Table(
    "saved_queries",
    metadata,
    Column("domain", Text, ForeignKey("domains.name"), nullable=False),
    Column("name", Text, nullable=False),
    Column("linq", Text, nullable=False),
    Column("created_ms", Ms, nullable=False),
    PrimaryKeyConstraint("domain", "name"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Text, primary_key=True),
    Column("domain", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("friendly_name", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("from_ms", Ms, nullable=False),
    Column("to_ms", Ms),
    Column("params", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("cid", Text, nullable=False),
    Column("created_ms", Ms, nullable=False),
    Column("events_generated", BigInteger, nullable=False, server_default=text("0")),
    Column("events_sent", BigInteger, nullable=False, server_default=text("0")),
    Column("last_datetime", Ms, nullable=False, server_default=text("0")),
    Column("checkpoint", Text, nullable=False, server_default=text("'{}'")),
    Column("error", Text, nullable=False, server_default=text("'[]'")),
    Column("extra", Text, nullable=False, server_default=text("'{}'")),
    UniqueConstraint("domain", "friendly_name"),
)

alert_categories = Table(
    "alert_categories",
    metadata,
    _id(),
    Column("domain", Text, nullable=False, unique=True),
    sqlite_autoincrement=True,
)

alert_subcategories = Table(
    "alert_subcategories",
    metadata,
    _id(),
    Column("domain", Text, nullable=False),
    Column("name", Text, nullable=False),
    UniqueConstraint("domain", "name"),
    sqlite_autoincrement=True,
)

# ``name_key`` is the case-folded name: names are unique per domain regardless of case.
alert_definitions = Table(
    "alert_definitions",
    metadata,
    _id(),
    Column("domain", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_ms", Ms, nullable=False),
    Column("updated_ms", Ms, nullable=False),
    UniqueConstraint("domain", "name_key"),
    sqlite_autoincrement=True,
)

# One row per firing, de-duplicated by its digest.
triggered_alerts = Table(
    "triggered_alerts",
    metadata,
    _id(),
    Column("domain", Text, nullable=False),
    Column("definition_id", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("alert_date", Ms, nullable=False),
    Column("create_date", Ms, nullable=False),
    Column("update_date", Ms, nullable=False),
    Column("ack_status_date", Ms),
    Column("status", Integer, nullable=False, server_default=text("0")),
    Column("priority", Float, nullable=False),
    Column("context", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("subcategory", Text, nullable=False),
    Column("username", Text, nullable=False),
    Column("alert_name", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("extra_data", Text, nullable=False),
    UniqueConstraint("domain", "digest"),
    Index("triggered_alerts_by_date", "domain", "alert_date"),
    Index("triggered_alerts_by_definition", "definition_id", "id"),
    sqlite_autoincrement=True,
)

# The engine's follow-ups of its firings, per definition: every firing of the definition with
# an id up to ``done_id`` is written to siem.logtrust.alert.info and handed to delivery; those
# above are finished after a crash. One node at a time stores a definition's firings, so their
# ids only grow. (Per definition rather than flags on each firing: the flags cost an update of
# every wide firing row, a third of the engine's metadata time on PostgreSQL.)
alert_followups = Table(
    "alert_followups",
    metadata,
    Column("definition_id", Text, primary_key=True),
    Column("done_id", BigInteger, nullable=False),
)

# Per-definition evaluator state, saved with the position it covers.
alert_state = Table(
    "alert_state",
    metadata,
    Column("definition_id", Text, primary_key=True),
    Column("domain", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_ms", Ms, nullable=False),
)

# The config JSON keeps secrets a method needs back (an httpjson Digest password, a vendor's
# key); a validation code only as its SHA-256.
delivery_methods = Table(
    "delivery_methods",
    metadata,
    _id(),
    Column("domain", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("validated", Integer, nullable=False, server_default=text("0")),
    Column("config", Text, nullable=False),
    Column("code_sha256", Text),
    Column("code_expires_ms", Ms),
    Column("code_tries", Integer, nullable=False, server_default=text("0")),
    Column("created_ms", Ms, nullable=False),
    Column("updated_ms", Ms, nullable=False),
    Index("delivery_methods_by_domain", "domain", "type"),
    sqlite_autoincrement=True,
)

# The partial unique index keeps one default policy per domain.
sending_policies = Table(
    "sending_policies",
    metadata,
    _id(),
    Column("domain", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("is_default", Integer, nullable=False, server_default=text("0")),
    Column("policy", Text, nullable=False),
    Column("created_ms", Ms, nullable=False),
    Column("updated_ms", Ms, nullable=False),
    Index(
        "sending_policies_default",
        "domain",
        unique=True,
        sqlite_where=text("is_default = 1"),
        postgresql_where=text("is_default = 1"),
    ),
    sqlite_autoincrement=True,
)

# The delivery outbox: one row per (alert, method, kind), pending until sent or given up.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    _id(),
    Column("domain", Text, nullable=False),
    Column("alert_id", BigInteger, nullable=False),
    Column("method_id", BigInteger, nullable=False),
    Column("policy_id", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("next_attempt_ms", Ms, nullable=False),
    Column("delivered_ms", Ms),
    Column("created_ms", Ms, nullable=False),
    Column("suppressed", Integer, nullable=False, server_default=text("0")),
    Column("first_ms", Ms),
    Column("last_ms", Ms),
    UniqueConstraint("alert_id", "method_id", "kind"),
    Index("alert_deliveries_due", "status", "next_attempt_ms"),
    Index("alert_deliveries_by_domain", "domain", "alert_id"),
    sqlite_autoincrement=True,
)

# Alerts already planned for delivery and the status planning gave them: re-submitting an
# alert (the engine after a crash) changes nothing.
alert_delivery_submissions = Table(
    "alert_delivery_submissions",
    metadata,
    Column("alert_id", BigInteger, primary_key=True, autoincrement=False),
    Column("domain", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("submitted_ms", Ms, nullable=False),
)

# Anti-flooding counters per (policy, definition); reminder_due_ms is NULL when none is due.
alert_flood_state = Table(
    "alert_flood_state",
    metadata,
    Column("policy_id", BigInteger, nullable=False),
    Column("definition_id", Text, nullable=False),
    Column("domain", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("reminder_due_ms", Ms),
    PrimaryKeyConstraint("policy_id", "definition_id"),
    Index("alert_flood_reminders", "reminder_due_ms"),
)

# The console: its users (argon2 hashes), their sessions (only the SHA-256 of the id), query
# history, and the key that signs cookies.
console_users = Table(
    "console_users",
    metadata,
    Column("name", Text, primary_key=True),
    Column("domain", Text, ForeignKey("domains.name"), nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("time_zone", Text, nullable=False, server_default=text("'UTC'")),
    Column("created_ms", Ms, nullable=False),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_sha256", Text, primary_key=True),
    Column("user", Text, ForeignKey("console_users.name", ondelete="CASCADE"), nullable=False),
    Column("created_ms", Ms, nullable=False),
    Column("expires_ms", Ms, nullable=False),
)

console_history = Table(
    "console_history",
    metadata,
    _id(),
    Column("user", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("from_text", Text, nullable=False),
    Column("to_text", Text, nullable=False),
    Column("at_ms", Ms, nullable=False),
    Index("console_history_by_user", "user", "id"),
    sqlite_autoincrement=True,
)

console_keys = Table(
    "console_keys",
    metadata,
    Column("name", Text, primary_key=True),
    Column("secret", Text, nullable=False),
)

# The status log of every job (jobs/statuses.py).
job_statuses = Table(
    "job_statuses",
    metadata,
    Column("job_id", Text, nullable=False),
    Column("n", Integer, nullable=False),
    Column("code", Text, nullable=False),
    Column("msg", Text, nullable=False),
    Column("at_ms", Ms, nullable=False),
    PrimaryKeyConstraint("job_id", "n"),
)

# Each domain's lookups in creation order (``id``: oldest first, the list's page token).
# ``name_key`` is the case-folded name: two names differing only in case would share a table.
lookups = Table(
    "lookups",
    metadata,
    _id(),
    Column("domain", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("name_key", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("definition", Text, nullable=False),
    Column("job_id", Text),
    Column("created_ms", Ms, nullable=False),
    Column("updated_ms", Ms, nullable=False),
    UniqueConstraint("domain", "name_key"),
    sqlite_autoincrement=True,
)

# Several nodes on one PostgreSQL (cluster/): the live nodes, each with the moment its
# heartbeat runs out, and one lease per definition or job. ``epoch`` grows each time a lease
# changes hands; a node commits a definition's progress or a job's checkpoint only in a
# transaction that finds its own epoch still there (``cluster.leases.LeaseTable.fence``).
cluster_nodes = Table(
    "cluster_nodes",
    metadata,
    Column("node_id", Text, primary_key=True),
    Column("address", Text, nullable=False),
    Column("started_ms", Ms, nullable=False),
    Column("heartbeat_ms", Ms, nullable=False),
    Column("expires_ms", Ms, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("resource", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_ms", Ms, nullable=False),
    Index("leases_by_owner", "owner"),
)

# The shared sequence of event rows (store/watermark.py): the counter, and the ranges writers
# have taken and not yet settled. The watermark readers follow is just below the lowest
# ``pending`` one; a range a dead writer left is resolved for it as ``stored`` or ``void``.
seq_counter = Table(
    "seq_counter",
    metadata,
    Column("name", Text, primary_key=True),
    Column("next", BigInteger, nullable=False),
)

seq_ranges = Table(
    "seq_ranges",
    metadata,
    Column("first", BigInteger, primary_key=True, autoincrement=False),
    Column("last", BigInteger, nullable=False),
    Column("writer", Text, nullable=False),
    Column("table", Text, nullable=False),
    Column("state", Text, nullable=False, server_default=text("'pending'")),
    Index("seq_ranges_by_writer", "writer"),
)
