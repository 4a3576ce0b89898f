"""The metadata store on SQLite and PostgreSQL: one schema, one set of migrations."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from linqd.errors import MetaUnavailable, ValidationError
from linqd.meta import MetaStore, schema
from linqd.meta.legacy import MIGRATIONS
from pgserver import PostgresServer


def test_the_migrations_build_exactly_the_schema(meta_target: str) -> None:
    meta = MetaStore(meta_target)
    try:
        with meta.transaction() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), schema.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        meta.close()
    assert differences == []
    assert tables == set(schema.metadata.tables) | {"alembic_version"}


def test_opening_twice_migrates_once(meta_target: str) -> None:
    MetaStore(meta_target).close()
    meta = MetaStore(meta_target)
    try:
        meta.set_retention_days("my.app.a", 3)
        meta.set_retention_days("my.app.a", 5)
        meta.set_retention_days("my.app.b", None)
        assert meta.retention_days() == {"my.app.a": 5}
    finally:
        meta.close()


def test_a_failed_transaction_leaves_nothing(meta_target: str) -> None:
    meta = MetaStore(meta_target)
    try:
        with pytest.raises(RuntimeError), meta.transaction() as conn:
            conn.execute(schema.table_settings.insert().values(name="x", retention_days=1))
            raise RuntimeError("abandon")
        assert meta.retention_days() == {}
    finally:
        meta.close()


def test_ids_and_milliseconds_are_64_bit(meta_target: str) -> None:
    meta = MetaStore(meta_target)
    far = 2**40
    try:
        with meta.transaction() as conn:
            conn.execute(
                schema.domains.insert().values(
                    name="d", created_ms=far, api_key="k", api_secret="s"
                )
            )
            assert conn.execute(select(schema.domains.c.created_ms)).scalar_one() == far
    finally:
        meta.close()


def test_nodes_migrating_together_do_not_collide(postgres: object) -> None:
    """Three nodes opening one empty PostgreSQL at once: the advisory lock lets one migrate,
    the others find the schema done."""
    from pgserver import PostgresServer

    assert isinstance(postgres, PostgresServer)
    url = postgres.fresh_url()
    errors: list[BaseException] = []

    def open_once() -> None:
        try:
            MetaStore(url).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_once) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_pre_alembic_sqlite_file_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "meta.sqlite"
    old = sqlite3.connect(path)
    for version, statement in enumerate(MIGRATIONS[:5], start=1):
        old.execute(statement)
        old.execute(f"PRAGMA user_version = {version:d}")
    old.execute("INSERT INTO domains VALUES ('kept', 1, 'key', 'secret')")
    old.commit()
    old.close()

    meta = MetaStore(path)
    try:
        with meta.transaction() as conn:
            assert conn.execute(select(schema.domains.c.name)).scalars().all() == ["kept"]
            differences = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    finally:
        meta.close()
    # SQLite's legacy DDL says INTEGER where the schema says BIGINT (the same storage class
    # there) and left a TEXT primary key nullable: only such column details may differ, no
    # table, column or index.
    assert {difference[0][0] for difference in differences if isinstance(difference, list)} <= {
        "modify_type",
        "modify_nullable",
    }
    # Foreign keys reflect from the legacy DDL without the details SQLite does not keep:
    # a difference there comes as a remove and an add of the same key.
    changes = [d[0] for d in differences if not isinstance(d, list)]
    assert sorted(changes) == sorted(c for c in changes if c in {"add_fk", "remove_fk"})
    assert changes.count("add_fk") == changes.count("remove_fk")


def test_a_transaction_held_past_the_hold_time_is_ended_as_unavailable(
    postgres: PostgresServer,
) -> None:
    """A node paused inside a transaction (SIGSTOP) loses it: PostgreSQL ends it after
    ``hold_ms``, which frees its locks for the other nodes, and the node sees
    ``MetaUnavailable`` when it resumes, not a raw driver error that would end its thread."""
    meta = MetaStore(postgres.fresh_url(), hold_ms=100)
    try:
        with pytest.raises(MetaUnavailable), meta.transaction() as conn:
            pid = conn.execute(select(func.pg_backend_pid())).scalar_one()
            _wait_until_gone(postgres, int(pid))
        assert meta.retention_days() == {}  # the next transaction has a fresh connection
    finally:
        meta.close()


def _wait_until_gone(postgres: PostgresServer, pid: int) -> None:
    """Until PostgreSQL has ended backend ``pid`` (its own view, polled)."""
    deadline = time.monotonic() + 30
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
            found = row.fetchone()
            if found is not None and found[0] == 0:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} was not ended")


def test_a_value_postgresql_cannot_hold_is_bad_input(postgres: PostgresServer) -> None:
    meta = MetaStore(postgres.fresh_url())
    try:
        with pytest.raises(ValidationError, match="NUL"), meta.transaction() as conn:
            conn.execute(schema.table_settings.insert().values(name="a\x00b", retention_days=1))
        with meta.transaction() as conn:  # and the store goes on
            assert (
                conn.execute(select(func.count()).select_from(schema.table_settings)).scalar() == 0
            )
    finally:
        meta.close()
