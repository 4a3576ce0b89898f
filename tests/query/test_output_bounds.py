"""What one answer may hold for a slow client: the hand-off queue bounded in bytes, wide batches
cut into pieces and encoded in the query's thread, and the pieces' bytes equal to what the
framing would send; msgpack packed in pieces equal to the document packed whole."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import msgpack
import pyarrow as pa
import pytest
from sqlglot import exp

from linqd.clock import SimulatedClock
from linqd.errors import LinqdError
from linqd.linq import Bounds, compile_linq
from linqd.linq.ir import ResultColumn
from linqd.linq.types import INT8, STR
from linqd.meta import MetaStore
from linqd.query import documents, lines, modes
from linqd.query.framing import Framing, framed_bytes
from linqd.query.handoff import Handoff
from linqd.query.live import BatchStream
from linqd.store.duckdb import DuckDBStore

NOW = 1_800_000_000_000
TABLE = "my.app.wide"
WAIT = 10.0  # a bound on a blocking read, never a pause
ROWS = 50_000
WIDTH = 400  # characters of message per row: a 65,536-row batch would be ~26 MB


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    meta = MetaStore(tmp_path / "meta.sqlite")
    store = DuckDBStore(tmp_path / "events.duckdb", meta, SimulatedClock(NOW))
    store.append(TABLE, {"message": [f"{i:08d}" + "x" * WIDTH for i in range(ROWS)]}, client="s")
    yield store
    store.close()
    meta.close()


# -- the hand-off ---------------------------------------------------------------------------------


def test_handoff_waits_while_the_queued_bytes_would_pass_the_bound() -> None:
    handoff: Handoff[bytes] = Handoff(max_items=100, max_bytes=10)
    assert handoff.put(b"123456", 6)
    blocked = threading.Thread(target=handoff.put, args=(b"789012", 6))
    blocked.start()
    blocked.join(0.05)
    assert blocked.is_alive() and handoff.queued_bytes == 6  # 12 bytes would pass 10
    assert handoff.get(WAIT) == b"123456"
    blocked.join(WAIT)
    assert not blocked.is_alive() and handoff.queued_bytes == 6


def test_handoff_always_takes_one_item_however_big() -> None:
    handoff: Handoff[bytes] = Handoff(max_items=4, max_bytes=10)
    assert handoff.put(b"x" * 100, 100)
    assert handoff.get_nowait() == b"x" * 100
    with pytest.raises(queue.Empty):
        handoff.get_nowait()


def test_handoff_calls_back_after_each_item_and_close_releases_the_producer() -> None:
    handoff: Handoff[int] = Handoff(max_items=1)
    woken: list[int] = []
    handoff.on_put = lambda: woken.append(handoff.queued_bytes)
    assert handoff.put(1, 0)
    producer = threading.Thread(target=lambda: woken.append(99 if handoff.put(2) else -1))
    producer.start()
    handoff.close()
    producer.join(WAIT)
    assert woken == [0, -1]  # the second item was never queued
    with pytest.raises(queue.Empty):
        handoff.get(0)


# -- the stream ---------------------------------------------------------------------------------


def test_a_slow_reader_holds_bounded_bytes(store: DuckDBStore) -> None:
    bounds = Bounds(client="s")
    compiled = compile_linq(f"from {TABLE} select message", store.schema, now_ms=NOW, bounds=bounds)
    bound, piece_bytes = 1 << 20, 1 << 18
    queued: list[int] = []
    filled = threading.Event()

    def on_ready() -> None:
        queued.append(stream.queued_bytes)
        if stream.queued_bytes > bound - piece_bytes:
            filled.set()

    stream = BatchStream(
        store,
        compiled,
        bounds=bounds,
        now_ms=NOW,
        max_queued=100,
        max_queued_bytes=bound,
        piece_bytes=piece_bytes,
    )
    stream.start(on_ready=on_ready)
    try:
        # a reader that has not read yet: the producer fills the queue to the bound and waits
        assert filled.wait(WAIT)
        rows = 0
        while (piece := stream.next(WAIT)) is not None:
            assert isinstance(piece, pa.RecordBatch) and piece.nbytes <= 2 * piece_bytes
            rows += piece.num_rows
        assert rows == ROWS
        assert max(queued) <= bound
    finally:
        stream.cancel()


def framed_answer(store: DuckDBStore, mode: modes.Mode, encoded: bool) -> bytes:
    """A whole answer in ``mode``: pieces encoded in the query's thread, or batches framed by
    the consumer as before."""
    bounds = Bounds(client="s")
    compiled = compile_linq(f"from {TABLE} select message", store.schema, now_ms=NOW, bounds=bounds)
    options = modes.EncodeOptions()
    line = lines.line_expression(mode, compiled.columns, options, engine=store.engine, framed=True)

    def project(select: exp.Select) -> exp.Select:
        inner = exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("q")))
        return exp.Select().select(exp.alias_(line, "line")).from_(inner)

    framing = Framing(mode, compiled.columns, options, cid="c", timestamp_ms=0)
    stream = BatchStream(
        store,
        compiled,
        bounds=bounds,
        now_ms=NOW,
        project=project,
        piece_bytes=1 << 18,
        encode=framed_bytes if encoded else None,
    ).start()
    parts = [framing.head()]
    while (piece := stream.next(WAIT)) is not None:
        if encoded:
            assert isinstance(piece, bytes) and len(piece) <= 2 * (1 << 18)
            parts.append(framing.framed(piece))
        else:
            parts.append(framing.rows(piece.column(0)))
    return b"".join([*parts, framing.tail()])


@pytest.mark.parametrize("mode", [modes.Mode.JSON, modes.Mode.CSV, modes.Mode.JSON_SIMPLE_COMPACT])
def test_encoded_pieces_are_the_framings_bytes(store: DuckDBStore, mode: modes.Mode) -> None:
    assert framed_answer(store, mode, encoded=True) == framed_answer(store, mode, encoded=False)


# -- msgpack in pieces -----------------------------------------------------------------------------


def test_msgpack_in_pieces_is_the_document_packed_whole() -> None:
    columns = [ResultColumn("n", INT8), ResultColumn("s", STR)]
    rows = [(i, "x" * (i % 40)) for i in range(1_000)]
    groups = [rows[:10], rows[10:500], [], rows[500:]]
    options = modes.EncodeOptions()
    parts = list(
        documents.msgpack_parts(columns, groups, len(rows), options, cid="c", timestamp_ms=42)
    )
    objects = [{"n": n, "s": s} for n, s in rows]
    document = {"msg": "", "timestamp": 42, "cid": "c", "object": objects, "status": 0}
    assert b"".join(parts) == msgpack.packb(document, use_bin_type=True)
    assert len(parts) == len(groups) + 2


def test_an_encoder_failure_ends_the_stream_with_an_error(store: DuckDBStore) -> None:
    bounds = Bounds(client="s")
    compiled = compile_linq(f"from {TABLE} select message", store.schema, now_ms=NOW, bounds=bounds)

    def broken(batch: pa.RecordBatch) -> bytes:
        raise ValueError("cannot encode")

    stream = BatchStream(store, compiled, bounds=bounds, now_ms=NOW, encode=broken)
    stream.start()
    try:
        with pytest.raises(LinqdError, match="Query failed: ValueError"):
            stream.next(WAIT)
        assert stream.join(WAIT)
    finally:
        stream.cancel()
