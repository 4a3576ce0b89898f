"""Tables with a fixed schema on DuckDB and on ClickHouse (chdb): my.app.*, test.keep.* and
test.drop.* answer before their first event (each engine renders its own empty stand-in), the
three test tables end to end from the ingestion pipeline to LINQ, ip6 and mac columns, prepared
statements that outlive a stand-in, and what a domain lists and reads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import TableRefused, UnknownTableError
from linqd.ingest.pipeline import IngestPipeline
from linqd.ingest.syslog import ParsedBatch
from linqd.linq import Bounds, compile_linq
from linqd.store import catalog
from linqd.store.base import EventStore

from .conftest import NOW, Opener

LIMIT = 10.0
BOUNDS = Bounds(NOW - 3_600_000, NOW + 3_600_000, "self")

# The code under test differs per engine (the stand-in's SQL, ip6/mac storage): DuckDB and
# ClickHouse in process; ClickHouse over HTTP runs the same SQL.
pytestmark = pytest.mark.parametrize("opener", ["duckdb", "chdb"], indirect=True)


@pytest.fixture
def store(opener: Opener) -> Iterator[EventStore]:
    store = opener(SimulatedClock(NOW))
    yield store
    store.close()


def run(store: EventStore, text: str, client: str = "self") -> tuple[list[str], list[Any]]:
    """(column names, rows) of a LINQ query as ``client`` sees the tables."""
    bounds = Bounds(BOUNDS.from_ms, BOUNDS.to_ms, client)
    compiled = compile_linq(
        text, store.schemas_for(client), now_ms=NOW, bounds=bounds, engine=store.engine
    )
    cursor = store.stream(compiled.expression)
    names = list(cursor.schema.names)
    found: list[Any] = []
    for batch in cursor:
        found += [tuple(row.values()) for row in batch.to_pylist()]
    return names, found


def ingest(store: EventStore, table: str, *messages: str, client: str = "self") -> None:
    pipeline = IngestPipeline(store, SimulatedClock(NOW), flush_interval_s=0.005)
    try:
        count = len(messages)
        batch = ParsedBatch([table] * count, ["vm"] * count, list(messages), [None] * count, [])
        assert pipeline.wait_committed(pipeline.submit(batch, client=client), LIMIT)
        stats = pipeline.stats().tables[table]
        assert stats.received == count and stats.rejected == 0
    finally:
        pipeline.close()


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("my.app.never.written", ["eventdate", "hostname", "message"]),
        ("test.keep.free", ["eventdate", "hostname", "message"]),
        ("test.drop.anything", ["eventdate", "hostname", "message"]),
        ("test.keep.types", ["eventdate", *(c.name for c in catalog.KEEP_TYPES.columns)]),
        ("siem.logtrust.web.activity", ["eventdate", "level", "domain"]),
    ],
)
def test_fixed_tables_answer_before_their_first_event(
    store: EventStore, table: str, columns: list[str]
) -> None:
    names, found = run(store, f"from {table}")
    assert names[: len(columns)] == columns and found == []
    # Filters, grouping and hidden columns compile over the stand-in as over a table.
    grouped = run(
        store, f"from {table} where isnotnull(eventdate) group every 1h select count() as n"
    )
    assert grouped == (["eventdate", "n"], [])
    assert store.schema(table) == catalog.builtin(table)  # nothing was created by reading


def test_other_tables_are_still_unknown(store: EventStore) -> None:
    for table in ("web.app.nothing", "my.apps.x", "test.kept.x", "my.app"):
        with pytest.raises(UnknownTableError, match=f"Unknown table `{table}`"):
            run(store, f"from {table}")


def test_the_three_test_tables_from_ingestion_to_linq(store: EventStore) -> None:
    typed = (
        'ip4=127.0.0.1 ip6=2001:db8::1 mac=00-1A-2B-3C-4D-5E str="hello world" int4=-7 '
        "int8=9000000000 float=2.5 bool=false timestamp=2024-03-14T10:00:00.250Z"
    )
    ingest(store, "test.keep.types", typed, "ip4=999.0.0.1 int4=x", "no pairs")
    ingest(store, "test.keep.free", "free text", "ip4=127.0.0.1")
    ingest(store, "test.drop.ltsender", "David Hasselhoff")

    names, found = run(
        store,
        "from test.keep.types select hostname, message, str, int4, int8, float, bool, ip4, "
        "ip6, mac, timestamp",
    )
    assert names[:2] == ["hostname", "message"]
    assert found == [
        (
            "vm",
            typed,
            "hello world",
            -7,
            9_000_000_000,
            2.5,
            False,
            2130706433,
            "2001:db8::1",
            "00:1a:2b:3c:4d:5e",
            found[0][-1],
        ),
        ("vm", "ip4=999.0.0.1 int4=x", *[None] * 9),
        ("vm", "no pairs", *[None] * 9),
    ]
    assert found[0][-1].isoformat() == "2024-03-14T10:00:00.250000"
    # The typed columns are the LINQ types: address functions and comparisons work on them.
    assert run(store, 'from test.keep.types where ip4 = ip4("127.0.0.1") select str')[1] == [
        ("hello world",)
    ]
    assert run(store, "from test.keep.free select message")[1] == [
        ("free text",),
        ("ip4=127.0.0.1",),
    ]
    assert run(store, "from test.drop.ltsender select message") == (["message"], [])
    assert store.schema("test.drop.ltsender") is None


def test_test_keep_types_keeps_its_schema_when_the_store_reopens(opener: Opener) -> None:
    store = opener(SimulatedClock(NOW))
    ingest(store, "test.keep.types", "ip6=::1 mac=00:00:00:00:00:01")
    store.close()
    again = opener(SimulatedClock(NOW))
    # The schema read back from the engine is the catalog's, so messages are still parsed.
    assert again.schema("test.keep.types") == catalog.KEEP_TYPES
    ingest(again, "test.keep.types", "ip6=::2")
    assert run(again, "from test.keep.types select ip6, mac")[1] == [
        ("::1", "00:00:00:00:00:01"),
        ("::2", None),
    ]


def test_a_dropped_table_is_never_created(store: EventStore) -> None:
    with pytest.raises(TableRefused, match="never stored"):
        store.append("test.drop.direct", {"message": ["x"]}, client="self")
    assert store.schema("test.drop.direct") is None


def test_a_statement_prepared_before_the_first_event_reads_the_events_after(
    store: EventStore,
) -> None:
    compiled = compile_linq(
        "from my.app.later select message",
        store.schemas_for("self"),
        now_ms=NOW,
        bounds=BOUNDS,
        engine=store.engine,
    )
    statement = store.prepare(compiled.expression)
    assert statement.stand_ins == frozenset({"my.app.later"})
    assert store.fetch(statement) == []
    store.append("my.app.later", {"message": ["first"]}, client="self")
    assert store.fetch(statement) == [("first",)]
    assert [b.num_rows for b in store.stream(statement)] == [1]


def test_what_a_domain_reads_and_lists(store: EventStore) -> None:
    store.append("my.app.mine", {"message": ["secret"]}, client="self")
    mine = store.schemas_for("self")
    theirs = store.schemas_for("other")
    # Readable by both, with the family's columns; rows stay with their domain.
    assert mine("my.app.mine") == theirs("my.app.mine") == catalog.raw_schema("my.app.mine")
    assert run(store, "from my.app.mine select message", "other")[1] == []
    assert run(store, "from my.app.mine select message")[1] == [("secret",)]
    # Listed (catalogue, all.data) only where written; dropped tables never.
    assert "my.app.mine" in mine.table_names()
    assert "my.app.mine" not in theirs.table_names()
    assert "siem.logtrust.web.activity" in theirs.table_names()
    assert not mine.listed("test.drop.x") and mine("test.drop.x") is not None


def test_a_family_table_stored_with_other_columns_stays_with_its_writers(
    store: EventStore,
) -> None:
    # As an older data directory may hold test.keep.types: raw, from before it was typed.
    store.ensure_table(catalog.raw_schema("test.keep.types"))
    store.append("test.keep.types", {"message": ["ip4=127.0.0.1"]}, client="self")
    assert store.schemas_for("self")("test.keep.types") == catalog.raw_schema("test.keep.types")
    assert store.schemas_for("other")("test.keep.types") is None
