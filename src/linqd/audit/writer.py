"""Rows of linqd's own tables, written off the request path in batches.

Producers (the activity middleware, the credential checks) only ``add`` a row to a list under a
lock; a writer thread appends what has gathered through the store seam every
``flush_interval_s`` (1 s: audit rows need not be searchable within milliseconds, and fewer,
bigger appends cost the store less) or as soon as ``batch_rows`` are waiting, one append per
(table, domain). Sources that make rows at moments of their own (the collector counters, at each
minute's close) are asked for them on every pass.

Nothing is lost silently. ``close`` (the server's shutdown) writes everything still gathered and
the last rows of every source. Rows that cannot be kept are counted in ``lost`` and logged: past
``max_pending_rows`` (the store is slower than the traffic: the requests must not wait for it),
after ``close``, or of an append the store refused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from ..errors import StoreError
from ..store.base import EventStore

log = logging.getLogger("linqd.audit")

# Called on every pass with ``final`` True on the last one (at close): the rows a source has
# ready (all it holds, when final).
Source = Callable[[bool], list["AuditRow"]]


@dataclass(frozen=True)
class AuditRow:
    table: str
    client: str  # the domain the row belongs to
    eventdate: int
    values: Mapping[str, object]


class AuditWriter:
    def __init__(
        self,
        store: EventStore,
        *,
        flush_interval_s: float = 1.0,
        batch_rows: int = 10_000,
        max_pending_rows: int = 100_000,
        sources: Sequence[Source] = (),
    ) -> None:
        self._store = store
        self._interval = flush_interval_s
        self._batch_rows = batch_rows
        self._max_pending = max_pending_rows
        self._sources = tuple(sources)
        # pyarrow imports pandas (when it is installed) the first time it converts a Python
        # list: a third of a second holding the GIL, and 40 MiB. Paid here, as the server
        # starts, rather than by the requests that run beside the first pass.
        pa.array([], pa.int64())
        self._lock = threading.Condition()
        self._rows: list[AuditRow] = []
        self._dropped = 0
        self._lost = 0
        self._closing = False
        self._closed = False
        # One pass at a time: the thread's and a caller's ``flush``.
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    @property
    def lost(self) -> int:
        """Rows dropped or refused so far."""
        with self._lock:
            return self._lost + self._dropped

    def add(self, row: AuditRow) -> None:
        """Queue ``row``; never waits for the store."""
        with self._lock:
            if self._closed:
                self._lost += 1
                log.warning("audit row for %s after shutdown dropped", row.table)
                return
            if len(self._rows) >= self._max_pending:
                self._dropped += 1  # logged by the next pass
                return
            self._rows.append(row)
            if len(self._rows) >= self._batch_rows:
                self._lock.notify_all()

    def flush(self) -> None:
        """Write what has gathered and what the sources have ready, now."""
        self._pass(final=False)

    def close(self) -> None:
        """Write everything, the sources' open rows included, then stop the thread."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join()

    # -- the writer ------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(
                    lambda: len(self._rows) >= self._batch_rows or self._closing, self._interval
                )
                closing = self._closing
            try:
                self._pass(final=closing)
            except Exception:
                # A bug, not the store (whose failures _write counts): keep auditing.
                log.exception("audit pass failed")
            if closing:
                return

    def _pass(self, *, final: bool) -> None:
        with self._write_lock:
            with self._lock:
                rows, self._rows = self._rows, []
                dropped, self._dropped = self._dropped, 0
                self._lost += dropped
                self._closed = self._closed or final
            if dropped:
                log.warning("%d audit rows dropped: the store is slower than the traffic", dropped)
            for source in self._sources:
                rows.extend(source(final))
            self._write(rows)

    def _write(self, rows: Sequence[AuditRow]) -> None:
        groups: dict[tuple[str, str], list[AuditRow]] = {}
        for row in rows:
            groups.setdefault((row.table, row.client), []).append(row)
        for (table, client), group in groups.items():
            schema = self._store.schema(table)
            names = schema.column_names if schema is not None else tuple(group[0].values)
            columns = {name: [row.values.get(name) for row in group] for name in names}
            try:
                self._store.append(
                    table, columns, client=client, eventdates=[row.eventdate for row in group]
                )
            except StoreError as error:
                with self._lock:
                    self._lost += len(group)
                log.error("%d audit rows for %s lost: %.300s", len(group), table, error)
