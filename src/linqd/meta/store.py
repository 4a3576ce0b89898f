"""The metadata store: SQLite in the data directory by default, PostgreSQL for several nodes.

Everything that keeps metadata goes through ``MetaStore.transaction()`` and SQLAlchemy Core
expressions over ``schema``; the few statements the two engines write differently (an insert
that meets a unique key, a row lock) are built here, so no caller names an engine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    bindparam,
    column,
    create_engine,
    event,
    exc,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from linqd.errors import MetaUnavailable, ValidationError
from linqd.meta import legacy, schema

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_HOLD_MS = 10_000
BASELINE = "0001"
# pg_advisory_xact_lock's key while a node migrates: nodes starting together migrate one by one.
_MIGRATION_LOCK = 0x6C696E7164


def is_url(target: str) -> bool:
    return "://" in target


def is_shared_meta(target: str | None) -> bool:
    """Whether ``target`` is a PostgreSQL that several nodes share."""
    return (
        target is not None
        and is_url(target)
        and make_url(target).get_backend_name() == ("postgresql")
    )


class MetaStore:
    """``target``: a SQLite file path, ``:memory:``, or a ``postgresql://`` URL.

    SQLite: one connection serialised by a lock (writes are rare; ``BEGIN IMMEDIATE`` so a
    transaction never has to upgrade its lock). PostgreSQL: a pool, READ COMMITTED, rows locked
    where a transaction reads what it then changes."""

    def __init__(self, target: Path | str, *, hold_ms: int = DEFAULT_HOLD_MS) -> None:
        """``hold_ms`` (PostgreSQL): the longest a transaction may sit idle, or a statement
        wait for a lock, before the server gives up on it. A node paused or cut off in the
        middle of a transaction (SIGSTOP, a partition) would otherwise keep its row locks, and
        no other node could take its leases; several nodes set it to their lease term."""
        self._engine = _engine(str(target), hold_ms)
        self.dialect = self._engine.dialect.name
        self._lock: AbstractContextManager[Any] = (
            threading.RLock() if self.dialect == "sqlite" else nullcontext()
        )
        self._migrate()

    @property
    def url(self) -> str:
        """Where the metadata is, password hidden (for logs and ``linqd nodes``)."""
        return self._engine.url.render_as_string(hide_password=True)

    def _migrate(self) -> None:
        with self.transaction() as conn:
            if self.dialect == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = conn
            if legacy.adopt(conn):
                command.stamp(config, BASELINE)
            command.upgrade(config, "head")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; a lost connection or a transaction the server ended is
        ``MetaUnavailable`` (callers retry later), whatever the engine; a value it cannot
        store is a ``ValidationError``."""
        try:
            with self._lock, self._engine.begin() as conn:
                yield conn
        except (exc.OperationalError, exc.InterfaceError, exc.InternalError) as error:
            # InternalError: PostgreSQL ended a transaction held past ``hold_ms``
            # (IdleInTransactionSessionTimeout), the fate of a paused node's transaction.
            cause = type(error.orig).__name__ if error.orig is not None else type(error).__name__
            raise MetaUnavailable(f"the metadata store failed ({cause})") from None
        except exc.DataError as error:
            # A value the database cannot hold (PostgreSQL's text cannot hold NUL): the fault
            # of the request that brought it, not the server's.
            reason = str(error.orig).splitlines()[0] if error.orig is not None else "bad value"
            raise ValidationError(f"A value cannot be stored: {reason[:200]}") from None

    def retention_days(self) -> dict[str, int]:
        table = schema.table_settings
        with self.transaction() as conn:
            rows = conn.execute(
                select(table.c.name, table.c.retention_days).where(
                    table.c.retention_days.is_not(None)
                )
            ).all()
        return {str(name): int(days) for name, days in rows}

    def set_retention_days(self, table_name: str, days: int | None) -> None:
        with self.transaction() as conn:
            conn.execute(
                upsert(conn, schema.table_settings, ["name"], retention_days=days).values(
                    name=table_name, retention_days=days
                )
            )

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()


def insert(conn: Connection, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can say what to do ``on_conflict_do_nothing/update`` (both engines spell
    it ``ON CONFLICT``, but SQLAlchemy builds it per dialect)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_new(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: list[str],
    returning: Sequence[ColumnElement[Any]],
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` but those whose ``keys`` are stored already; the ``returning`` columns
    of the rows inserted, in no set order. A thousand rows per statement: on PostgreSQL as one
    JSON parameter (``INSERT … SELECT … FROM json_to_recordset(…)``: twice as fast as a
    pipelined executemany, and a third faster than one array per column, which psycopg
    escapes value by value); on SQLite, multi-row VALUES."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        statement = (
            sqlite.insert(table).on_conflict_do_nothing(index_elements=keys).returning(*returning)
        )
        return [tuple(row) for row in conn.execute(statement, list(rows))]
    names = list(rows[0])
    source = (
        func.json_to_recordset(bindparam("rows", type_=postgresql.JSON))
        .table_valued(*(column(n, table.c[n].type) for n in names))
        .render_derived(with_types=True)
    )
    statement = (
        postgresql.insert(table)
        .from_select(names, select(*(source.c[n] for n in names)))
        .on_conflict_do_nothing(index_elements=keys)
        .returning(*returning)
    )
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), 1_000):
        chunk = [dict(row) for row in rows[start : start + 1_000]]
        inserted.extend(tuple(row) for row in conn.execute(statement, {"rows": chunk}))
    return inserted


def upsert(
    conn: Connection, table: Table, keys: list[str], **changes: Any
) -> sqlite.Insert | postgresql.Insert:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET changes; DO NOTHING when there are none."""
    statement = insert(conn, table)
    if not changes:
        return statement.on_conflict_do_nothing(index_elements=keys)
    return statement.on_conflict_do_update(index_elements=keys, set_=changes)


def _engine(target: str, hold_ms: int) -> Engine:
    if is_url(target):
        url = make_url(target)
        if url.get_backend_name() == "postgresql":
            # psycopg 3 is the driver the project installs; a bare postgresql:// means it.
            url = url.set(drivername="postgresql+psycopg")
            engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
            event.listen(engine, "connect", partial(_postgresql_connect, hold_ms=hold_ms))
            return engine
        if url.get_backend_name() != "sqlite":
            raise ValueError(f"unsupported metadata store: {url.get_backend_name()}")
        target = url.database or ":memory:"
    if target != ":memory:" and not Path(target).exists():
        # It holds API secrets: private from its first byte (SQLite gives its -wal and -shm
        # files the database file's mode).
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    engine = create_engine(
        "sqlite+pysqlite://" if target == ":memory:" else f"sqlite+pysqlite:///{target}",
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _postgresql_connect(dbapi_connection: Any, _record: Any, *, hold_ms: int) -> None:
    with dbapi_connection.cursor() as cursor:
        for setting in ("idle_in_transaction_session_timeout", "lock_timeout"):
            cursor.execute(f"SET {setting} = {int(hold_ms):d}")
    dbapi_connection.commit()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by _sqlite_begin, not by the driver's implicit BEGIN.
    dbapi_connection.isolation_level = None
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
