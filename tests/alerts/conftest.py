"""A scenario harness for the alert engine: a data directory, a simulated clock, definitions
created as the API creates them, events stored with chosen times, and the engine stepped as
its scheduler would be.

The metadata is the data directory's SQLite file; a test where the metadata is the point also
runs on PostgreSQL by parametrizing ``store_spec`` and ``meta_backend`` with ``STORE_AND_META``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from anystore import STORES
from linqd.alerts.backtest import backtest
from linqd.alerts.engine import AlertEngine
from linqd.alerts.model import AlertDefinition, TriggeredAlert
from linqd.alerts.repo import AlertRepository
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.alerts.validate import check_query, read_definition
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, ensure_private_dir, open_data_dir
from linqd.meta import MetaStore
from linqd.store.open import open_store
from pgserver import PostgresServer

T0 = 1_800_000_000_000  # a whole hour: periods of 1 s to 1 h start here
DOMAIN = "self"
TABLE = "my.app.web"

# Every store with SQLite metadata, and PostgreSQL metadata with one store: the metadata's
# statements do not depend on the store.
STORE_AND_META = pytest.mark.parametrize(
    ("store_spec", "meta_backend"),
    [("duckdb", "sqlite"), (STORES["clickhouse"], "sqlite"), ("duckdb", "postgresql")],
    ids=["duckdb-sqlite", "clickhouse-sqlite", "duckdb-postgresql"],
)


@dataclass(frozen=True)
class Seen:
    """A stored firing, as a test compares it: the definition's name, eventdate relative to
    T0, and the alert's fields without the eventdate text."""

    name: str
    at: int
    fields: Mapping[str, Any]


class Scenario:
    def __init__(
        self,
        path: Path,
        store_spec: str = "duckdb",
        lateness_ms: int = 2_000,
        *,
        meta_target: str | None = None,
    ) -> None:
        """``meta_target``: a ``MetaStore`` target instead of the data directory's file."""
        self.path = path
        self.clock = SimulatedClock(T0)
        self.lateness_ms = lateness_ms
        self.data: DataDir = _data_dir(path, self.clock, store_spec, meta_target)
        self._open()
        # Tables must exist before a definition can name them: one event far in the past.
        self.store(TABLE, [{"hostname": "seed", "message": "seed"}], at=-10 * 86_400_000)

    def _open(self) -> None:
        self.definitions = AlertRepository(self.data.meta, self.clock)
        self.triggered = TriggeredAlertRepository(self.data.meta, self.clock)
        self.engine = AlertEngine(
            self.data.store,
            self.definitions,
            self.triggered,
            self.clock,
            lateness_ms=self.lateness_ms,
        )

    def define(
        self,
        name: str,
        query: str,
        trigger: Mapping[str, Any],
        message: str = "",
        *,
        select_all: bool = True,
        policies: tuple[str, ...] = (),
    ) -> AlertDefinition:
        """``select_all``: the definition's ``withSelectAll``; ``policies``: its sending
        policies."""
        spec = read_definition(
            {
                "name": name,
                "subcategory": "tests",
                "message": message,
                "alertCorrelationContext": {
                    "querySourceCode": query,
                    "priority": 5,
                    "correlationTrigger": dict(trigger),
                    "withSelectAll": select_all,
                },
                "actionPolicyId": list(policies),
            }
        )
        store = self.data.store
        # The tables as the API checks them: those of the definition's domain.
        tables = store.schemas_for(DOMAIN)
        check_query(spec, tables, now_ms=self.clock.now_ms(), may_read=_any, engine=store.engine)
        return self.definitions.create(DOMAIN, spec, "owner@example.com")

    def store(
        self, table: str, rows: Sequence[Mapping[str, Any]], *, at: int | Sequence[int]
    ) -> None:
        """Store ``rows`` dated ``T0 + at`` (one offset, or one per row)."""
        offsets = [at] * len(rows) if isinstance(at, int) else list(at)
        columns = {key: [row.get(key) for row in rows] for key in rows[0]}
        self.data.store.append(table, columns, client=DOMAIN, eventdates=[T0 + o for o in offsets])

    def run_until(self, offset: int, every: int = 1_000) -> int:
        """Advance the clock to ``T0 + offset`` in ``every`` ms ticks, stepping the engine at
        each tick as its scheduler would; the number of new firings."""
        fired = self.engine.step()
        while self.clock.now_ms() < T0 + offset:
            self.clock.advance(min(every, T0 + offset - self.clock.now_ms()))
            fired += self.engine.step()
        return fired

    def alerts(self) -> list[TriggeredAlert]:
        return self.triggered.list(
            DOMAIN,
            from_ms=0,
            to_ms=2**62,
            limit=10_000,
            offset=0,
            order_by="id",
            ascending=True,
            show_all=True,
        )

    def seen(self) -> list[Seen]:
        return [seen_of(a.alert_name, a.alert_date, a.extra_data) for a in self.alerts()]

    def backtest(self, definition: AlertDefinition, start: int, end: int) -> list[Seen]:
        fired = backtest(definition, self.data.store, T0 + start, T0 + end)
        return [seen_of(definition.name, f.finding.eventdate, f.extra_data()) for f in fired]

    def restart(self) -> None:
        """A new engine over the same files, as after a crash (nothing is closed first)."""
        self._open()
        self.engine.recover()

    def close(self) -> None:
        self.data.close()


def _data_dir(
    path: Path, clock: SimulatedClock, store_spec: str, meta_target: str | None
) -> DataDir:
    if meta_target is None:
        return open_data_dir(path, clock, store=store_spec)
    ensure_private_dir(path)
    meta = MetaStore(meta_target)
    return DataDir(path, meta, open_store(store_spec, path, meta, clock))


def _any(table: str) -> bool:
    return True


def seen_of(name: str, eventdate: int, extra: Mapping[str, Any]) -> Seen:
    fields = {k: v for k, v in extra.items() if k != "eventdate"}
    return Seen(name, eventdate - T0, fields)


@pytest.fixture
def meta_backend() -> str:
    """``sqlite`` (the data directory's file) unless a test parametrizes it."""
    return "sqlite"


def meta_target_of(backend: str, request: pytest.FixtureRequest) -> str | None:
    """The ``Scenario`` metadata of ``backend``: an empty PostgreSQL schema of its own, or
    ``None`` (the data directory's SQLite file)."""
    if backend == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.fresh_url()


@pytest.fixture
def scenario(
    tmp_path: Path, store_spec: str, meta_backend: str, request: pytest.FixtureRequest
) -> Iterator[Scenario]:
    sc = Scenario(tmp_path / "data", store_spec, meta_target=meta_target_of(meta_backend, request))
    try:
        yield sc
    finally:
        sc.close()
