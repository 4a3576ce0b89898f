"""Follow-ups per definition, not flags on each firing

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_firings = sa.table(
    "triggered_alerts",
    sa.column("id", sa.BigInteger),
    sa.column("definition_id", sa.Text),
    sa.column("in_table", sa.Integer),
    sa.column("dispatched", sa.Integer),
)
_followups = sa.table(
    "alert_followups", sa.column("definition_id", sa.Text), sa.column("done_id", sa.BigInteger)
)


def upgrade() -> None:
    op.create_table(
        "alert_followups",
        sa.Column("definition_id", sa.Text(), nullable=False),
        sa.Column("done_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("definition_id"),
    )
    # Each definition's firings are done up to just below its first unfinished one (all of
    # them when none is).
    t = _firings.c
    first_unfinished = sa.func.min(sa.case((sa.or_(t.in_table == 0, t.dispatched == 0), t.id)))
    done = sa.func.coalesce(first_unfinished - 1, sa.func.max(t.id))
    op.execute(
        _followups.insert().from_select(
            ["definition_id", "done_id"],
            sa.select(t.definition_id, done).group_by(t.definition_id),
        )
    )
    with op.batch_alter_table("triggered_alerts", schema=None) as batch_op:
        batch_op.drop_index("triggered_alerts_pending")
        batch_op.create_index(
            "triggered_alerts_by_definition", ["definition_id", "id"], unique=False
        )
        batch_op.drop_column("dispatched")
        batch_op.drop_column("in_table")


def downgrade() -> None:
    with op.batch_alter_table("triggered_alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_table", sa.INTEGER(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("dispatched", sa.INTEGER(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.drop_index("triggered_alerts_by_definition")
        batch_op.create_index("triggered_alerts_pending", ["in_table", "dispatched"], unique=False)
    done = (
        sa.select(_followups.c.done_id)
        .where(_followups.c.definition_id == _firings.c.definition_id)
        .scalar_subquery()
    )
    op.execute(_firings.update().where(_firings.c.id <= done).values(in_table=1, dispatched=1))
    op.drop_table("alert_followups")
