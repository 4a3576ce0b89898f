"""LINQ for the console: a signed-in user's queries, run like the Query API runs them.

A console user acts as a token of their domain for every table would: the same compiler, the same
domain confinement (``store.schemas_for(domain)``), and the same fair share (the Query API's
admission, so a console cannot starve the API's clients of a domain, nor the reverse).

The hits-over-time histogram is LINQ too: the user's query followed by ``group every <step>
select count() as hits``, so it counts the rows the query gives per bucket (its events for a
plain filter, its result rows for a query grouped by time) with the same compiler on every
engine. A query whose result has no ``eventdate`` (``group by`` without ``every``) has no time
axis and no histogram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import anyio
import pyarrow as pa

from ..api.auth import Principal
from ..domains import ALL_TABLES
from ..errors import LinqError, ValidationError
from ..linq.ir import ResultColumn
from ..query.dates import TimeRange, parse_timezone, resolve_range
from ..query.run import run_query
from .services import ConsoleServices
from .sessions import Session

PAGE_ROWS = 1_000
MAX_QUERY_BYTES = 100_000
# Histogram steps: the first giving at most MAX_BUCKETS buckets over the range.
STEPS_MS = (
    1_000,
    5_000,
    10_000,
    30_000,
    60_000,
    5 * 60_000,
    10 * 60_000,
    30 * 60_000,
    3_600_000,
    3 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    86_400_000,
    7 * 86_400_000,
)
MAX_BUCKETS = 120
_LOCAL = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(?:\.\d{1,3})?)?")


@dataclass(frozen=True)
class Answer:
    """One page of a query's rows, as Arrow (``table``) and as Python values (``rows``)."""

    columns: tuple[ResultColumn, ...]
    table: pa.Table
    time_range: TimeRange

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Hits:
    """Rows per bucket of ``step_ms`` over ``[from_ms, to_ms)``; empty buckets hold 0."""

    from_ms: int
    to_ms: int
    step_ms: int
    counts: tuple[tuple[int, int], ...]  # (bucket start, rows)

    def json(self) -> dict[str, Any]:
        return {
            "from": self.from_ms,
            "to": self.to_ms,
            "step": self.step_ms,
            "x": [start for start, _ in self.counts],
            "y": [count for _, count in self.counts],
        }


def principal_of(session: Session) -> Principal:
    return Principal(session.user.domain, ALL_TABLES, "console", name=session.user.name)


def time_zone_of(session: Session, given: str | None = None) -> tzinfo:
    """The zone a request names (validated), else the user's setting."""
    return parse_timezone(given or session.user.time_zone)


def console_range(from_text: str, to_text: str, *, now_ms: int, tz: tzinfo) -> TimeRange:
    """A range from the console's fields: Devo's expressions (``1h``, ``today``,
    ``now()-1d``...), ``YYYY-MM-DD HH:MM[:SS]`` or a browser's ``YYYY-MM-DDTHH:MM`` in ``tz``.
    An empty ``to`` means now; ``to`` must come after ``from``."""
    start = local_text(from_text.strip()) or "1h"
    end = local_text(to_text.strip()) or "now"
    found = resolve_range(start, end, now_ms=now_ms, tz=tz)
    if found.to_ms is not None and found.to_ms <= found.from_ms:
        raise ValidationError("To must be after From", field="to")
    return found


def histogram_query(text: str, step_ms: int) -> str:
    return f"{text.rstrip().rstrip(';')}\ngroup every {step_ms // 1000}s select count() as hits"


def step_for(from_ms: int, to_ms: int) -> int:
    span = max(1, to_ms - from_ms)
    return next((step for step in STEPS_MS if span / step <= MAX_BUCKETS), STEPS_MS[-1])


class ConsoleQueries:
    def __init__(self, services: ConsoleServices) -> None:
        self.services = services

    async def page(
        self,
        session: Session,
        text: str,
        time_range: TimeRange,
        *,
        offset: int = 0,
        limit: int = PAGE_ROWS,
    ) -> Answer:
        """Rows ``offset`` to ``offset + limit`` of the query over ``time_range``."""
        check_text(text)
        if time_range.to_ms is None:
            raise ValidationError("A page of rows needs an end (To)", field="to")
        ticket = self.services.search.admission.enter(session.user.domain)
        try:
            return await anyio.to_thread.run_sync(
                self._page, session.user.domain, text, time_range, offset, limit
            )
        finally:
            ticket.release()

    def _page(
        self, domain: str, text: str, time_range: TimeRange, offset: int, limit: int
    ) -> Answer:
        result = run_query(
            self.services.store,
            text,
            time_range=time_range,
            client=domain,
            now_ms=self.services.clock.now_ms(),
            limit=limit,
            offset=offset or None,
        )
        return Answer(result.columns, result.to_table(), time_range)

    async def page_and_hits(
        self, session: Session, text: str, time_range: TimeRange, *, limit: int
    ) -> tuple[Answer, Hits | None]:
        """The first ``limit`` rows and the hits over time: two queries run at once, so the
        slower one sets the pace. Errors are the rows' (the histogram's own are its absence)."""
        found: list[Hits | None] = []

        async def count() -> None:
            found.append(await self.hits(session, text, time_range))

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(count)
                answer = await self.page(session, text, time_range, limit=limit)
        except ExceptionGroup as failed:
            # One query's error, as the caller would have had it from that query alone.
            raise failed.exceptions[0] from None
        return answer, found[0]

    async def hits(self, session: Session, text: str, time_range: TimeRange) -> Hits | None:
        """Rows per bucket over ``time_range`` (a continuous range ends now), or None when the
        query's result has no time axis."""
        check_text(text)
        now = self.services.clock.now_ms()
        to_ms = time_range.to_ms if time_range.to_ms is not None else now
        closed = TimeRange(time_range.from_ms, to_ms)
        step = step_for(closed.from_ms, to_ms)
        try:
            answer = await self.page(
                session, histogram_query(text, step), closed, limit=10 * MAX_BUCKETS
            )
        except LinqError:
            # No time axis (`group by` without `every`), or the query is wrong: its own run
            # shows why.
            return None
        starts = answer.table.column("eventdate").cast(pa.timestamp("ms")).cast(pa.int64())
        counts = dict(zip(starts.to_pylist(), answer.table.column("hits").to_pylist(), strict=True))
        first = closed.from_ms - closed.from_ms % step
        return Hits(
            closed.from_ms,
            to_ms,
            step,
            tuple((start, counts.get(start, 0)) for start in range(first, to_ms, step)),
        )


def check_text(text: str) -> None:
    if not text.strip():
        raise ValidationError("Write a query first", field="query")
    if len(text.encode()) > MAX_QUERY_BYTES:
        raise ValidationError(f"A query is at most {MAX_QUERY_BYTES} bytes", field="query")


def local_text(value: str) -> str:
    """``2027-01-15T08:00`` (an HTML datetime-local) as Devo's ``2027-01-15 08:00:00``."""
    found = _LOCAL.fullmatch(value)
    if found is None:
        return value
    return f"{found.group(1)} {found.group(2)}{found.group(3) or ':00'}"
