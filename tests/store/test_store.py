"""The event store on every engine (DuckDB, ClickHouse in process, ClickHouse over HTTP):
columnar appends, the store-wide sequence, cursors, raw tables, reopening, retention, concurrent
readers, and the tag → table rule. Cases marked DuckDB-only test DuckDB itself."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import sqlglot

from linqd.clock import SimulatedClock
from linqd.errors import QueryFailed, StoreError, ValidationError
from linqd.meta import MetaStore
from linqd.store import catalog
from linqd.store.base import DAY_MS, EventStore
from linqd.store.duckdb import DuckDBStore, quote

from .conftest import NOW, Opener

ECOM = "demo.ecommerce.data"
BUILTINS = (
    "demo.ecommerce.data",
    "linqd.ingest.rejected",
    "siem.logtrust.alert.info",
    "siem.logtrust.collector.counter",
    "siem.logtrust.web.activity",
    "siem.logtrust.web.connection",
    "siem.logtrust.web.navigation",
)


def rows(store: EventStore, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` (written for DuckDB, which sqlglot carries to the store's engine) through the
    store's own ``fetch``."""
    return store.fetch(sqlglot.parse_one(sql, read="duckdb"))


def duck_rows(store: EventStore, sql: str, params: list[Any] | None = None) -> list[Any]:
    assert isinstance(store, DuckDBStore)
    return store.reader().execute(sql, params or []).fetchall()


def ms(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1)) // dt.timedelta(milliseconds=1)


# Cases that test DuckDB itself run on the DuckDB store alone (no parameter for the others).
duckdb_only = pytest.mark.parametrize("opener", ["duckdb"], indirect=True)


# -- fresh store -----------------------------------------------------------------------------------


def test_builtin_tables_exist_empty_on_a_fresh_store(store: EventStore) -> None:
    names = [t.name for t in store.tables()]
    assert names == sorted(BUILTINS)
    for name in BUILTINS:
        schema = store.schema(name)
        assert schema is not None
        assert schema.builtin
        assert schema == catalog.builtin(name)
        assert rows(store, f"SELECT count(*) FROM {quote(name)}") == [(0,)]
    assert store.last_seq == 0
    assert store.schema("my.app.test") is None


@duckdb_only
def test_builtin_table_columns_in_duckdb(opener: Opener, store: EventStore) -> None:
    columns = duck_rows(
        store,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = ? ORDER BY ordinal_position",
        [ECOM],
    )
    assert columns[:3] == [("eventdate", "TIMESTAMP"), ("client", "VARCHAR"), ("_seq", "BIGINT")]
    assert ("clientIpAddress", "UINTEGER") in columns
    assert ("statusCode", "BIGINT") in columns
    schema = store.schema(ECOM)
    assert schema is not None
    assert [c for c, _ in columns[3:]] == list(schema.column_names)


# -- appends -------------------------------------------------------------------------------------


def test_append_is_columnar_and_stamped_with_the_clock(
    store: EventStore, clock: SimulatedClock
) -> None:
    result = store.append(
        ECOM, {"method": ["GET", "POST", None], "statusCode": [200, 404, 500]}, client="self"
    )
    assert (result.table, result.count, result.first_seq, result.last_seq) == (ECOM, 3, 1, 3)
    clock.advance(5_000)
    store.append(ECOM, {"method": pa.array(["PUT"]), "statusCode": pa.array([201])}, client="other")
    got = rows(
        store,
        f"SELECT eventdate, client, _seq, method, statusCode, uri FROM {quote(ECOM)} ORDER BY _seq",
    )
    assert [(ms(r[0]), *r[1:]) for r in got] == [
        (NOW, "self", 1, "GET", 200, None),
        (NOW, "self", 2, "POST", 404, None),
        (NOW, "self", 3, None, 500, None),
        (NOW + 5_000, "other", 4, "PUT", 201, None),
    ]


def test_append_with_explicit_eventdates(store: EventStore) -> None:
    stamps = [NOW - 10, NOW - 20_000, NOW + 3]
    store.append(ECOM, {"uri": ["/a", "/b", "/c"]}, client="self", eventdates=stamps)
    got = rows(store, f"SELECT eventdate, uri FROM {quote(ECOM)} ORDER BY _seq")
    assert [(ms(d), u) for d, u in got] == [(NOW - 10, "/a"), (NOW - 20_000, "/b"), (NOW + 3, "/c")]


def test_ip4_column_is_stored_as_an_unsigned_int(store: EventStore) -> None:
    store.append(ECOM, {"clientIpAddress": [4_294_967_295, 167_772_161]}, client="self")
    assert store.read_after(ECOM, 0).schema.field("clientIpAddress").type == pa.uint32()
    assert rows(store, f"SELECT clientIpAddress FROM {quote(ECOM)} ORDER BY _seq") == [
        (4_294_967_295,),
        (167_772_161,),
    ]


def test_seq_increases_across_tables(store: EventStore) -> None:
    a = store.append(ECOM, {"uri": ["/1", "/2"]}, client="self")
    b = store.append("siem.logtrust.web.activity", {"username": ["u"]}, client="self")
    c = store.append("my.app.test", {"message": ["m1", "m2", "m3"]}, client="self")
    d = store.append(ECOM, {"uri": ["/3"]}, client="self")
    assert [(r.first_seq, r.last_seq) for r in (a, b, c, d)] == [(1, 2), (3, 3), (4, 6), (7, 7)]
    assert store.last_seq == 7
    assert rows(store, f"SELECT _seq FROM {quote(ECOM)} ORDER BY _seq") == [(1,), (2,), (7,)]


def test_bad_appends_are_store_errors_and_leave_no_rows(store: EventStore) -> None:
    with pytest.raises(StoreError, match="no column"):
        store.append(ECOM, {"nosuch": [1]}, client="self")
    with pytest.raises(StoreError):
        store.append(ECOM, {"statusCode": ["not a number"]}, client="self")
    with pytest.raises(StoreError, match="different lengths"):
        store.append(ECOM, {"uri": ["/a", "/b"], "method": ["GET"]}, client="self")
    assert rows(store, f"SELECT count(*) FROM {quote(ECOM)}") == [(0,)]
    assert store.append(ECOM, {"uri": ["/ok"]}, client="self").first_seq == 1


def test_listeners_hear_every_append(store: EventStore) -> None:
    heard: list[tuple[str, int, int]] = []
    store.subscribe(lambda r: heard.append((r.table, r.first_seq, r.last_seq)))
    store.append(ECOM, {"uri": ["/a", "/b"]}, client="self")
    store.append("my.app.test", {"message": ["x"]}, client="self")
    assert heard == [(ECOM, 1, 2), ("my.app.test", 3, 3)]


# -- raw tables ----------------------------------------------------------------------------------


def test_raw_table_is_created_at_its_first_event(store: EventStore) -> None:
    assert store.schema("my.app.web.logs") is None
    store.append(
        "my.app.web.logs", {"hostname": ["web-1"], "message": ["GET / 200"]}, client="self"
    )
    schema = store.schema("my.app.web.logs")
    assert schema == catalog.raw_schema("my.app.web.logs")
    assert not schema.builtin
    assert schema.column_names == ("hostname", "message")
    assert [c.name for c in schema.all_columns()] == ["eventdate", "hostname", "message"]
    columns = store.read_after("my.app.web.logs", 0).column_names
    assert columns == ["eventdate", "client", "_seq", "hostname", "message"]
    got = rows(store, 'SELECT eventdate, hostname, message FROM "my.app.web.logs"')
    assert [(ms(d), h, m) for d, h, m in got] == [(NOW, "web-1", "GET / 200")]
    assert "my.app.web.logs" in [t.name for t in store.tables()]


# -- cursors -------------------------------------------------------------------------------------


def test_read_after_returns_the_rows_after_a_cursor_in_order(store: EventStore) -> None:
    store.append(ECOM, {"uri": ["/1", "/2"]}, client="self")
    store.append("my.app.test", {"message": ["x"]}, client="self")
    store.append(ECOM, {"uri": ["/3", "/4"]}, client="other", eventdates=[NOW - 5, NOW - 9])
    store.append(ECOM, {"uri": ["/5"]}, client="self")

    def uris(cursor: int, **kw: Any) -> list[tuple[int, str]]:
        table = store.read_after(ECOM, cursor, **kw)
        return list(
            zip(table.column("_seq").to_pylist(), table.column("uri").to_pylist(), strict=True)
        )

    assert uris(0) == [(1, "/1"), (2, "/2"), (4, "/3"), (5, "/4"), (6, "/5")]
    assert uris(2) == [(4, "/3"), (5, "/4"), (6, "/5")]
    assert uris(3) == [(4, "/3"), (5, "/4"), (6, "/5")]
    assert uris(6) == []
    assert uris(0, limit=2) == [(1, "/1"), (2, "/2")]
    assert uris(1, client="self") == [(2, "/2"), (6, "/5")]
    table = store.read_after(ECOM, 0)
    assert {"eventdate", "client", "_seq", "uri"} <= set(table.column_names)
    with pytest.raises(StoreError, match="Unknown table"):
        store.read_after("no.such.table", 0)


# -- reopening -----------------------------------------------------------------------------------


def test_reopening_keeps_rows_tables_and_the_sequence(opener: Opener) -> None:
    first = opener()
    first.append(ECOM, {"uri": ["/a", "/b"]}, client="self")
    first.append("my.app.test", {"message": ["m"], "hostname": ["h"]}, client="self")
    first.close()

    second = opener()
    try:
        assert second.last_seq == 3
        assert second.schema("my.app.test") == catalog.raw_schema("my.app.test")
        assert second.schema(ECOM) == catalog.builtin(ECOM)
        assert rows(second, f"SELECT _seq, uri FROM {quote(ECOM)} ORDER BY _seq") == [
            (1, "/a"),
            (2, "/b"),
        ]
        result = second.append("my.app.test", {"message": ["n"]}, client="self")
        assert (result.first_seq, result.last_seq) == (4, 4)
        assert rows(second, 'SELECT _seq, message FROM "my.app.test" ORDER BY _seq') == [
            (3, "m"),
            (4, "n"),
        ]
    finally:
        second.close()


# -- retention -----------------------------------------------------------------------------------


def recent_ms() -> int:
    """A `now` near the real time, to the second. ClickHouse applies a retention TTL by its own
    clock, so rows dated years back (NOW) would vanish under a table with a TTL while the test
    looks; what the test checks does not depend on the time it runs at."""
    return time.time_ns() // 1_000_000_000 * 1000


def test_retention_deletes_only_rows_older_than_n_days(opener: Opener, tmp_path: Path) -> None:
    meta = MetaStore(tmp_path / "meta.sqlite")
    store = opener(SimulatedClock(NOW), meta)
    try:
        at = recent_ms() + 123_456  # the `now` passed in, not the clock's
        cutoff = at - 3 * DAY_MS
        stamps = [cutoff - DAY_MS, cutoff - 1, cutoff, cutoff + 1, at]
        store.append(
            ECOM,
            {"uri": ["old", "just-old", "edge", "new", "now"]},
            client="self",
            eventdates=stamps,
        )
        store.append("my.app.test", {"message": ["old"]}, client="self", eventdates=[cutoff - 1])
        assert store.enforce_retention(at) == {}  # no retention set: nothing happens
        meta.set_retention_days(ECOM, 3)
        assert store.enforce_retention(at) == {ECOM: 2}
        assert rows(store, f"SELECT uri FROM {quote(ECOM)} ORDER BY _seq") == [
            ("edge",),
            ("new",),
            ("now",),
        ]
        assert rows(store, 'SELECT count(*) FROM "my.app.test"') == [(1,)]
        assert store.enforce_retention(at) == {ECOM: 0}
        meta.set_retention_days(ECOM, None)
        assert store.enforce_retention(at + 10 * DAY_MS) == {}
        assert rows(store, f"SELECT count(*) FROM {quote(ECOM)}") == [(3,)]
    finally:
        store.close()
        meta.close()


def test_retention_uses_the_clock_when_no_now_is_given(opener: Opener, tmp_path: Path) -> None:
    clock = SimulatedClock(NOW)
    meta = MetaStore(tmp_path / "meta.sqlite")
    store = opener(clock, meta)
    try:
        store.append(ECOM, {"uri": ["a"]}, client="self", eventdates=[NOW - DAY_MS - 1])
        meta.set_retention_days(ECOM, 1)
        assert store.enforce_retention() == {ECOM: 1}
    finally:
        store.close()
        meta.close()


# -- concurrency ---------------------------------------------------------------------------------


def test_concurrent_readers_see_consistent_prefixes(store: EventStore) -> None:
    table = "my.app.concurrent"
    batches, batch_size, readers, reads = 40, 25, 4, 40
    store.append(table, {"message": ["seed"]}, client="self")
    first_seq = store.last_seq
    start = threading.Barrier(readers + 1)
    errors: list[BaseException] = []
    seen: list[list[int]] = [[] for _ in range(readers)]

    def write() -> None:
        try:
            start.wait()
            for b in range(batches):
                store.append(
                    table, {"message": [f"b{b}-{i}" for i in range(batch_size)]}, client="self"
                )
        except BaseException as error:
            errors.append(error)

    def read(k: int) -> None:
        try:
            start.wait()
            for _ in range(reads):
                ((count, low, high, distinct),) = rows(
                    store,
                    "SELECT count(*), min(_seq), max(_seq), count(DISTINCT _seq) "
                    f"FROM {quote(table)}",
                )
                # A prefix of whole batches: no gaps, no half batch.
                assert low == first_seq
                assert count == distinct == high - low + 1
                assert (count - 1) % batch_size == 0
                seen[k].append(count)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write)]
    threads += [threading.Thread(target=read, args=(k,)) for k in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for counts in seen:
        assert len(counts) == reads
        assert counts == sorted(counts)  # a reader never goes back in time
    total = rows(store, f"SELECT count(*) FROM {quote(table)}")
    assert total == [(1 + batches * batch_size,)]


# -- tags and table names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "table"),
    [
        ("web.apache.access-lt", "web.apache.accessLt"),
        ("web.iis.access-w3c-all", "web.iis.accessW3cAll"),
        ("my.app", "my.app"),
        ("my.app.test.xyz", "my.app.test.xyz"),
        ("a.b.c.d.e.f", "a.b.c.d.e.f"),
        ("firewall.fortinet.traffic", "firewall.fortinet.traffic"),
        ("my.app.development@talion.x", "my.app.development@talion.x"),
        ("my.app.a--b", "my.app.aB"),
        ("my.app.x_1", "my.app.x_1"),
        ("test.keep.types", "test.keep.types"),
    ],
)
def test_table_name_for_tag(tag: str, table: str) -> None:
    assert catalog.table_name_for_tag(tag) == table


@pytest.mark.parametrize(
    "tag",
    ["", "single", "a.b.c.d.e.f.g", "a..b", ".a.b", "a.b.", "a.-b", "a.b c", "a.b/c", "a.b.`c`"],
)
def test_invalid_tags_raise(tag: str) -> None:
    with pytest.raises(ValidationError) as info:
        catalog.table_name_for_tag(tag)
    assert info.value.field == "tag"


# -- known bugs ----------------------------------------------------------------------------------


def test_table_names_differing_only_in_case_are_refused(opener: Opener) -> None:
    # DuckDB folds identifier case: a second table differing only in case would share storage.
    # ClickHouse would keep them apart, and refuses them alike (one catalog on every engine).
    store = opener()
    try:
        store.append("my.app.test", {"message": ["lower"]}, client="self")
        with pytest.raises(StoreError, match="only in case"):
            store.append("my.app.Test", {"message": ["upper"]}, client="self")
        assert rows(store, 'SELECT message FROM "my.app.test"') == [("lower",)]
    finally:
        store.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT 1) TO '/tmp/linqd-must-not-exist.csv'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET autoload_known_extensions = true",
    ],
)
@duckdb_only
def test_the_engine_reaches_no_file_network_or_extension(
    opener: Opener, store: EventStore, sql: str
) -> None:
    """Defence in depth: no statement, whatever builds it, reads files, loads code or changes
    those settings. DuckDB-only: DuckDB's configuration lock."""
    with pytest.raises(duckdb.Error):
        duck_rows(store, sql)
    assert not Path("/tmp/linqd-must-not-exist.csv").exists()


def test_the_listeners_failure_does_not_fail_the_append(store: EventStore) -> None:
    def broken(result: object) -> None:
        raise RuntimeError("follower bug")

    store.subscribe(broken)
    result = store.append("my.app.listened", {"message": ["kept"]}, client="c")
    assert result.count == 1
    assert store.read_after("my.app.listened", 0).num_rows == 1


def test_a_query_the_engine_refuses_is_the_same_error_on_every_store(store: EventStore) -> None:
    # Clients see the error's code: it must not depend on the engine behind it.
    query = sqlglot.parse_one("SELECT nosuchfunction(1)")
    for run in (lambda: store.fetch(query), lambda: list(store.stream(query))):
        with pytest.raises(QueryFailed) as info:
            run()
        assert info.value.code == "linqd.error"
        assert str(info.value).startswith("Query failed: ")


def test_a_stream_abandoned_midway_stops_at_once(store: EventStore) -> None:
    # A reader that stops early (a LINQ limit reached, a client gone) closes its stream on its
    # own thread: that must not wait for the query, nor for itself.
    store.append("my.app.test", {"message": ["a", "b", "c"]}, client="self")
    query = sqlglot.parse_one('SELECT message FROM "my.app.test"')
    done = threading.Event()

    def read_one() -> None:
        batches = iter(store.stream(query, batch_rows=1))
        next(batches)
        batches.close()  # type: ignore[attr-defined]
        done.set()

    reader = threading.Thread(target=read_one, daemon=True)
    reader.start()
    assert done.wait(10.0), "closing an abandoned stream hangs"
    assert store.fetch(query)  # and the store goes on
