"""test.drop.* through every ingestion path that reaches the pipeline (the HTTP paths are in
tests/api/test_test_tables.py): received and counted at reception, dropped where the writer
would store them, while the other events of the same input are stored as usual."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import anystore
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir
from linqd.ingest.collector import CollectorConfig, SyslogCollector
from linqd.ingest.loader import ingest_file
from linqd.ingest.pipeline import IngestPipeline
from linqd.ingest.syslog import ParsedBatch

NOW = 1_700_000_000_000
LIMIT = 10.0


@pytest.fixture
def data(tmp_path: Path) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path / "data", SimulatedClock(NOW), store="duckdb")
    yield data
    data.close()


def test_the_pipeline_drops_them_after_reception(data: DataDir) -> None:
    pipeline = IngestPipeline(data.store, SimulatedClock(NOW), flush_interval_s=0.005)
    try:
        parsed = ParsedBatch(
            tables=["test.drop.actors", "my.app.kept", "test.drop.actors"],
            hosts=["h"] * 3,
            messages=["gone", "kept", "gone too"],
            eventdates=[None, None, NOW - 1000],  # live and historical alike
            rejected=[],
        )
        assert pipeline.wait_committed(pipeline.submit(parsed, client="self"), LIMIT)
        counters = pipeline.stats().tables
    finally:
        pipeline.close()
    dropped = counters["test.drop.actors"]
    assert (dropped.received, dropped.dropped, dropped.stored, dropped.rejected) == (2, 2, 0, 0)
    assert counters["my.app.kept"].stored == 1
    assert data.store.schema("test.drop.actors") is None
    assert pipeline.refusal("test.drop.actors") is None  # HTTP accepts the tag up front
    assert anystore.rows(data.store, 'SELECT count(*) FROM "linqd.ingest.rejected"') == [(0,)]


def test_syslog_accepts_them(data: DataDir) -> None:
    clock = SimulatedClock(NOW)
    pipeline = IngestPipeline(data.store, clock, flush_interval_s=0.005)
    collector = SyslogCollector(CollectorConfig(port=0), pipeline, clock).start()
    try:
        lines = (
            b"<14>Jan  1 00:00:00 vm test.drop.ltsender: David Hasselhoff\n"
            b"<14>Jan  1 00:00:00 vm test.keep.free: kept\n"
        )
        with socket.create_connection(("127.0.0.1", collector.ports["tcp"]), LIMIT) as sock:
            sock.sendall(lines)
            sock.shutdown(socket.SHUT_WR)
            # The collector closes once the connection's events are committed.
            while sock.recv(1024):
                continue
        counters = pipeline.stats().tables
    finally:
        collector.stop()
        pipeline.close()
    assert counters["test.drop.ltsender"].received == counters["test.drop.ltsender"].dropped == 1
    assert data.store.schema("test.drop.ltsender") is None
    kept = anystore.rows(data.store, 'SELECT hostname, message FROM "test.keep.free"')
    assert kept == [("vm", "kept")]


def test_linqd_ingest_accepts_them(data: DataDir, tmp_path: Path) -> None:
    source = tmp_path / "lines.log"
    source.write_text("one\ntwo\n")
    count = ingest_file(
        data.store,
        source,
        tag="test.drop.file",
        host="cli",
        client="self",
        progress=lambda _: None,
    )
    assert count == 2
    assert data.store.schema("test.drop.file") is None
