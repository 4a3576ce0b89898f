"""Lookups over syslog applied to a real store: the captured devo-sdk traffic, FULL/INC/DELETE,
visibility at END only, rejected and orphaned uploads, bounds, and devo-sdk's field quoting."""

from __future__ import annotations

import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import anystore
from linqd.clock import SimulatedClock
from linqd.ingest.lookups import LookupAssembler, parse_headers, split_fields
from linqd.linq import types as t
from linqd.lookup_tables import lookup_storage
from linqd.meta import MetaStore
from linqd.store.base import EventStore
from linqd.store.catalog import Column, TableSchema
from linqd.store.open import open_store as store_open

NOW = 1_700_000_000_000
HEADERS = '[{"KEY":{"type":"str","key":true}},{"COLOR":{"type":"str"}},{"HEX":{"type":"str"}}]'
LK = "my.lookuplist.MY_LK"


@pytest.fixture
def open_store(store_spec: str) -> Callable[[Path, SimulatedClock], EventStore]:
    """Opens the store of a data directory; its metadata is closed with it by the GC."""

    def opening(path: Path, clock: SimulatedClock) -> EventStore:
        return store_open(store_spec, path, MetaStore(path / "meta.sqlite"), clock)

    return opening


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
def store(
    tmp_path: Path, clock: SimulatedClock, open_store: Callable[[Path, SimulatedClock], EventStore]
) -> Iterator[EventStore]:
    s = open_store(tmp_path, clock)
    yield s
    s.close()


@pytest.fixture
def lookups(store: EventStore, clock: SimulatedClock) -> LookupAssembler:
    return LookupAssembler(store, clock)


def rows(store: EventStore, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return anystore.rows(store, sql, params or [])


def stored(table: str = LK, client: str = "self") -> str:
    """The table that holds ``client``'s lookup (each domain's is its own)."""
    return lookup_storage(table, client)


def schema(store: EventStore, table: str = LK, client: str = "self") -> TableSchema | None:
    return store.schemas_for(client)(table)


def colors(store: EventStore, client: str = "self") -> list[tuple[Any, ...]]:
    return rows(
        store,
        f'SELECT KEY, COLOR, HEX FROM "{stored(LK, client)}" WHERE client = ? ORDER BY KEY',
        [client],
    )


def upload(
    lookups: LookupAssembler,
    data: list[str],
    *,
    action: str = "FULL",
    name: str = "MY_LK",
    lookup_id: str = "1795432246.521291",
    headers: str = HEADERS,
    client: str = "self",
    deletes: tuple[str, ...] = (),
    end: bool = True,
) -> None:
    """Feed one upload the way devo-sdk sends it; ``deletes`` go to the .DELETE data tag."""
    control = f"my.lookup.control.{name}.{action}"
    lookups.feed(control, f"{lookup_id}_{name}|START|{headers}", client=client)
    for fields in data:
        lookups.feed(f"my.lookup.data.{name}", f"{lookup_id}_{name}|{fields}", client=client)
    for fields in deletes:
        tag = f"my.lookup.data.{name}.DELETE"
        lookups.feed(tag, f"{lookup_id}_{name}|{fields}", client=client)
    if end:
        lookups.feed(control, f"{lookup_id}_{name}|END|{headers}", client=client)


# -- the captured traffic (spec/ingestion.md §6) ---------------------------------------------------


def test_captured_traffic_end_to_end(store: EventStore, lookups: LookupAssembler) -> None:
    lines = [
        ("my.lookup.control.MY_LK.INC", f"1795432246.521291_MY_LK|START|{HEADERS}"),
        ("my.lookup.data.MY_LK", '1795432246.521291_MY_LK|1,"Red","d62d20"'),
        ("my.lookup.data.MY_LK", '1795432246.521291_MY_LK|2,"Green",008744'),
        ("my.lookup.control.MY_LK.INC", f"1795432246.521291_MY_LK|END|{HEADERS}"),
    ]
    for table, message in lines:
        assert lookups.accepts(table)
        lookups.feed(table, message, client="self")
    assert colors(store) == [("1", "Red", "d62d20"), ("2", "Green", "008744")]
    got = rows(store, f'SELECT eventdate, client, _seq FROM "{stored()}" ORDER BY _seq')
    assert [(r[1], r[2]) for r in got] == [("self", 1), ("self", 2)]
    assert {int(r[0].timestamp() * 1000) for r in got} == {NOW}
    assert schema(store) is not None
    assert schema(store).columns == (  # type: ignore[union-attr]
        Column("KEY", t.STR),
        Column("COLOR", t.STR),
        Column("HEX", t.STR),
    )
    counters = lookups.counters()
    assert counters["uploads_applied"] == 1
    assert counters["rows_applied"] == 2
    assert counters["orphans"] == counters["rejected"] == counters["malformed"] == 0


def test_captured_delete_line_with_an_unescaped_quote(
    store: EventStore, lookups: LookupAssembler
) -> None:
    name = "TEST_LOOKUP"
    upload(lookups, ['10,"HEX10","a"', '11,"HEX12","z"'], name=name, lookup_id="1795432200.1")
    upload(
        lookups,
        ['12,"HEX13","x"y"'],
        action="INC",
        name=name,
        lookup_id="1795432215.6300807",
        deletes=('11,"HEX12","x"y"',),
    )
    table = stored("my.lookuplist.TEST_LOOKUP")
    got = rows(store, f'SELECT KEY, COLOR, HEX FROM "{table}" ORDER BY KEY')
    assert got == [("10", "HEX10", "a"), ("12", "HEX13", 'x"y')]


def test_sent_by_the_real_devo_sdk(
    tmp_path: Path, store: EventStore, lookups: LookupAssembler, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devo.sender import lookup as sdk

    # devo-sdk sleeps 5 s around START/END and names the upload after time.time().
    fake_time = types.SimpleNamespace(time=lambda: 1795432246.521291, sleep=lambda _s: None)
    monkeypatch.setattr(sdk, "time", fake_time)

    class Connection:
        tag = ""

        def send(self, tag: str, msg: str) -> int:
            lookups.feed(tag, msg, client="self")
            return 1

    csv = tmp_path / "colors.csv"
    csv.write_text(
        "KEY,COLOR,HEX,ACTION\n1,Red,d62d20,add\n2,Green,008744,add\n3,Blue, 0057e7 ,add\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sent = sdk.Lookup(name="MY_LK", con=Connection()).send_csv(
            str(csv), delete_field="ACTION", key="KEY"
        )
    assert sent == 3
    assert colors(store) == [
        ("1", "Red", "d62d20"),
        ("2", "Green", "008744"),
        ("3", "Blue", "0057e7"),
    ]
    csv.write_text("KEY,COLOR,HEX,ACTION\n2,Green,008744,delete\n4,Grey,999999,add\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk.Lookup(name="MY_LK", con=Connection()).send_csv(
            str(csv), delete_field="ACTION", key="KEY", action="INC"
        )
    assert [r[0] for r in colors(store)] == ["1", "3", "4"]


# -- semantics -------------------------------------------------------------------------------------


def test_visible_only_after_end(store: EventStore, lookups: LookupAssembler) -> None:
    upload(lookups, ['1,"Red","d62d20"'], end=False)
    assert schema(store) is None
    assert lookups.open_uploads() == 1
    lookups.feed(
        "my.lookup.control.MY_LK.FULL", f"1795432246.521291_MY_LK|END|{HEADERS}", client="self"
    )
    assert colors(store) == [("1", "Red", "d62d20")]
    # A second upload in flight leaves the applied one as it is.
    upload(lookups, ['9,"Black","000000"'], lookup_id="1795432300.5", end=False)
    assert colors(store) == [("1", "Red", "d62d20")]


def test_full_replaces_only_the_clients_rows(store: EventStore, lookups: LookupAssembler) -> None:
    upload(lookups, ['1,"Red","d62d20"', '2,"Green",008744'])
    upload(lookups, ['1,"Rot","d62d20"'], client="other")
    upload(lookups, ['3,"Blue","0057e7"'], lookup_id="1795432300.5")
    assert colors(store) == [("3", "Blue", "0057e7")]
    assert colors(store, "other") == [("1", "Rot", "d62d20")]


def test_empty_full_upload_empties_the_lookup(store: EventStore, lookups: LookupAssembler) -> None:
    upload(lookups, ['1,"Red","d62d20"'])
    upload(lookups, [], lookup_id="1795432300.5")
    assert colors(store) == []
    assert lookups.counters()["uploads_applied"] == 2


def test_inc_upserts_by_key(store: EventStore, lookups: LookupAssembler) -> None:
    upload(lookups, ['1,"Red","d62d20"', '2,"Green",008744'])
    upload(
        lookups,
        ['2,"Verde",008744', '3,"Blue","0057e7"', '3,"Azul","0057e7"'],
        action="INC",
        lookup_id="1795432300.5",
    )
    assert colors(store) == [
        ("1", "Red", "d62d20"),
        ("2", "Verde", "008744"),
        ("3", "Azul", "0057e7"),
    ]
    assert rows(store, f'SELECT count(*) FROM "{stored()}"') == [(3,)]


def test_delete_removes_keys_and_last_event_wins(
    store: EventStore, lookups: LookupAssembler
) -> None:
    upload(lookups, ['1,"Red","d62d20"', '2,"Green",008744', '3,"Blue","0057e7"'])
    upload(
        lookups,
        ['4,"Grey","999999"'],
        action="INC",
        lookup_id="1795432300.5",
        deletes=('1,"Red","d62d20"', '4,"Grey","999999"', '77,"None","x"'),
    )
    assert [r[0] for r in colors(store)] == ["2", "3"]
    # Deleted and then sent again in the same upload: the key stays.
    lookups.feed("my.lookup.control.MY_LK.INC", f"5.5_MY_LK|START|{HEADERS}", client="self")
    lookups.feed("my.lookup.data.MY_LK.DELETE", '5.5_MY_LK|2,"Green",008744', client="self")
    lookups.feed("my.lookup.data.MY_LK", '5.5_MY_LK|2,"Lime",008744', client="self")
    lookups.feed("my.lookup.control.MY_LK.INC", f"5.5_MY_LK|END|{HEADERS}", client="self")
    assert colors(store) == [("2", "Lime", "008744"), ("3", "Blue", "0057e7")]


def test_delete_events_in_a_full_upload_leave_the_key_out(
    store: EventStore, lookups: LookupAssembler
) -> None:
    upload(lookups, ['1,"Red","d62d20"', '2,"Green",008744'], deletes=('2,"Green",008744',))
    assert colors(store) == [("1", "Red", "d62d20")]


def test_headers_mismatch_is_rejected(store: EventStore, lookups: LookupAssembler) -> None:
    upload(lookups, ['1,"Red","d62d20"'])
    other = '[{"KEY":{"type":"str","key":true}},{"COLOR":{"type":"str"}}]'
    lookups.feed("my.lookup.control.MY_LK.FULL", f"7.0_MY_LK|START|{HEADERS}", client="self")
    lookups.feed("my.lookup.data.MY_LK", '7.0_MY_LK|2,"Green",008744', client="self")
    lookups.feed("my.lookup.control.MY_LK.FULL", f"7.0_MY_LK|END|{other}", client="self")
    # END on another action's tag does not match START either.
    lookups.feed("my.lookup.control.MY_LK.FULL", f"8.0_MY_LK|START|{HEADERS}", client="self")
    lookups.feed("my.lookup.control.MY_LK.INC", f"8.0_MY_LK|END|{HEADERS}", client="self")
    assert colors(store) == [("1", "Red", "d62d20")]
    counters = lookups.counters()
    assert counters["rejected"] == 2
    assert counters["uploads_applied"] == 1
    assert counters["orphans"] == 0
    assert lookups.open_uploads() == 0


def test_orphan_data_is_counted_and_ignored(store: EventStore, lookups: LookupAssembler) -> None:
    lookups.feed("my.lookup.data.MY_LK", '1.0_MY_LK|1,"Red","d62d20"', client="self")
    lookups.feed("my.lookup.control.MY_LK.FULL", f"1.0_MY_LK|END|{HEADERS}", client="self")
    # Another client's upload id does not adopt the data either.
    upload(lookups, [], lookup_id="2.0", client="other", end=False)
    lookups.feed("my.lookup.data.MY_LK", '2.0_MY_LK|1,"Red","d62d20"', client="self")
    assert schema(store) is None
    assert lookups.counters()["orphans"] == 3


def test_headers_with_types_and_bad_values(store: EventStore, lookups: LookupAssembler) -> None:
    headers = (
        '[{"id":{"type":"int4","key":true}},{"n":{"type":"int"}},{"f":{"type":"float"}},'
        '{"b":{"type":"bool"}},{"ip":{"type":"ip4"}},{"s":{"type":"str"}}]'
    )
    upload(
        lookups,
        [
            '1,-5,2.5,"true","10.0.0.1",7',
            '2,"x",3,"false",2130706433,""',
            '"bad",1,1,"1","1.1.1.1",""',
            "3,,,,,",
        ],
        name="TYPED",
        headers=headers,
    )
    table = stored("my.lookuplist.TYPED")
    got = rows(store, f'SELECT id, n, f, b, ip, s FROM "{table}" ORDER BY id')
    assert got == [
        (1, -5, 2.5, True, 0x0A000001, "7"),
        (2, None, 3.0, False, 2130706433, ""),
        (3, None, None, None, None, ""),
    ]
    counters = lookups.counters()
    assert counters["bad_values"] == 2  # "x" as int8, "bad" as the int4 key
    assert counters["malformed"] == 1  # the row whose key did not convert
    # The column types the store keeps for the table.
    typed = schema(store, "my.lookuplist.TYPED")
    assert typed is not None
    assert [c.type.name for c in typed.columns] == ["int4", "int8", "float8", "bool", "ip4", "str"]


def test_full_with_new_columns_redefines_the_table(
    store: EventStore, lookups: LookupAssembler
) -> None:
    upload(lookups, ['1,"Red","d62d20"'])
    wider = HEADERS[:-1] + ',{"RGB":{"type":"int"}}]'
    upload(lookups, ['1,"Red","d62d20",14036256'], headers=wider, lookup_id="2.0")
    assert rows(store, f'SELECT KEY, RGB FROM "{stored()}"') == [("1", 14036256)]
    assert schema(store).column_names == ("KEY", "COLOR", "HEX", "RGB")  # type: ignore[union-attr]
    # INC with yet other columns is rejected and changes nothing.
    upload(lookups, ['2,"Green",008744'], headers=HEADERS, action="INC", lookup_id="3.0")
    assert rows(store, f'SELECT KEY, RGB FROM "{stored()}"') == [("1", 14036256)]
    assert lookups.counters()["rejected"] == 1


def test_another_domains_lookup_never_blocks_an_upload(
    store: EventStore, lookups: LookupAssembler
) -> None:
    """Each domain's lookup is its own table: another domain's rows and columns of the same
    name neither block an upload nor change."""
    upload(lookups, ['1,"Rot","d62d20"'], client="other")
    wider = HEADERS[:-1] + ',{"RGB":{"type":"int"}}]'
    upload(lookups, ['1,"Red","d62d20",1'], headers=wider, lookup_id="2.0")
    assert lookups.counters()["rejected"] == 0
    assert colors(store, "other") == [("1", "Rot", "d62d20")]
    assert schema(store, client="other").column_names == ("KEY", "COLOR", "HEX")  # type: ignore[union-attr]
    assert schema(store).column_names == ("KEY", "COLOR", "HEX", "RGB")  # type: ignore[union-attr]
    assert rows(store, f'SELECT KEY, RGB FROM "{stored()}"') == [("1", 1)]
    # An INC of yet other columns by the other domain concerns its own lookup only.
    upload(lookups, ['2,"Grün","008744"'], client="other", action="INC", lookup_id="3.0")
    assert [key for key, _, _ in colors(store, "other")] == ["1", "2"]
    assert rows(store, f'SELECT count(*) FROM "{stored()}"') == [(1,)]


def test_inc_after_reopening_the_store(
    tmp_path: Path, clock: SimulatedClock, open_store: Callable[[Path, SimulatedClock], EventStore]
) -> None:
    store = open_store(tmp_path, clock)
    upload(LookupAssembler(store, clock), ['1,"Red","d62d20"'])
    store.close()
    store = open_store(tmp_path, clock)
    try:
        lookups = LookupAssembler(store, clock)
        upload(lookups, ['2,"Green",008744'], action="INC", lookup_id="2.0")
        assert lookups.counters()["rejected"] == 0
        assert [r[0] for r in colors(store)] == ["1", "2"]
        # Sequence numbers keep increasing across the reopen.
        assert rows(store, f'SELECT _seq FROM "{stored()}" ORDER BY _seq') == [(1,), (2,)]
    finally:
        store.close()


# -- bounds and bad input --------------------------------------------------------------------------


def test_too_many_rows_drops_the_upload(store: EventStore, clock: SimulatedClock) -> None:
    lookups = LookupAssembler(store, clock, max_rows=2)
    upload(lookups, ['1,"a","b"', '1,"a2","b"', '2,"c","d"', '3,"e","f"', '4,"g","h"'])
    assert schema(store) is None
    counters = lookups.counters()
    assert counters["dropped"] == 1
    assert counters["orphans"] == 0  # the rest of a dropped upload is not counted again
    assert counters["uploads_applied"] == 0


def test_too_many_open_uploads_drops_the_oldest(store: EventStore, clock: SimulatedClock) -> None:
    lookups = LookupAssembler(store, clock, max_open=2)
    upload(lookups, ['1,"a","b"'], lookup_id="1.0", end=False)
    upload(lookups, ['2,"c","d"'], lookup_id="2.0", end=False)
    upload(lookups, ['3,"e","f"'], lookup_id="3.0", end=False)
    assert lookups.open_uploads() == 2
    for lookup_id in ("1.0", "2.0"):
        lookups.feed(
            "my.lookup.control.MY_LK.FULL", f"{lookup_id}_MY_LK|END|{HEADERS}", client="self"
        )
    assert colors(store) == [("2", "c", "d")]
    assert lookups.counters()["dropped"] == 1


def test_a_repeated_start_starts_over(store: EventStore, lookups: LookupAssembler) -> None:
    upload(lookups, ['1,"a","b"'], end=False)
    upload(lookups, ['2,"c","d"'])
    assert colors(store) == [("2", "c", "d")]
    assert lookups.counters()["dropped"] == 1


def test_malformed_events(store: EventStore, lookups: LookupAssembler) -> None:
    bad = [
        ("my.lookup.control.MY_LK.REPLACE", f"1.0_MY_LK|START|{HEADERS}"),
        ("my.lookup.control.MY_LK.FULL", f"1.0_OTHER|START|{HEADERS}"),
        ("my.lookup.control.MY_LK.FULL", f"1.0_MY_LK|BEGIN|{HEADERS}"),
        ("my.lookup.data.MY_LK.UPSERT", '1.0_MY_LK|1,"a","b"'),
        ("my.lookup.data.MY_LK", "no bar"),
        ("my.lookup.data.MY_LK", '_MY_LK|1,"a","b"'),
        ("my.app.test", "x"),
    ]
    for table, message in bad:
        lookups.feed(table, message, client="self")
    lookups.feed("my.lookup.control.MY_LK.FULL", "1.0_MY_LK|START|[1, 2]", client="self")
    upload(lookups, ['1,"too few"', '"unterminated,"x","y', '2,"c","d"'], lookup_id="2.0")
    counters = lookups.counters()
    assert counters["malformed"] == len(bad) + 2
    assert counters["rejected"] == 1  # the START with unusable headers
    assert colors(store) == [("2", "c", "d")]


def test_accepts_only_the_lookup_prefixes(lookups: LookupAssembler) -> None:
    assert lookups.accepts("my.lookup.control.X.FULL")
    assert lookups.accepts("my.lookup.data.X.DELETE")
    assert not lookups.accepts("my.lookuplist.X")
    assert not lookups.accepts("my.app.lookup")


def test_parse_headers() -> None:
    headers = parse_headers('[{"col1":{"type":"int4","key":true}},{"col2":{"type":"str"}}]')
    assert headers.columns == (Column("col1", t.INT4), Column("col2", t.STR))
    assert headers.key == 0
    assert parse_headers('[{"a":{"type":"str"}},{"b":{"type":"ip4","key":true}}]').key == 1
    for text in [
        "[]",
        "{}",
        "not json",
        '[{"a":{"type":"timestamp"}}]',
        '[{"a":{"type":"str"}},{"A":{"type":"str"}}]',
        '[{"eventdate":{"type":"str"}}]',
        '[{"a":{"type":"str","key":true}},{"b":{"type":"str","key":true}}]',
        '[{"a":"str"}]',
        '[{"a":{"type":"str"},"b":{"type":"str"}}]',
    ]:
        with pytest.raises(ValueError):
            parse_headers(text)


# -- field quoting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "fields"),
    [
        ('1,"Red","d62d20"', 3, ["1", "Red", "d62d20"]),
        ('2,"Green",008744', 3, ["2", "Green", "008744"]),
        ('11,"HEX12","x"y"', 3, ["11", "HEX12", 'x"y']),
        ('"a""b",1', 2, ['a"b', "1"]),  # escaped by the client
        ('"a"",b",1', 2, ['a",b', "1"]),  # escaped, with a comma: only the escape-aware split fits
        ('"a",b"', 2, ["a", 'b"']),
        ('"line\\nnext",-1.5', 2, ["line\\nnext", "-1.5"]),
        ('"",1,', 3, ["", "1", ""]),
        ('"a,b",c', 2, ["a,b", "c"]),
        ('"x"', 1, ["x"]),
        ('"x"', 2, None),
        ('"open,1', 2, None),
    ],
)
def test_split_fields(text: str, expected: int, fields: list[str] | None) -> None:
    assert split_fields(text, expected) == fields


@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\x00")), min_size=1, max_size=6)
)
def test_split_fields_reads_what_devo_sdk_writes_with_escaping(values: list[str]) -> None:
    from devo.sender.lookup import Lookup

    values = [v.strip() for v in values]
    line = Lookup.process_fields(values, key_index=0, escape_quotes=True)
    assert split_fields(line, len(values)) == values


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\r\x00")).filter(
            # The two sequences an unescaped value cannot carry unambiguously.
            lambda v: '",' not in v and '""' not in v
        ),
        min_size=1,
        max_size=6,
    )
)
def test_split_fields_reads_what_devo_sdk_writes_without_escaping(values: list[str]) -> None:
    from devo.sender.lookup import Lookup

    values = [v.strip() for v in values]
    line = Lookup.process_fields(values, key_index=0)
    assert split_fields(line, len(values)) == values


# Earlier versions had the DuckDB store only.
@pytest.mark.parametrize("store_spec", ["duckdb"])
def test_a_shared_lookup_of_an_earlier_version_is_split_per_domain(
    tmp_path: Path, clock: SimulatedClock, open_store: Callable[[Path, SimulatedClock], EventStore]
) -> None:
    store = open_store(tmp_path, clock)
    shared = TableSchema("my.lookuplist.OLD", (Column("KEY", t.STR), Column("V", t.STR)))
    store.ensure_table(shared)  # as earlier versions kept lookups: one table, every domain
    store.append(shared.name, {"KEY": ["a"], "V": ["self's"]}, client="self")
    store.append(shared.name, {"KEY": ["a"], "V": ["other's"]}, client="other")
    store.close()
    store = open_store(tmp_path, clock)
    try:
        assert store.schema("my.lookuplist.OLD") is None
        for client in ("self", "other"):
            assert schema(store, "my.lookuplist.OLD", client) == shared
            got = rows(store, f'SELECT client, V FROM "{stored("my.lookuplist.OLD", client)}"')
            assert got == [(client, f"{client}'s")]
    finally:
        store.close()
