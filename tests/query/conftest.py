"""The same rows stored on every engine (DuckDB, and ClickHouse in process on chdb), and their
lines read back: what the engine tests of response lines compare (``engine_stores``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlglot import exp

from linqd.clock import SimulatedClock
from linqd.linq.compile import line_dialect
from linqd.linq.ir import ResultColumn
from linqd.meta import MetaStore
from linqd.query.lines import line_expression, line_select
from linqd.query.modes import EncodeOptions, Mode
from linqd.store.base import EventStore
from linqd.store.catalog import SEQ_COLUMN, Column, TableSchema
from linqd.store.open import open_store

NOW = 1_700_000_000_000
CLIENT = "self"
SPECS = {"duckdb": "duckdb", "clickhouse": "chdb:clickhouse"}


@dataclass(frozen=True)
class Stored:
    """One table stored the same way on every engine's store (by engine name)."""

    stores: Mapping[str, EventStore]
    table: str

    def lines(
        self,
        engine: str,
        mode: Mode,
        options: EncodeOptions,
        columns: Sequence[ResultColumn],
        *,
        framed: bool = False,
        computed: Mapping[str, Any] | None = None,
        streamed: bool = False,
    ) -> list[bytes]:
        """The line of every row, in stored order. ``computed``: columns made in the query, by
        a function of the engine's line dialect (arrays), instead of read from the table."""
        store = self.stores[engine]
        dialect = line_dialect(engine)
        made = computed or {}
        items = [
            exp.alias_(made[c.name](dialect), c.name, quoted=True)
            if c.name in made
            else exp.column(c.name, quoted=True)
            for c in columns
        ]
        seq = exp.column(SEQ_COLUMN, quoted=True)
        select = (
            exp.select(*items, exp.alias_(seq, "__order", quoted=True))
            .from_(exp.Table(this=exp.to_identifier(self.table, quoted=True)))
            .where(exp.column("client", quoted=True).eq(exp.Literal.string(CLIENT)))
        )
        line = line_expression(mode, columns, options, engine=engine, framed=framed)
        query = line_select(select, line, exp.column("__order", quoted=True))
        rows: list[tuple[Any, int]]
        if streamed:
            rows = []
            for batch in store.stream(query, batch_rows=7):
                rows += zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)
        else:
            rows = [(r[0], r[1]) for r in store.fetch(query)]
        assert all(isinstance(text, str) for text, _ in rows), rows
        return [text.encode() for text, _ in sorted(rows, key=lambda r: r[1])]


@dataclass(frozen=True)
class EngineStores:
    """A store of every engine (by engine name), open for a whole module: chdb serves one
    directory per process."""

    stores: Mapping[str, EventStore]

    def store(
        self,
        table: str,
        columns: Sequence[ResultColumn],
        values: Mapping[str, Sequence[Any]],
        eventdates: Sequence[int],
    ) -> Stored:
        """``values`` (by column) appended in one batch to ``table`` of every store."""
        schema = TableSchema(table, tuple(Column(c.name, c.type) for c in columns))
        for store in self.stores.values():
            store.ensure_table(schema)
            store.append(table, values, client=CLIENT, eventdates=eventdates)
        return Stored(self.stores, table)


@pytest.fixture(scope="module")
def engine_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineStores]:
    path = tmp_path_factory.mktemp("engines")
    stores: dict[str, EventStore] = {}
    try:
        for engine, spec in SPECS.items():
            home = path / engine
            home.mkdir()
            store = open_store(spec, home, MetaStore(home / "meta.sqlite"), SimulatedClock(NOW))
            stores[engine] = store
            assert store.engine == engine
        yield EngineStores(stores)
    finally:
        # The next module must be able to open a chdb directory of its own.
        for store in stores.values():
            with contextlib.suppress(Exception):
                store.close()
