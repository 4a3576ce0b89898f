"""From parsed events to durable rows: per-table buffers flushed by one writer thread.

Every source (syslog connections, HTTP ingestion, ``linqd ingest``) submits batches and gets a
ticket; the writer commits buffers every ``flush_interval_s`` (100 ms) or as soon as
``batch_rows`` are waiting, and a source that must not answer before its events are durable
(HTTP ``/stream``, a syslog connection about to close) waits for its ticket. The buffers are
bounded: a source that finds them full waits, so a slow store slows the senders down through
TCP flow control instead of dropping events.

One event never costs the others. An event the store will not take where it was sent (a table
linqd writes itself, a name that differs from an existing table only in case, a tag that names
no table) is counted and kept aside in ``linqd.ingest.rejected`` with its reason, in its
sender's domain; the rest of its batch is stored. A failing append (a disk error, say) is
retried a few times, then its rows are kept aside too; only when even that fails are the
waiting sources told, and only those whose events were in that flush. Nothing sticks: the next
flush starts clean.

Events for ``test.drop.*`` tables (devo-sdk's throw-away tags) are received like any other, so
every source accepts them and reception counts them, and dropped here, where the writer would
store them (``_write``): counted as ``dropped``, never stored.

A source names its ingestion path (``collector``) when it submits: the batch is counted for
``siem.logtrust.collector.counter`` (``audit/counters.py``) first, before anything decides where
its events go.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from ..audit.counters import Collector, ReceptionCounts, per_table
from ..clock import Clock
from ..errors import LinqdError, StoreError, TableRefused
from ..store import catalog
from ..store.base import EventStore
from ..store.catalog import REJECTED_TABLE, UNPARSED_SUFFIX
from .decode import decode_batch
from .lookups import LookupAssembler
from .syslog import ParsedBatch

log = logging.getLogger("linqd.ingest")

WRITTEN_BY_LINQD = "the table is written by linqd itself"
# Failed flushes remembered for their waiters; older waiters have long given up.
_FAILED_FLUSHES = 256


@dataclass
class TableCounters:
    received: int = 0
    stored: int = 0
    rejected: int = 0
    unparsed: int = 0
    dropped: int = 0
    bytes: int = 0


@dataclass
class _Buffer:
    hosts: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    eventdates: list[int] = field(default_factory=list)  # empty: stamp on arrival


@dataclass(frozen=True)
class _Aside:
    """An event kept in ``linqd.ingest.rejected`` instead of where it was sent."""

    client: str
    tag: str
    host: str
    message: str
    reason: str


@dataclass(frozen=True)
class PipelineStats:
    tables: dict[str, TableCounters]
    rejected_total: int
    pending_rows: int
    lost_total: int = 0


class IngestPipeline:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        *,
        flush_interval_s: float = 0.1,
        batch_rows: int = 100_000,
        max_pending_rows: int = 400_000,
        append_attempts: int = 4,
        retry_delay_s: float = 0.5,
        counts: ReceptionCounts | None = None,
    ) -> None:
        self._store = store
        self._counts = counts
        self._clock = clock
        self._flush_interval_s = flush_interval_s
        self._batch_rows = batch_rows
        self._max_pending = max_pending_rows
        self._append_attempts = append_attempts
        self._retry_delay_s = retry_delay_s
        self._lookups = LookupAssembler(store, clock)
        self._lock = threading.Condition()
        # (client, table, historical) → rows waiting; historical rows carry their eventdates.
        self._buffers: dict[tuple[str, str, bool], _Buffer] = {}
        self._lookup_events: list[tuple[str, str, str]] = []
        self._aside: list[_Aside] = []
        self._pending = 0
        self._ticket = 0
        self._committed = 0
        # (first ticket, last ticket) of flushes whose events could not be stored at all.
        self._failed: list[tuple[int, int]] = []
        self._counters: dict[str, TableCounters] = defaultdict(TableCounters)
        self._rejected_total = 0
        self._lost_total = 0
        self._stopping = False
        self._stop = threading.Event()  # cuts retry waits short at shutdown
        self._flush_requested = False
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

    def submit(
        self,
        parsed: ParsedBatch,
        *,
        client: str,
        raw_bytes: int = 0,
        collector: Collector | None = None,
    ) -> int:
        """Queue parsed events of one source (``collector``: the ingestion path that received
        them, for ``siem.logtrust.collector.counter``); returns the ticket to wait for."""
        refused: dict[str, bool] = {}
        shares = per_table(parsed.tables, raw_bytes)
        with self._lock:
            if self._stopping:
                raise LinqdError("The server is shutting down")
            if self._counts is not None and collector is not None:
                # Counted as received before anything decides where the events go.
                self._counts.received(client, collector, shares)
            for reason, line in parsed.rejected:
                self._rejected_total += 1
                # The event itself is kept aside, not logged: logs must not carry event text.
                log.warning("rejected event of domain %s: %s", client, reason)
                self._aside.append(_Aside(client, "", "", line, reason))
                self._pending += 1
            for table, host, message, stamp in zip(
                parsed.tables, parsed.hosts, parsed.messages, parsed.eventdates, strict=True
            ):
                counters = self._counters[table]
                counters.received += 1
                if self._lookups.accepts(table):
                    self._lookup_events.append((client, table, message))
                    continue
                written_by_linqd = refused.get(table)
                if written_by_linqd is None:
                    written_by_linqd = refused[table] = catalog.written_by_linqd(table)
                if written_by_linqd:
                    counters.rejected += 1
                    self._rejected_total += 1
                    self._aside.append(_Aside(client, table, host, message, WRITTEN_BY_LINQD))
                    self._pending += 1
                    continue
                buffer = self._buffers.get((client, table, stamp is not None))
                if buffer is None:
                    buffer = self._buffers[(client, table, stamp is not None)] = _Buffer()
                buffer.hosts.append(host)
                buffer.messages.append(message)
                if stamp is not None:
                    buffer.eventdates.append(stamp)
                self._pending += 1
            for table, (_, size) in shares.items():
                self._counters[table].bytes += size
            self._ticket += 1
            if self._pending >= self._batch_rows:
                self._lock.notify_all()
            return self._ticket

    def refusal(self, table: str) -> str | None:
        """Why events for ``table`` would be kept aside rather than stored, or None; for
        sources that can refuse a whole request up front (HTTP)."""
        if catalog.written_by_linqd(table):
            return WRITTEN_BY_LINQD
        if catalog.dropped(table):
            return None  # accepted, and dropped when written
        return self._store.refusal(table)

    def reject(self, reason: str, sample: str) -> None:
        """Count and log input that never became an event (a framing error, say)."""
        with self._lock:
            self._rejected_total += 1
        log.warning("rejected input (%s): %.200s", reason, sample)

    def wait_committed(self, ticket: int, timeout: float | None = None) -> bool:
        """Block until everything submitted up to ``ticket`` is durable (stored or kept aside).

        Raises ``StoreError`` when the flush that held ``ticket``'s events could store none of
        them; an earlier or later flush's failure is not this ticket's."""
        with self._lock:
            if self._committed < ticket:
                # Do not make a waiting source sit out the flush interval.
                self._flush_requested = True
                self._lock.notify_all()
            done = self._lock.wait_for(lambda: self._committed >= ticket, timeout)
            if any(first <= ticket <= last for first, last in self._failed):
                raise StoreError("The events could not be stored; the server log says why")
            return done

    def stats(self) -> PipelineStats:
        with self._lock:
            tables = {name: TableCounters(**vars(c)) for name, c in self._counters.items()}
            return PipelineStats(tables, self._rejected_total, self._pending, self._lost_total)

    def close(self) -> None:
        """Flush everything still buffered, then stop the writer (SIGTERM path)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._stop.set()
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
                aside, self._aside = self._aside, []
                flushed = self._pending
                first_ticket, ticket = self._committed + 1, self._ticket
                stopping = self._stopping
            try:
                self._write(buffers, lookups, aside)
            except Exception:
                # Whatever went wrong belongs to this flush alone: its waiters hear of it, the
                # writer goes on with the next one.
                log.exception("ingestion flush failed; its events are lost")
                with self._lock:
                    self._lost_total += flushed
                    self._failed.append((first_ticket, ticket))
                    del self._failed[:-_FAILED_FLUSHES]
            with self._lock:
                self._pending -= flushed
                self._committed = ticket
                self._lock.notify_all()
                if stopping and not self._buffers and not self._lookup_events and not self._aside:
                    return

    def _write(
        self,
        buffers: dict[tuple[str, str, bool], _Buffer],
        lookups: Sequence[tuple[str, str, str]],
        aside: list[_Aside],
    ) -> None:
        for (client, table, _historical), buffer in buffers.items():
            if catalog.dropped(table):
                # The one place test.drop.* events end: received and counted, never stored.
                with self._lock:
                    self._counters[table].dropped += len(buffer.messages)
                continue
            schema = self._store.schema(table) or catalog.new_table_schema(table)
            decoded = decode_batch(schema, buffer.hosts, buffer.messages)
            stored = self._append(
                client, table, decoded.columns, buffer, decoded.row_indexes, aside
            )
            unparsed = 0
            if decoded.unparsed_messages:
                # Nothing is dropped: what the table's parser cannot read is kept raw beside it.
                raw = {"hostname": decoded.unparsed_hosts, "message": decoded.unparsed_messages}
                side = table + UNPARSED_SUFFIX
                unparsed = self._append(client, side, raw, buffer, decoded.unparsed_indexes, aside)
            with self._lock:
                counters = self._counters[table]
                counters.stored += stored
                counters.unparsed += unparsed
                counters.rejected += decoded.rows + decoded.failures - stored - unparsed
        for client, table, message in lookups:
            self._lookups.feed(table, message, client=client)
        if aside:
            self._keep_aside(aside)

    def _append(
        self,
        client: str,
        table: str,
        columns: Mapping[str, Sequence[object]],
        buffer: _Buffer,
        indexes: Sequence[int],
        aside: list[_Aside],
    ) -> int:
        """Append the buffer's rows at ``indexes`` (as ``columns``) to ``table``; returns how
        many were stored. Rows the store refuses go to ``aside``."""
        if not indexes:
            return 0
        stamps = [buffer.eventdates[i] for i in indexes] if buffer.eventdates else None
        append = partial(self._store.append, table, columns, client=client, eventdates=stamps)
        reason = self._durably(append, table)
        if reason is None:
            return len(indexes)
        aside.extend(
            _Aside(client, table, buffer.hosts[i], buffer.messages[i], reason) for i in indexes
        )
        return 0

    def _keep_aside(self, aside: Sequence[_Aside]) -> None:
        by_client: dict[str, list[_Aside]] = defaultdict(list)
        for event in aside:
            by_client[event.client].append(event)
        for client, events in by_client.items():
            columns = {
                "tag": [e.tag for e in events],
                "hostname": [e.host for e in events],
                "message": [e.message for e in events],
                "reason": [e.reason for e in events],
            }
            append = partial(self._store.append, REJECTED_TABLE, columns, client=client)
            if self._durably(append, REJECTED_TABLE) is not None:
                raise StoreError(f"{len(events)} events could not be kept aside either")

    def _durably(self, append: Callable[[], object], table: str) -> str | None:
        """Run ``append``, retrying a failing store with back-off. None when it succeeded,
        else why the rows cannot go there (the store's refusal, or its repeated failure)."""
        delay = self._retry_delay_s
        for attempt in range(1, self._append_attempts + 1):
            try:
                append()
                return None
            except TableRefused as refusal:
                return refusal.message
            except StoreError as error:
                log.error(
                    "append to `%s` failed (attempt %d of %d): %.300s",
                    table,
                    attempt,
                    self._append_attempts,
                    error,
                )
                if attempt == self._append_attempts or self._stop.wait(delay):
                    break
                delay *= 2
        return "the store could not append it"
