"""The baseline: the schema the SQLite migrations ended in

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_categories",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "alert_definitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain", "name_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "alert_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("method_id", sa.BigInteger(), nullable=False),
        sa.Column("policy_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.Column("delivered_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("suppressed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id", "method_id", "kind"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index("alert_deliveries_by_domain", ["domain", "alert_id"], unique=False)
        batch_op.create_index("alert_deliveries_due", ["status", "next_attempt_ms"], unique=False)

    op.create_table(
        "alert_delivery_submissions",
        sa.Column("alert_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("submitted_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    op.create_table(
        "alert_flood_state",
        sa.Column("policy_id", sa.BigInteger(), nullable=False),
        sa.Column("definition_id", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("reminder_due_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("policy_id", "definition_id"),
    )
    with op.batch_alter_table("alert_flood_state", schema=None) as batch_op:
        batch_op.create_index("alert_flood_reminders", ["reminder_due_ms"], unique=False)

    op.create_table(
        "alert_state",
        sa.Column("definition_id", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("definition_id"),
    )
    op.create_table(
        "alert_subcategories",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain", "name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "console_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("from_text", sa.Text(), nullable=False),
        sa.Column("to_text", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("console_history", schema=None) as batch_op:
        batch_op.create_index("console_history_by_user", ["user", "id"], unique=False)

    op.create_table(
        "console_keys",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "delivery_methods",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("validated", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("code_sha256", sa.Text(), nullable=True),
        sa.Column("code_expires_ms", sa.BigInteger(), nullable=True),
        sa.Column("code_tries", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("delivery_methods", schema=None) as batch_op:
        batch_op.create_index("delivery_methods_by_domain", ["domain", "type"], unique=False)

    op.create_table(
        "domains",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("api_secret", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("api_key"),
    )
    op.create_table(
        "job_statuses",
        sa.Column("job_id", sa.Text(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("msg", sa.Text(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "n"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("friendly_name", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("from_ms", sa.BigInteger(), nullable=False),
        sa.Column("to_ms", sa.BigInteger(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("cid", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("events_generated", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("events_sent", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_datetime", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("checkpoint", sa.Text(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("error", sa.Text(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("extra", sa.Text(), server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain", "friendly_name"),
    )
    op.create_table(
        "lookups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Text(), nullable=True),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain", "name_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sending_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("is_default", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sending_policies", schema=None) as batch_op:
        batch_op.create_index(
            "sending_policies_default",
            ["domain"],
            unique=True,
            sqlite_where=sa.text("is_default = 1"),
            postgresql_where=sa.text("is_default = 1"),
        )

    op.create_table(
        "table_settings",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "triggered_alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("definition_id", sa.Text(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("alert_date", sa.BigInteger(), nullable=False),
        sa.Column("create_date", sa.BigInteger(), nullable=False),
        sa.Column("update_date", sa.BigInteger(), nullable=False),
        sa.Column("ack_status_date", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("subcategory", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("alert_name", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("extra_data", sa.Text(), nullable=False),
        sa.Column("in_table", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("dispatched", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain", "digest"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("triggered_alerts", schema=None) as batch_op:
        batch_op.create_index("triggered_alerts_by_date", ["domain", "alert_date"], unique=False)
        batch_op.create_index("triggered_alerts_pending", ["in_table", "dispatched"], unique=False)

    op.create_table(
        "console_users",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), server_default=sa.text("'UTC'"), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain"],
            ["domains.name"],
        ),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "saved_queries",
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("linq", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain"],
            ["domains.name"],
        ),
        sa.PrimaryKeyConstraint("domain", "name"),
    )
    op.create_table(
        "tokens",
        sa.Column("token_sha256", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("tables", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain"],
            ["domains.name"],
        ),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index("tokens_by_domain", ["domain"], unique=False)

    op.create_table(
        "console_sessions",
        sa.Column("id_sha256", sa.Text(), nullable=False),
        sa.Column("user", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["user"], ["console_users.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_sha256"),
    )


def downgrade() -> None:
    op.drop_table("console_sessions")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index("tokens_by_domain")

    op.drop_table("tokens")
    op.drop_table("saved_queries")
    op.drop_table("console_users")
    with op.batch_alter_table("triggered_alerts", schema=None) as batch_op:
        batch_op.drop_index("triggered_alerts_pending")
        batch_op.drop_index("triggered_alerts_by_date")

    op.drop_table("triggered_alerts")
    op.drop_table("table_settings")
    with op.batch_alter_table("sending_policies", schema=None) as batch_op:
        batch_op.drop_index(
            "sending_policies_default",
            sqlite_where=sa.text("is_default = 1"),
            postgresql_where=sa.text("is_default = 1"),
        )

    op.drop_table("sending_policies")
    op.drop_table("lookups")
    op.drop_table("jobs")
    op.drop_table("job_statuses")
    op.drop_table("domains")
    with op.batch_alter_table("delivery_methods", schema=None) as batch_op:
        batch_op.drop_index("delivery_methods_by_domain")

    op.drop_table("delivery_methods")
    op.drop_table("console_keys")
    with op.batch_alter_table("console_history", schema=None) as batch_op:
        batch_op.drop_index("console_history_by_user")

    op.drop_table("console_history")
    op.drop_table("alert_subcategories")
    op.drop_table("alert_state")
    with op.batch_alter_table("alert_flood_state", schema=None) as batch_op:
        batch_op.drop_index("alert_flood_reminders")

    op.drop_table("alert_flood_state")
    op.drop_table("alert_delivery_submissions")
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index("alert_deliveries_due")
        batch_op.drop_index("alert_deliveries_by_domain")

    op.drop_table("alert_deliveries")
    op.drop_table("alert_definitions")
    op.drop_table("alert_categories")
