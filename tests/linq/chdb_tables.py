"""The LINQ tests on both engines: a DuckDB test store's rows copied into a ClickHouse store on
chdb (ClickHouse's engine in process), and one runner per engine that queries through the
store seam."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlglot import exp

from linqd.clock import SimulatedClock
from linqd.columns import CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN
from linqd.linq import CompiledQuery
from linqd.meta import MetaStore
from linqd.reference import References
from linqd.store.base import EventStore
from linqd.store.duckdb import DuckDBStore
from linqd.store.open import open_store


def _identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


class ClickHouseTables:
    """A ClickHouse store (on chdb) holding copies of a DuckDB test store's rows, appended
    through the store seam, so the queries the tests run go through the same store code as
    linqd's own (settings, read-only queries, Arrow types, error mapping)."""

    def __init__(self, path: Path, references: References | None = None) -> None:
        self.path = path
        self.meta = MetaStore(path / "meta.sqlite")
        self.store = open_store(
            "chdb:events", path, self.meta, SimulatedClock(), references=references
        )
        self._copied = 0  # the source's rows up to this sequence number are copied

    def close(self) -> None:
        self.store.close()
        self.meta.close()

    def copy(self, source: DuckDBStore) -> None:
        """The rows ``source`` stored since the last copy, table by table, each run of one
        domain's rows as one append (in sequence order, so ties keep their order)."""
        for schema in source.tables():
            self.store.ensure_table(schema)
            rows = (
                source.reader()
                .sql(
                    f"SELECT * FROM {_identifier(schema.name)} WHERE {SEQ_COLUMN} > ? "
                    f"ORDER BY {SEQ_COLUMN}",
                    params=[self._copied],
                )
                .to_arrow_table()
            )
            for client, part in _runs_of_one_client(rows):
                self.store.append(
                    schema.name,
                    {c: part.column(c) for c in schema.column_names},
                    client=client,
                    eventdates=part.column(EVENTDATE).cast(pa.timestamp("ms")).cast(pa.int64()),
                )
        self._copied = source.last_seq

    def arrow(self, select: exp.Expression) -> pa.Table:
        cursor = self.store.stream(select)
        return pa.Table.from_batches(list(cursor), schema=cursor.schema)

    def rows(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        return [tuple(normalize(v) for v in row) for row in self.store.fetch(query.expression)]


def _runs_of_one_client(rows: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    clients = rows.column(CLIENT_COLUMN).to_pylist()
    start = 0
    for index in range(1, len(clients) + 1):
        if index == len(clients) or clients[index] != clients[start]:
            yield str(clients[start]), rows.slice(start, index - start)
            start = index


def normalize(value: Any) -> Any:
    """ClickHouse's representation of a value as DuckDB's: a UTC datetime without its zone
    (DuckDB's TIMESTAMP is naive UTC); nothing else is changed."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(normalize(v) for v in value)
    if isinstance(value, dict):
        return {normalize(k): normalize(v) for k, v in value.items()}
    return value


@contextmanager
def running_on(
    engine: str,
    store: DuckDBStore,
    tmp_path_factory: pytest.TempPathFactory,
    references: References | None = None,
) -> Iterator[Runner]:
    """A runner of ``engine`` over ``store``'s rows (copied into a ClickHouse store, which
    reads ``references``: the built-in ones by default; give the DuckDB store the same)."""
    if engine == "duckdb":
        yield Runner("duckdb", store, None)
        return
    tables = ClickHouseTables(tmp_path_factory.mktemp("chdb"), references)
    try:
        tables.copy(store)
        yield Runner("clickhouse", store, tables)
    finally:
        tables.close()


ENGINES = ("duckdb", "clickhouse")


class Runner:
    """Runs compiled queries on one engine: the DuckDB store itself or its ClickHouse copy,
    through the store seam either way."""

    def __init__(self, engine: str, store: DuckDBStore, tables: ClickHouseTables | None) -> None:
        self.engine = engine
        self.store = store  # the DuckDB store: the rows, and the oracle's hand-written SQL
        self.tables = tables

    @property
    def target(self) -> EventStore:
        """The store the engine's queries run on."""
        return self.store if self.tables is None else self.tables.store

    def rows(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        assert query.engine == self.engine
        if self.tables is None:
            return self.store.fetch(query.expression)
        return self.tables.rows(query)

    def refresh(self) -> None:
        """Copy the store's new rows after appends (ClickHouse holds a copy)."""
        if self.tables is not None:
            self.tables.copy(self.store)

    def arrow(self, query: CompiledQuery) -> pa.Table:
        if self.tables is None:
            cursor = self.store.stream(query.expression)
            return pa.Table.from_batches(list(cursor), schema=cursor.schema)
        return self.tables.arrow(query.expression)
