"""The audit as one dependency: the writer and what feeds it, built once by the server.

``Settings.audit`` (``linqd serve --no-audit``) decides whether the server builds one; without
it nothing is written to linqd's audit tables and the requests pay nothing for them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from ..clock import Clock
from ..store.base import EventStore
from .connections import ConnectionLog
from .counters import ReceptionCounts
from .writer import AuditWriter


@dataclass(frozen=True)
class Audit:
    writer: AuditWriter
    connections: ConnectionLog
    counts: ReceptionCounts
    clock: Clock
    # The node's host name (``serverHost``, ``engine``) and where rows of nobody go.
    node: str
    default_domain: str

    @classmethod
    def start(
        cls,
        store: EventStore,
        clock: Clock,
        *,
        default_domain: str,
        node: str | None = None,
        flush_interval_s: float = 1.0,
    ) -> Audit:
        name = node or socket.gethostname()
        counts = ReceptionCounts(clock, node=name)
        writer = AuditWriter(store, flush_interval_s=flush_interval_s, sources=[counts.rows])
        connections = ConnectionLog(writer, clock, default_domain=default_domain, node=name)
        return cls(writer, connections, counts, clock, name, default_domain)

    def flush(self) -> None:
        """Write every row gathered so far and every closed minute's counters."""
        self.writer.flush()

    def close(self) -> None:
        """Write everything, the open minute's counters included (the server's shutdown)."""
        self.writer.close()
