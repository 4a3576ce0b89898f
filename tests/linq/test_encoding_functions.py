"""Encodings, hashes, hex, substitutions, number formats and HyperLogLog sketches on both
engines.

Published test vectors where there are some: RFC 4648 §10 (base16, base64), the Z85 spec's
example (ZeroMQ RFC 32: bytes 86 4F D2 6F B5 59 F7 5B are "HelloWorld"), RFC 1321 §A.5 (MD5),
FIPS 180 examples (SHA-1, SHA-256). Hand-worked values otherwise."""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import LinqError
from linqd.linq import Bounds, compile_linq
from linqd.linq.functions.sketches import HEADER, MAX_RANK, PRECISION, RANK_BITS
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on
from .test_functions import DEMO_ROW, EVENT_MS, NOW_MS
from .test_functions import evaluate as evaluate_on

TABLE = "demo.ecommerce.data"
SKETCH_TABLE = "my.app.fn"
DISTINCT = 50_000
VALUES = [f"user-{i}" for i in range(DISTINCT)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("encodings")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(TABLE, DEMO_ROW, client="self", eventdates=[EVENT_MS])
    # The sketches' rows: DISTINCT messages, half of them twice, on three hosts; some nulls.
    messages = [*VALUES, *VALUES[: DISTINCT // 2], *[None] * 100]
    events.append(
        SKETCH_TABLE,
        {"message": messages, "hostname": [f"h{i % 3}" for i in range(len(messages))]},
        client="self",
        eventdates=[EVENT_MS] * len(messages),
    )
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def evaluate(engine: Runner, expression: str) -> tuple[Any, str]:
    return evaluate_on(engine, expression, table=TABLE)


RFC4648 = [("", "", ""), ("f", "66", "Zg=="), ("fo", "666f", "Zm8="), ("foo", "666f6f", "Zm9v"),
           ("foob", "666f6f62", "Zm9vYg=="), ("fooba", "666f6f6261", "Zm9vYmE="),
           ("foobar", "666f6f626172", "Zm9vYmFy")]  # fmt: skip
SHA_448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

CASES = [
    # -- base16 and base64: RFC 4648 §10, both ways --------------------------------------------
    *((f'to16("{text}")', hex16) for text, hex16, _ in RFC4648),
    *((f'to64("{text}")', b64) for text, _, b64 in RFC4648),
    *((f'from16("{hex16}")', text.encode()) for text, hex16, _ in RFC4648),
    *((f'from16("{hex16.upper()}")', text.encode()) for text, hex16, _ in RFC4648),
    *((f'from64("{b64}")', text.encode()) for text, _, b64 in RFC4648),
    ('to16(from16("00ff80"))', "00ff80"),
    ('to64(from16("fbff"))', "+/8="),  # the two last characters of the standard alphabet
    ('from64("+/8=")', b"\xfb\xff"),
    ('from16("abc")', None),  # odd length
    ('from16("zz")', None),
    ('from16("0x00")', None),
    ('from64("Zm9vYmE")', None),  # unpadded
    ('from64("Zm9v YmFy")', None),
    ('from64("-_8=")', None),  # the URL-safe alphabet is another encoding
    ('from64("Zg=")', None),
    ("to16(str(timeTaken))", None),
    ("from64(str(timeTaken))", None),
    # -- UTF-8 -----------------------------------------------------------------------------------
    ('toutf8("héllo")', b"h\xc3\xa9llo"),
    ('to16("héllo")', "68c3a96c6c6f"),  # a text's base16 is its UTF-8's
    ('to64("日本")', "5pel5pys"),
    ('fromutf8(from16("68c3a96c6c6f"))', "héllo"),
    ('fromutf8(toutf8("日本"))', "日本"),
    ('fromutf8(from16("ff"))', None),
    ('fromutf8(from16("c3"))', None),  # a cut sequence
    ('fromutf8(from16("c080"))', None),  # overlong
    ('fromutf8(from16("eda080"))', None),  # a surrogate
    ('fromutf8(from16("f4908080"))', None),  # past U+10FFFF
    # -- Z85: the spec's example, and hand-worked groups ------------------------------------------
    ('toz85(from16("864FD26FB559F75B"))', "HelloWorld"),
    ('fromz85("HelloWorld")', bytes.fromhex("864FD26FB559F75B")),
    ('toz85(from16("00000000"))', "00000"),
    ('toz85(from16("ffffffff"))', "%nSc0"),  # 2^32 - 1 = 84 68 83 35 0 in base 85
    ('fromz85("%nSc0")', b"\xff\xff\xff\xff"),
    ('fromz85("%nSc1")', None),  # 2^32: past a 4-byte group
    ('fromz85("%%%%%")', None),
    ('toz85("")', ""),
    ('fromz85("")', b""),
    ('toz85(from16("00"))', None),  # not a multiple of 4 bytes
    ('fromz85("Hello Worl")', None),  # a space is not in the alphabet
    ('fromz85("HelloWorl")', None),  # not a multiple of 5 characters
    ('fromz85("héllo")', None),
    ('to16(fromz85(toz85(md5("a"))))', "0cc175b9c0f1b6a831c399e269772661"),
    # -- digests: RFC 1321 §A.5, FIPS 180 --------------------------------------------------------
    ('to16(md5(""))', "d41d8cd98f00b204e9800998ecf8427e"),
    ('to16(md5("a"))', "0cc175b9c0f1b6a831c399e269772661"),
    ('to16(md5("abc"))', "900150983cd24fb0d6963f7d28e17f72"),
    ('to16(md5("message digest"))', "f96b697d7cb7938d525a2f31aaf161d0"),
    ('to16(md5("abcdefghijklmnopqrstuvwxyz"))', "c3fcd3d76192e4007dfb496cca67e13b"),
    ('to16(sha1(""))', "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ('to16(sha1("abc"))', "a9993e364706816aba3e25717850c26c9cd0d89d"),
    (f'to16(sha1("{SHA_448}"))', "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ('to16(sha256(""))', "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ('to16(sha256("abc"))', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (f'to16(sha256("{SHA_448}"))',
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ('md5("abc")', bytes.fromhex("900150983cd24fb0d6963f7d28e17f72")),
    ('md5(toutf8("abc")) = md5("abc")', True),  # bytes or their text: the same digest
    # A digest ending in a zero byte keeps it (ClickHouse's FixedString casts would drop it).
    ('md5("x375")', hashlib.md5(b"x375").digest()),
    ('to64(md5("x375"))', "IB4qZI0MmRxFmvy1DKpcAA=="),
    ("md5(method)", hashlib.md5(b"GET").digest()),
    ("md5(str(timeTaken))", None),
    ('str(md5("a"))', "0cc175b9c0f1b6a831c399e269772661"),  # bytes as text: their base16
    # -- hex and hex8 ----------------------------------------------------------------------------
    ("hex(255)", "ff"),
    ("hex(0)", "0"),
    ("hex(1)", "1"),
    ("hex(4096)", "1000"),
    ("hex(statusCode)", "194"),
    ("hex(-1)", "ffffffffffffffff"),
    ("hex(-256)", "ffffffffffffff00"),
    ("hex(9223372036854775807)", "7fffffffffffffff"),
    ("hex8(255)", "00000000000000ff"),
    ("hex8(0)", "0000000000000000"),
    ("hex8(-2)", "fffffffffffffffe"),
    ("hex(timeTaken)", None),
    # -- subs and subsall ------------------------------------------------------------------------
    ('subs("a-1", re("([a-z])-([0-9])"), template("\\\\2\\\\1"))', "1a"),
    ('subs("a-1 b-2", re("([a-z])-([0-9])"), template("\\\\2\\\\1"))', "1a b-2"),
    ('subsall("a-1 b-2", re("([a-z])-([0-9])"), template("\\\\2\\\\1"))', "1a 2b"),
    ('subsall("a-1 b-2", re("[a-z]-[0-9]"), "<\\\\0>")', "<a-1> <b-2>"),  # plain text template
    ('subs("abc", re("b"), template("\\\\\\\\"))', "a\\c"),  # an escaped backslash
    ('subs("xyz", re("[0-9]"), template("#"))', "xyz"),  # no match: the text as it is
    ('subs("xyz", re("[0-9]"), template("#"), "none")', "none"),  # no match, with `fail`
    ('subs("x1z", re("[0-9]"), template("#"), "none")', "x#z"),
    ('subsall("x1z2", re("[0-9]"), template("#"), "none")', "x#z#"),
    ('subsall("abc", re("x*"), template("-"))', "-a-b-c-"),  # empty matches
    ('subs("abc", re("x*"), template("-"))', "-abc"),
    ('subs("héllo", re("é"), template("e"))', "hello"),
    ('subs(uri, re("^/([a-z]+).*"), template("\\\\1"))', "cart"),
    ('subs(str(timeTaken), re("x"), template("y"), "none")', None),
    # -- formatnumber: what Java's DecimalFormat writes for these patterns, worked by hand ------
    ('formatnumber(1234567.891, "#,##0.00")', "1,234,567.89"),
    ('formatnumber(1234567.891, "#,##0.00", "es")', "1.234.567,89"),
    ('formatnumber(1234567.891, "#,##0.00", "en_US")', "1,234,567.89"),
    ('formatnumber(1234.5, "#,##0.0", "de-DE")', "1.234,5"),
    ('formatnumber(42, "00000")', "00042"),
    ('formatnumber(123456, "00000")', "123456"),
    ('formatnumber(0.5, "0.###")', "0.5"),
    ('formatnumber(2, "0.###")', "2"),
    ('formatnumber(2.1, "0.0#")', "2.1"),
    ('formatnumber(2.125, "0.0#")', "2.12"),  # half to even
    ('formatnumber(0.5, "#.##")', ".5"),  # no minimum integer digit: none written
    ('formatnumber(0.001, "#.##")', "0"),  # no digit at all: 0
    ('formatnumber(0, "#")', "0"),
    ('formatnumber(0.125, "0.00")', "0.12"),
    ('formatnumber(0.375, "0.00")', "0.38"),
    ('formatnumber(1.005, "0.00")', "1.00"),  # the float8 nearest 1.005 is below it
    ('formatnumber(2.5, "0")', "2"),
    ('formatnumber(3.5, "0")', "4"),
    ('formatnumber(-0.001, "0.00")', "-0.00"),  # Java keeps the sign
    ('formatnumber(-1234.5, "#,##0.00")', "-1,234.50"),
    ('formatnumber(0.256, "0.0%")', "25.6%"),
    ('formatnumber(-0.5, "#%")', "-50%"),
    ('formatnumber(123456789, "#,##0")', "123,456,789"),
    ('formatnumber(123, "#,##0")', "123"),
    ('formatnumber(1234, "#,#0")', "12,34"),  # the last group's size counts
    ('formatnumber(1234, "0,000,000")', "0,001,234"),
    ('formatnumber(statusCode, "#,##0.0")', "404.0"),
    ('formatnumber(timeTaken, "0")', None),
    ('formatnumber(1e20, "0")', None),
    ('formatnumber(1 / 0, "0")', None),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_function(engine: Runner, expression: str, expected: object) -> None:
    value, _ = evaluate(engine, expression)
    assert value == expected


@pytest.mark.parametrize(
    ("expression", "type_name"),
    [
        ('from16("00")', "bytes"),
        ('from64("AA==")', "bytes"),
        ('toutf8("a")', "bytes"),
        ('fromz85("00000")', "bytes"),
        ('md5("a")', "bytes"),
        ('sha1("a")', "bytes"),
        ('sha256("a")', "bytes"),
        ('to16("a")', "str"),
        ('to64("a")', "str"),
        ('toz85("abcd")', "str"),
        ('fromutf8(toutf8("a"))', "str"),
        ("hex(1)", "str"),
        ("hex8(1)", "str"),
        ('subs("a", re("a"), template("b"))', "str"),
        ('unpackhllpp(from16("010e"))', "dc"),
        ('pack(unpackhllpp(from16("010e")))', "bytes"),
        ('estimation(unpackhllpp(from16("010e")))', "float8"),
    ],
)
def test_result_types(engine: Runner, expression: str, type_name: str) -> None:
    value, ltype = evaluate(engine, expression)
    assert ltype == type_name
    assert value is not None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("to16(1)", "to16"),
        ("from16(md5(method))", "from16"),
        ('hex("ff")', "hex"),
        ('fromutf8("abc")', "fromutf8"),
        ('subs("abc", re("(b)"), template("\\\\2"))', "names group 2; the regular expression"),
        ('subs("abc", re("b"), template("\\\\q"))', "Invalid template for `subs'"),
        ('subs("abc", re("b"), method)', "template of `subs' must be a constant string"),
        ('estimation("abc")', "estimation"),
        ('formatnumber(1.5, "0.00E0")', "Unsupported pattern for `formatnumber': '0.00E0'"),
        ('formatnumber(1.5, "$#,##0")', "Unsupported pattern"),
        ('formatnumber(1.5, "#,##0;(#)")', "Unsupported pattern"),
        ('formatnumber(1.5, "#,")', "Unsupported pattern"),
        ('formatnumber(1.5, "0#")', "Unsupported pattern"),
        ('formatnumber(1.5, "")', "Unsupported pattern"),
        ('formatnumber(1.5, "0.0", "fr")', "Unsupported locale for `formatnumber': 'fr'"),
        ("formatnumber(1.5, method)", "pattern of `formatnumber' must be a constant"),
    ],
)
def test_compile_errors(engine: Runner, expression: str, message: str) -> None:
    with pytest.raises(LinqError, match=message):
        evaluate(engine, expression)


# -- HyperLogLog sketches -------------------------------------------------------------------------


def rows(engine: Runner, text: str) -> list[tuple[Any, ...]]:
    query = compile_linq(
        f"from {SKETCH_TABLE} {text}",
        engine.store.schema,
        now_ms=NOW_MS,
        bounds=Bounds(client="self"),
        engine=engine.engine,
    )
    return engine.rows(query)


def python_sketch(values: list[str]) -> bytes:
    """The packed sketch as the module's doc describes it, worked in Python."""
    registers: dict[int, int] = {}
    for value in values:
        (h,) = struct.unpack(">Q", hashlib.md5(value.encode()).digest()[:8])
        low = h & ((1 << RANK_BITS) - 1)
        rank = min(RANK_BITS + 1 - low.bit_length(), MAX_RANK)
        register = h >> RANK_BITS
        registers[register] = max(registers.get(register, 0), rank)
    codes = b"".join((r * 64 + registers[r]).to_bytes(3, "big") for r in sorted(registers))
    return HEADER + codes


def python_estimate(sketch: bytes) -> float:
    """Ertl's improved raw estimate of a packed sketch, worked in Python, rounded."""
    ranks = [code % 64 for code in (int.from_bytes(sketch[i : i + 3], "big")
                                    for i in range(len(HEADER), len(sketch), 3))]  # fmt: skip
    if not ranks:
        return 0.0
    m = 1 << PRECISION
    x = (m - len(ranks)) / m
    sigma = x + sum(x ** (2.0**k) * 2.0 ** (k - 1) for k in range(1, 33))
    z = sum(2.0**-r for r in ranks) + m * sigma
    return float(math.floor(m * m / (2 * math.log(2)) / z + 0.5))


def test_a_sketch_is_the_bytes_worked_in_python(engine: Runner) -> None:
    ((sketch, packed),) = rows(
        engine, "group select hllpp(message) as s, pack(hllpp(message)) as p"
    )
    assert sketch == packed == python_sketch(VALUES)


def test_the_estimate_is_within_2_percent_of_the_count(engine: Runner) -> None:
    ((estimate,),) = rows(engine, "group select estimation(hllpp(message)) as e")
    # The same on both engines: each gives the estimate worked in Python from the same sketch.
    assert estimate == python_estimate(python_sketch(VALUES))
    assert abs(estimate - DISTINCT) <= 0.02 * DISTINCT


def test_sketches_per_group_and_unpacked(engine: Runner) -> None:
    text = (
        "group by hostname select hllpp(message) as s, estimation(hllpp(message)) as c "
        "select estimation(unpackhllpp(pack(s))) as e"
    )
    found = rows(engine, text)
    assert len(found) == 3
    for host, sketch, count, estimate in found:
        assert count == estimate == python_estimate(sketch)
        index = int(host[1:])
        seen = {VALUES[i % DISTINCT] for i in range(index, DISTINCT * 3 // 2, 3)}
        assert sketch == python_sketch(sorted(seen))
        assert abs(count - len(seen)) <= 0.02 * len(seen)


def test_no_values_estimate_zero(engine: Runner) -> None:
    text = (
        'where hostname = "none" group select estimation(hllpp(message)) as c, hllpp(message) as s'
    )
    assert rows(engine, text) == [(0.0, HEADER)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('estimation(unpackhllpp(from16("010e")))', 0.0),
        ('estimation(unpackhllpp(from16("010e000041")))', 1.0),  # register 1 at rank 1
        ('unpackhllpp(from16("010f"))', None),  # another precision
        ('unpackhllpp(from16("010e0000"))', None),  # a cut code
        ('unpackhllpp(from16("02"))', None),
    ],
)
def test_unpacking(engine: Runner, expression: str, expected: object) -> None:
    value, _ = evaluate(engine, expression)
    assert value == expected


@pytest.mark.parametrize(
    "expression",
    ['[md5("a")]', '{from16("00ff")}', '(1, md5("a"))', 'mkarray(md5("a"))', 'mkset(toutf8("a"))'],
)
def test_no_collection_holds_bytes(store: DuckDBStore, expression: str) -> None:
    """ClickHouse gives strings inside a collection as UTF-8 text: bytes there could not be
    read back, so the analyzer refuses them with a caret."""
    with pytest.raises(LinqError, match="cannot hold bytes"):
        compile_linq(f"from my.app.fn select {expression} as v", store.schema, now_ms=0)
