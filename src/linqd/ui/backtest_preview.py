"""The alert form's backtest preview: what a definition, saved or not, would have fired over a
range, computed by ``alerts/backtest.py`` (the code behind the API's backtest endpoint), and the
hits of its query over the same range, on which the firings are drawn where they happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from ..alerts import backtest as backtesting
from ..alerts.model import AlertDefinition, DefinitionInput
from ..query.dates import TimeRange
from .display import value_text
from .queries import ConsoleQueries, Hits
from .services import ConsoleServices
from .sessions import Session

# Firings listed in the table; the count and the markers cover them all.
PREVIEW_ROWS = 1_000


@dataclass(frozen=True)
class FiringRow:
    eventdate: int
    message: str
    extra: tuple[tuple[str, str], ...]  # extraData as (key, value as text), in its order

    @staticmethod
    def of(firing: dict[str, Any]) -> FiringRow:
        extra = tuple((str(k), value_text(v)) for k, v in firing["extraData"].items())
        return FiringRow(int(firing["eventdate"]), str(firing["message"]), extra)


@dataclass(frozen=True)
class Preview:
    from_ms: int
    to_ms: int
    firings: tuple[FiringRow, ...]
    hits: Hits | None  # None: the query's result has no time axis

    @property
    def count(self) -> int:
        return len(self.firings)

    @property
    def capped(self) -> bool:
        """The backtest stopped at its limit: there may have been more firings."""
        return self.count >= backtesting.MAX_FIRINGS

    @property
    def markers(self) -> list[int]:
        return [f.eventdate for f in self.firings]

    @property
    def rows(self) -> tuple[FiringRow, ...]:
        return self.firings[:PREVIEW_ROWS]


async def run_preview(
    services: ConsoleServices,
    queries: ConsoleQueries,
    session: Session,
    spec: DefinitionInput,
    time_range: TimeRange,
) -> Preview:
    """Backtest ``spec`` (checked already) over ``time_range`` (open: up to now)."""
    now = services.clock.now_ms()
    to_ms = time_range.to_ms if time_range.to_ms is not None else now
    domain = session.user.domain
    draft = AlertDefinition("backtest", domain, "0", "0", now, now, session.user.name, spec)
    # A backtest runs a query per period: it takes one of the domain's query slots, as the
    # console's searches and the Query API's do.
    ticket = services.search.admission.enter(domain)
    try:
        found = await anyio.to_thread.run_sync(
            backtesting.backtest, draft, services.store, time_range.from_ms, to_ms
        )
    finally:
        ticket.release()
    hits = await queries.hits(session, spec.query, TimeRange(time_range.from_ms, to_ms))
    firings = tuple(FiringRow.of(backtesting.firing_json(f)) for f in found)
    return Preview(time_range.from_ms, to_ms, firings, hits)
