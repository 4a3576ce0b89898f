"""The event store on ClickHouse: in process (chdb) or on a server or cluster (HTTP).

The table layout is in ``clickhouse_ddl``; the two ways to reach ClickHouse are behind
``clickhouse_backend.Backend``, so this module is written once for both. Behaviour matches
``DuckDBStore`` method by method (see ``base.EventStore``).

**Sequence and watermark.** Each store instance is a *writer* with an id (``writer_id``; by
default a random id created once and kept in ``state_dir/linqd-writer-id``). ``_seq`` numbers
are allocated per append as one range from the store-wide counter (``_Watermark.allocate``),
so the rows of every writer are totally ordered by ``_seq`` alone. An allocated range is
*pending* until its insert is acknowledged (or has failed); the committed watermark
(``last_seq``) is the number just below the lowest pending range. ``last_seq`` never passes it
and ``read_after`` and ``seq_before`` read nothing above it, so a reader that has read up to
``last_seq`` has read every row at or below it, even while appends run concurrently and finish
out of order.

Several writers (a later issue; here one process writes) keep "no reader skips or repeats a
row" the same way, with the counter and the pending ranges shared in PostgreSQL instead of this
process's memory: a writer allocates its range and records it pending in one transaction
(``UPDATE counter SET next = next + n RETURNING``), inserts into ClickHouse with the range's
deduplication token, then marks it committed; the watermark is ``min(first of pending) - 1``
(or the counter's top when nothing is pending), computed in PostgreSQL, which every reader asks
for ``last_seq``. A writer that dies leaves its range pending, which holds readers back (never
skips) until it is settled: its successor with the same writer id (or any writer once the dead
one's lease has expired, the lease fencing the dead one) retries the insert with the same token
(stored once, whatever the first attempt did) and marks it committed. Repeats are excluded by
the token: a retried batch is stored once.

**Deduplication.** Every insert carries ``insert_deduplication_token =
'<writer>:<first>-<last>'``; ClickHouse stores a block whose token it has already seen once
(``non_replicated_deduplication_window`` on one node, replication's window on a cluster).
clickhouse-connect resends an insert whose connection was closed before the answer, and that
resend is a no-op if the first one was stored. After an insert failed, the store counts the
range's rows: all there means the insert went through after all.

**Lookups** are swapped whole: the new content of a domain's lookup (FULL: the upload; INC:
the stored rows minus the upload's keys, plus its rows) is written into a staging table
(``<storage name>#new``), which ``EXCHANGE TABLES`` swaps with the lookup in one atomic rename
(Atomic databases; on a cluster each replica swaps at once, and a lookup, one domain, lives on
one shard); the staging table, now holding the old rows, is dropped. A query sees the old rows
or the new ones, never a mix, without transactions.

**Retention** is a table TTL (``ttl_only_drop_parts``: whole days go as they expire), set or
removed by ``enforce_retention`` when the retention of a table changes. ClickHouse applies a
TTL by its own clock and in its own time, so ``enforce_retention`` also deletes the rows dated
before ``now - N days`` itself (a lightweight DELETE) and reports how many it deleted; the TTL
keeps the table in bounds between passes.

**Cancel.** ``Cursor.cancel`` kills the query with ``KILL QUERY`` (see ``clickhouse_backend``).
A query cancelled before it has started never starts; one cancelled while its request is on
its way may be missed by the KILL, and is then stopped at its next batch.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

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
from ..linq.compile.clickhouse import BINARY_FIELD

# A limit the query's own aggregation reports as it runs: Devo's message, the failure's text.
from ..linq.functions.aggregates import COLLECTCOMPACT_MESSAGE
from ..linq.types import Kind, LType, parse_type
from ..meta import MetaStore
from ..reference import TRIE_KEY, References, is_reference_table, reference_table, trie_name
from . import catalog
from . import clickhouse_ddl as ddl
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
from .clickhouse_backend import Backend, EngineFailure, Started, clean_text
from .watermark import STORED, VOID, LocalWatermark, SharedWatermark, Watermark

log = logging.getLogger("linqd.store")

# Several nodes: how often a node may read the catalog again for a table it does not know.
CATALOG_REFRESH_S = 1.0

CAP_MARKER = "Exceeded limits while computing data for subproblem"
WRITER_ID_FILE = "linqd-writer-id"
# What the store needs of every query, whatever the compiler asks for: Arrow strings as
# strings (not binary), dictionaries decoded, times in UTC.
OWN_SETTINGS: Mapping[str, int | str] = {
    "output_format_arrow_string_as_string": 1,
    "output_format_arrow_low_cardinality_as_dictionary": 0,
    "session_timezone": "UTC",
}
# Stand-in until linq/compile/clickhouse.py (and its CLICKHOUSE_SETTINGS) lands.
_PLACEHOLDER_COMPILER_SETTINGS: Mapping[str, int | str] = {}
# The subquery cap's text, as ClickHouse quotes it in the error the compiler's check raises (a
# text that does not parse as a number: see ClickHouseCompiler.capped_subquery).
_CAP = re.compile(rf"{CAP_MARKER}: max value for size is \d+ but reached \d+")
# ClickHouse appends where it threw to the subquery cap's text; the cap's message ends before.
_THROW_CONTEXT = re.compile(r"(: while executing .*|\.? \([A-Z_]+\))$", re.DOTALL)
_TTL_DAYS = re.compile(r"TTL eventdate \+ toIntervalDay\('?(\d+)'?\)")

_ARROW_TYPES = {
    Kind.STR: pa.string(),
    Kind.INT4: pa.int32(),
    Kind.INT8: pa.int64(),
    Kind.FLOAT8: pa.float64(),
    Kind.BOOL: pa.bool_(),
    Kind.TIMESTAMP: pa.timestamp("ms", tz="UTC"),
    Kind.IP4: pa.uint32(),
    Kind.IP6: pa.string(),  # decimal text (``EventStore._arrays``): Arrow has no 128-bit int
    Kind.MAC: pa.uint64(),
    Kind.JSON: pa.string(),
}


def compiler_settings() -> dict[str, int | str]:
    """The settings the ClickHouse compiler's SQL must run with, plus the store's own."""
    try:
        from ..linq.compile import clickhouse as compiler  # type: ignore[attr-defined,unused-ignore]

        wanted: Mapping[str, int | str] = compiler.CLICKHOUSE_SETTINGS
    except (ImportError, AttributeError):
        wanted = _PLACEHOLDER_COMPILER_SETTINGS
    return {**wanted, **OWN_SETTINGS}


def engine_error(text: str) -> LinqdError:
    """An engine failure as a linqd error: the subquery cap keeps its text from the marker on
    (without ClickHouse's ``while executing …`` context), anything else is QueryFailed."""
    if COLLECTCOMPACT_MESSAGE in text:
        return QueryLimitError(COLLECTCOMPACT_MESSAGE)
    cap = _CAP.search(text)
    if cap is not None:
        return QueryLimitError(cap.group(0))
    if CAP_MARKER in text:
        tail = text[text.index(CAP_MARKER) :]
        return QueryLimitError(_THROW_CONTEXT.sub("", tail).strip())
    cleaned = clean_text(text)
    return QueryFailed(f"Query failed: {cleaned.splitlines()[0] if cleaned else 'engine error'}")


def arrow_type(ltype: LType) -> pa.DataType:
    return _ARROW_TYPES[ltype.kind]


def writer_id_in(directory: Path) -> str:
    """The writer id kept in ``directory``, created on first use."""
    path = directory / WRITER_ID_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(f"w{secrets.token_hex(8)}\n")
    return path.read_text().strip()


def _is_binary_tuple(kind: pa.DataType) -> bool:
    """The struct a bytes result column arrives as (``BINARY_FIELD``)."""
    if not pa.types.is_struct(kind) or kind.num_fields != 1:
        return False
    return bool(kind.field(0).name == BINARY_FIELD)


def _duckdb_field(f: pa.Field) -> pa.Field:
    if pa.types.is_timestamp(f.type) and f.type.tz is not None:
        return f.with_type(pa.timestamp(f.type.unit))
    if _is_binary_tuple(f.type):
        return pa.field(f.name, pa.binary())
    return f


def _naive_schema(schema: pa.Schema) -> pa.Schema:
    """The types DuckDBStore returns: UTC timestamps naive (the zone is always UTC), bytes
    as Arrow binary."""
    return pa.schema([_duckdb_field(f) for f in schema])


def _binary(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A ``BINARY_FIELD`` struct column as binary: its one field's bytes (the tuple is never
    null, its field may be). Arrow's string → binary cast only relabels the buffers."""
    if isinstance(column, pa.ChunkedArray):
        return pa.chunked_array([_binary(c) for c in column.chunks], pa.binary())
    # flatten(), not field(): it keeps a sliced batch's offset.
    return column.flatten()[0].cast(pa.binary())


def _tuples(values: list[Any], kind: pa.DataType) -> list[Any]:
    """A column's Python values with its structs (tuples, which Arrow gives as dicts of their
    positions) as Python tuples; untouched when the type holds none."""
    if not _holds_struct(kind):
        return values
    return [_tuple_value(v, kind) for v in values]


def _holds_struct(kind: pa.DataType) -> bool:
    if pa.types.is_struct(kind):
        return True
    if pa.types.is_map(kind):
        return _holds_struct(kind.key_type) or _holds_struct(kind.item_type)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _holds_struct(kind.value_type)
    return False


def _tuple_value(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_struct(kind):
        return tuple(
            _tuple_value(value[kind.field(i).name], kind.field(i).type)
            for i in range(kind.num_fields)
        )
    if pa.types.is_map(kind):
        return {
            _tuple_value(k, kind.key_type): _tuple_value(v, kind.item_type)
            for k, v in value.items()
        }
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return [_tuple_value(v, kind.value_type) for v in value]
    return value


_Rows = TypeVar("_Rows", pa.RecordBatch, pa.Table)


def _naive_utc(batch: _Rows) -> _Rows:
    schema = _naive_schema(batch.schema)
    if schema.equals(batch.schema):
        return batch
    columns = [
        _binary(column) if _is_binary_tuple(f.type) else column
        for f, column in zip(batch.schema, batch.columns, strict=True)
    ]
    rebuilt = type(batch).from_arrays(columns, names=batch.schema.names)
    return rebuilt.cast(schema)


class _ClickHouseCursor(Cursor):
    """A query started on first use (``schema`` or iteration) by the reading thread."""

    def __init__(self, backend: Backend, sql: str, params: Params | None, batch_rows: int) -> None:
        self._backend = backend
        self._sql = sql
        self._params = params
        self._batch_rows = max(1, batch_rows)
        self._tag = f"linqd:{uuid.uuid4()}"
        self._lock = threading.Lock()
        self._started: Started | None = None
        self._cancelled = threading.Event()

    def _start(self) -> Started:
        with self._lock:
            if self._started is None:
                if self._cancelled.is_set():
                    raise StoreError("Query failed: cancelled")
                try:
                    self._started = self._backend.start(self._sql, self._params, self._tag)
                except EngineFailure as error:
                    raise engine_error(error.text) from None
                if self._cancelled.is_set():
                    # Cancelled while it started (the KILL may have missed it): let go of it
                    # here, on the reading thread.
                    self._started.abandon()
                    raise StoreError("Query failed: cancelled")
            return self._started

    @property
    def schema(self) -> pa.Schema:
        return _naive_schema(self._start().schema)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        started = self._start()
        try:
            for batch in started.batches:
                if self._cancelled.is_set():
                    raise StoreError("Query failed: cancelled")
                for offset in range(0, batch.num_rows, self._batch_rows):
                    yield _naive_utc(batch.slice(offset, self._batch_rows))
        except EngineFailure as error:
            raise engine_error(error.text) from None
        finally:
            started.abandon()

    def cancel(self) -> None:
        self._cancelled.set()
        self._kill()

    def _kill(self) -> None:
        # Nothing to kill, or the engine is gone: the query is not running either way.
        with contextlib.suppress(EngineFailure):
            self._backend.kill(self._tag)


class ClickHouseStore(EventStore):
    """The event store on ClickHouse, reached through ``backend``."""

    engine = "clickhouse"

    def __init__(
        self,
        backend: Backend,
        meta: MetaStore,
        clock: Clock,
        *,
        state_dir: Path,
        writer_id: str | None = None,
        cluster: str | None = None,
        references: References | None = None,
        shared_sequence: bool = False,
    ) -> None:
        """``shared_sequence``: the sequence and watermark are kept in ``meta`` for several
        nodes writing at once (``store/watermark.py``); else in this process."""
        super().__init__(meta, clock, references)
        self._backend = backend
        self._layout = ddl.Layout(cluster)
        self.writer_id = writer_id or writer_id_in(state_dir)
        # Serialises DDL and the catalog (table creation, lookup swaps, retention); appends
        # themselves run concurrently.
        self._write_lock = threading.RLock()
        self._ttl: dict[str, int | None] = {}
        self._refreshed = -CATALOG_REFRESH_S
        try:
            self._load_schemas()
            for schema in catalog.BUILTIN_TABLES:
                self._ensure_table(schema)
            top = self._max_seq()
            self._shared = SharedWatermark(meta, self.writer_id, top) if shared_sequence else None
            self._watermark: Watermark = self._shared or LocalWatermark(top)
            self.recover_ranges()
        except EngineFailure as error:
            backend.close()
            raise StoreError(f"ClickHouse store unavailable: {clean_text(error.text)}") from None

    # -- engine access ---------------------------------------------------------------------------

    def _query(self, statement: exp.Expression) -> pa.Table:
        return self._backend.query(ddl.sql(statement))

    def _run(self, statements: Sequence[exp.Expression | str]) -> None:
        for statement in statements:
            self._backend.command(statement if isinstance(statement, str) else ddl.sql(statement))

    # -- catalog ---------------------------------------------------------------------------------

    def refresh_catalog(self) -> bool:
        if self._shared is None:
            return False
        now = time.monotonic()
        with self._write_lock:
            # At most once a second, whatever the number of unknown names asked for.
            if now - self._refreshed < CATALOG_REFRESH_S:
                return False
            self._refreshed = now
            try:
                self._load_schemas(settle_swaps=False)
            except EngineFailure as error:
                log.warning("reading the catalog failed: %s", clean_text(error.text))
                return False
        with self._holders_lock:
            self._holders.clear()
        return True

    def _load_schemas(self, *, settle_swaps: bool = True) -> None:
        """``settle_swaps``: drop staging tables of lookup swaps that did not finish (at start;
        not when refreshing, as another node may be swapping)."""
        current = exp.func("currentDatabase", dialect=ddl.DIALECT)
        columns = self._query(
            exp.select("table", "name", "type")
            .from_("system.columns")
            .where(exp.column("database").eq(current))
            .order_by("table", "position")
        ).to_pylist()
        tables = self._query(
            exp.select("name", "engine_full")
            .from_("system.tables")
            .where(exp.column("database").eq(current))
        ).to_pylist()
        found: dict[str, list[Column]] = {}
        for row in columns:
            table, name, type_name = str(row["table"]), str(row["name"]), str(row["type"])
            if table.endswith((ddl.LOCAL_SUFFIX, ddl.STAGING_SUFFIX)) or is_reference_table(table):
                continue
            cols = found.setdefault(table, [])
            if name in (EVENTDATE, CLIENT_COLUMN, SEQ_COLUMN):
                continue
            known = catalog.fixed_schema(table)
            declared = known.column(name) if known else None
            if declared is not None:
                cols.append(declared)
            elif type_name in ddl.TYPES_FROM_CLICKHOUSE:
                cols.append(Column(name, parse_type(ddl.TYPES_FROM_CLICKHOUSE[type_name])))
        for table, cols in found.items():
            self._schemas[table] = TableSchema(
                table, tuple(cols), catalog.builtin(table) is not None
            )
        for row in tables:
            name = str(row["name"])
            if is_reference_table(name):
                continue
            if name.endswith(ddl.STAGING_SUFFIX):
                # A lookup swap that did not finish: the lookup still holds its old rows.
                if settle_swaps:
                    self._run(ddl.drop_table(name, self._layout))
                continue
            if self._layout.cluster:
                if not name.endswith(ddl.LOCAL_SUFFIX):
                    continue
                name = name[: -len(ddl.LOCAL_SUFFIX)]
            ttl = _TTL_DAYS.search(str(row["engine_full"]))
            self._ttl[name] = int(ttl.group(1)) if ttl else None

    def _max_seq(self) -> int:
        best = 0
        for name in self._schemas:
            got = self._query(
                exp.select(exp.func("max", exp.column(SEQ_COLUMN))).from_(_table(name))
            )
            value = got.column(0)[0].as_py() if got.num_rows else None
            best = max(best, int(value or 0))
        return best

    def _ensure_table(self, schema: TableSchema) -> None:
        with self._write_lock:
            if schema.name in self._schemas:
                return
            reason = self.refusal(schema.name)
            if reason is not None:
                raise TableRefused(reason)
            days = self._retention_for(schema.name)
            self._run(ddl.create_table(schema, self._layout, retention_days=days))
            self._schemas[schema.name] = schema
            self._ttl[schema.name] = days

    def ensure_table(self, schema: TableSchema) -> None:
        try:
            self._ensure_table(schema)
        except EngineFailure as error:
            raise StoreError(f"Creating `{schema.name}` failed: {clean_text(error.text)}") from None

    def _retention_for(self, table: str) -> int | None:
        days = self._meta.retention_days().get(table)
        return days if days is not None and days > 0 else None

    def _clients_in(self, table: str) -> set[str] | None:
        try:
            got = self._query(exp.select(exp.column(CLIENT_COLUMN)).distinct().from_(_table(table)))
        except EngineFailure:
            return None
        return {str(c) for c in got.column(0).to_pylist()}

    # -- writing ---------------------------------------------------------------------------------

    def append(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any] | pa.Array],
        *,
        client: str,
        eventdates: Sequence[int] | pa.Array | None = None,
    ) -> AppendResult:
        schema, count, arrays = self._arrays(
            table, columns, client, eventdates, arrow_type, pa.timestamp("ms", tz="UTC")
        )
        try:
            self._ensure_table(schema)
        except EngineFailure as error:
            raise StoreError(f"Append to `{table}` failed: {clean_text(error.text)}") from None
        first = self._watermark.allocate(count, table)
        last = first + count - 1
        try:
            if count:
                arrays[SEQ_COLUMN] = pa.array(range(first, last + 1), pa.int64())
                self._insert(table, _ordered(arrays, schema), first, last)
        finally:
            settled = self._watermark.settle(first)
        if not settled:
            self._withdraw(table, first, last)
        if count:
            self._note_holder(table, client)
        result = AppendResult(table, count, first, last)
        self._appended(result)
        return result

    def _insert(self, table: str, data: pa.Table, first: int, last: int) -> None:
        settings: dict[str, int | str] = {
            "insert_deduplicate": 1,
            "insert_deduplication_token": f"{self.writer_id}:{first}-{last}",
            # Acknowledged means written, not queued in an async-insert buffer or a
            # Distributed table's local spool.
            "async_insert": 0,
        }
        if self._layout.cluster:
            settings["distributed_foreground_insert"] = 1
        try:
            self._backend.insert(table, data, settings)
        except EngineFailure as error:
            if self._stored(table, first, last):
                return  # the answer was lost, the rows were not
            raise StoreError(f"Append to `{table}` failed: {clean_text(error.text)}") from None

    def recover_ranges(self, live_writers: Collection[str] | None = None) -> int:
        """Resolve the pending ranges of writers not in ``live_writers`` (without it: this
        writer's own, left by its previous run), so the watermark goes past them. A range whose
        rows are all stored is ``stored``; otherwise what arrived of it is deleted and it is
        ``void``. How many were resolved."""
        if self._shared is None:
            return 0
        orphans = self._shared.orphans(live_writers)
        for orphan in orphans:
            known = orphan.table in self._schemas
            complete = known and self._stored(orphan.table, orphan.first, orphan.last)
            if known and not complete:
                delete = ddl.delete_range(orphan.table, orphan.first, orphan.last, self._layout)
                with self._write_lock:
                    self._run([delete])
            self._shared.resolve(orphan, STORED if complete else VOID)
            log.warning(
                "writer %s left %s %d-%d pending: %s",
                orphan.writer,
                orphan.table,
                orphan.first,
                orphan.last,
                "stored" if complete else "void (its rows deleted)",
            )
        return len(orphans)

    def _withdraw(self, table: str, first: int, last: int) -> None:
        """This writer was taken for dead while it appended (paused past its lease term) and
        readers may have gone past its range: the rows go, and the append is not acknowledged,
        so the client sends it again."""
        log.warning(
            "append to %s (%d-%d) outlived its writer's lease: withdrawn", table, first, last
        )
        try:
            with self._write_lock:
                self._run([ddl.delete_range(table, first, last, self._layout)])
        except EngineFailure as error:
            log.error("withdrawing %s (%d-%d) failed: %s", table, first, last, error.text)
        raise StoreError(f"Append to `{table}` was not committed in time; send it again")

    def _stored(self, table: str, first: int, last: int) -> bool:
        seq = exp.column(SEQ_COLUMN)
        try:
            got = self._query(
                exp.select(exp.func("count"))
                .from_(_table(table))
                .where(exp.and_(seq >= first, seq <= last))
            )
        except EngineFailure:
            return False
        return bool(got.num_rows) and int(got.column(0)[0].as_py()) == last - first + 1

    def write_lookup(self, write: LookupWrite) -> None:
        schema = write.schema
        name = schema.name
        staging = name + ddl.STAGING_SUFFIX
        with self._write_lock:
            existing = self._schemas.get(name)
            try:
                kept = None
                if not write.full and existing is not None and existing.columns == schema.columns:
                    kept = self._kept_rows(name, schema, write)
                self._run(ddl.drop_table(staging, self._layout))
                self._run(ddl.create_table(schema, self._layout, name=staging))
                rows = self._lookup_rows(schema, write, write.client)
                content = rows if kept is None else pa.concat_tables([kept, rows])
                if content.num_rows:
                    first = int(pc.min(content[SEQ_COLUMN]).as_py())
                    last = int(pc.max(content[SEQ_COLUMN]).as_py())
                    self._backend.insert(
                        staging,
                        content,
                        {"insert_deduplication_token": f"{self.writer_id}:{first}-{last}:lookup"},
                    )
                if existing is None:
                    self._run(ddl.create_table(schema, self._layout))
                self._run([ddl.command(ddl.Exchange(name, staging), self._layout)])
                self._run(ddl.drop_table(staging, self._layout))
            except EngineFailure as error:
                raise StoreError(f"Lookup upload failed: {clean_text(error.text)}") from None
            self._schemas[name] = schema
            self._ttl.setdefault(name, None)
            self._set_holders(name, {write.client} if content.num_rows else set())

    def _kept_rows(self, name: str, schema: TableSchema, write: LookupWrite) -> pa.Table:
        """The stored rows an INC upload keeps: all but those of its keys."""
        stored = self._backend.query(ddl.sql(exp.select("*").from_(_table(name))))
        stored = stored.select([EVENTDATE, CLIENT_COLUMN, SEQ_COLUMN, *schema.column_names])
        stored = stored.cast(_arrow_schema(schema))
        if not len(write.delete):
            return stored
        column = schema.column(write.key)
        assert column is not None
        keys = self._lookup_keys(write.delete, column.type, arrow_type)
        gone = pc.is_in(stored[write.key], value_set=keys)
        return stored.filter(pc.invert(pc.fill_null(gone, False)))

    def _lookup_rows(self, schema: TableSchema, write: LookupWrite, client: str) -> pa.Table:
        rows = write.rows
        count = len(rows)
        first = self._watermark.allocate(count, schema.name)
        self._watermark.settle(first)
        arrays: dict[str, pa.Array | pa.ChunkedArray] = {
            EVENTDATE: self._lookup_stamps(write, count).cast(pa.timestamp("ms", tz="UTC")),
            CLIENT_COLUMN: filled(count, client),
            SEQ_COLUMN: sequence(first, count),
        }
        arrays.update(self._lookup_columns(schema, rows, arrow_type))
        return pa.table(arrays).cast(_arrow_schema(schema))

    def drop_lookup(self, table: str) -> None:
        with self._write_lock:
            if table not in self._schemas:
                return
            try:
                self._run(ddl.drop_table(table, self._layout))
            except EngineFailure as error:
                raise StoreError(f"Lookup not dropped: {clean_text(error.text)}") from None
            del self._schemas[table]
            self._ttl.pop(table, None)
            self._set_holders(table, set())

    # -- reading ---------------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self._watermark.value

    def seq_before(self, table: str, eventdate_ms: int) -> int:
        if table not in self._schemas:
            return 0
        seq = exp.column(SEQ_COLUMN)
        query = (
            exp.select(exp.func("max", seq))
            .from_(_table(table))
            .where(
                exp.and_(exp.column(EVENTDATE) < ddl.epoch_ms(eventdate_ms), seq <= self.last_seq)
            )
        )
        try:
            got = self._query(query)
        except EngineFailure as error:
            raise engine_error(error.text) from None
        value = got.column(0)[0].as_py() if got.num_rows else None
        return int(value or 0)

    def read_after(
        self, table: str, cursor: int, *, limit: int = 65_536, client: str | None = None
    ) -> pa.Table:
        if table not in self._schemas:
            raise StoreError(f"Unknown table `{table}`")
        seq = exp.column(SEQ_COLUMN)
        where = exp.and_(seq > cursor, seq <= self.last_seq)
        if client is not None:
            where = exp.and_(where, exp.column(CLIENT_COLUMN).eq(exp.Literal.string(client)))
        query = exp.select("*").from_(_table(table)).where(where).order_by(SEQ_COLUMN).limit(limit)
        try:
            got = self._query(query)
        except EngineFailure as error:
            raise engine_error(error.text) from None
        return got.cast(_naive_schema(got.schema))

    def prepare(self, query: exp.Expression) -> Statement:
        self._ensure_references(query)
        readable, stand_ins = self._readable(query)
        return Statement(query, _render(readable), stand_ins)

    def _sql_for(self, query: exp.Expression | Statement, params: Params | None) -> str:
        if isinstance(query, Statement):
            # Prepared for Int64 parameters, with the tables stored when it was prepared.
            if not self._outdated(query) and not any(
                isinstance(v, str) for v in (params or {}).values()
            ):
                return query.sql
            query = query.expression
        return _render(self._readable(query)[0], params)

    def _empty_rows(self, schema: TableSchema) -> exp.Select:
        # eventdate, client and the sequence are not Nullable in a stored table: no NULL casts.
        not_null = {
            EVENTDATE: exp.Literal.number(0),
            CLIENT_COLUMN: exp.Literal.string(""),
            SEQ_COLUMN: exp.Literal.number(0),
        }
        return exp.select(
            *(
                exp.alias_(exp.cast(not_null.get(name, exp.null()), kind), name, quoted=True)
                for name, kind in ddl.column_types(schema)
            )
        ).where(exp.false())

    def fetch(self, query: exp.Expression | Statement, params: Params | None = None) -> list[Row]:
        self._ensure_references(query)
        sql = self._sql_for(query, params)
        try:
            table = self._backend.query(sql, params)
        except EngineFailure as error:
            raise engine_error(error.text) from None
        # Maps as dicts and tuples as tuples, as DuckDB's own rows give them.
        columns = [
            _tuples(c.to_pylist(maps_as_pydicts="strict"), c.type)
            for c in _naive_utc(table).columns
        ]
        return list(zip(*columns, strict=True)) if columns else []

    def stream(
        self,
        query: exp.Expression | Statement,
        *,
        batch_rows: int = 65_536,
        params: Params | None = None,
    ) -> Cursor:
        self._ensure_references(query)
        return _ClickHouseCursor(self._backend, self._sql_for(query, params), params, batch_rows)

    def _load_reference(self, name: str, data: pa.Table) -> None:
        table = reference_table(name).name
        with self._write_lock:
            try:
                self._run([ddl.reference_table_ddl(table, data.schema)])
                if data.num_rows:
                    self._backend.insert(table, data, {})
                if TRIE_KEY in data.schema.names:
                    trie = trie_name(name)
                    self._run([ddl.reference_trie_ddl(trie, table, data.schema, TRIE_KEY)])
                    # Loaded now, not by the first (readonly) query that reads it.
                    self._backend.command(ddl.command(ddl.ReloadDictionary(trie), self._layout))
            except (EngineFailure, ValueError) as error:
                text = clean_text(error.text) if isinstance(error, EngineFailure) else str(error)
                raise StoreError(f"Loading reference data `{name}` failed: {text}") from None

    # -- retention -------------------------------------------------------------------------------

    def enforce_retention(self, now_ms: int | None = None) -> dict[str, int]:
        now = self._clock.now_ms() if now_ms is None else now_ms
        retention = self._meta.retention_days()
        deleted: dict[str, int] = {}
        with self._write_lock:
            for table in list(self._schemas):
                days = retention.get(table)
                days = days if days is not None and days > 0 else None
                try:
                    if days is not None:
                        deleted[table] = self._delete_before(table, now - days * DAY_MS)
                    if self._ttl.get(table) != days:
                        self._run([ddl.command(ddl.ModifyTTL(table, days), self._layout)])
                        self._ttl[table] = days
                except EngineFailure as error:
                    raise StoreError(
                        f"Retention of `{table}` failed: {clean_text(error.text)}"
                    ) from None
        return deleted

    def _delete_before(self, table: str, cutoff_ms: int) -> int:
        old = exp.column(EVENTDATE) < ddl.epoch_ms(cutoff_ms)
        got = self._query(exp.select(exp.func("count")).from_(_table(table)).where(old))
        count = int(got.column(0)[0].as_py()) if got.num_rows else 0
        if count:
            self._run([ddl.delete_before(table, cutoff_ms, self._layout)])
        return count

    def close(self) -> None:
        self._stop_retention()
        with self._write_lock:
            self._backend.close()


def _table(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def _arrow_schema(schema: TableSchema) -> pa.Schema:
    fields = [
        pa.field(EVENTDATE, pa.timestamp("ms", tz="UTC")),
        pa.field(CLIENT_COLUMN, pa.string()),
        pa.field(SEQ_COLUMN, pa.int64()),
    ]
    fields += [pa.field(c.name, arrow_type(c.type)) for c in schema.columns]
    return pa.schema(fields)


def _ordered(arrays: dict[str, pa.Array], schema: TableSchema) -> pa.Table:
    names = [EVENTDATE, CLIENT_COLUMN, SEQ_COLUMN, *schema.column_names]
    return pa.table({name: arrays[name] for name in names})


def _with_param_types(query: exp.Expression, params: Params | None) -> exp.Expression:
    """ClickHouse binds ``{name:Type}``: untyped placeholders get Int64 (the sequence window of
    the alert engine), or String where the bound value is text."""
    untyped = [p for p in query.find_all(exp.Placeholder) if p.args.get("kind") is None]
    if not untyped:
        return query
    query = query.copy()
    for placeholder in query.find_all(exp.Placeholder):
        if placeholder.args.get("kind") is None:
            value = (params or {}).get(placeholder.name)
            kind = "String" if isinstance(value, str) else "Int64"
            placeholder.set("kind", exp.DataType.build(kind, dialect=ddl.DIALECT))
    return query


def _render(query: exp.Expression, params: Params | None = None) -> str:
    try:
        return _read_only(_with_param_types(query, params)).sql(dialect=ddl.DIALECT)
    except RecursionError:
        raise LinqLimitError(TOO_DEEP) from None


def _read_only(query: exp.Expression) -> exp.Expression:
    """Queries run with ``readonly = 1``: ClickHouse then refuses table functions (``file``,
    ``url``, ``remote`` ... need CREATE TEMPORARY TABLE), as DuckDB runs without external
    access. LINQ compiles to none; this holds whatever builds the query. Set last, in the
    query's own SETTINGS, after the session's settings were applied."""
    if not isinstance(query, exp.Select | exp.Union):
        return query
    query = query.copy()
    readonly = exp.EQ(this=exp.var("readonly"), expression=exp.Literal.number(1))
    query.set("settings", [*(query.args.get("settings") or []), readonly])
    return query
