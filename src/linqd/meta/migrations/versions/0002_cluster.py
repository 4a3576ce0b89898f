"""Several nodes on one PostgreSQL: nodes, leases, the shared event sequence

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_nodes",
        sa.Column("node_id", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("node_id"),
    )
    op.create_table(
        "leases",
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("resource"),
    )
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.create_index("leases_by_owner", ["owner"], unique=False)

    op.create_table(
        "seq_counter",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("next", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "seq_ranges",
        sa.Column("first", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("writer", sa.Text(), nullable=False),
        sa.Column("table", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.PrimaryKeyConstraint("first"),
    )
    with op.batch_alter_table("seq_ranges", schema=None) as batch_op:
        batch_op.create_index("seq_ranges_by_writer", ["writer"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("seq_ranges", schema=None) as batch_op:
        batch_op.drop_index("seq_ranges_by_writer")

    op.drop_table("seq_ranges")
    op.drop_table("seq_counter")
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_index("leases_by_owner")

    op.drop_table("leases")
    op.drop_table("cluster_nodes")
