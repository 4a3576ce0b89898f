"""siem.logtrust.collector.counter: events and bytes per minute, domain, ingestion path and
table, counted at reception (before anything drops or sets events aside), written at minute
close."""

from __future__ import annotations

import datetime as dt
import gzip
import socket
from pathlib import Path

import pytest

import anystore
from linqd.audit.counters import Collector, ReceptionCounts, per_table
from linqd.audit.service import Audit
from linqd.clock import SimulatedClock
from linqd.datadir import open_data_dir
from linqd.ingest.collector import CollectorConfig, SyslogCollector
from linqd.ingest.pipeline import IngestPipeline

from .conftest import COUNTER, NODE, NOW, Env

pytestmark = pytest.mark.anyio
MINUTE = 60_000


def at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).replace(tzinfo=None)


def test_a_batchs_bytes_are_shared_by_events_and_add_up() -> None:
    assert per_table(["a", "b", "a", "a"], 10) == {"a": (3, 8), "b": (1, 2)}
    assert per_table(["a"] * 3, 7) == {"a": (3, 7)}
    assert per_table([], 50) == {}


def test_rows_come_when_the_minute_closes_and_all_at_the_end() -> None:
    clock = SimulatedClock(NOW + 10_000)
    counts = ReceptionCounts(clock, node=NODE)
    counts.received("self", Collector.SYSLOG_TCP, per_table(["my.app.a"] * 2, 40))
    counts.received("self", Collector.SYSLOG_TCP, per_table(["my.app.a"], 10))
    counts.received("other", Collector.HTTP_EVENT, per_table(["my.app.a"], 5))
    assert counts.rows(final=False) == []
    clock.advance(MINUTE)
    counts.received("self", Collector.SYSLOG_TCP, per_table(["my.app.a"], 1))
    closed = counts.rows(final=False)
    assert [(r.client, r.eventdate, dict(r.values)) for r in closed] == [
        ("other", NOW, row("http-event", "my.app.a", 1, 5)),
        ("self", NOW, row("syslog-tcp", "my.app.a", 3, 50)),
    ]
    assert counts.rows(final=False) == []
    last = counts.rows(final=True)  # shutdown: the open minute too
    assert [(r.client, r.eventdate, r.values["events"]) for r in last] == [
        ("self", NOW + MINUTE, 1)
    ]


def row(collector: str, table: str, events: int, size: int) -> dict[str, object]:
    return {
        "collector": collector,
        "engine": NODE,
        "kind": "table",
        "object": table,
        "events": events,
        "bytes": size,
    }


def counters(env: Env, domain: str) -> list[tuple[object, ...]]:
    names = ("eventdate", "collector", "engine", "kind", "object", "events", "bytes")
    return [tuple(r[name] for name in names) for r in env.rows(COUNTER, domain)]


async def test_http_ingestion_is_counted_per_path(env: Env) -> None:
    token = env.creds.ingest_token
    await env.client.get(f"/event/self/token!{token}/h/my.app.web?hello%20world")
    lines = b"one\ntwo\nthree\n"
    stream = f"/stream/self/token!{token}/h/my.app.web"
    await env.client.post(
        stream, content=gzip.compress(lines), headers={"Content-Encoding": "gzip"}
    )
    other = f"/event/other/token!{env.other.ingest_token}/h/my.app.web?x"
    await env.client.get(other)
    env.committed()
    assert counters(env, "self") == []  # the minute is still open
    env.clock.advance(MINUTE)
    assert counters(env, "self") == [
        (at(NOW), "http-event", NODE, "table", "my.app.web", 1, len("hello world")),
        (at(NOW), "http-stream", NODE, "table", "my.app.web", 3, len("onetwothree")),
    ]
    assert counters(env, "other") == [(at(NOW), "http-event", NODE, "table", "my.app.web", 1, 1)]


async def test_dropped_test_tables_are_counted_and_not_stored(env: Env) -> None:
    token = env.creds.ingest_token
    await env.client.post(f"/stream/self/token!{token}/h/test.drop.noise", content=b"a\nbc\n")
    env.committed()
    env.clock.advance(MINUTE)
    assert counters(env, "self") == [
        (at(NOW), "http-stream", NODE, "table", "test.drop.noise", 2, len("abc"))
    ]
    assert env.data.store.schema("test.drop.noise") is None  # never stored


def test_syslog_events_are_counted_before_they_are_set_aside(tmp_path: Path) -> None:
    clock = SimulatedClock(NOW)
    data = open_data_dir(tmp_path, clock)
    audit = Audit.start(data.store, clock, default_domain="self", node=NODE, flush_interval_s=3600)
    pipeline = IngestPipeline(data.store, clock, counts=audit.counts)
    collector = SyslogCollector(CollectorConfig(port=0), pipeline, clock).start()
    # The second table is linqd's own: its event is kept aside in linqd.ingest.rejected, and
    # still counted as received.
    sent = (
        b"<14>Jan  1 00:00:00 h my.app.a: first\n"
        b"<14>Jan  1 00:00:00 h my.app.a: second\n"
        b"<14>Jan  1 00:00:00 h siem.logtrust.web.activity: forged\n"
    )
    try:
        with socket.create_connection(("127.0.0.1", collector.ports["tcp"])) as sock:
            sock.sendall(sent)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(1024):  # the collector closes once the events are stored
                continue
    finally:
        collector.stop()
        pipeline.close()
        audit.close()  # the open minute is written at shutdown
    try:
        found = anystore.rows(
            data.store,
            f'SELECT client, collector, "object", events, bytes FROM "{COUNTER}" ORDER BY "object"',
        )
        stored = anystore.rows(data.store, 'SELECT count(*) FROM "siem.logtrust.web.activity"')
    finally:
        data.close()
    assert [row[:4] for row in found] == [
        ("self", "syslog-tcp", "my.app.a", 2),
        ("self", "syslog-tcp", "siem.logtrust.web.activity", 1),
    ]
    assert sum(row[4] for row in found) == len(sent)  # every byte the connection carried
    assert stored == [(0,)]
