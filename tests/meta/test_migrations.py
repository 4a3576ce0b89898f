"""Migrations that move data, from the revision before them, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from linqd.alerts.followups import FollowUps
from linqd.meta import MetaStore
from linqd.meta.store import MIGRATIONS_DIR


def at_revision(target: str, revision: str, *, down: bool = False) -> sa.Engine:
    """A metadata database migrated up (or ``down``) to ``revision``."""
    url = target.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.begin() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
    return engine


def firing(definition_id: str, digest: str, in_table: int, dispatched: int) -> dict[str, Any]:
    return {
        "domain": "self",
        "definition_id": definition_id,
        "digest": digest,
        "alert_date": 1,
        "create_date": 1,
        "update_date": 1,
        "priority": 5.0,
        "context": "c",
        "category": "c",
        "subcategory": "s",
        "username": "u",
        "alert_name": "n",
        "message": "m",
        "description": "d",
        "extra_data": "{}",
        "in_table": in_table,
        "dispatched": dispatched,
    }


def test_0003_turns_each_firings_flags_into_its_definitions_progress(meta_target: str) -> None:
    old = at_revision(meta_target, "0002")
    firings = sa.Table("triggered_alerts", sa.MetaData(), autoload_with=old)
    with old.begin() as conn:
        conn.execute(
            firings.insert(),
            [
                firing("1", "a", 1, 1),  # done
                firing("1", "b", 1, 0),  # its hand-over to delivery still to do
                firing("2", "c", 1, 1),  # all of definition 2 done
                firing("1", "d", 1, 1),  # done, but after b: finished again (idempotent)
                firing("3", "e", 0, 1),  # its table row still to do
            ],
        )
    old.dispose()

    meta = MetaStore(meta_target)
    try:
        unfinished = FollowUps(meta).unfinished()
        with meta.transaction() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("triggered_alerts")}
    finally:
        meta.close()
    assert [alert.digest for alert in unfinished] == ["b", "d", "e"]
    assert not {"in_table", "dispatched"} & columns

    # and back: what is not done has both flags down
    back = at_revision(meta_target, "0002", down=True)
    firings = sa.Table("triggered_alerts", sa.MetaData(), autoload_with=back)
    with back.begin() as conn:
        query = sa.select(firings.c.digest, firings.c.in_table, firings.c.dispatched)
        flags = {
            digest: (in_table, dispatched)
            for digest, in_table, dispatched in conn.execute(query.order_by(firings.c.id))
        }
    back.dispose()
    assert flags == {"a": (1, 1), "b": (0, 0), "c": (1, 1), "d": (0, 0), "e": (0, 0)}
