"""Several writers into one ClickHouse, their sequence and watermark shared in PostgreSQL: no
reader skips or repeats a row, also when a writer dies between its insert and its commit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from linqd.clock import SimulatedClock
from linqd.errors import StoreError
from linqd.linq import Bounds, compile_linq
from linqd.meta import MetaStore
from linqd.query.live import BatchStream
from linqd.store.clickhouse import ClickHouseStore
from linqd.store.open import PASSWORD_VARIABLE, open_store
from linqd.store.watermark import SharedWatermark
from pgserver import PostgresServer

from .conftest import FRONT_PASSWORD, FRONT_USER, NOW, front_class

TABLE = "my.app.shared"
WAIT = 10.0  # a bound on a blocking read, never a pause


class _Nodes:
    """Writers' stores on one ClickHouse (the loopback front, a stand-in for a server) and one
    PostgreSQL, each with its own metadata connection pool, as separate nodes have."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.tmp_path = tmp_path
        self.url = url
        self.front = front_class()(tmp_path / "front", user=FRONT_USER, password=FRONT_PASSWORD)
        self.opened: list[tuple[ClickHouseStore, MetaStore]] = []

    def open(self, writer: str) -> ClickHouseStore:
        meta = MetaStore(self.url)
        store = open_store(
            f"clickhouse://{FRONT_USER}@127.0.0.1:{self.front.port}/default",
            self.tmp_path / writer,
            meta,
            SimulatedClock(NOW),
            environ={PASSWORD_VARIABLE: FRONT_PASSWORD},
            writer_id=writer,
        )
        assert isinstance(store, ClickHouseStore)
        self.opened.append((store, meta))
        return store

    def close(self) -> None:
        for store, meta in self.opened:
            store.close()
            meta.close()
        self.front.close()


@pytest.fixture
def nodes(tmp_path: Path, postgres: PostgresServer) -> Iterator[_Nodes]:
    opened = _Nodes(tmp_path, postgres.fresh_url())
    yield opened
    opened.close()


@pytest.fixture
def writers(nodes: _Nodes) -> list[ClickHouseStore]:
    return [nodes.open("a"), nodes.open("b")]


def _meta(store: ClickHouseStore) -> MetaStore:
    return store._meta


def _messages(store: ClickHouseStore, after: int = 0) -> list[str]:
    return [str(m) for m in store.read_after(TABLE, after).column("message").to_pylist()]


def test_both_writers_number_rows_from_one_sequence(writers: list[ClickHouseStore]) -> None:
    a, b = writers
    first = a.append(TABLE, {"message": ["a1", "a2"]}, client="self")
    second = b.append(TABLE, {"message": ["b1"]}, client="self")
    third = a.append(TABLE, {"message": ["a3"]}, client="self")
    assert [(r.first_seq, r.last_seq) for r in (first, second, third)] == [(1, 2), (3, 3), (4, 4)]
    assert a.last_seq == b.last_seq == 4
    assert _messages(b) == _messages(a) == ["a1", "a2", "b1", "a3"]


def test_a_dead_writers_range_holds_readers_back_until_it_is_reaped(
    writers: list[ClickHouseStore],
) -> None:
    a, b = writers
    a.append(TABLE, {"message": ["a1"]}, client="self")
    # Writer a dies after taking its range, before (or during) its insert: its range stays
    # pending. Rows b writes after it are stored but not yet readable.
    dead = SharedWatermark(_meta(a), "a", 0)
    dead_first = dead.allocate(5, TABLE)
    b.append(TABLE, {"message": ["b1"]}, client="self")
    assert b.last_seq == dead_first - 1
    assert _messages(b) == ["a1"]
    # Once a's node is no longer live, its range is resolved for it (none of its rows arrived:
    # void); readers go on, having skipped nothing that exists and repeating nothing.
    assert b.recover_ranges(["b"]) == 1
    assert b.last_seq == dead_first + 5
    assert _messages(b, 1) == ["b1"]
    assert dead.settle(dead_first) is False


def test_a_dead_writers_range_whose_rows_all_arrived_is_stored(
    writers: list[ClickHouseStore],
) -> None:
    a, b = writers

    def killed(first: int) -> bool:
        raise SystemExit("killed between the insert and the commit")

    a._watermark.settle = killed  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        a.append(TABLE, {"message": ["a1", "a2"]}, client="self")
    b.append(TABLE, {"message": ["b1"]}, client="self")
    assert _messages(b) == []
    assert b.recover_ranges(["b"]) == 1
    assert _messages(b) == ["a1", "a2", "b1"]


def test_a_writer_that_starts_again_resolves_what_its_last_run_left(nodes: _Nodes) -> None:
    a, b = nodes.open("a"), nodes.open("b")
    left = SharedWatermark(_meta(a), "a", 0).allocate(3, TABLE)
    b.append(TABLE, {"message": ["b1"]}, client="self")
    assert b.last_seq == left - 1
    again = nodes.open("a")
    assert again.last_seq == b.last_seq == left + 3
    assert _messages(again) == ["b1"]


def test_a_writer_paused_past_its_lease_withdraws_its_rows_and_acknowledges_nothing(
    writers: list[ClickHouseStore],
) -> None:
    a, b = writers
    original = a._backend.insert

    def paused(table: str, data: pa.Table, settings: Any) -> None:
        # While a's insert is on its way, a is taken for dead (SIGSTOP past its lease term):
        # its range is resolved void and b writes on; then a's rows arrive, too late.
        assert b.recover_ranges(["b"]) == 1
        b.append(TABLE, {"message": ["b1"]}, client="self")
        original(table, data, settings)

    a._backend.insert = paused  # type: ignore[method-assign]
    with pytest.raises(StoreError, match="send it again"):
        a.append(TABLE, {"message": ["late1", "late2"]}, client="self")
    a._backend.insert = original  # type: ignore[method-assign]
    assert _messages(b) == ["b1"]
    sent_again = a.append(TABLE, {"message": ["late1", "late2"]}, client="self")
    assert _messages(b, sent_again.first_seq - 1) == ["late1", "late2"]
    assert _messages(a) == ["b1", "late1", "late2"]


def test_a_table_another_node_created_is_known_at_once(writers: list[ClickHouseStore]) -> None:
    a, b = writers
    assert a.schemas_for("self")("my.app.fresh") is not None  # fixed schema, not stored yet
    b.append("my.app.fresh", {"message": ["from b"]}, client="self")
    b.append("acme.web.access", {"message": ["/b"]}, client="other")
    assert a.schema("acme.web.access") is None
    found = a.schemas_for("other")("acme.web.access")
    assert found is not None and found.name == "acme.web.access"
    assert a.read_after("acme.web.access", 0).column("message").to_pylist() == ["/b"]
    # Another domain's table stays unknown to a domain that never wrote it.
    assert a.schemas_for("self")("acme.web.access") is None


def test_a_continuous_query_on_one_node_sees_events_ingested_on_another(
    writers: list[ClickHouseStore],
) -> None:
    a, b = writers
    a.append(TABLE, {"message": ["first"]}, client="self")
    bounds = Bounds(NOW - 1000, None, "self")
    query = compile_linq(
        f"from {TABLE} select message", a.schema, now_ms=NOW, bounds=bounds, engine=a.engine
    )
    stream = BatchStream(a, query, bounds=bounds, now_ms=NOW, continuous=True, limit=3)
    stream.start()
    try:
        assert _batch(stream.next(WAIT)) == ["first"]
        # Nothing tells a's process: it finds b's rows below the shared watermark.
        b.append(TABLE, {"message": ["from b"]}, client="self")
        assert _batch(stream.next(WAIT)) == ["from b"]
        b.append(TABLE, {"message": ["again", "cut by the limit"]}, client="self")
        assert _batch(stream.next(WAIT)) == ["again"]
    finally:
        stream.cancel()


def _batch(batch: pa.RecordBatch | None) -> list[str]:
    assert batch is not None
    return [str(v) for v in batch.column("message").to_pylist()]
