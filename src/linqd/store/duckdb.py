"""The event store on DuckDB: one file, one table per LINQ table, columnar appends.

Each DuckDB table is named exactly like its LINQ table (a quoted identifier such as
``"demo.ecommerce.data"``) and holds ``eventdate``, the hidden ``client`` column, the internal
``_seq`` sequence and the table's own columns. ``_seq`` increases across the whole store, so
"everything after cursor C" is one range scan and ties at equal eventdates stay ordered.

One writer (a lock around appends), any number of concurrent readers (each query gets its own
DuckDB cursor, which sees the last committed state).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..arrow_types import arrow_type
from ..clock import Clock
from ..errors import (
    LinqdError,
    LinqLimitError,
    QueryFailed,
    QueryLimitError,
    StoreError,
    TableRefused,
)
from ..linq import TOO_DEEP

# A limit the query's own aggregation reports as it runs: Devo's message, the failure's text.
from ..linq.functions.aggregates import COLLECTCOMPACT_MESSAGE
from ..linq.types import Kind, LType, parse_type
from ..lookup_tables import is_lookup, is_lookup_storage, lookup_storage
from ..meta import MetaStore
from ..reference import References, is_reference_table, reference_table
from . import catalog
from .base import (
    DAY_MS,
    AppendResult,
    Cursor,
    EventStore,
    LookupWrite,
    Params,
    Row,
    Statement,
    filled,
    sequence,
)
from .catalog import CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN, Column, TableSchema

DEFAULT_MEMORY_LIMIT = "2GB"
DIALECT = "duckdb"
CAP_MARKER = "Exceeded limits while computing data for subproblem"

_DUCKDB_TYPES = {
    Kind.STR: "VARCHAR",
    Kind.INT4: "INTEGER",
    Kind.INT8: "BIGINT",
    Kind.FLOAT8: "DOUBLE",
    Kind.BOOL: "BOOLEAN",
    Kind.TIMESTAMP: "TIMESTAMP",
    Kind.IP4: "UINTEGER",
    Kind.IP6: "UHUGEINT",
    Kind.MAC: "UBIGINT",
    Kind.JSON: "VARCHAR",
}
_TYPES_FROM_DUCKDB = {
    "VARCHAR": "str",
    "INTEGER": "int4",
    "BIGINT": "int8",
    "DOUBLE": "float8",
    "BOOLEAN": "bool",
    "TIMESTAMP": "timestamp",
    "UINTEGER": "ip4",
    "UHUGEINT": "ip6",
    "UBIGINT": "mac",
}


def duckdb_type(ltype: LType) -> str:
    return _DUCKDB_TYPES[ltype.kind]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_ddl(schema: TableSchema) -> str:
    """``"name" (columns...)``: every table's fixed columns, then its own."""
    parts = [
        f"{EVENTDATE} TIMESTAMP NOT NULL",
        f"{CLIENT_COLUMN} VARCHAR NOT NULL",
        f"{SEQ_COLUMN} BIGINT NOT NULL",
    ]
    parts += [f"{quote(c.name)} {duckdb_type(c.type)}" for c in schema.columns]
    return f"{quote(schema.name)} ({', '.join(parts)})"


def engine_error(error: duckdb.Error | OSError) -> LinqdError:
    """An engine failure as a linqd error (Arrow's batch reader reports them as OSError)."""
    text = str(error)
    if COLLECTCOMPACT_MESSAGE in text:
        return QueryLimitError(COLLECTCOMPACT_MESSAGE)
    if CAP_MARKER in text:
        return QueryLimitError(text[text.index(CAP_MARKER) :].strip())
    return QueryFailed(f"Query failed: {text.splitlines()[0] if text else type(error).__name__}")


class _DuckDBCursor(Cursor):
    """Runs its query when first read (or asked for its schema), so that a canceller set up
    after ``stream`` returns can stop a query still planning or sorting."""

    def __init__(
        self, conn: duckdb.DuckDBPyConnection, sql: str, params: Params | None, batch_rows: int
    ) -> None:
        self._conn = conn
        self._sql = sql
        self._params = dict(params) if params else None
        self._batch_rows = batch_rows
        self._reader: pa.RecordBatchReader | None = None
        self._cancelled = False

    def _start(self) -> pa.RecordBatchReader:
        if self._reader is None:
            if self._cancelled:
                raise StoreError("Query failed: cancelled")
            try:
                relation = self._conn.sql(self._sql, params=self._params)
                self._reader = relation.to_arrow_reader(self._batch_rows)
            except (duckdb.Error, OSError) as error:
                raise engine_error(error) from None
        return self._reader

    @property
    def schema(self) -> pa.Schema:
        return self._start().schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        reader = self._start()
        try:
            yield from reader
        except (duckdb.Error, OSError) as error:
            raise engine_error(error) from None

    def cancel(self) -> None:
        self._cancelled = True
        self._conn.interrupt()


class DuckDBStore(EventStore):
    """The embedded store: one DuckDB file."""

    engine = "duckdb"

    def __init__(
        self,
        path: Path | str,
        meta: MetaStore,
        clock: Clock,
        *,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        references: References | None = None,
    ) -> None:
        # Past the memory limit, sorts and hash tables spill next to the database file, so a
        # huge ordered result costs disk, not the server's memory.
        spill = Path(path).parent / "spill" if str(path) != ":memory:" else None
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            # Defence in depth: LINQ compiles to no file or network access and loads no
            # extension, and the engine could not do either if it did. Locked, so no statement
            # can turn these back on.
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if spill is not None:
            config["temp_directory"] = str(spill)
        self._db = duckdb.connect(str(path), config=config)
        # A second store over the same file in one process shares DuckDB's instance, already
        # locked by the first.
        locked = self._db.execute("SELECT current_setting('lock_configuration')").fetchone()
        if not (locked and locked[0]):
            self._db.execute("SET lock_configuration = true")
        super().__init__(meta, clock, references)
        self._write_lock = threading.Lock()
        self._load_schemas()
        self._split_shared_lookups()
        for schema in catalog.BUILTIN_TABLES:
            self._ensure_table(schema)
        self._seq = self._max_seq()

    # -- catalog ---------------------------------------------------------------------------------

    def _load_schemas(self) -> None:
        rows = self._exec(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        )
        columns: dict[str, list[Column]] = {}
        for table, column, data_type in rows:
            if is_reference_table(table):
                continue
            if column in (EVENTDATE, CLIENT_COLUMN, SEQ_COLUMN):
                columns.setdefault(table, [])
                continue
            known = catalog.fixed_schema(table)
            declared = known.column(column) if known else None
            ltype = declared.type if declared else parse_type(_TYPES_FROM_DUCKDB[data_type])
            columns.setdefault(table, []).append(Column(column, ltype))
        for table, cols in columns.items():
            self._schemas[table] = TableSchema(
                table, tuple(cols), catalog.builtin(table) is not None
            )

    def _split_shared_lookups(self) -> None:
        """Data directories of earlier versions keep all domains' rows of a lookup in one
        ``my.lookuplist.<name>`` table: give each domain its own (see ``lookup_tables``)."""
        for name, schema in list(self._schemas.items()):
            if not is_lookup(name) or is_lookup_storage(name):
                continue
            clients = self._exec(f"SELECT DISTINCT {CLIENT_COLUMN} FROM {quote(name)}")
            self._exec("BEGIN TRANSACTION")
            for (client,) in clients:
                own = replace(schema, name=lookup_storage(name, str(client)))
                self._exec(f"CREATE TABLE {_table_ddl(own)}")
                self._exec(
                    f"INSERT INTO {quote(own.name)} SELECT * FROM {quote(name)} "
                    f"WHERE {CLIENT_COLUMN} = ?",
                    [client],
                )
                self._schemas[own.name] = own
            self._exec(f"DROP TABLE {quote(name)}")
            self._exec("COMMIT")
            del self._schemas[name]

    def _ensure_table(self, schema: TableSchema) -> None:
        if schema.name in self._schemas:
            return
        reason = self.refusal(schema.name)
        if reason is not None:
            raise TableRefused(reason)
        self._exec(f"CREATE TABLE IF NOT EXISTS {_table_ddl(schema)}")
        self._schemas[schema.name] = schema

    def _redefine_table(self, schema: TableSchema) -> None:
        """Drop and recreate a table with new columns (under the writer lock)."""
        self._exec(f"DROP TABLE IF EXISTS {quote(schema.name)}")
        self._exec(f"CREATE TABLE {_table_ddl(schema)}")
        self._schemas[schema.name] = schema
        self._set_holders(schema.name, set())

    def _max_seq(self) -> int:
        best = 0
        for name in self._schemas:
            rows = self._exec(f"SELECT max({SEQ_COLUMN}) FROM {quote(name)}")
            if rows and rows[0][0] is not None:
                best = max(best, int(rows[0][0]))
        return best

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on the writer connection and drain its result."""
        rows: list[tuple[Any, ...]] = self._db.execute(sql, list(params)).fetchall()
        return rows

    def _clients_in(self, table: str) -> set[str] | None:
        sql = f"SELECT DISTINCT {CLIENT_COLUMN} FROM {quote(table)}"
        try:
            return {str(row[0]) for row in self._db.cursor().execute(sql).fetchall()}
        except duckdb.Error:
            return None

    # -- writing ---------------------------------------------------------------------------------

    def seq_before(self, table: str, eventdate_ms: int) -> int:
        """The last sequence number of ``table``'s events dated before ``eventdate_ms`` (0 if
        none): a consumer that starts "now" reads the events after it."""
        if table not in self._schemas:
            return 0
        row = (
            self._db.cursor()
            .execute(
                f"SELECT coalesce(max({SEQ_COLUMN}), 0) FROM {quote(table)} "
                f"WHERE {EVENTDATE} < make_timestamp(?::BIGINT * 1000)",
                [eventdate_ms],
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def append(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any] | pa.Array],
        *,
        client: str,
        eventdates: Sequence[int] | pa.Array | None = None,
    ) -> AppendResult:
        """Append one columnar batch; returns once it is committed (durable in DuckDB's WAL).

        A table that is neither built in nor known yet is created as a raw table. ``eventdates``
        (epoch ms) overrides the arrival stamp, for historical events and generated data.
        """
        schema, count, arrays = self._arrays(
            table, columns, client, eventdates, arrow_type, pa.timestamp("ms")
        )
        with self._write_lock:
            self._ensure_table(schema)
            first = self._seq + 1
            arrays[SEQ_COLUMN] = pa.array(range(first, first + count), pa.int64())
            batch = pa.table(arrays)
            self._db.register("_linqd_batch", batch)
            try:
                self._exec(f"INSERT INTO {quote(table)} BY NAME SELECT * FROM _linqd_batch")
            except duckdb.Error as error:
                raise StoreError(f"Append to `{table}` failed: {error}") from error
            finally:
                self._db.unregister("_linqd_batch")
            self._seq = first + count - 1
        if count:
            self._note_holder(table, client)
        result = AppendResult(table, count, first, first + count - 1)
        self._appended(result)
        return result

    def ensure_table(self, schema: TableSchema) -> None:
        """Create ``schema``'s table if it does not exist yet (typed tables such as lookups)."""
        with self._write_lock:
            self._ensure_table(schema)

    def write_lookup(self, write: LookupWrite) -> None:
        schema = write.schema
        existing = self._schemas.get(schema.name)
        with self._write_lock:
            if existing is None:
                self._ensure_table(schema)
            table = quote(schema.name)
            client = write.client
            self._exec("BEGIN TRANSACTION")
            try:
                if existing is not None and existing.columns != schema.columns:
                    self._redefine_table(schema)
                if write.full:
                    self._exec(f"DELETE FROM {table} WHERE {CLIENT_COLUMN} = ?", [client])
                elif len(write.delete):
                    column = schema.column(write.key)
                    assert column is not None
                    keys = pa.table({"k": self._lookup_keys(write.delete, column.type, arrow_type)})
                    self._with_view(
                        "_linqd_lookup_keys",
                        keys,
                        f"DELETE FROM {table} WHERE {CLIENT_COLUMN} = ? "
                        f"AND {quote(write.key)} IN (SELECT k FROM _linqd_lookup_keys)",
                        [client],
                    )
                if len(write.rows):
                    batch = self._lookup_batch(schema, write, client)
                    self._with_view(
                        "_linqd_lookup_rows",
                        batch,
                        f"INSERT INTO {table} BY NAME SELECT * FROM _linqd_lookup_rows",
                        [],
                    )
            except BaseException as error:
                self._exec("ROLLBACK")
                if isinstance(error, duckdb.Error | pa.ArrowException):
                    raise StoreError(f"Lookup `{schema.name}` not written: {error}") from None
                raise
            self._exec("COMMIT")
        self._note_holder(schema.name, client)

    def _lookup_batch(self, schema: TableSchema, write: LookupWrite, client: str) -> pa.Table:
        rows = write.rows
        count = len(rows)
        first = self._seq + 1
        self._seq += count
        arrays: dict[str, pa.Array | pa.ChunkedArray] = {
            EVENTDATE: self._lookup_stamps(write, count).cast(pa.timestamp("ms")),
            CLIENT_COLUMN: filled(count, client),
            SEQ_COLUMN: sequence(first, count),
        }
        arrays.update(self._lookup_columns(schema, rows, arrow_type))
        return pa.table(arrays)

    def drop_lookup(self, table: str) -> None:
        with self._write_lock:
            if table not in self._schemas:
                return
            try:
                self._exec(f"DROP TABLE IF EXISTS {quote(table)}")
            except duckdb.Error as error:
                raise StoreError(f"Lookup `{table}` not dropped: {error}") from None
            del self._schemas[table]
            self._set_holders(table, set())

    def _with_view(self, view: str, data: pa.Table, sql: str, params: list[Any]) -> None:
        self._db.register(view, data)
        try:
            self._exec(sql, params)
        finally:
            self._db.unregister(view)

    def _load_reference(self, name: str, data: pa.Table) -> None:
        table = reference_table(name).sql(dialect=DIALECT)
        with self._write_lock:
            try:
                self._with_view(
                    "_reference", data, f"CREATE OR REPLACE TABLE {table} AS FROM _reference", []
                )
            except duckdb.Error as error:
                raise engine_error(error) from None

    # -- reading ---------------------------------------------------------------------------------

    def reader(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor for hand-written SQL, for what compares linqd with its engine
        (benchmark anchors, test oracles). linqd's own modules use ``fetch`` and ``stream``."""
        return self._db.cursor()

    def prepare(self, query: exp.Expression) -> Statement:
        self._ensure_references(query)
        readable, stand_ins = self._readable(query)
        return Statement(query, _render(readable), stand_ins)

    def _sql(self, query: exp.Expression | Statement) -> str:
        if isinstance(query, Statement):
            if not self._outdated(query):
                return query.sql
            query = query.expression
        return _render(self._readable(query)[0])

    def _empty_rows(self, schema: TableSchema) -> exp.Select:
        columns = [
            (EVENTDATE, "TIMESTAMP"),
            (CLIENT_COLUMN, "VARCHAR"),
            (SEQ_COLUMN, "BIGINT"),
            *((c.name, duckdb_type(c.type)) for c in schema.columns),
        ]
        return exp.select(
            *(
                exp.alias_(
                    exp.cast(exp.null(), exp.DataType.build(kind, dialect=DIALECT)),
                    name,
                    quoted=True,
                )
                for name, kind in columns
            )
        ).where(exp.false())

    def fetch(self, query: exp.Expression | Statement, params: Params | None = None) -> list[Row]:
        self._ensure_references(query)
        sql = self._sql(query)
        try:
            rows: list[Row] = self._db.cursor().execute(sql, dict(params or {})).fetchall()
        except duckdb.Error as error:
            raise engine_error(error) from None
        return rows

    def stream(
        self,
        query: exp.Expression | Statement,
        *,
        batch_rows: int = 65_536,
        params: Params | None = None,
    ) -> Cursor:
        self._ensure_references(query)
        sql = self._sql(query)
        return _DuckDBCursor(self._db.cursor(), sql, params, batch_rows)

    @property
    def last_seq(self) -> int:
        return self._seq

    def read_after(
        self, table: str, cursor: int, *, limit: int = 65_536, client: str | None = None
    ) -> pa.Table:
        """Rows of ``table`` with ``_seq > cursor`` in sequence order (at most ``limit``)."""
        if table not in self._schemas:
            raise StoreError(f"Unknown table `{table}`")
        sql = f"SELECT * FROM {quote(table)} WHERE {SEQ_COLUMN} > ?"
        params: list[Any] = [cursor]
        if client is not None:
            sql += f" AND {CLIENT_COLUMN} = ?"
            params.append(client)
        sql += f" ORDER BY {SEQ_COLUMN} LIMIT ?"
        params.append(limit)
        return self._db.cursor().sql(sql, params=params).to_arrow_table()

    # -- retention -------------------------------------------------------------------------------

    def enforce_retention(self, now_ms: int | None = None) -> dict[str, int]:
        """Delete rows older than each table's retention; returns rows deleted per table."""
        now = self._clock.now_ms() if now_ms is None else now_ms
        deleted: dict[str, int] = {}
        for table, days in self._meta.retention_days().items():
            if table not in self._schemas or days <= 0:
                continue
            cutoff = now - days * DAY_MS
            with self._write_lock:
                rows = self._exec(
                    f"DELETE FROM {quote(table)} WHERE {EVENTDATE} < epoch_ms(?::BIGINT)", [cutoff]
                )
            deleted[table] = int(rows[0][0]) if rows else 0
        return deleted

    def close(self) -> None:
        self._stop_retention()
        with self._write_lock:
            self._db.close()


def _render(query: exp.Expression) -> str:
    try:
        return query.sql(dialect=DIALECT)
    except RecursionError:
        raise LinqLimitError(TOO_DEEP) from None
