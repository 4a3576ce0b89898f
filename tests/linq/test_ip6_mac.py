"""The address types ip6, net6 and mac on both engines: text read (every RFC 4291 form, invalid
text as null), canonical text written (RFC 5952's own examples), comparisons, `<-` at the edges
of networks and across families, sets, peek over networks, isprivate/ispublic (RFC 6890), and
the text the query result carries. Devo documents none of this beyond the names (spec §9.3, §10),
so the values are hand-worked, and checked against Python's ``ipaddress``."""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import LinqError
from linqd.linq.addresses import ip6_text, mac_text, parse_ip6, parse_mac, parse_net6
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on
from .test_functions import DEMO_ROW, NOW_MS, run
from .test_functions import evaluate as evaluate_on

TABLE = "my.app.net"
V6 = "2001:DB8:0:0:1:0:0:1"
MAC = "00-1A-2B-3C-4D-5E"
# Texts the engines read as a column (not folded by the analyzer as constants are).
TEXTS = [
    "2001:db8::1",
    "2001:0DB8:0000:0000:0000:0000:0002:0001",
    "::ffff:192.0.2.1",
    "::192.0.2.1",
    " fe80::1 ",
    "1::2:3:4:5:6:7",
    "1.2.3.4",
    "fe80::1%eth0",
    "[::1]",
    "1::2::3",
    "::ffff:01.2.3.4",
    "12345::",
    "",
    "001a.2b3c.4d5e",
    "00:1A:2b:3c:4d:5e",
    "00:1a-2b:3c:4d:5e",
]


def _edge_texts() -> list[str]:
    """Texts at the edges of the forms (`::` at either end or standing for one group, all
    zeros, all ones, the dotted tail) and a fixed sample of addresses in the compressed,
    full and upper-case forms, zero groups frequent."""
    edges = [
        "::", "::1", "1::", "0:0:0:0:0:0:0:0", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
        "FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", "::ffff:0.0.0.0", "::0.0.0.1",
        "1:2:3:4:5:6:255.255.255.255", "1::255.255.255.255", "1:2:3:4:5:6:7:8::", ":1", "1:",
        "::ffff:1.2.3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:", "-", "::1:", "00:00:00:00:00:00",
    ]  # fmt: skip
    rng = random.Random(5952)
    for _ in range(60):
        groups = [rng.choice((0, 0, 0, 1, 0xFFFF, rng.randrange(1 << 16))) for _ in range(8)]
        address = ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups))
        edges += [str(address), address.exploded, address.compressed.upper()]
    return edges


EDGE_TEXTS = _edge_texts()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("ip6")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(TABLE, {"message": [V6], "hostname": [MAC]}, client="self",
                  eventdates=[NOW_MS - 1000])  # fmt: skip
    events.append("demo.ecommerce.data", DEMO_ROW, client="self", eventdates=[NOW_MS - 1000])
    count = len(TEXTS)
    events.append("my.app.texts", {"message": TEXTS, "hostname": ["h"] * count}, client="self",
                  eventdates=[NOW_MS - 1000 + i for i in range(count)])  # fmt: skip
    edges = len(EDGE_TEXTS)
    events.append("my.app.edges", {"message": EDGE_TEXTS, "hostname": ["h"] * edges},
                  client="self", eventdates=[NOW_MS - 1000 + i for i in range(edges)])  # fmt: skip
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def evaluate(engine: Runner, expression: str, table: str = TABLE) -> tuple[Any, str]:
    return evaluate_on(engine, expression, table=table)


CASES = [
    # -- RFC 5952 text: §4.1 leading zeros, §4.2 `::` (longest run, first on a tie, never one
    # group), §4.3 lowercase, §5 mixed notation for IPv4-mapped addresses only ----------------
    ('str(ip6("2001:0db8::0001"))', "2001:db8::1"),
    ('str(ip6("2001:db8:0:0:0:0:2:1"))', "2001:db8::2:1"),
    ('str(ip6("2001:db8:0:1:1:1:1:1"))', "2001:db8:0:1:1:1:1:1"),
    ('str(ip6("2001:db8:0:0:1:0:0:1"))', "2001:db8::1:0:0:1"),
    ('str(ip6("2001:db8:0:0:1:0:0:0"))', "2001:db8:0:0:1::"),
    ('str(ip6("2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:0001"))', "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"),
    ('str(ip6("0:0:0:0:0:0:0:0"))', "::"),
    ('str(ip6("0:0:0:0:0:0:0:1"))', "::1"),
    ('str(ip6("1:0:0:0:0:0:0:0"))', "1::"),
    ('str(ip6("1::2:3:4:5:6:7"))', "1:0:2:3:4:5:6:7"),
    ('str(ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))',
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ('str(ip6("0:0:0:0:0:ffff:c000:0201"))', "::ffff:192.0.2.1"),
    ('str(ip6("::ffff:192.0.2.1"))', "::ffff:192.0.2.1"),
    ('str(ip6("::ffff:0.0.0.0"))', "::ffff:0.0.0.0"),
    ('str(ip6("::192.0.2.1"))', "::c000:201"),  # deprecated IPv4-compatible: hex
    ('str(ip6("64:ff9b::192.0.2.33"))', "64:ff9b::c000:221"),
    ('str(ip6("1:2:3:4:5:6:1.2.3.4"))', "1:2:3:4:5:6:102:304"),
    # computed text, and the result's own text (no str())
    ("str(ip6(message))", "2001:db8::1:0:0:1"),
    ("ip6(message)", "2001:db8::1:0:0:1"),
    ('ip6(" ::1 ")', "::1"),
    ("ip6(hostname)", None),
    ("str(ip6(substring(message, 0, 4)))", None),
    # -- invalid text is null ----------------------------------------------------------------------
    ('ip6("1.2.3.4")', None),
    ('ip6("::1%eth0")', None),
    ('ip6("[::1]")', None),
    ('ip6("1::2::3")', None),
    ('ip6("12345::")', None),
    ('ip6("::ffff:01.2.3.4")', None),
    ('ip6("::ffff:256.1.1.1")', None),
    ('ip6("1:2:3:4:5:6:7:8:9")', None),
    ('ip6("1:2:3:4:5:6:7:1.2.3.4")', None),
    ('ip6("g::1")', None),
    ('ip6("")', None),
    ("str(ip6(null))", None),
    # -- from an ip4: its IPv4-mapped address ------------------------------------------------------
    ("ip6(10.1.2.3)", "::ffff:10.1.2.3"),
    ("str(ip6(clientIpAddress))", "::ffff:192.168.1.10"),
    # -- comparisons: 128-bit integers, string literals read as ip6 --------------------------------
    (f'ip6(message) = "{V6.lower()}"', True),
    ('ip6(message) = "2001:db8::1:0:0:1"', True),
    ('ip6(message) != "2001:db8::1"', True),
    ('ip6("::1") < ip6("::2")', True),
    ('ip6("8000::") > ip6("7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")', True),
    ('ip6("ffff::") >= "::ffff:1.2.3.4"', True),
    ('ip6(message) = "not an address"', False),
    ('ip6(message) = 10.0.0.1', False),
    # -- `<-` at the edges of a network ------------------------------------------------------------
    ('ip6("2001:db8::") <- net6("2001:db8::/32")', True),
    ('ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") <- net6("2001:db8::/32")', True),
    ('ip6("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff") <- net6("2001:db8::/32")', False),
    ('ip6("2001:db9::") <- net6("2001:db8::/32")', False),
    ('ip6(message) <- "2001:db8::/32"', True),
    ('ip6(message) in "2001:db8:0:0:1::/80"', True),
    ('ip6(message) <- "2001:db8:0:0:1::/81"', True),
    ('ip6(message) <- "2001:db8:0:0:1:8000::/81"', False),
    ('ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") <- net6("::/0")', True),
    ('ip6("::1") <- net6("::1/128")', True),
    ('ip6("::2") <- net6("::1/128")', False),
    ('`in`(ip6("2001:db8::1"), ip6(message), net6("2001:db8::1/32"))', True),
    # across families: an ip4 is its IPv4-mapped ip6
    ('10.1.2.3 <- net6("::ffff:10.0.0.0/104")', True),
    ('11.0.0.0 <- net6("::ffff:10.0.0.0/104")', False),
    ('10.1.2.3 <- net6("::/0")', True),
    ('10.1.2.3 <- net6("2001:db8::/32")', False),
    ('ip6("::ffff:10.1.2.3") <- 10.0.0.0/8', True),
    ('ip6("::10.1.2.3") <- 10.0.0.0/8', False),
    ('clientIpAddress <- "::ffff:192.168.0.0/112"', True),
    # -- sets --------------------------------------------------------------------------------------
    ('ip6(message) in {"2001:db8::1:0:0:1", "::2"}', True),
    ('ip6(message) in {"2001:db8::1", ip6("::2")}', False),
    ('ip6(message) in {"nonsense", "2001:DB8::1:0:0:1"}', True),
    ('[ip6("::1"), "2001:DB8::"]', ["::1", "2001:db8::"]),
    ('{mac("00:00:00:00:00:01")}', ["00:00:00:00:00:01"]),
    # -- net6 --------------------------------------------------------------------------------------
    ('net6("2001:DB8::1/32")', "2001:db8::/32"),
    ('str(net6("::ffff:10.0.0.0/104"))', "::ffff:10.0.0.0/104"),
    ('net6("2001:db8::/32") = "2001:db8::/32"', True),
    # -- peek over networks: the first that holds the address --------------------------------------
    ("peek(10.1.2.3, [192.168.0.0/16, 10.0.0.0/8])", "10.0.0.0/8"),
    ("peek(clientIpAddress, [10.0.0.0/8, 192.168.0.0/16, 0.0.0.0/0])", "192.168.0.0/16"),
    ("peek(8.8.8.8, [10.0.0.0/8, 192.168.0.0/16])", None),
    ('peek(ip6(message), [net6("fc00::/7"), net6("2001:db8::/32"), net6("::/0")])',
     "2001:db8::/32"),
    ('peek(ip6("fd00::1"), [net6("2001:db8::/32")])', None),
    ('peek(ip6("::ffff:10.0.0.1"), [192.168.0.0/16, 10.0.0.0/8])', "10.0.0.0/8"),
    ('peek(10.0.0.1, [net6("2001:db8::/32"), net6("::ffff:0:0/96")])', "::ffff:0.0.0.0/96"),
    ("peek(null, [10.0.0.0/8])", None),
    # -- isprivate / ispublic ----------------------------------------------------------------------
    ('isprivate(ip6("fc00::1"))', True),
    ('isprivate(ip6("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))', True),
    ('isprivate(ip6("fe00::"))', False),
    ('isprivate(ip6("::ffff:192.168.1.1"))', True),
    ('isprivate(ip6("2001:db8::1"))', False),
    ('ispublic(ip6("2606:4700:4700::1111"))', True),
    ('ispublic(ip6("2001:4860:4860::8888"))', True),
    ('ispublic(ip6("::ffff:8.8.8.8"))', True),
    ('ispublic(ip6("64:ff9b::808:808"))', True),
    ('ispublic(ip6("2001:20::1"))', True),  # a global exception inside 2001::/23
    ('ispublic(ip6("2001:2::1"))', False),
    ('ispublic(ip6("2001:db8::1"))', False),
    ('ispublic(ip6("3fff::1"))', False),
    ('ispublic(ip6("fd00::1"))', False),
    ('ispublic(ip6("fe80::1"))', False),
    ('ispublic(ip6("ff02::1"))', False),
    ('ispublic(ip6("::1"))', False),
    ('ispublic(ip6("::"))', False),
    ('ispublic(ip6("2002::1"))', False),
    ('ispublic(ip6("::ffff:10.0.0.1"))', False),
    ('ispublic(ip6("::ffff:127.0.0.1"))', False),
    ("ispublic(ip6(hostname))", None),
    # -- mac ---------------------------------------------------------------------------------------
    ("mac(hostname)", "00:1a:2b:3c:4d:5e"),
    ('str(mac("00:1A:2b:3c:4d:5e"))', "00:1a:2b:3c:4d:5e"),
    ('mac("001a.2B3C.4d5e")', "00:1a:2b:3c:4d:5e"),
    ('mac("ff:ff:ff:ff:ff:ff")', "ff:ff:ff:ff:ff:ff"),
    ('mac(" 00:00:00:00:00:00 ")', "00:00:00:00:00:00"),
    ('mac("001a2b3c4d5e")', None),
    ('mac("00:1a-2b:3c:4d:5e")', None),
    ('mac("0:1:2:3:4:5")', None),
    ('mac("00:1a:2b:3c:4d")', None),
    ("mac(message)", None),
    ('mac(hostname) = "00:1a:2b:3c:4d:5e"', True),
    ('mac(hostname) = "001a.2b3c.4d5e"', True),
    ('mac("ff:ff:ff:ff:ff:ff") > mac("00:00:00:00:00:01")', True),
    ('mac(hostname) in {"00:1a:2b:3c:4d:5f", "00-1a-2b-3c-4d-5e"}', True),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_address_functions(engine: Runner, expression: str, expected: object) -> None:
    table = "demo.ecommerce.data" if "clientIpAddress" in expression else TABLE
    value, _ = evaluate(engine, expression, table)
    assert value == expected


@pytest.mark.parametrize(
    ("expression", "type_name"),
    [('ip6("::1")', "ip6"), ('net6("::/0")', "net6"), ('mac("00:00:00:00:00:00")', "mac"),
     ('[ip6("::1")]', "array(ip6)"), ('peek(ip6("::1"), [net6("::/0")])', "net6")],
)  # fmt: skip
def test_result_types(engine: Runner, expression: str, type_name: str) -> None:
    assert evaluate(engine, expression)[1] == type_name


@pytest.mark.parametrize(
    ("table", "texts"), [("my.app.texts", TEXTS), ("my.app.edges", EDGE_TEXTS)]
)
def test_column_text_as_python_reads_it(engine: Runner, table: str, texts: list[str]) -> None:
    """Each text of a column read as ip6 and mac, and written back, as ``addresses.py`` does in
    Python (the engines' SQL is not the analyzer's constant folding)."""
    rows = run(engine, f"from {table} select message, ip6(message) as i, mac(message) as m")
    assert len(rows) == len(texts)
    for message, ip, mac in (row[-3:] for row in rows):
        number, hw = parse_ip6(message), parse_mac(message)
        assert ip == (None if number is None else ip6_text(number)), message
        assert mac == (None if hw is None else mac_text(hw)), message


def test_groups_and_orders_by_address(engine: Runner) -> None:
    rows = run(
        engine,
        "from my.app.texts select ip6(message) as ip where isnotnull(ip) group by ip "
        "select count() as n order by ip",
    )
    assert [row[-2:] for row in rows] == [
        ("::c000:201", 1),
        ("::ffff:192.0.2.1", 1),
        ("1:0:2:3:4:5:6:7", 1),
        ("2001:db8::1", 1),
        ("2001:db8::2:1", 1),
        ("fe80::1", 1),
    ]


def test_python_text_matches_ipaddress() -> None:
    """``ip6_text`` is Python's ``ipaddress`` text (RFC 5952) but for IPv4-mapped addresses,
    which it writes dotted (RFC 5952 §5; Python does so from 3.13)."""
    rng = random.Random(15)
    for _ in range(3000):
        groups = [rng.choice((0, 0, 1, 0xFFFF, rng.randrange(1 << 16))) for _ in range(8)]
        value = int.from_bytes(b"".join(g.to_bytes(2, "big") for g in groups), "big")
        address = ipaddress.IPv6Address(value)
        if address.ipv4_mapped is not None:
            assert ip6_text(value) == f"::ffff:{address.ipv4_mapped}"
        else:
            assert ip6_text(value) == str(address)
        assert parse_ip6(address.exploded.upper()) == value
        assert parse_ip6(ip6_text(value)) == value


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('select net6("2001:db8::/129") as n', "Cannot read '2001:db8::/129' as net6"),
        ('select net6("10.0.0.0/8") as n', "Cannot read '10.0.0.0/8' as net6"),
        ("select net6(message) as n", "Function `net6' takes"),
        ('select ip6(message) <- "2001:db8::/200" as n', "Cannot read '2001:db8::/200' as a "),
        ('select mac(hostname) <- net6("::/0") as n', "`in` tests an ip4 or ip6 .* not mac"),
        ('select message <- net6("::/0") as n', "`in` tests an ip4 or ip6 .* not str"),
        ("select statusCode in 10.0.0.0/8 as n", "`in` tests an ip4 or ip6 .* not int8"),
        ("select 10.0.0.1 <- peek(10.0.0.1, [10.0.0.0/8]) as n", "`in` needs a constant net4"),
        ('select peek(ip6(message), [net6("::/0"), 10.0.0.0/8]) as n', "must share one type"),
    ],
)
def test_errors(engine: Runner, query: str, message: str) -> None:
    table = "demo.ecommerce.data" if "statusCode" in query else TABLE
    with pytest.raises(LinqError, match=message.replace("(", r"\(")) as raised:
        run(engine, f"from {table} {query}")
    assert raised.value.span is not None


def test_net6_constants_fold() -> None:
    assert parse_net6("2001:db8::1/32") == (0x2001_0DB8 << 96, 32)
    assert parse_net6("2001:db8::/32 ") == (0x2001_0DB8 << 96, 32)
    assert parse_net6("2001:db8::") is None
