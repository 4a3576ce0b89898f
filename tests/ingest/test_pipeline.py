"""The ingestion pipeline against a real store: rows become queryable once committed, historical
eventdates, client separation, unparsed side tables, lookups, back-pressure, flushing on close and
the counters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import anystore
from linqd.clock import SimulatedClock
from linqd.datadir import DataDir, open_data_dir
from linqd.ingest.pipeline import IngestPipeline
from linqd.ingest.syslog import ParsedBatch, parse_messages
from linqd.lookup_tables import lookup_storage
from linqd.store.base import EventStore

NOW = 1_700_000_000_000
# Short enough that waiting for a commit costs nothing (see the xfail below on why it matters).
FAST = 0.005
# Long enough that the writer never flushes on its own during a test.
NEVER = 3600.0
# Generous bound for anything that should be immediate; a hang fails instead of blocking.
LIMIT = 10.0
HEADERS = '[{"KEY":{"type":"str","key":true}},{"COLOR":{"type":"str"}}]'


def batch(
    table: str,
    messages: Sequence[str],
    *,
    hosts: Sequence[str] | None = None,
    eventdates: Sequence[int | None] | None = None,
    rejected: Sequence[tuple[str, str]] = (),
) -> ParsedBatch:
    return ParsedBatch(
        tables=[table] * len(messages),
        hosts=list(hosts) if hosts is not None else ["host"] * len(messages),
        messages=list(messages),
        eventdates=list(eventdates) if eventdates is not None else [None] * len(messages),
        rejected=list(rejected),
    )


def rows(store: EventStore, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return anystore.rows(store, sql, params)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
def data(tmp_path: Path, clock: SimulatedClock, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, clock, store=store_spec)
    yield data
    data.close()


@pytest.fixture
def pipeline(data: DataDir, clock: SimulatedClock) -> Iterator[IngestPipeline]:
    pipe = IngestPipeline(data.store, clock, flush_interval_s=FAST)
    yield pipe
    pipe.close()


def commit(pipe: IngestPipeline, ticket: int) -> None:
    assert pipe.wait_committed(ticket, timeout=LIMIT)


# -- storing ---------------------------------------------------------------------------------------


def test_submitted_rows_are_queryable_once_committed(
    data: DataDir, pipeline: IngestPipeline
) -> None:
    ticket = pipeline.submit(
        batch("my.app.test", ["one", "two", "three"], hosts=["h1", "h2", "h3"]), client="self"
    )
    commit(pipeline, ticket)
    found = rows(data.store, 'SELECT hostname, message, client FROM "my.app.test" ORDER BY _seq')
    assert found == [("h1", "one", "self"), ("h2", "two", "self"), ("h3", "three", "self")]
    assert pipeline.stats().pending_rows == 0


def test_tickets_grow_and_commit_covers_earlier_ones(
    data: DataDir, pipeline: IngestPipeline
) -> None:
    first = pipeline.submit(batch("my.app.a", ["a"]), client="self")
    second = pipeline.submit(batch("my.app.b", ["b"]), client="self")
    assert second > first
    commit(pipeline, second)
    assert pipeline.wait_committed(first, timeout=0)
    assert rows(data.store, 'SELECT message FROM "my.app.a"') == [("a",)]
    assert rows(data.store, 'SELECT message FROM "my.app.b"') == [("b",)]


def test_historical_eventdates_are_kept_and_others_stamped_by_the_clock(
    data: DataDir, pipeline: IngestPipeline, clock: SimulatedClock
) -> None:
    old = NOW - 86_400_000
    parsed = batch(
        "my.app.hist",
        ["past-1", "live-1", "past-2", "live-2"],
        eventdates=[old, None, old + 1000, None],
    )
    ticket = pipeline.submit(parsed, client="self")
    commit(pipeline, ticket)
    found = dict(rows(data.store, 'SELECT message, epoch_ms(eventdate) FROM "my.app.hist"'))
    assert found == {"past-1": old, "past-2": old + 1000, "live-1": NOW, "live-2": NOW}


def test_historical_eventdates_from_syslog_headers(data: DataDir, pipeline: IngestPipeline) -> None:
    parsed = parse_messages(
        [
            b"<14>2023-11-14 10:00:00 h1 (usd)my.app.usd: historical",
            b"<14>Jan  1 00:00:00 h2 my.app.usd: live",
        ],
        now_ms=NOW,
    )
    assert parsed.eventdates[0] is not None
    assert parsed.eventdates[1] is None
    commit(pipeline, pipeline.submit(parsed, client="self"))
    found = dict(rows(data.store, 'SELECT message, epoch_ms(eventdate) FROM "my.app.usd"'))
    assert found == {"historical": parsed.eventdates[0], "live": NOW}


def test_rows_of_different_clients_stay_separate(data: DataDir, pipeline: IngestPipeline) -> None:
    pipeline.submit(batch("my.app.shared", ["a1", "a2"]), client="alpha")
    pipeline.submit(batch("my.app.shared", ["b1"]), client="beta")
    ticket = pipeline.submit(batch("my.app.shared", ["a3"]), client="alpha")
    commit(pipeline, ticket)
    stored = rows(data.store, 'SELECT client, message FROM "my.app.shared" ORDER BY client, _seq')
    assert stored == [("alpha", "a1"), ("alpha", "a2"), ("alpha", "a3"), ("beta", "b1")]


def test_builtin_table_keeps_unparseable_messages_in_the_unparsed_table(
    data: DataDir, pipeline: IngestPipeline
) -> None:
    good = json.dumps({"method": "GET", "uri": "/x", "statusCode": 200})
    apache = '10.0.0.1 - - [10/Feb/2021:11:54:01 +0000] "GET /p HTTP/1.1" 404 13 "-" "ua"'
    ticket = pipeline.submit(
        batch(
            "demo.ecommerce.data",
            [good, "not an event at all", apache, '{"unknown": 1}'],
            hosts=["h1", "h2", "h3", "h4"],
        ),
        client="self",
    )
    commit(pipeline, ticket)
    stored = rows(
        data.store, 'SELECT method, uri, statusCode FROM "demo.ecommerce.data" ORDER BY _seq'
    )
    assert stored == [("GET", "/x", 200), ("GET", "/p", 404)]
    side = rows(
        data.store,
        'SELECT hostname, message, client FROM "demo.ecommerce.data.unparsed" ORDER BY _seq',
    )
    assert side == [("h2", "not an event at all", "self"), ("h4", '{"unknown": 1}', "self")]
    counters = pipeline.stats().tables["demo.ecommerce.data"]
    assert (counters.received, counters.stored, counters.unparsed) == (4, 2, 2)


def test_unparsed_rows_keep_their_historical_eventdates(
    data: DataDir, pipeline: IngestPipeline
) -> None:
    old = NOW - 3_600_000
    ticket = pipeline.submit(
        batch(
            "demo.ecommerce.data",
            ['{"method": "GET"}', "garbage"],
            eventdates=[old, old + 5],
        ),
        client="self",
    )
    commit(pipeline, ticket)
    assert rows(data.store, 'SELECT method, epoch_ms(eventdate) FROM "demo.ecommerce.data"') == [
        ("GET", old)
    ]
    assert rows(
        data.store,
        'SELECT message, epoch_ms(eventdate) FROM "demo.ecommerce.data.unparsed"',
    ) == [("garbage", old + 5)]


def test_lookup_events_build_the_lookup_table(data: DataDir, pipeline: IngestPipeline) -> None:
    control = "my.lookup.control.COLORS.FULL"
    prefix = "1795432246.52_COLORS"
    events = [
        (control, f"{prefix}|START|{HEADERS}"),
        ("my.lookup.data.COLORS", f'{prefix}|"red","#f00"'),
        ("my.lookup.data.COLORS", f'{prefix}|"green","#0f0"'),
        (control, f"{prefix}|END|{HEADERS}"),
    ]
    parsed = ParsedBatch(
        tables=[table for table, _ in events],
        hosts=["h"] * len(events),
        messages=[message for _, message in events],
        eventdates=[None] * len(events),
        rejected=[],
    )
    commit(pipeline, pipeline.submit(parsed, client="self"))
    colors = lookup_storage("my.lookuplist.COLORS", "self")
    assert rows(data.store, f'SELECT KEY, COLOR, client FROM "{colors}" ORDER BY KEY') == [
        ("green", "#0f0", "self"),
        ("red", "#f00", "self"),
    ]
    # The control and data events are not stored as tables of their own.
    names = {schema.name for schema in data.store.tables()}
    assert not any(name.startswith("my.lookup.") for name in names)
    assert pipeline.stats().pending_rows == 0


def test_lookup_events_split_over_several_batches(data: DataDir, pipeline: IngestPipeline) -> None:
    control = "my.lookup.control.SIZES.FULL"
    prefix = "42_SIZES"
    pipeline.submit(batch(control, [f"{prefix}|START|{HEADERS}"]), client="self")
    pipeline.submit(batch("my.lookup.data.SIZES", [f'{prefix}|"s","small"']), client="self")
    ticket = pipeline.submit(batch(control, [f"{prefix}|END|{HEADERS}"]), client="self")
    commit(pipeline, ticket)
    assert rows(
        data.store, f'SELECT KEY, COLOR FROM "{lookup_storage("my.lookuplist.SIZES", "self")}"'
    ) == [("s", "small")]


# -- back-pressure -------------------------------------------------------------------------------


def test_back_pressure_full_buffers_have_no_room_until_flushed(data: DataDir) -> None:
    pipe = IngestPipeline(
        data.store,
        SimulatedClock(NOW),
        flush_interval_s=NEVER,
        batch_rows=10**9,
        max_pending_rows=10,
    )
    try:
        pipe.submit(batch("my.app.bp", [str(i) for i in range(6)]), client="self")
        assert pipe.has_room()
        pipe.submit(batch("my.app.bp", [str(i) for i in range(6, 10)]), client="self")
        assert not pipe.has_room()
        assert pipe.stats().pending_rows == 10
        assert pipe.wait_room(timeout=0) is False

        result: list[bool] = []
        waiter = threading.Thread(target=lambda: result.append(pipe.wait_room(timeout=LIMIT)))
        waiter.start()
        pipe.close()  # the writer flushes everything, which frees the room
        waiter.join(timeout=LIMIT)
        assert not waiter.is_alive()
        assert result == [True]
    finally:
        pipe.close()
    assert rows(data.store, 'SELECT count(*) FROM "my.app.bp"') == [(10,)]


def test_back_pressure_batch_rows_triggers_a_flush(data: DataDir) -> None:
    """Reaching ``batch_rows`` wakes the writer without waiting for the flush interval."""
    pipe = IngestPipeline(
        data.store,
        SimulatedClock(NOW),
        flush_interval_s=NEVER,
        batch_rows=5,
        max_pending_rows=5,
    )
    try:
        ticket = pipe.submit(batch("my.app.bp", [str(i) for i in range(5)]), client="self")
        assert pipe.wait_room(timeout=LIMIT)
        assert pipe.wait_committed(ticket, timeout=LIMIT)
        assert pipe.has_room()
    finally:
        pipe.close()
    assert rows(data.store, 'SELECT count(*) FROM "my.app.bp"') == [(5,)]


def test_back_pressure_wait_committed_forces_a_flush_that_frees_room(data: DataDir) -> None:
    pipe = IngestPipeline(
        data.store,
        SimulatedClock(NOW),
        flush_interval_s=NEVER,
        batch_rows=10**9,
        max_pending_rows=10,
    )
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(pipe.wait_room(timeout=LIMIT)))
    try:
        ticket = pipe.submit(batch("my.app.bp", [str(i) for i in range(10)]), client="self")
        assert not pipe.has_room()
        waiter.start()
        # The flush interval is an hour: any answer within LIMIT is a forced flush.
        assert pipe.wait_committed(ticket, timeout=LIMIT)
        waiter.join(timeout=LIMIT)
        assert result == [True]
        assert pipe.has_room()
    finally:
        pipe.close()  # frees the waiter whatever happened
        if waiter.ident is not None:
            waiter.join(timeout=LIMIT)


def test_wait_committed_does_not_sit_out_the_flush_interval(data: DataDir) -> None:
    pipe = IngestPipeline(data.store, SimulatedClock(NOW), flush_interval_s=NEVER)
    try:
        ticket = pipe.submit(batch("my.app.slow", ["x"]), client="self")
        # Within LIMIT, far below the hour-long interval, on however loaded a machine.
        assert pipe.wait_committed(ticket, timeout=LIMIT)
    finally:
        pipe.close()


# -- closing ---------------------------------------------------------------------------------------


def test_close_flushes_everything_still_buffered(
    tmp_path: Path, clock: SimulatedClock, store_spec: str
) -> None:
    data = open_data_dir(tmp_path, clock, store=store_spec)
    pipe = IngestPipeline(data.store, clock, flush_interval_s=NEVER, batch_rows=10**9)
    pipe.submit(batch("my.app.closing", ["a", "b", "c"]), client="self")
    pipe.submit(batch("my.app.closing", ["d"], eventdates=[NOW - 1000]), client="other")
    pipe.submit(batch("demo.ecommerce.data", ["junk"]), client="self")
    assert pipe.stats().pending_rows == 5
    pipe.close()
    assert pipe.stats().pending_rows == 0
    data.close()

    reopened = open_data_dir(tmp_path, clock, store=store_spec)
    try:
        assert rows(reopened.store, 'SELECT count(*) FROM "my.app.closing"') == [(4,)]
        assert rows(
            reopened.store,
            'SELECT client, count(*) FROM "my.app.closing" GROUP BY client ORDER BY client',
        ) == [("other", 1), ("self", 3)]
        assert rows(reopened.store, 'SELECT message FROM "demo.ecommerce.data.unparsed"') == [
            ("junk",)
        ]
    finally:
        reopened.close()


def test_submit_after_close_is_refused(data: DataDir, clock: SimulatedClock) -> None:
    from linqd.errors import LinqdError

    pipe = IngestPipeline(data.store, clock, flush_interval_s=FAST)
    pipe.close()
    with pytest.raises(LinqdError, match="shutting down"):
        pipe.submit(batch("my.app.late", ["x"]), client="self")
    assert pipe.wait_room(timeout=0)  # a stopping pipeline never blocks a source


# -- counters ------------------------------------------------------------------------------------


def test_stats_count_received_stored_unparsed_and_rejected(pipeline: IngestPipeline) -> None:
    pipeline.submit(
        batch("my.app.count", ["a", "b", "c"], rejected=[("bad header", "xx")]),
        client="self",
        raw_bytes=100,
    )
    pipeline.submit(
        batch("demo.ecommerce.data", ['{"method": "GET"}', "nope"]),
        client="self",
        raw_bytes=7,
    )
    ticket = pipeline.submit(
        batch("my.app.count", [], rejected=[("invalid tag", "y"), ("bad timestamp", "z")]),
        client="self",
    )
    pipeline.reject("framing", "zz")
    commit(pipeline, ticket)

    stats = pipeline.stats()
    assert stats.rejected_total == 4
    assert stats.pending_rows == 0
    plain = stats.tables["my.app.count"]
    assert (plain.received, plain.stored, plain.unparsed, plain.bytes) == (3, 3, 0, 100)
    ecom = stats.tables["demo.ecommerce.data"]
    assert (ecom.received, ecom.stored, ecom.unparsed, ecom.bytes) == (2, 1, 1, 7)
    assert set(stats.tables) == {"my.app.count", "demo.ecommerce.data"}


def test_stats_are_snapshots(pipeline: IngestPipeline) -> None:
    commit(pipeline, pipeline.submit(batch("my.app.snap", ["a"]), client="self"))
    before = pipeline.stats()
    commit(pipeline, pipeline.submit(batch("my.app.snap", ["b"]), client="self"))
    assert before.tables["my.app.snap"].received == 1
    assert pipeline.stats().tables["my.app.snap"].received == 2


def test_stats_count_parse_rejections_from_syslog(pipeline: IngestPipeline) -> None:
    parsed = parse_messages(
        [b"<14>Jan  1 00:00:00 h my.app.sys: ok", b"no header here", b"<14>Jan  1 00:00:00 h -: x"],
        now_ms=NOW,
    )
    assert len(parsed.rejected) == 2
    commit(pipeline, pipeline.submit(parsed, client="self"))
    stats = pipeline.stats()
    assert stats.rejected_total == 2
    assert stats.tables["my.app.sys"].stored == 1
