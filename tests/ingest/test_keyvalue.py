"""test.keep.types' ``key=value`` reading: the grammar (quotes, escapes, repeats, stray words),
each column's accepted texts, and the batch decoder (nulls, bad values, the raw columns)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linqd.ingest.decode import decode_batch
from linqd.ingest.keyvalue import (
    decode_types,
    pairs,
    read_bool,
    read_float,
    read_ip4,
    read_ip6,
    read_mac,
    read_timestamp,
)
from linqd.linq.addresses import IP4_TEXT, parse_ip6
from linqd.store import catalog


def ms(*parts: int, tz: dt.tzinfo = dt.UTC) -> int:
    return int(dt.datetime(*parts, tzinfo=tz).timestamp() * 1000)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("ip4=127.0.0.1", {"ip4": "127.0.0.1"}),
        ("ip4=127.0.0.1\x00", {"ip4": "127.0.0.1"}),  # devo-sdk's logging handler's NUL
        ('a=1 b="x y" c=', {"a": "1", "b": "x y", "c": ""}),
        (r'q="say \"hi\"" p="C:\temp\\" r="\n"', {"q": 'say "hi"', "p": "C:\\temp\\", "r": r"\n"}),
        ("a=1 a=2 a=3", {"a": "3"}),
        ("free words a=1 =lost b=x=y", {"a": "1", "b": "x=y"}),
        ('a="glued"more b=2', {"b": "2"}),
        ('a="never closed b=2', {}),
        ('s="k=v inside" k=out', {"s": "k=v inside", "k": "out"}),
        ("\ttabs=1\n  lines=2 ", {"tabs": "1", "lines": "2"}),
        ('x=a"b', {"x": 'a"b'}),
        ("", {}),
    ],
)
def test_pairs(message: str, expected: dict[str, str]) -> None:
    assert pairs(message) == expected


def test_unclosed_quotes_cost_linear_time() -> None:
    # A regex that retried every quote to the end of the text would take minutes here.
    hostile = 'k="\\" ' * 40_000 + 'j="' * 40_000
    started = time.perf_counter()
    assert pairs(hostile) == {}
    assert time.perf_counter() - started < 2.0


# Blanks are what \s matches in Python: Unicode spaces and the control separators.
NO_BLANKS = ("Cs", "Cc", "Zs", "Zl", "Zp")
words = st.text(
    alphabet=st.characters(blacklist_categories=NO_BLANKS, blacklist_characters='"='),
    min_size=1,
    max_size=8,
)
values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(words, values, st.booleans()), max_size=6))
def test_quoted_values_read_back_exactly(fields: list[tuple[str, str, bool]]) -> None:
    """Whatever the values, written quoted (or bare when they allow it) they read back as
    they were, the last of a repeated key winning."""
    parts = []
    for key, value, bare in fields:
        plain = bare and value and value[0] != '"' and not any(c.isspace() for c in value)
        plain = plain and "\x00" not in value
        parts.append(f"{key}={value if plain else quote(value)}")
    assert pairs(" ".join(parts)) == {key: value for key, value, _ in fields}


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"')))
def test_messages_without_quotes_read_as_with_them(message: str) -> None:
    """Without a quote a message takes the split() path; one quoted pair more sends the same
    words through the pattern: both read them alike. (A trailing NUL, which pairs() drops,
    would not trail any more.)"""
    message = message.rstrip("\x00")
    fast = pairs(message)
    general = pairs(message + ' zz="q"')
    assert general.pop("zz") == "q"
    fast.pop("zz", None)
    assert fast == general


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("FALSE", False), ("True", True), ("1", True), ("0", False)],
)
def test_bool_spellings(text: str, value: bool) -> None:
    assert read_bool(text) is value


@pytest.mark.parametrize(
    ("reader", "text"),
    [
        (read_bool, "yes"),
        (read_bool, ""),
        (read_float, "nan"),
        (read_float, "inf"),
        (read_float, "1e999"),
        (read_float, "1_000"),
        (read_float, "0x10"),
        (read_ip4, "256.0.0.1"),
        (read_ip4, "01.2.3.4"),
        (read_ip4, "2130706433"),
        (read_ip4, "1.2.3"),
        (read_ip4, "1.2.3.4\x00"),
        (read_ip4, "1.2.3.4 "),
        (read_ip4, "０.1.2.3"),
        (read_ip6, "::1%eth0"),
        (read_ip6, "[::1]"),
        (read_ip6, " ::1"),
        (read_mac, "00:1a:2b:3c:4d"),
        (read_mac, "00:1a-2b:3c:4d:5e"),
        (read_timestamp, "2024-02-30"),
        (read_timestamp, "2024-03-14 25:00:00"),
        (read_timestamp, "14/03/2024"),
        (read_timestamp, "20240314T100000"),
        (read_timestamp, "1800-01-01"),
        (read_timestamp, "2024-03-14T10:00:00+24:00"),
    ],
)
def test_texts_that_do_not_read(reader: Callable[[str], object], text: str) -> None:
    assert reader(text) is None


def test_addresses_and_numbers() -> None:
    assert read_ip4("127.0.0.1") == 2130706433
    assert read_ip4("255.255.255.255") == 2**32 - 1
    assert read_ip6("::1") == 1
    assert read_ip6("::ffff:1.2.3.4") == 0xFFFF_0102_0304
    assert read_mac("00-1A-2B-3C-4D-5E") == read_mac("001a.2b3c.4d5e") == 0x001A2B3C4D5E
    assert read_float("-1.5") == -1.5 and read_float(".5") == 0.5 and read_float("2e3") == 2000.0


address_texts = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF:.", max_size=24),
    st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
    st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n).exploded),
    st.integers(0, 2**32 - 1).map(lambda n: f"::ffff:{ipaddress.IPv4Address(n)}"),
    st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
    st.text(alphabet="0123456789.x ", max_size=16),
)


@settings(max_examples=300, deadline=None)
@given(address_texts)
def test_addresses_read_exactly_as_linq_reads_them(text: str) -> None:
    """The C library reads the addresses here; LINQ's own patterns decide what is one."""
    assert read_ip6(text) == parse_ip6(text) or text != text.strip(" ")
    expected = read_ip4_as_linq(text)
    assert read_ip4(text) == expected


def read_ip4_as_linq(text: str) -> int | None:
    if re.fullmatch(IP4_TEXT, text) is None:
        return None
    return int(ipaddress.IPv4Address(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-14", ms(2024, 3, 14)),
        ("2024-03-14 10:00:00", ms(2024, 3, 14, 10)),
        ("2024-03-14T10:00:00.123", ms(2024, 3, 14, 10) + 123),
        ("2024-03-14T10:00:00.123999999Z", ms(2024, 3, 14, 10) + 123),
        ("2024-03-14T10:00", ms(2024, 3, 14, 10)),
        ("2024-03-14T12:00:00+02:00", ms(2024, 3, 14, 10)),
        ("2024-03-14T05:30:00-0430", ms(2024, 3, 14, 10)),
        ("1710410400123", 1710410400123),
        ("-1000", -1000),
    ],
)
def test_timestamp_forms(text: str, expected: int) -> None:
    assert read_timestamp(text) == expected


def test_decode_types_fills_every_column_and_counts_bad_values() -> None:
    messages = [
        'str="a b" int4=7 int8=-9000000000 float=1.5 bool=true ip4=127.0.0.1 ip6=::1 '
        "mac=00:1a:2b:3c:4d:5e timestamp=2024-03-14T10:00:00Z other=ignored",
        "int4=2147483648 ip4=localhost bool=maybe",
        "no pairs at all",
    ]
    columns, bad = decode_types(["h1", "h2", "h3"], messages)
    assert bad == 3
    assert list(columns) == [c.name for c in catalog.KEEP_TYPES.columns]
    assert columns["hostname"] == ["h1", "h2", "h3"]
    assert columns["message"] == messages
    first = {name: values[0] for name, values in columns.items() if name not in ("hostname",)}
    assert first == {
        "message": messages[0],
        "str": "a b",
        "int4": 7,
        "int8": -9_000_000_000,
        "float": 1.5,
        "bool": True,
        "ip4": 2130706433,
        "ip6": 1,
        "mac": 0x001A2B3C4D5E,
        "timestamp": ms(2024, 3, 14, 10),
    }
    for name in ("int4", "ip4", "bool", "str", "timestamp"):
        assert columns[name][1] is None and columns[name][2] is None


def test_the_table_decoder_keeps_every_message() -> None:
    decoded = decode_batch(catalog.KEEP_TYPES, ["h", "h"], ["ip4=127.0.0.1", "{not: json}"])
    assert decoded.rows == 2 and decoded.failures == 0
    assert decoded.columns["ip4"] == [2130706433, None]
    # An older data directory's raw test.keep.types stays raw.
    raw = decode_batch(catalog.raw_schema("test.keep.types"), ["h"], ["ip4=127.0.0.1"])
    assert set(raw.columns) == {"hostname", "message"}
