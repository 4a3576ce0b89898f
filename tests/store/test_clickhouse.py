"""What the ClickHouse store adds to the shared store cases: deduplicated inserts, the committed
watermark, cancel, errors at the seam, the password kept out of texts and logs, lookups swapped
whole, retention as a TTL, the DDL pinned by golden files, and the store spec."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pytest
import sqlglot

from linqd.clock import SimulatedClock
from linqd.errors import LinqdError, QueryFailed, QueryLimitError, StoreError, ValidationError
from linqd.meta import MetaStore
from linqd.store import catalog
from linqd.store import clickhouse_ddl as ddl
from linqd.store.base import LookupWrite
from linqd.store.clickhouse import ClickHouseStore
from linqd.store.clickhouse_backend import Backend, EngineFailure
from linqd.store.open import PASSWORD_VARIABLE, open_store, server_address

from .conftest import FRONT_PASSWORD, NOW, Opener, opening

ECOM = "demo.ecommerce.data"
GOLDEN = Path(__file__).parent / "golden"
CAP = "Exceeded limits while computing data for subproblem: max value for size is 32000"


@pytest.fixture(params=["chdb", "http"])
def ch_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    with opening(request.param, tmp_path) as opener:
        yield opener


@pytest.fixture
def ch(ch_opener: Opener) -> Iterator[ClickHouseStore]:
    store = ch_opener()
    assert isinstance(store, ClickHouseStore)
    yield store
    store.close()


def q(store: ClickHouseStore, sql: str) -> list[tuple[Any, ...]]:
    return store.fetch(sqlglot.parse_one(sql, read="clickhouse"))


# -- deduplication ---------------------------------------------------------------------------------


def test_a_retried_batch_is_stored_once(ch: ClickHouseStore) -> None:
    result = ch.append(ECOM, {"uri": ["/a", "/b"]}, client="self")
    batch = ch.read_after(ECOM, 0)
    batch = batch.cast(
        pa.schema(
            [
                f.with_type(pa.timestamp("ms", tz="UTC")) if f.name == "eventdate" else f
                for f in batch.schema
            ]
        )
    )
    # The same batch again under the same token (writer, first, last): a retry, stored once.
    ch._insert(ECOM, batch, result.first_seq, result.last_seq)
    assert q(ch, f'SELECT count() FROM "{ECOM}"') == [(2,)]
    # Another range is another batch.
    ch._insert(ECOM, batch, 100, 101)
    assert q(ch, f'SELECT count() FROM "{ECOM}"') == [(4,)]


def test_the_token_names_the_writer_and_the_range(ch_opener: Opener, ch: ClickHouseStore) -> None:
    seen: list[str] = []
    backend = ch._backend
    original = backend.insert

    def spy(table: str, data: pa.Table, settings: Any) -> None:
        seen.append(str(settings["insert_deduplication_token"]))
        original(table, data, settings)

    backend.insert = spy  # type: ignore[method-assign]
    ch.append(ECOM, {"uri": ["/a", "/b", "/c"]}, client="self")
    assert seen == [f"{ch.writer_id}:1-3"]
    # A stable id, kept in the data directory.
    assert ch.writer_id == (ch_opener.path / "linqd-writer-id").read_text().strip()


# -- the watermark ---------------------------------------------------------------------------------


class _HeldInsert:
    """Holds the insert of one table's batch until released."""

    def __init__(self, backend: Backend, table: str) -> None:
        self.backend = backend
        self.table = table
        self.entered = threading.Event()
        self.release = threading.Event()
        self.original = backend.insert

    def __call__(self, table: str, data: pa.Table, settings: Any) -> None:
        if table == self.table:
            self.entered.set()
            assert self.release.wait(30)
        self.original(table, data, settings)


def test_readers_never_pass_an_append_still_on_its_way(ch: ClickHouseStore) -> None:
    ch.append("my.app.fast", {"message": ["before"]}, client="self")
    ch.append("my.app.slow", {"message": ["created"]}, client="self")  # the table exists now
    held = _HeldInsert(ch._backend, "my.app.slow")
    ch._backend.insert = held  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def slow() -> None:
        try:
            ch.append("my.app.slow", {"message": ["s1", "s2"]}, client="self")
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        assert held.entered.wait(30)
        fast = ch.append("my.app.fast", {"message": ["after"]}, client="self")
        # The slow batch holds seqs 3-4, the fast one 5: 5 is stored, but a reader that saw
        # it and moved its cursor past 4 would skip the slow rows.
        assert fast.first_seq == 5
        assert ch.last_seq == 2
        assert ch.read_after("my.app.fast", 0).column("message").to_pylist() == ["before"]
        assert ch.seq_before("my.app.fast", NOW + 1) == 1
    finally:
        held.release.set()
        thread.join()
    assert not errors
    assert ch.last_seq == 5
    assert ch.read_after("my.app.fast", 0).column("message").to_pylist() == ["before", "after"]
    assert ch.read_after("my.app.slow", 0).column("_seq").to_pylist() == [2, 3, 4]


def test_a_failed_append_leaves_a_gap_the_watermark_passes(ch: ClickHouseStore) -> None:
    ch.append("my.app.t", {"message": ["a"]}, client="self")

    def broken(table: str, data: pa.Table, settings: Any) -> None:
        raise EngineFailure("Code: 999. DB::Exception: disk on fire. (KEEPER_EXCEPTION)")

    original = ch._backend.insert
    ch._backend.insert = broken  # type: ignore[method-assign]
    with pytest.raises(StoreError, match="disk on fire"):
        ch.append("my.app.t", {"message": ["b", "c"]}, client="self")
    ch._backend.insert = original  # type: ignore[method-assign]
    assert ch.last_seq == 3  # 2-3 never stored: nothing for a reader to wait for
    # Never reused: the range's token could meet a copy the server stored after all.
    assert ch.append("my.app.t", {"message": ["d"]}, client="self").first_seq == 4


# -- cancel ----------------------------------------------------------------------------------------


def _running(store: ClickHouseStore, marker: str) -> bool:
    found = q(
        store,
        f"SELECT count() FROM system.processes WHERE query LIKE '%{marker}%' "
        "AND query NOT LIKE '%system.processes%'",
    )
    return bool(found[0][0])


def test_cancel_stops_a_running_query(ch: ClickHouseStore) -> None:
    marker = "cancel_me_4711"
    query = sqlglot.parse_one(
        f"SELECT count() AS {marker} FROM system.numbers SETTINGS max_threads = 1",
        read="clickhouse",
    )
    cursor = ch.stream(query)
    outcome: list[BaseException | str] = []

    def read() -> None:
        try:
            list(cursor)
            outcome.append("ended")
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=read)
    thread.start()
    # Wait for the engine to list the query (a condition, not a guessed delay).
    for _ in range(3000):
        if _running(ch, marker):
            break
        threading.Event().wait(0.01)
    else:
        pytest.fail("the query never started")
    cursor.cancel()
    thread.join(30)
    assert not thread.is_alive(), "cancel did not stop the query"
    assert len(outcome) == 1
    assert isinstance(outcome[0], StoreError)
    assert not _running(ch, marker)


def test_a_query_cancelled_before_it_starts_never_runs(ch: ClickHouseStore) -> None:
    cursor = ch.stream(sqlglot.parse_one("SELECT 1", read="clickhouse"))
    cursor.cancel()
    cursor.cancel()  # idempotent
    with pytest.raises(StoreError, match="cancelled"):
        list(cursor)


# -- errors at the seam ----------------------------------------------------------------------------


def test_the_subquery_cap_is_a_query_limit_error_with_its_text(ch: ClickHouseStore) -> None:
    query = sqlglot.parse_one(f"SELECT throwIf(number = 0, '{CAP}') FROM numbers(1)")
    with pytest.raises(QueryLimitError) as info:
        ch.fetch(query)
    assert str(info.value) == CAP
    with pytest.raises(QueryLimitError) as info:
        list(ch.stream(query))
    assert str(info.value) == CAP


@pytest.mark.parametrize(
    "sql", ["SELECT * FROM no_such_table", "SELECT nosuchfunction(1)", "SELECT 'a' + 1"]
)
def test_engine_errors_are_store_errors(ch: ClickHouseStore, sql: str) -> None:
    query = sqlglot.parse_one(sql)
    for run in (lambda: ch.fetch(query), lambda: list(ch.stream(query))):
        with pytest.raises(LinqdError) as info:
            run()
        assert type(info.value) is QueryFailed
        assert str(info.value).startswith("Query failed: ")
        assert "DB::Exception" not in str(info.value)


# -- the password ----------------------------------------------------------------------------------


def test_the_password_is_in_no_error_and_no_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    meta = MetaStore(tmp_path / "meta.sqlite")
    with opening("http", tmp_path) as opener:
        spec = opener.spec
        with pytest.raises(StoreError) as info:
            open_store(
                spec, tmp_path, meta, SimulatedClock(NOW), environ={PASSWORD_VARIABLE: "wr0ng-pw"}
            )
        assert "wr0ng-pw" not in str(info.value)
        assert "Authentication failed" in str(info.value)
        store = opener(meta=meta)
        with pytest.raises(StoreError) as info:
            store.fetch(sqlglot.parse_one(f"SELECT '{FRONT_PASSWORD}' + 1"))
        assert FRONT_PASSWORD not in str(info.value)
        with pytest.raises(EngineFailure) as failed:
            store._backend.insert("no.such.table", pa.table({"a": [1]}), {})
        assert "no.such.table" in failed.value.text
        assert FRONT_PASSWORD not in failed.value.text
        store.close()
    with pytest.raises(ValidationError) as refused:
        open_store("clickhouse://u:hunter2@h/db", tmp_path, meta, SimulatedClock(NOW))
    assert "hunter2" not in str(refused.value)
    assert "wr0ng-pw" not in caplog.text
    assert FRONT_PASSWORD not in caplog.text
    meta.close()


# -- lookups ---------------------------------------------------------------------------------------


def test_lookups_are_swapped_whole_per_domain(ch: ClickHouseStore) -> None:
    name = "my.lookuplist.hosts"
    own = catalog.TableSchema(
        f"{name}#a", (catalog.Column("host", catalog.t.STR), catalog.Column("n", catalog.t.INT8))
    )
    full = LookupWrite(own, "a", full=True, key="host", rows=[("x", 1), ("y", 2)])
    ch.write_lookup(full)
    table = f'"{own.name}"'
    assert q(ch, f"SELECT host, n FROM {table} ORDER BY host") == [("x", 1), ("y", 2)]
    ch.write_lookup(
        LookupWrite(own, "a", full=False, key="host", delete=["x", "z"], rows=[("z", 3)])
    )
    assert q(ch, f"SELECT host, n FROM {table} ORDER BY host") == [("y", 2), ("z", 3)]
    wider = catalog.TableSchema(own.name, (*own.columns, catalog.Column("c", catalog.t.STR)))
    ch.write_lookup(LookupWrite(wider, "a", full=True, key="host", rows=[("w", 9, "c")]))
    assert q(ch, f"SELECT host, n, c FROM {table}") == [("w", 9, "c")]
    assert ch.schema(own.name) == wider
    assert ch.holds(own.name, "a")
    assert not [t for t in ch.tables() if t.name.endswith(ddl.STAGING_SUFFIX)]


# -- retention as a TTL ----------------------------------------------------------------------------


def _engine_full(store: ClickHouseStore, table: str) -> str:
    return str(q(store, f"SELECT engine_full FROM system.tables WHERE name = '{table}'")[0][0])


def test_retention_is_a_table_ttl_set_and_removed(ch_opener: Opener, tmp_path: Path) -> None:
    meta = MetaStore(tmp_path / "meta.sqlite")
    store = cast(ClickHouseStore, ch_opener(SimulatedClock(NOW), meta))
    try:
        assert "TTL" not in _engine_full(store, ECOM)
        meta.set_retention_days(ECOM, 7)
        meta.set_retention_days("my.app.later", 2)
        store.enforce_retention()
        assert "TTL eventdate + toIntervalDay(7)" in _engine_full(store, ECOM)
        assert "ttl_only_drop_parts = 1" in _engine_full(store, ECOM)
        store.append("my.app.later", {"message": ["m"]}, client="self")  # created with its TTL
        assert "TTL eventdate + toIntervalDay(2)" in _engine_full(store, "my.app.later")
        meta.set_retention_days(ECOM, None)
        store.enforce_retention()
        assert "TTL" not in _engine_full(store, ECOM)
        meta.set_retention_days(ECOM, 5)
        store.enforce_retention()
        store.close()
        store = cast(ClickHouseStore, ch_opener(SimulatedClock(NOW), meta))
        assert store._ttl[ECOM] == 5  # read back at open: no needless ALTER
    finally:
        store.close()
        meta.close()


# -- DDL goldens -----------------------------------------------------------------------------------


def _ddl_text(layout: ddl.Layout) -> str:
    statements: list[str] = []
    schemas = [*catalog.BUILTIN_TABLES, catalog.raw_schema("my.app.logs")]
    for schema in schemas:
        statements += [
            s.sql(dialect="clickhouse", pretty=True) for s in ddl.create_table(schema, layout)
        ]
    lookup = catalog.TableSchema("my.lookuplist.x#0123", (catalog.Column("k", catalog.t.STR),))
    statements += [ddl.sql(s) for s in ddl.create_table(lookup, layout)]
    statements += [ddl.sql(s) for s in ddl.create_table(lookup, layout, name=lookup.name + "#new")]
    statements += [
        ddl.sql(s) for s in ddl.create_table(catalog.raw_schema("a.b"), layout, retention_days=30)
    ]
    statements.append(ddl.command(ddl.ModifyTTL(ECOM, 30), layout))
    statements.append(ddl.command(ddl.ModifyTTL(ECOM, None), layout))
    statements.append(ddl.sql(ddl.delete_before(ECOM, NOW, layout)))
    statements.append(ddl.command(ddl.Exchange(lookup.name, lookup.name + "#new"), layout))
    statements += [ddl.sql(s) for s in ddl.drop_table(lookup.name + "#new", layout)]
    statements.append(
        ddl.command(
            ddl.InsertInto(ECOM, ["eventdate", "uri"], {"insert_deduplication_token": "w:1-2"}),
            layout,
        )
    )
    return ";\n\n".join(statements) + ";\n"


@pytest.mark.parametrize(("name", "cluster"), [("single", None), ("cluster", "logs")])
def test_the_ddl_matches_its_golden_text(name: str, cluster: str | None) -> None:
    """No cluster can run here: the ON CLUSTER DDL is pinned as text. Regenerate after a
    deliberate change with LINQD_REGENERATE_GOLDEN=1 and review the diff."""
    path = GOLDEN / f"clickhouse_{name}.sql"
    text = _ddl_text(ddl.Layout(cluster))
    if os.environ.get("LINQD_REGENERATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_the_single_node_golden_ddl_runs_on_chdb(ch: ClickHouseStore) -> None:
    for statement in (GOLDEN / "clickhouse_single.sql").read_text().split(";\n\n"):
        statement = statement.strip().rstrip(";")
        if statement.startswith("INSERT"):
            continue  # data follows an INSERT … SETTINGS in the request, not in the text
        ch._backend.command(statement)


# -- the store spec --------------------------------------------------------------------------------


def test_store_specs(tmp_path: Path) -> None:
    meta = MetaStore(tmp_path / "meta.sqlite")
    for spec in ("postgres://x", "chdb:", "clickhouse://", "http://u@h/db", "clickhouse://h/a/b"):
        with pytest.raises(ValidationError):
            open_store(spec, tmp_path, meta, SimulatedClock(NOW))
    address = server_address("clickhouse+https://linqd@ch.example:9443/logs")
    assert (address.host, address.port, address.username, address.database, address.secure) == (
        "ch.example",
        9443,
        "linqd",
        "logs",
        True,
    )
    plain = server_address("clickhouse://ch.example")
    assert (plain.port, plain.username, plain.database, plain.secure) == (
        8123,
        "default",
        "default",
        False,
    )
    assert server_address("clickhouse+https://h").port == 8443
    tls = server_address("https://linqd@ch.example/logs")  # the spelling of the issue
    assert (tls.port, tls.secure, tls.database) == (8443, True, "logs")
    meta.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/', 'LineAsString')",
        "SELECT * FROM remote('127.0.0.1:9', system.one)",
        "SELECT 1 UNION ALL SELECT * FROM file('/etc/passwd', 'LineAsString')",
    ],
)
def test_queries_reach_no_file_or_network(ch: ClickHouseStore, sql: str) -> None:
    """Defence in depth, as DuckDB runs without external access: whatever builds a query, it
    runs read-only, and ClickHouse refuses table functions then."""
    query = sqlglot.parse_one(sql, read="clickhouse")
    for run in (lambda: ch.fetch(query), lambda: list(ch.stream(query))):
        with pytest.raises(StoreError, match="readonly"):
            run()
