"""From parsed events to durable rows: per-table buffers flushed by one writer thread.

Every source (syslog connections, HTTP ingestion, ``linqd ingest``) submits batches and gets a
ticket; the writer commits buffers every ``flush_interval_s`` (100 ms) or as soon as
``batch_rows`` are waiting, and a source that must not answer before its events are durable
(HTTP ``/stream``, a syslog connection about to close) waits for its ticket. The buffers are
bounded: a source that finds them full waits, so a slow store slows the senders down through
TCP flow control instead of dropping events.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..clock import Clock
from ..errors import LinqdError
from ..store import catalog
from ..store.duckdb import EventStore
from .decode import decode_batch
from .lookups import LookupAssembler
from .syslog import ParsedBatch

log = logging.getLogger("linqd.ingest")

UNPARSED_SUFFIX = ".unparsed"


@dataclass
class TableCounters:
    received: int = 0
    stored: int = 0
    rejected: int = 0
    unparsed: int = 0
    bytes: int = 0


@dataclass
class _Buffer:
    hosts: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    eventdates: list[int] = field(default_factory=list)  # empty: stamp on arrival


@dataclass(frozen=True)
class PipelineStats:
    tables: dict[str, TableCounters]
    rejected_total: int
    pending_rows: int


class IngestPipeline:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        *,
        flush_interval_s: float = 0.1,
        batch_rows: int = 100_000,
        max_pending_rows: int = 400_000,
    ) -> None:
        self._store = store
        self._clock = clock
        self._flush_interval_s = flush_interval_s
        self._batch_rows = batch_rows
        self._max_pending = max_pending_rows
        self._lookups = LookupAssembler(store, clock)
        self._lock = threading.Condition()
        # (client, table, historical) → rows waiting; historical rows carry their eventdates.
        self._buffers: dict[tuple[str, str, bool], _Buffer] = {}
        self._lookup_events: list[tuple[str, str, str]] = []
        self._pending = 0
        self._ticket = 0
        self._committed = 0
        self._counters: dict[str, TableCounters] = defaultdict(TableCounters)
        self._rejected_total = 0
        self._stopping = False
        self._flush_requested = False
        self._failure: LinqdError | None = None
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    # -- sources ---------------------------------------------------------------------------------

    def has_room(self) -> bool:
        return self._pending < self._max_pending

    def wait_room(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._lock.wait_for(
                lambda: self._pending < self._max_pending or self._stopping, timeout
            )

    def submit(self, parsed: ParsedBatch, *, client: str, raw_bytes: int = 0) -> int:
        """Queue parsed events of one source; returns the ticket to wait for."""
        with self._lock:
            if self._stopping:
                raise LinqdError("The server is shutting down")
            for reason, sample in parsed.rejected:
                self._rejected_total += 1
                log.warning("rejected event (%s): %.200s", reason, sample)
            for table, host, message, stamp in zip(
                parsed.tables, parsed.hosts, parsed.messages, parsed.eventdates, strict=True
            ):
                counters = self._counters[table]
                counters.received += 1
                if self._lookups.accepts(table):
                    self._lookup_events.append((client, table, message))
                    continue
                buffer = self._buffers.get((client, table, stamp is not None))
                if buffer is None:
                    buffer = self._buffers[(client, table, stamp is not None)] = _Buffer()
                buffer.hosts.append(host)
                buffer.messages.append(message)
                if stamp is not None:
                    buffer.eventdates.append(stamp)
                self._pending += 1
            if parsed.tables and raw_bytes:
                self._counters[parsed.tables[0]].bytes += raw_bytes
            self._ticket += 1
            if self._pending >= self._batch_rows:
                self._lock.notify_all()
            return self._ticket

    def reject(self, reason: str, sample: str) -> None:
        """Count and log input that never became an event (a framing error, say)."""
        with self._lock:
            self._rejected_total += 1
        log.warning("rejected input (%s): %.200s", reason, sample)

    def wait_committed(self, ticket: int, timeout: float | None = None) -> bool:
        """Block until everything submitted up to ``ticket`` is durable (or stored as failed)."""
        with self._lock:
            if self._committed < ticket:
                # Do not make a waiting source sit out the flush interval.
                self._flush_requested = True
                self._lock.notify_all()
            done = self._lock.wait_for(lambda: self._committed >= ticket, timeout)
            if self._failure is not None:
                raise self._failure
            return done

    def stats(self) -> PipelineStats:
        with self._lock:
            tables = {name: TableCounters(**vars(c)) for name, c in self._counters.items()}
            return PipelineStats(tables, self._rejected_total, self._pending)

    def close(self) -> None:
        """Flush everything still buffered, then stop the writer (SIGTERM path)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._thread.join()

    # -- the writer ------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(
                    lambda: (
                        self._pending >= self._batch_rows or self._stopping or self._flush_requested
                    ),
                    self._flush_interval_s,
                )
                self._flush_requested = False
                buffers, self._buffers = self._buffers, {}
                lookups, self._lookup_events = self._lookup_events, []
                flushed = self._pending
                ticket = self._ticket
                stopping = self._stopping
            try:
                self._write(buffers, lookups)
            except LinqdError as error:
                log.error("ingestion batch failed: %s", error)
                with self._lock:
                    self._failure = error
            with self._lock:
                self._pending -= flushed
                self._committed = ticket
                self._lock.notify_all()
                if stopping and not self._buffers and not self._lookup_events:
                    return

    def _write(
        self,
        buffers: dict[tuple[str, str, bool], _Buffer],
        lookups: Sequence[tuple[str, str, str]],
    ) -> None:
        for (client, table, _historical), buffer in buffers.items():
            schema = self._store.schema(table) or catalog.raw_schema(table)
            decoded = decode_batch(schema, buffer.hosts, buffer.messages)
            stamps = buffer.eventdates or None
            stored = len(decoded.row_indexes)
            if stored:
                self._store.append(
                    table,
                    decoded.columns,
                    client=client,
                    eventdates=[stamps[i] for i in decoded.row_indexes] if stamps else None,
                )
            if decoded.unparsed_messages:
                # Nothing is dropped: what the table's parser cannot read is kept raw beside it.
                side = table + UNPARSED_SUFFIX
                self._store.append(
                    side,
                    {"hostname": decoded.unparsed_hosts, "message": decoded.unparsed_messages},
                    client=client,
                    eventdates=[stamps[i] for i in decoded.unparsed_indexes] if stamps else None,
                )
            with self._lock:
                counters = self._counters[table]
                counters.stored += stored
                counters.unparsed += len(decoded.unparsed_messages)
        for client, table, message in lookups:
            self._lookups.feed(table, message, client=client)
