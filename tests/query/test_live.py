"""BatchStream: a query in a worker thread behind a bounded queue; continuous queries follow
the append stream; cancel and the time limit stop the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from linqd.clock import SimulatedClock
from linqd.errors import QueryLimitError
from linqd.linq import Bounds, CompiledQuery, compile_linq
from linqd.meta import MetaStore
from linqd.query.live import BatchStream
from linqd.store.base import EventStore
from linqd.store.open import open_store

NOW = 1_800_000_000_000
TABLE = "my.app.live"
WAIT = 10.0  # a generous bound on a blocking read, never a pause
# Minutes of work for each engine unless it is interrupted.
SLOW = {
    "duckdb": "SELECT count(*) AS message FROM range(100000000000) AS a(x) WHERE x % 7 = 99",
    "clickhouse": "SELECT count() AS message FROM numbers(100000000000) WHERE number % 7 = 99",
}


@pytest.fixture
def store(tmp_path: Path, store_spec: str) -> Iterator[EventStore]:
    meta = MetaStore(tmp_path / "meta.sqlite")
    store = open_store(store_spec, tmp_path, meta, SimulatedClock(NOW))
    yield store
    store.close()
    meta.close()


def append(store: EventStore, *messages: str) -> None:
    store.append(TABLE, {"message": list(messages)}, client="self")


def messages(batch: pa.RecordBatch | None) -> list[str]:
    assert batch is not None
    return [str(v) for v in batch.column("message").to_pylist()]


def compiled(store: EventStore, text: str, bounds: Bounds) -> CompiledQuery:
    return compile_linq(text, store.schema, now_ms=NOW, bounds=bounds, engine=store.engine)


def test_continuous_query_follows_appends(store: EventStore) -> None:
    append(store, "a", "b")
    bounds = Bounds(NOW - 1000, None, "self")
    query = compiled(store, f"from {TABLE} select message", bounds)
    stream = BatchStream(store, query, bounds=bounds, now_ms=NOW, continuous=True, limit=4)
    stream.start()
    try:
        assert messages(stream.next(WAIT)) == ["a", "b"]
        append(store, "c")
        assert messages(stream.next(WAIT)) == ["c"]
        store.append(TABLE, {"message": ["elsewhere"]}, client="other")
        append(store, "d", "e")
        assert messages(stream.next(WAIT)) == ["d"]  # the limit of 4 cuts the window
        assert stream.next(WAIT) is None
    finally:
        stream.cancel()


def test_continuous_query_started_before_the_tables_first_event(store: EventStore) -> None:
    fresh = "my.app.fresh"  # never written yet: a table with a fixed (raw) schema
    bounds = Bounds(NOW - 1000, None, "self")
    query = compile_linq(
        f"from {fresh} select message",
        store.schemas_for("self"),
        now_ms=NOW,
        bounds=bounds,
        engine=store.engine,
    )
    stream = BatchStream(store, query, bounds=bounds, now_ms=NOW, continuous=True, limit=2)
    stream.start()
    try:
        append(store, "elsewhere first")  # another table: the live query reads nothing of it
        store.append(fresh, {"message": ["first"]}, client="self")
        assert messages(stream.next(WAIT)) == ["first"]
        store.append(fresh, {"message": ["second", "third"]}, client="self")
        assert messages(stream.next(WAIT)) == ["second"]
        assert stream.next(WAIT) is None
    finally:
        stream.cancel()


def test_linq_limit_bounds_the_whole_live_result(store: EventStore) -> None:
    append(store, "a")
    bounds = Bounds(NOW - 1000, None, "self")
    query = compiled(store, f"from {TABLE} select message limit 2", bounds)
    stream = BatchStream(store, query, bounds=bounds, now_ms=NOW, continuous=True).start()
    try:
        assert messages(stream.next(WAIT)) == ["a"]
        append(store, "b", "c")
        assert messages(stream.next(WAIT)) == ["b"]
        assert stream.next(WAIT) is None
    finally:
        stream.cancel()


def _slow(store: EventStore) -> CompiledQuery:
    """A query that keeps the engine busy for minutes unless it is interrupted."""
    base = compiled(store, f"from {TABLE} select message", Bounds())
    slow = sqlglot.parse_one(SLOW[store.engine], dialect=store.engine)
    assert isinstance(slow, exp.Select)
    return CompiledQuery(base.plan, slow)


def test_time_limit_cancels_the_query(store: EventStore) -> None:
    append(store, "a")
    stream = BatchStream(store, _slow(store), bounds=Bounds(), now_ms=NOW, timeout_s=0.2)
    stream.start()
    with pytest.raises(QueryLimitError, match=r"ran longer than 0\.2 s"):
        stream.next(WAIT)
    assert stream.join(WAIT)


def test_cancel_stops_a_running_query(store: EventStore) -> None:
    append(store, "a")
    stream = BatchStream(store, _slow(store), bounds=Bounds(), now_ms=NOW).start()
    stream.cancel()
    assert stream.join(WAIT)


def test_bounded_queue_keeps_memory_flat(store: EventStore) -> None:
    store.append(TABLE, {"message": [f"m{i}" for i in range(200_000)]}, client="self")
    bounds = Bounds(client="self")
    query = compiled(store, f"from {TABLE} select message", bounds)
    stream = BatchStream(store, query, bounds=bounds, now_ms=NOW, max_queued=2).start()
    try:
        first = stream.next(WAIT)
        assert first is not None
        # The producer waits for the consumer: at most the queue plus one batch in flight.
        assert stream.rows_sent <= first.num_rows * 4
        total = first.num_rows
        while (batch := stream.next(WAIT)) is not None:
            total += batch.num_rows
        assert total == 200_000
    finally:
        stream.cancel()
