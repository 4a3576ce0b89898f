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
from linqd.meta import MetaStore
from linqd.store.clickhouse import ClickHouseStore
from linqd.store.open import PASSWORD_VARIABLE, open_store
from linqd.store.watermark import SharedWatermark
from pgserver import PostgresServer

from .conftest import FRONT_PASSWORD, FRONT_USER, NOW, front_class

TABLE = "my.app.shared"


@pytest.fixture
def writers(tmp_path: Path, postgres: PostgresServer) -> Iterator[list[ClickHouseStore]]:
    """Two nodes' stores (writers ``a`` and ``b``) on one ClickHouse (the loopback front, a
    stand-in for a server) and one PostgreSQL."""
    front = front_class()(tmp_path / "front", user=FRONT_USER, password=FRONT_PASSWORD)
    url = postgres.fresh_url()
    metas = [MetaStore(url) for _ in range(2)]
    stores: list[ClickHouseStore] = []
    try:
        for name, meta in zip("ab", metas, strict=True):
            store = open_store(
                f"clickhouse://{FRONT_USER}@127.0.0.1:{front.port}/default",
                tmp_path / name,
                meta,
                SimulatedClock(NOW),
                environ={PASSWORD_VARIABLE: FRONT_PASSWORD},
                writer_id=name,
            )
            assert isinstance(store, ClickHouseStore)
            stores.append(store)
        yield stores
    finally:
        for store in stores:
            store.close()
        for meta in metas:
            meta.close()
        front.close()


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
    # Once a's node is no longer live, its range is settled for it; readers go on, having
    # skipped nothing that exists and repeating nothing.
    reaped = SharedWatermark(_meta(b), "b", 0).reap(["b"])
    assert reaped == [("a", dead_first, dead_first + 4)]
    assert b.last_seq == dead_first + 5
    assert _messages(b, 1) == ["b1"]


def test_a_writer_paused_past_its_lease_withdraws_its_rows_and_acknowledges_nothing(
    writers: list[ClickHouseStore],
) -> None:
    a, b = writers
    original = a._backend.insert

    def paused(table: str, data: pa.Table, settings: Any) -> None:
        # While a's insert is on its way, a is taken for dead and reaped (SIGSTOP past the
        # lease term), and b writes on.
        SharedWatermark(_meta(b), "b", 0).reap(["b"])
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
