"""``siem.logtrust.collector.counter``: the events and bytes each ingestion path received, per
minute, domain and table.

Row columns: ``eventdate`` the minute's start; ``collector`` the path (``Collector``:
``syslog-tcp``, ``syslog-tls``, ``http-event``, ``http-stream``); ``engine`` the node's host
name, so that the nodes of a cluster tell their shares apart (the store's engine is the same for
all and says nothing); ``kind`` ``table`` and ``object`` the table's name (Devo's convention);
``events`` and ``bytes``.

Counted at reception, when a source hands a batch to the pipeline (``IngestPipeline.submit``)
and before anything decides where its events go: events later kept aside (a table linqd writes
itself, a name the store refuses) or dropped by a table's rule count as received. Input rejected
before it names a table (a framing error, a bad header) counts nowhere here: the ingestion
metrics have it. Bytes are what each path reads: syslog the bytes of the connection (headers and
framing included), HTTP the event texts (after gzip is inflated). A batch that holds several
tables' events shares its bytes between them in proportion to their events.

A minute's rows are written when it closes (the writer's first pass after the clock passes its
end), in the domain that sent the events; at shutdown the current minute's too, so nothing
received goes uncounted (a restart within that minute then writes a second row for it: sum
``events`` over ``eventdate``, as over nodes).
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from enum import StrEnum

from ..clock import Clock
from .writer import AuditRow

TABLE = "siem.logtrust.collector.counter"
MINUTE_MS = 60_000


class Collector(StrEnum):
    """The ingestion paths."""

    SYSLOG_TCP = "syslog-tcp"
    SYSLOG_TLS = "syslog-tls"
    HTTP_EVENT = "http-event"
    HTTP_STREAM = "http-stream"


def per_table(tables: Sequence[str], raw_bytes: int) -> dict[str, tuple[int, int]]:
    """(events, bytes) per table of a batch whose events go to ``tables`` and which took
    ``raw_bytes``; the bytes are shared in proportion to the events and add up exactly."""
    if not tables:
        return {}
    # The usual batch holds one table's events: counted in C, no tally per event.
    if tables.count(tables[0]) == len(tables):
        return {tables[0]: (len(tables), raw_bytes)}
    counts = Counter(tables)
    total = len(tables)
    shares = {table: [events, raw_bytes * events // total] for table, events in counts.items()}
    rest = raw_bytes - sum(size for _, size in shares.values())
    if rest:
        shares[counts.most_common(1)[0][0]][1] += rest
    return {table: (events, size) for table, (events, size) in shares.items()}


class ReceptionCounts:
    """The counters, and the rows of the minutes that have closed (an ``AuditWriter`` source)."""

    def __init__(self, clock: Clock, *, node: str | None = None) -> None:
        self._clock = clock
        self.node = node or socket.gethostname()
        self._lock = threading.Lock()
        # (minute, domain, collector, table) → [events, bytes]
        self._counts: dict[tuple[int, str, str, str], list[int]] = {}

    def received(
        self, client: str, collector: Collector, shares: Mapping[str, tuple[int, int]]
    ) -> None:
        """Count a batch ``client`` sent through ``collector``: (events, bytes) per table, as
        ``per_table`` gives them."""
        with self._lock:
            # The minute is read under the lock: no count can join a minute already written.
            minute = self._clock.now_ms() // MINUTE_MS
            for table, (events, size) in shares.items():
                counts = self._counts.setdefault((minute, client, collector.value, table), [0, 0])
                counts[0] += events
                counts[1] += size

    def rows(self, final: bool) -> list[AuditRow]:
        """The rows of every minute that has closed, or (``final``) of every minute."""
        with self._lock:
            current = self._clock.now_ms() // MINUTE_MS
            due = sorted(key for key in self._counts if final or key[0] < current)
            taken = [(key, self._counts.pop(key)) for key in due]
        return [
            AuditRow(
                TABLE,
                client,
                minute * MINUTE_MS,
                {
                    "collector": collector,
                    "engine": self.node,
                    "kind": "table",
                    "object": table,
                    "events": events,
                    "bytes": size,
                },
            )
            for (minute, client, collector, table), (events, size) in taken
        ]
