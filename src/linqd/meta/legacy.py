"""The SQLite migrations from before Alembic, kept so an old data directory upgrades in place.

A ``meta.sqlite`` written by linqd up to 0.1 carries its version in ``PRAGMA user_version``:
``adopt`` finishes these statements, and Alembic then takes the file over at its baseline,
which is the schema they end in. New changes are Alembic revisions only.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE table_settings (
        name TEXT PRIMARY KEY,
        retention_days INTEGER
    )
    """,
    # Domains and their credentials (domains.py). One API key pair per domain; rotation replaces
    # it. The secret stays recoverable because HMAC verification needs it.
    """
    CREATE TABLE domains (
        name TEXT PRIMARY KEY,
        created_ms INTEGER NOT NULL,
        api_key TEXT NOT NULL UNIQUE,
        api_secret TEXT NOT NULL
    )
    """,
    # Tokens are stored only as the SHA-256 of their plaintext.
    """
    CREATE TABLE tokens (
        token_sha256 TEXT PRIMARY KEY,
        domain TEXT NOT NULL REFERENCES domains(name),
        kind TEXT NOT NULL,
        tables TEXT NOT NULL,
        name TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    )
    """,
    "CREATE INDEX tokens_by_domain ON tokens(domain)",
    """
    CREATE TABLE saved_queries (
        domain TEXT NOT NULL REFERENCES domains(name),
        name TEXT NOT NULL,
        linq TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (domain, name)
    )
    """,
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        domain TEXT NOT NULL,
        type TEXT NOT NULL,
        friendly_name TEXT NOT NULL,
        query TEXT NOT NULL,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        cid TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        events_generated INTEGER NOT NULL DEFAULT 0,
        events_sent INTEGER NOT NULL DEFAULT 0,
        last_datetime INTEGER NOT NULL DEFAULT 0,
        checkpoint TEXT NOT NULL DEFAULT '{}',
        error TEXT NOT NULL DEFAULT '[]',
        extra TEXT NOT NULL DEFAULT '{}',
        UNIQUE (domain, friendly_name)
    )
    """,
    # Alert definitions (alerts/repo.py). Ids never come back after a delete (AUTOINCREMENT),
    # so a client holding an old id cannot touch a newer definition. ``name_key`` is the
    # case-folded name: names are unique per domain regardless of case.
    """
    CREATE TABLE alert_categories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL UNIQUE
    )
    """,
    """
    CREATE TABLE alert_subcategories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (domain, name)
    )
    """,
    """
    CREATE TABLE alert_definitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        name_key TEXT NOT NULL,
        definition TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        UNIQUE (domain, name_key)
    )
    """,
    # Triggered alerts (alerts/triggered.py): one row per firing, de-duplicated by its digest.
    """
    CREATE TABLE triggered_alerts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        definition_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        alert_date INTEGER NOT NULL,
        create_date INTEGER NOT NULL,
        update_date INTEGER NOT NULL,
        ack_status_date INTEGER,
        status INTEGER NOT NULL DEFAULT 0,
        priority REAL NOT NULL,
        context TEXT NOT NULL,
        category TEXT NOT NULL,
        subcategory TEXT NOT NULL,
        username TEXT NOT NULL,
        alert_name TEXT NOT NULL,
        message TEXT NOT NULL,
        description TEXT NOT NULL,
        extra_data TEXT NOT NULL,
        UNIQUE (domain, digest)
    )
    """,
    "CREATE INDEX triggered_alerts_by_date ON triggered_alerts(domain, alert_date)",
    # The alert engine's outbox flags (alerts/engine.py): a firing is first stored here, then
    # written to siem.logtrust.alert.info (in_table) and handed to delivery (dispatched); a
    # restart finishes whatever a crash left half done.
    "ALTER TABLE triggered_alerts ADD COLUMN in_table INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE triggered_alerts ADD COLUMN dispatched INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX triggered_alerts_pending ON triggered_alerts(in_table, dispatched)",
    # Per-definition evaluator state, saved with the position it covers.
    """
    CREATE TABLE alert_state (
        definition_id TEXT PRIMARY KEY,
        domain TEXT NOT NULL,
        version INTEGER NOT NULL,
        state TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
    )
    """,
    # Alert notification (alerts/delivery/). Delivery methods: the config JSON keeps an
    # httpjson password (Digest authentication needs it back); a validation code only as its
    # SHA-256.
    """
    CREATE TABLE delivery_methods (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        validated INTEGER NOT NULL DEFAULT 0,
        config TEXT NOT NULL,
        code_sha256 TEXT,
        code_expires_ms INTEGER,
        code_tries INTEGER NOT NULL DEFAULT 0,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    )
    """,
    "CREATE INDEX delivery_methods_by_domain ON delivery_methods(domain, type)",
    # Sending policies; the partial unique index keeps one default per domain.
    """
    CREATE TABLE sending_policies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        name TEXT NOT NULL,
        is_default INTEGER NOT NULL DEFAULT 0,
        policy TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    )
    """,
    "CREATE UNIQUE INDEX sending_policies_default ON sending_policies(domain) WHERE is_default = 1",
    # The delivery outbox: one row per (alert, method, kind), pending until sent or given up.
    """
    CREATE TABLE alert_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        alert_id INTEGER NOT NULL,
        method_id INTEGER NOT NULL,
        policy_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt_ms INTEGER NOT NULL,
        delivered_ms INTEGER,
        created_ms INTEGER NOT NULL,
        suppressed INTEGER NOT NULL DEFAULT 0,
        first_ms INTEGER,
        last_ms INTEGER,
        UNIQUE (alert_id, method_id, kind)
    )
    """,
    "CREATE INDEX alert_deliveries_due ON alert_deliveries(status, next_attempt_ms)",
    "CREATE INDEX alert_deliveries_by_domain ON alert_deliveries(domain, alert_id)",
    # Alerts already planned for delivery and the status planning gave them: re-submitting an
    # alert (the engine after a crash) changes nothing.
    """
    CREATE TABLE alert_delivery_submissions (
        alert_id INTEGER PRIMARY KEY,
        domain TEXT NOT NULL,
        status INTEGER NOT NULL,
        submitted_ms INTEGER NOT NULL
    )
    """,
    # Anti-flooding counters per (policy, definition); reminder_due_ms is NULL when none is due.
    """
    CREATE TABLE alert_flood_state (
        policy_id INTEGER NOT NULL,
        definition_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        state TEXT NOT NULL,
        reminder_due_ms INTEGER,
        PRIMARY KEY (policy_id, definition_id)
    )
    """,
    "CREATE INDEX alert_flood_reminders ON alert_flood_state(reminder_due_ms)",
    # The console (ui/): its users (argon2 hashes), their sessions (only the SHA-256 of the id
    # travels back here), per-user settings and query history, and the key that signs cookies.
    """
    CREATE TABLE console_users (
        name TEXT PRIMARY KEY,
        domain TEXT NOT NULL REFERENCES domains(name),
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        time_zone TEXT NOT NULL DEFAULT 'UTC',
        created_ms INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE console_sessions (
        id_sha256 TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES console_users(name) ON DELETE CASCADE,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE console_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user TEXT NOT NULL,
        query TEXT NOT NULL,
        from_text TEXT NOT NULL,
        to_text TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    )
    """,
    "CREATE INDEX console_history_by_user ON console_history(user, id)",
    """
    CREATE TABLE console_keys (
        name TEXT PRIMARY KEY,
        secret TEXT NOT NULL
    )
    """,
    # The Lookups API (lookups/): the status log of every job (jobs/statuses.py), and each
    # domain's lookups in creation order (``id``: oldest first, the list's page token).
    # ``name_key`` is the case-folded name: two names differing only in case would share a
    # DuckDB table.
    """
    CREATE TABLE job_statuses (
        job_id TEXT NOT NULL,
        n INTEGER NOT NULL,
        code TEXT NOT NULL,
        msg TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (job_id, n)
    )
    """,
    """
    CREATE TABLE lookups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain TEXT NOT NULL,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        definition TEXT NOT NULL,
        job_id TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        UNIQUE (domain, name_key)
    )
    """,
)


def adopt(conn: Connection) -> bool:
    """Bring a pre-Alembic SQLite file to the end of ``MIGRATIONS``; whether it was one (then
    Alembic stamps it at its baseline instead of creating the tables)."""
    if conn.dialect.name != "sqlite" or inspect(conn).has_table("alembic_version"):
        return False
    version = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
    if version == 0:
        return False
    for index, statement in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"PRAGMA user_version = {index:d}")
    return True
