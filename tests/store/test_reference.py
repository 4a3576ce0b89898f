"""Reference data behind the store seam (``linqd.reference``): loaded by the first query that
reads it, once per process, replaced at the next process's first use, invisible to LINQ and
impossible to create by ingestion, on every engine."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlglot import exp

from linqd.errors import StoreError
from linqd.linq.types import STR
from linqd.reference import (
    References,
    ReferenceSource,
    is_reference_table,
    reference_table,
    referenced,
    trie_name,
)
from linqd.store.base import EventStore
from linqd.store.catalog import Column, TableSchema

from .conftest import Opener


class Source:
    """A reference source that counts its loads and serves the rows it is given."""

    def __init__(self, rows: dict[str, list[object]], schema: pa.Schema) -> None:
        self.rows = rows
        self.schema = schema
        self.loads = 0

    def load(self) -> pa.Table:
        self.loads += 1
        return pa.table(self.rows, schema=self.schema)


SCHEMA = pa.schema(
    [
        pa.field("start", pa.uint32(), nullable=False),
        pa.field("stop", pa.uint32(), nullable=False),
        pa.field("code", pa.string()),
    ]
)


def ranges(store: EventStore, name: str = "ranges") -> list[tuple[object, ...]]:
    table = reference_table(name)
    query = (
        exp.select(exp.column("start"), exp.column("stop"), exp.column("code"))
        .from_(table)
        .order_by(exp.column("start"))
    )
    return store.fetch(query)


def source_of(rows: dict[str, list[object]]) -> tuple[Source, References]:
    source = Source(rows, SCHEMA)
    return source, References([ReferenceSource("ranges", source.load, "the test ranges")])


def test_a_reference_is_loaded_by_its_first_query_and_only_once(opener: Opener) -> None:
    source, references = source_of({"start": [10, 20], "stop": [19, 29], "code": ["a", None]})
    store = opener(references=references)
    assert source.loads == 0
    assert ranges(store) == [(10, 19, "a"), (20, 29, None)]
    assert list(store.stream(exp.select("code").from_(reference_table("ranges"))))
    store.prepare(exp.select("code").from_(reference_table("ranges")))
    assert source.loads == 1


def test_the_next_process_replaces_what_the_last_one_loaded(opener: Opener) -> None:
    _, first = source_of({"start": [1], "stop": [2], "code": ["old"]})
    store = opener(references=first)
    assert ranges(store) == [(1, 2, "old")]
    store.close()
    _, second = source_of({"start": [5], "stop": [6], "code": ["new"]})
    reopened = opener(references=second)
    assert ranges(reopened) == [(5, 6, "new")]
    # Reference tables are not LINQ tables, after a reopen either.
    assert not any(is_reference_table(t.name) for t in reopened.tables())
    assert reopened.schema("ref$ranges") is None


def test_an_unknown_reference_or_an_unreadable_source_is_a_store_error(opener: Opener) -> None:
    def broken() -> pa.Table:
        raise OSError("no such file: GeoLite2-Country.mmdb")

    store = opener(references=References([ReferenceSource("broken", broken, "the geo data")]))
    with pytest.raises(StoreError, match="No reference data `missing`"):
        ranges(store, "missing")
    with pytest.raises(StoreError, match="Reading the geo data failed: no such file"):
        store.fetch(exp.select("code").from_(reference_table("broken")))


def test_ingestion_cannot_create_a_table_of_a_reference_name(opener: Opener) -> None:
    store = opener(references=References())
    assert store.refusal("ref$ranges") is not None
    with pytest.raises(StoreError):
        store.ensure_table(TableSchema("ref$ranges", (Column("code", STR),)))


def test_referenced_names_each_reference_once() -> None:
    query = exp.select("*").from_(reference_table("a")).join(reference_table("b"))
    query = query.where(exp.column("x").isin(exp.select("y").from_(reference_table("a"))))
    assert referenced(query) == ["a", "b"]
    # A table of another database is never a reference, whatever its name.
    assert referenced(exp.select("*").from_(exp.table_("ref$a", db="other"))) == []


TRIE_SCHEMA = pa.schema(
    [
        pa.field("network", pa.string(), nullable=False),
        pa.field("code", pa.string()),
        pa.field("size", pa.int32()),
        pa.field("share", pa.float64()),
    ]
)


def test_a_reference_with_a_network_column_is_also_an_ip_trie_on_clickhouse(
    opener: Opener,
) -> None:
    rows = {
        "network": ["10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/24"],
        "code": ["ten", "ten-one", None],
        "size": [8, None, 24],
        "share": [None, 0.5, 1.5],
    }
    source = Source(rows, TRIE_SCHEMA)
    store = opener(references=References([ReferenceSource("nets", source.load, "the nets")]))
    if opener.kind == "duckdb":
        # No IP-trie structure there: the table is read like any other.
        query = exp.select("code").from_(reference_table("nets")).order_by("network")
        assert store.fetch(query) == [("ten",), ("ten-one",), (None,)]
        return
    name = exp.Literal.string(trie_name("nets"))

    def lookup(address: str) -> tuple[object, ...]:
        key = exp.Anonymous(this="toIPv4", expressions=[exp.Literal.string(address)])
        facts = [
            exp.Anonymous(this="dictGet", expressions=[name, exp.Literal.string(f), key])
            for f in ("code", "size", "share")
        ]
        [row] = store.fetch(exp.select(*facts))
        return tuple(row)

    # The longest prefix wins; a null fact reads as '', 0 or nan, as does an address outside.
    assert lookup("10.1.2.3") == ("ten-one", 0, 0.5)
    assert lookup("10.2.0.1") == ("ten", 8, pytest.approx(float("nan"), nan_ok=True))
    assert lookup("192.168.0.9") == ("", 24, 1.5)
    assert lookup("8.8.8.8") == ("", 0, pytest.approx(float("nan"), nan_ok=True))
    assert source.loads == 1


def test_referenced_finds_an_ip_trie_named_in_a_dictionary_function() -> None:
    key = exp.column("ip")
    lookup = exp.Anonymous(
        this="dictGet",
        expressions=[exp.Literal.string(trie_name("geo")), exp.Literal.string("c"), key],
    )
    assert referenced(exp.select(lookup).from_("events")) == ["geo"]
    # The same text anywhere else is a string, not a reference.
    text = exp.Literal.string(trie_name("geo"))
    assert referenced(exp.select(exp.Anonymous(this="lower", expressions=[text]))) == []
    assert referenced(exp.select(text)) == []
