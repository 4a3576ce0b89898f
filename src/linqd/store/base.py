"""The event store seam: what every engine's store offers the rest of linqd.

Callers hand the store sqlglot expressions built by the LINQ compiler of the store's engine
(``engine`` names it) and get rows or Arrow batches back; they never see a connection, an
engine's SQL text or an engine's exception. Engine errors become linqd errors here:
``QueryLimitError`` for the subquery cap, ``StoreError`` for everything else (a cancelled query
too: its reader decides from its own flags whether it timed out or was stopped).

Placeholders (``exp.Placeholder(this="lo")``) mark the values that change between runs of one
query (the sequence window of the alert engine): ``prepare`` renders a query once, ``fetch``
and ``stream`` then bind ``params`` by name.

Tables with a fixed schema that are not stored yet read as empty (``standins.py``): ``prepare``,
``fetch`` and ``stream`` stand in for them just before rendering.

Sequence numbers (``_seq``) order every stored row of a store: "the rows after C" is a range,
and a reader that has read up to ``last_seq`` has read every committed row up to it. A store
with several writers keeps that promise with a committed watermark: ``last_seq`` never passes a
row that is not committed yet.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..clock import Clock
from ..errors import StoreError
from ..linq.types import Kind, LType
from ..lookup_tables import is_lookup, lookup_storage
from ..meta import MetaStore
from ..reference import References, builtin_references, is_reference_table, referenced
from . import catalog
from .catalog import CLIENT_COLUMN, EVENTDATE, TableSchema
from .standins import stand_in, standing_in

log = logging.getLogger("linqd.store")

DAY_MS = 86_400_000
Params = Mapping[str, int | str]
Row = tuple[Any, ...]


@dataclass(frozen=True)
class AppendResult:
    table: str
    count: int
    first_seq: int
    last_seq: int


Listener = Callable[[AppendResult], None]


@dataclass(frozen=True, eq=False)
class Statement:
    """A query rendered once by a store, to run many times with other ``params``.
    ``stand_ins``: the tables it read as empty because they were not stored yet; once one is,
    the store renders ``expression`` again."""

    expression: exp.Expression
    sql: str
    stand_ins: frozenset[str] = frozenset()


class Cursor(ABC):
    """One query's result, read as Arrow batches by one thread. The query may start only when
    first read: ``cancel`` works before that too."""

    @property
    @abstractmethod
    def schema(self) -> pa.Schema:
        """The result's Arrow schema (starts the query if needed)."""

    @abstractmethod
    def __iter__(self) -> Iterator[pa.RecordBatch]:
        """The batches; engine failures raise linqd errors while reading."""

    @abstractmethod
    def cancel(self) -> None:
        """Stop the query from any thread (idempotent); reading it then fails or ends."""


def filled(count: int, value: int | str) -> pa.Array:
    """``count`` copies of ``value`` (int64 or string), built without a Python list."""
    kind = pa.string() if isinstance(value, str) else pa.int64()
    return pc.fill_null(pa.nulls(count, kind), pa.scalar(value, kind))


def sequence(first: int, count: int) -> pa.Array:
    """``first, first + 1, ...``: ``count`` int64 values."""
    ones = filled(count, 1)
    return pc.add(pc.cumulative_sum(ones), first - 1)


@dataclass(frozen=True)
class LookupWrite:
    """One lookup upload applied at once: the domain's rows replaced whole (``full``), or the
    rows of ``delete`` keys removed and ``rows`` stored (INC). ``rows`` hold the schema's
    columns in order: Python tuples (the syslog upload), or an Arrow table whose columns the
    store casts to its own types in one vectorised step (the Lookups API's bulk path)."""

    schema: TableSchema
    client: str
    full: bool
    key: str  # the key column
    delete: Sequence[object] | pa.Array = ()
    rows: Sequence[Row] | pa.Table = ()
    # Each row's eventdate (a lookup built from a query keeps its rows' own); the time of the
    # write when absent.
    eventdates: pa.Array | None = None


@dataclass(frozen=True)
class DomainTables:
    """The schema lookup of one domain (``EventStore.schemas_for``), which can also list the
    event tables it answers for (what ``all.data`` reads, ``linq/alldata.py``)."""

    store: EventStore
    client: str

    def __call__(self, name: str) -> TableSchema | None:
        found = self._resolve(name)
        if found is None and self.store.refresh_catalog():
            # Another node may have created the table or written the domain's first rows.
            found = self._resolve(name)
        return found

    def _resolve(self, name: str) -> TableSchema | None:
        if is_lookup(name):
            stored = self.store.schema(lookup_storage(name, self.client))
            return None if stored is None else replace(stored, name=name)
        if catalog.dropped(name):
            return catalog.raw_schema(name)
        schema = self.store.schema(name)
        if schema is not None and (schema.builtin or self.store.holds(name, self.client)):
            return schema
        fixed = catalog.fixed_schema(name)
        if fixed is None or (schema is not None and schema.columns != fixed.columns):
            # A table stored with other columns than its family's (written before the family's
            # schema was fixed) is known only to the domains that wrote it: its columns would
            # tell the others something.
            return None
        return schema or fixed

    def listed(self, name: str) -> bool:
        """Whether a table catalogue shows stored table ``name`` to this domain: a built-in
        table, or one the domain has written (a fixed-schema table it never wrote is readable
        but not listed: there are endless ``my.app.*`` names); never a dropped one."""
        if catalog.dropped(name):
            return False
        if is_lookup(name):
            return self(name) is not None
        schema = self.store.schema(name)
        return schema is not None and (schema.builtin or self.store.holds(name, self.client))

    def table_names(self) -> list[str]:
        return [
            s.name for s in self.store.tables() if not is_lookup(s.name) and self.listed(s.name)
        ]


class EventStore(ABC):
    """Tables of events of every domain, appended in batches and read with compiled queries."""

    engine: ClassVar[str]  # the LINQ compiler that builds this store's queries

    def __init__(self, meta: MetaStore, clock: Clock, references: References | None = None) -> None:
        self._meta = meta
        self._clock = clock
        self._references = builtin_references() if references is None else references
        # Reference tables loaded by this process; the lock makes concurrent first queries
        # load each once.
        self._loaded_references: set[str] = set()
        self._references_lock = threading.Lock()
        self._listeners: list[Listener] = []
        # The stored tables by name; the engine's catalog is read into it when a store opens.
        self._schemas: dict[str, TableSchema] = {}
        # Per table, the domains that have rows in it: filled the first time a table is asked
        # about, then kept up to date by appends.
        self._holders: dict[str, set[str]] = {}
        self._holders_lock = threading.Lock()
        self._retention_stop = threading.Event()
        self._retention_thread: threading.Thread | None = None

    # -- catalog ---------------------------------------------------------------------------------

    def schema(self, name: str) -> TableSchema | None:
        """The stored table ``name`` (lookups under their per-domain storage name)."""
        return self._schemas.get(name)

    def recover_ranges(self, live_writers: Collection[str] | None = None) -> int:
        """Settle the appends writers not in ``live_writers`` left unfinished (several nodes
        writing into one store; ``store/watermark.py``). One writer: none."""
        return 0

    def refresh_catalog(self) -> bool:
        """Read again which tables exist and which domains wrote them, when other writers
        (nodes) share the store; whether it did. One writer: nothing to read."""
        return False

    def tables(self) -> list[TableSchema]:
        """Every stored table, by name."""
        return sorted(self._schemas.values(), key=lambda s: s.name)

    def refusal(self, name: str) -> str | None:
        """Why a new table ``name`` cannot be created, or None. The text never names another
        table: it may belong to another domain."""
        if catalog.dropped(name):
            # Ingestion drops these before the store (``ingest/pipeline.py``): a table of that
            # name would be read as empty anyway.
            return f"Table `{name}` is never stored (test.drop.*)"
        if name in self._schemas:
            return None
        if is_reference_table(name):
            return f"Table `{name}` has a name reserved for reference data"
        lowered = name.lower()
        # DuckDB folds identifier case, so two such tables would silently share storage;
        # ClickHouse tells them apart, but both stores keep one catalog. list() copies the
        # names in one step: appends on the writer thread may add tables.
        if any(existing.lower() == lowered for existing in list(self._schemas)):
            return f"Table `{name}` differs from an existing table only in case"
        return None

    @abstractmethod
    def ensure_table(self, schema: TableSchema) -> None:
        """Create ``schema``'s table if it does not exist yet (typed tables such as lookups)."""

    def holds(self, table: str, client: str) -> bool:
        """Whether ``client`` has stored rows in ``table``."""
        with self._holders_lock:
            holders = self._holders.get(table)
        if holders is None:
            if table not in self._schemas:
                return False
            found = self._clients_in(table)
            if found is None:
                return False  # dropped meanwhile: nobody's table
            with self._holders_lock:
                holders = self._holders.setdefault(table, found)
        return client in holders

    @abstractmethod
    def _clients_in(self, table: str) -> set[str] | None:
        """The domains with rows in ``table`` (None if it is gone)."""

    def _note_holder(self, table: str, client: str) -> None:
        """``client`` now has rows in ``table``."""
        with self._holders_lock:
            holders = self._holders.get(table)
            if holders is not None:
                holders.add(client)

    def _set_holders(self, table: str, clients: set[str]) -> None:
        """``table`` was written anew: exactly ``clients`` have rows in it."""
        with self._holders_lock:
            self._holders[table] = clients

    def schemas_for(self, client: str) -> DomainTables:
        """The tables as ``client`` sees them: the built-in ones, and every other table only
        once ``client`` has stored rows in it. Another domain's tables are unknown, exactly
        like tables that do not exist, so their names and columns do not leak."""
        return DomainTables(self, client)

    # -- writing ---------------------------------------------------------------------------------

    @abstractmethod
    def append(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any] | pa.Array],
        *,
        client: str,
        eventdates: Sequence[int] | pa.Array | None = None,
    ) -> AppendResult:
        """Append one columnar batch; returns once it is committed (durable), then tells the
        listeners. A table neither built in nor known yet is created as a raw table.
        ``eventdates`` (epoch ms) overrides the arrival stamp."""

    @staticmethod
    def _lookup_columns(
        schema: TableSchema,
        rows: Sequence[Row] | pa.Table,
        arrow_type: Callable[[LType], pa.DataType],
    ) -> dict[str, pa.Array | pa.ChunkedArray]:
        """A lookup write's own columns as the store's Arrow types."""
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        for index, column in enumerate(schema.columns):
            kind = arrow_type(column.type)
            if isinstance(rows, pa.Table):
                columns[column.name] = rows.column(index).cast(kind)
            else:
                columns[column.name] = pa.array([row[index] for row in rows], kind)
        return columns

    def _lookup_stamps(self, write: LookupWrite, count: int) -> pa.Array:
        """The eventdates of a lookup write's rows, as int64 epoch ms."""
        if write.eventdates is None:
            return filled(count, self._clock.now_ms())
        stamps = write.eventdates
        if pa.types.is_timestamp(stamps.type):
            stamps = stamps.cast(pa.timestamp("ms", tz=stamps.type.tz), safe=False)
        return stamps.cast(pa.int64())

    @staticmethod
    def _lookup_keys(
        keys: Sequence[object] | pa.Array, ltype: LType, arrow_type: Callable[[LType], pa.DataType]
    ) -> pa.Array:
        kind = arrow_type(ltype)
        return keys.cast(kind) if isinstance(keys, pa.Array) else pa.array(list(keys), kind)

    def _arrays(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any] | pa.Array],
        client: str,
        eventdates: Sequence[int] | pa.Array | None,
        arrow_type: Callable[[LType], pa.DataType],
        stamp: pa.DataType,
    ) -> tuple[TableSchema, int, dict[str, pa.Array]]:
        """An append's table (a raw one if it is not known yet), its row count and its columns
        as Arrow arrays of the store's types (``eventdate`` as ``stamp``, ``client``, the
        table's own), everything but the sequence. Raises ``StoreError`` for values that do
        not fit."""
        schema = self._schemas.get(table) or catalog.new_table_schema(table)
        unknown = set(columns) - set(schema.column_names)
        if unknown:
            raise StoreError(f"Table `{table}` has no column(s) {sorted(unknown)}")
        count = len(next(iter(columns.values()))) if columns else len(eventdates or ())
        arrays: dict[str, pa.Array] = {}
        try:
            now = self._clock.now_ms()
            stamps = pa.array([now] * count if eventdates is None else eventdates, pa.int64())
            arrays[EVENTDATE] = stamps.cast(stamp)
            arrays[CLIENT_COLUMN] = pa.array([client] * count, pa.string())
            for column in schema.columns:
                values = columns.get(column.name)
                kind = arrow_type(column.type)
                if values is not None and column.type.kind is Kind.IP6:
                    # Arrow has no 128-bit integer: the engines read the decimal text.
                    values = _decimal_texts(values)
                arrays[column.name] = (
                    pa.nulls(count, kind) if values is None else pa.array(values, kind)
                )
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as error:
            raise StoreError(f"Bad values for table `{table}`: {error}") from error
        if any(len(a) != count for a in arrays.values()):
            raise StoreError(f"Columns of different lengths for table `{table}`")
        return schema, count, arrays

    # -- tables not stored yet ------------------------------------------------------------------

    @abstractmethod
    def _empty_rows(self, schema: TableSchema) -> exp.Select:
        """A SELECT of ``schema``'s table's stored columns in the engine's types, and no row."""

    def _readable(self, query: exp.Expression) -> tuple[exp.Expression, frozenset[str]]:
        """``query`` with empty stand-ins for the fixed-schema tables not stored (yet), and
        their names (``standins.py``)."""
        tables = standing_in(query, self._schemas.__contains__)
        return stand_in(query, tables, self._empty_rows), frozenset(tables)

    def _outdated(self, statement: Statement) -> bool:
        """Whether a table ``statement`` stood in for is stored now (render it again)."""
        return any(
            name in self._schemas and not catalog.dropped(name) for name in statement.stand_ins
        )

    @abstractmethod
    def write_lookup(self, write: LookupWrite) -> None:
        """Apply one lookup upload atomically: readers see the old rows or the new ones. A
        table whose columns differ from ``write.schema`` is redefined (FULL uploads)."""

    @abstractmethod
    def drop_lookup(self, table: str) -> None:
        """Remove the stored lookup ``table`` (a storage name) with all its rows; nothing
        happens if it does not exist. Queries then no longer find it."""

    # -- reading ---------------------------------------------------------------------------------

    @property
    @abstractmethod
    def last_seq(self) -> int:
        """The sequence number up to which every row is committed."""

    @abstractmethod
    def seq_before(self, table: str, eventdate_ms: int) -> int:
        """The last sequence number of ``table``'s events dated before ``eventdate_ms`` (0 if
        none): a consumer that starts "now" reads the events after it."""

    @abstractmethod
    def read_after(
        self, table: str, cursor: int, *, limit: int = 65_536, client: str | None = None
    ) -> pa.Table:
        """Rows of ``table`` with ``_seq > cursor`` in sequence order (at most ``limit``)."""

    @abstractmethod
    def prepare(self, query: exp.Expression) -> Statement:
        """``query`` rendered for this store, to run many times."""

    @abstractmethod
    def fetch(self, query: exp.Expression | Statement, params: Params | None = None) -> list[Row]:
        """Every row of a (small) result."""

    @abstractmethod
    def stream(
        self,
        query: exp.Expression | Statement,
        *,
        batch_rows: int = 65_536,
        params: Params | None = None,
    ) -> Cursor:
        """Start ``query``; its rows arrive as Arrow batches of at most ``batch_rows``."""

    # -- reference data ----------------------------------------------------------------------------

    def _ensure_references(self, query: exp.Expression | Statement) -> None:
        """Load the reference tables ``query`` reads that this process has not loaded yet
        (before it is rendered or run: a prepared statement was ensured when prepared)."""
        if isinstance(query, Statement):
            return
        for name in referenced(query):
            if name in self._loaded_references:
                continue
            with self._references_lock:
                if name in self._loaded_references:
                    continue
                source = self._references.get(name)
                if source is None:
                    raise StoreError(f"No reference data `{name}` is configured")
                try:
                    data = source.load()
                except (OSError, ValueError) as error:
                    raise StoreError(f"Reading {source.description} failed: {error}") from None
                self._load_reference(name, data)
                self._loaded_references.add(name)

    @abstractmethod
    def _load_reference(self, name: str, data: pa.Table) -> None:
        """Replace reference table ``name`` (``reference.reference_table``) with ``data``."""

    # -- following -------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """``listener`` is called after every durable append (from the appending thread)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _appended(self, result: AppendResult) -> None:
        for listener in list(self._listeners):
            try:
                listener(result)
            except Exception:
                # The rows are committed: a follower's failure must not make the append look
                # failed (its caller would store them again).
                log.exception("append listener failed")

    # -- retention -------------------------------------------------------------------------------

    @abstractmethod
    def enforce_retention(self, now_ms: int | None = None) -> dict[str, int]:
        """Delete rows older than each table's retention; returns rows deleted per table."""

    def start_retention(self, interval_s: float = 3600.0) -> None:
        """Enforce retention now and then every ``interval_s`` seconds in a daemon thread."""

        def loop() -> None:
            # Enforce first, then wait: a store closed right after starting still got one pass.
            while True:
                self.enforce_retention()
                if self._retention_stop.wait(interval_s):
                    return

        self._retention_thread = threading.Thread(target=loop, name="retention", daemon=True)
        self._retention_thread.start()

    def _stop_retention(self) -> None:
        self._retention_stop.set()
        if self._retention_thread is not None:
            self._retention_thread.join()

    @abstractmethod
    def close(self) -> None:
        """Stop retention and release the engine."""


def _decimal_texts(values: Sequence[Any] | pa.Array) -> Sequence[Any] | pa.Array:
    if isinstance(values, pa.Array):
        return values
    return [None if v is None else str(v) for v in values]
