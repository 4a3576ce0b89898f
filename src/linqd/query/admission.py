"""Per-domain admission of Query API requests: how many queries one domain may run at once, and
how many of those may be continuous (no ``to``: they stream until the client leaves).

A query holds a slot from before its LINQ is compiled (a flood of compiles is a flood of
queries) until its answer ends in any way: the last byte sent, an error, or the client gone.
A continuous query also holds one of the domain's continuous slots once its compilation shows
that it is one. Jobs (``destination``) hand their slot back when launched; their runner has
its own bounds.

Devo documents no error for this. linqd answers HTTP 429 (Too Many Requests, the status HTTP
has for it) in Devo's plain error shape ``{"msg", "status", "timestamp", "cid"}``, before any
row is sent; devo-sdk raises it as a request error like any other non-200 answer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..errors import TooManyQueries


@dataclass(frozen=True)
class DomainLimits:
    queries: int
    continuous: int


class Admission:
    def __init__(self, limits: DomainLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._continuous: dict[str, int] = {}

    def enter(self, domain: str) -> Ticket:
        """A query slot of ``domain``; raises ``TooManyQueries`` when all are taken."""
        with self._lock:
            running = self._running.get(domain, 0)
            if running >= self.limits.queries:
                raise TooManyQueries(
                    f"Too many queries: this domain already runs {running}, the most it may run "
                    "at once; retry when one has ended"
                )
            self._running[domain] = running + 1
        return Ticket(self, domain)

    def running(self, domain: str) -> tuple[int, int]:
        """(queries, continuous queries) ``domain`` runs now."""
        with self._lock:
            return self._running.get(domain, 0), self._continuous.get(domain, 0)

    def _continue(self, domain: str) -> None:
        with self._lock:
            running = self._continuous.get(domain, 0)
            if running >= self.limits.continuous:
                raise TooManyQueries(
                    f"Too many continuous queries: this domain already runs {running}, the most "
                    "it may run at once; close one or give the query an end date (to)"
                )
            self._continuous[domain] = running + 1

    def _leave(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket.released:
                return
            ticket.released = True
            _decrement(self._running, ticket.domain)
            if ticket.is_continuous:
                _decrement(self._continuous, ticket.domain)


class Ticket:
    """One admitted query; ``release`` is safe to call more than once."""

    def __init__(self, admission: Admission, domain: str) -> None:
        self._admission = admission
        self.domain = domain
        self.is_continuous = False
        self.released = False

    def continuous(self) -> None:
        """Take a continuous slot too; on ``TooManyQueries`` the ticket is released."""
        try:
            self._admission._continue(self.domain)
        except TooManyQueries:
            self.release()
            raise
        self.is_continuous = True

    def release(self) -> None:
        self._admission._leave(self)


def _decrement(counts: dict[str, int], domain: str) -> None:
    left = counts.get(domain, 0) - 1
    if left > 0:
        counts[domain] = left
    else:
        counts.pop(domain, None)
