"""Test-only ClickHouse tables on chdb (ClickHouse's engine in process), until the ClickHouse
event store exists: the layout that store uses, holding the very rows of a DuckDB test store.

One table per LINQ table, named exactly like it; ``eventdate DateTime64(3, 'UTC')``, ``client
LowCardinality(String)``, ``_seq Int64``, then the table's columns as Nullable types;
``ENGINE = MergeTree ORDER BY (client, eventdate, _seq)``. Queries run with
``CLICKHOUSE_SETTINGS`` and come back as Arrow tables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from chdb.session import Session
from sqlglot import exp

from linqd.columns import CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN
from linqd.errors import LinqdError, QueryLimitError
from linqd.linq import CompiledQuery
from linqd.linq.compile import CLICKHOUSE_SETTINGS
from linqd.linq.functions.base import lit
from linqd.linq.types import Kind
from linqd.store.catalog import TableSchema
from linqd.store.duckdb import DuckDBStore

STORAGE_TYPES = {
    Kind.STR: "Nullable(String)",
    Kind.INT4: "Nullable(Int32)",
    Kind.INT8: "Nullable(Int64)",
    Kind.FLOAT8: "Nullable(Float64)",
    Kind.BOOL: "Nullable(Bool)",
    Kind.TIMESTAMP: "Nullable(DateTime64(3, 'UTC'))",
    Kind.IP4: "Nullable(IPv4)",
    Kind.JSON: "Nullable(String)",
}


def _identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="clickhouse")


def table_ddl(schema: TableSchema) -> str:
    columns = [
        f"{EVENTDATE} DateTime64(3, 'UTC')",
        f"{CLIENT_COLUMN} LowCardinality(String)",
        f"{SEQ_COLUMN} Int64",
        *(f"{_identifier(c.name)} {STORAGE_TYPES[c.type.kind]}" for c in schema.columns),
    ]
    return (
        f"CREATE TABLE IF NOT EXISTS {_identifier(schema.name)} ({', '.join(columns)}) "
        f"ENGINE = MergeTree ORDER BY ({CLIENT_COLUMN}, {EVENTDATE}, {SEQ_COLUMN})"
    )


def with_settings(select: exp.Expression) -> str:
    """The query's ClickHouse text with ``CLICKHOUSE_SETTINGS``, as the store will send it."""
    settings = [
        exp.EQ(this=exp.column(name), expression=lit(value))
        for name, value in CLICKHOUSE_SETTINGS.items()
    ]
    query = select.copy()
    query.set("settings", settings)
    return query.sql(dialect="clickhouse")


class ClickHouseTables:
    """A chdb session holding copies of a DuckDB store's tables."""

    def __init__(self, path: Path) -> None:
        self.session = Session(str(path))

    def close(self) -> None:
        self.session.close()

    def copy(self, store: DuckDBStore) -> None:
        """Every table of ``store`` with all its rows (replacing what an earlier copy made)."""
        for schema in store.tables():
            self.session.query(f"DROP TABLE IF EXISTS {_identifier(schema.name)}")
            self.session.query(table_ddl(schema))
            rows = store.reader().sql(f"SELECT * FROM {_identifier(schema.name)}").to_arrow_table()
            if rows.num_rows:
                self._insert(schema.name, rows)

    def _insert(self, name: str, rows: pa.Table) -> None:
        # chdb's Python() table function reads the Arrow table from this frame's locals.
        self.session.query(f"INSERT INTO {_identifier(name)} SELECT * FROM Python(rows)")

    def arrow(self, select: exp.Expression) -> pa.Table:
        text = with_settings(select)
        try:
            try:
                table = self.session.query(text, "ArrowTable")
            except Exception as error:
                # chdb (not ClickHouse) sometimes hands the first Arrow result after a failed
                # query back truncated; the same query again reads fine.
                if "Invalid flatbuffers message" not in str(error):
                    raise
                table = self.session.query(text, "ArrowTable")
        except Exception as error:  # chdb raises plain RuntimeErrors
            raise engine_error(str(error)) from None
        assert isinstance(table, pa.Table)
        return table

    def rows(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        table = self.arrow(query.expression)
        return [tuple(normalize(v) for v in row.values()) for row in table.to_pylist()]


CAP_ERROR = re.compile(
    r"Exceeded limits while computing data for subproblem: max value for size is \d+ but "
    r"reached \d+"
)


def engine_error(text: str) -> LinqdError:
    """A ClickHouse failure as the store will report it: the subquery cap's message (quoted
    inside ClickHouse's parse error, see ClickHouseCompiler.capped_subquery) as a
    QueryLimitError, anything else as a failed query."""
    cap = CAP_ERROR.search(text)
    if cap is not None:
        return QueryLimitError(cap.group(0))
    return LinqdError(f"Query failed: {text.splitlines()[0] if text else 'ClickHouse error'}")


def normalize(value: Any) -> Any:
    """ClickHouse's representation of a value as DuckDB's: a UTC datetime without its zone
    (DuckDB's TIMESTAMP is naive UTC); nothing else is changed."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    return value


@contextmanager
def clickhouse_copy(store: DuckDBStore, path: Path) -> Iterator[ClickHouseTables]:
    tables = ClickHouseTables(path)
    try:
        tables.copy(store)
        yield tables
    finally:
        tables.close()


ENGINES = ("duckdb", "clickhouse")


class Runner:
    """Runs compiled queries on one engine: the DuckDB store itself or its ClickHouse copy."""

    def __init__(self, engine: str, store: DuckDBStore, tables: ClickHouseTables | None) -> None:
        self.engine = engine
        self.store = store
        self.tables = tables

    def rows(self, query: CompiledQuery) -> list[tuple[Any, ...]]:
        assert query.engine == self.engine
        if self.tables is None:
            return self.store.reader().sql(query.sql).fetchall()
        return self.tables.rows(query)

    def refresh(self) -> None:
        """Copy the store again after appends (ClickHouse holds a copy, DuckDB is the store)."""
        if self.tables is not None:
            self.tables.copy(self.store)

    def arrow(self, query: CompiledQuery) -> pa.Table:
        if self.tables is None:
            return self.store.reader().sql(query.sql).to_arrow_table()
        return self.tables.arrow(query.expression)
