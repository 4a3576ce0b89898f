"""Response lines are the same bytes on every engine: the same rows stored on DuckDB and on
ClickHouse (chdb), every mode × options × framing read back through ``fetch`` and ``stream``.

DuckDB's lines are pinned against Python's encoders in ``test_modes.py`` (the same rows lead
here); ClickHouse must give exactly DuckDB's bytes, DuckDB's own spellings (``1e-7``,
``100000000000000000000.0``, ``\\u000F``) included."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import struct
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlglot import exp

from linqd.linq import Bounds, compile_linq
from linqd.linq import types as t
from linqd.linq.compile import LineDialect, line_dialect
from linqd.linq.ir import ResultColumn
from linqd.query.lines import line_expression, line_select
from linqd.query.modes import EncodeOptions, Mode

D = dt.datetime
TEXT_MODES = [m for m in Mode if not m.whole]
TABLE = "my.lines.every"

STORED = (
    ResultColumn("eventdate", t.TIMESTAMP),
    ResultColumn("s", t.STR),
    ResultColumn("i4", t.INT4),
    ResultColumn("i8", t.INT8),
    ResultColumn("f", t.FLOAT8),
    ResultColumn("b", t.BOOL),
    ResultColumn("ts", t.TIMESTAMP),
    ResultColumn("ip", t.IP4),
    ResultColumn("j", t.JSON),
)
COMPUTED: dict[str, Callable[[LineDialect], exp.Expression]] = {
    # Arrays are never stored: queries make them. ClickHouse has no NULL arrays (an empty one).
    "tags": lambda d: d.drop_nulls(exp.Array(expressions=[_c("s"), exp.Literal.string('x,"y')])),
    "stamps": lambda d: exp.Array(expressions=[_c("ts"), _c("eventdate")]),
    "ips": lambda d: exp.Array(expressions=[_c("ip"), _c("ip")]),
    "floats": lambda d: exp.Array(expressions=[_c("f"), _c("f")]),
    "nested": lambda d: exp.Array(
        expressions=[
            d.drop_nulls(exp.Array(expressions=[_c("f")])),
            exp.Array(expressions=[_c("f")]),
        ]
    ),
    "flags": lambda d: exp.Array(expressions=[_c("b")]),
    "docs": lambda d: exp.Array(expressions=[_c("j")]),
    # Maps (and bags) are made by queries too; their keys are never null.
    "scores": lambda d: _map(d, [_s("a"), _s('q"u\\o/te\n')], [_c("f"), _c("f")]),
    "texts": lambda d: _map(d, [_s("x")], [_c("s")]),
    "by_time": lambda d: _map(d, [_c("eventdate")], [_c("ip")]),
    "by_number": lambda d: _map(
        d, [exp.Literal.number(7), exp.Literal.number(-1)], [_c("b"), _c("b")]
    ),
    "nested_map": lambda d: _map(d, [_s("k")], [exp.Array(expressions=[_c("b")])]),
    # A tuple's items keep their own types: a JSON array of them.
    "pair": lambda d: exp.Tuple(expressions=[_c("ts"), _c("ip"), _c("s"), _array("f")]),
}
COLUMNS = (
    *STORED,
    ResultColumn("tags", t.array_of(t.STR)),
    ResultColumn("stamps", t.array_of(t.TIMESTAMP)),
    ResultColumn("ips", t.set_of(t.IP4)),
    ResultColumn("floats", t.array_of(t.FLOAT8)),
    ResultColumn("nested", t.array_of(t.array_of(t.FLOAT8))),
    ResultColumn("flags", t.array_of(t.BOOL)),
    ResultColumn("docs", t.array_of(t.JSON)),
    ResultColumn("scores", t.map_of(t.STR, t.FLOAT8)),
    ResultColumn("texts", t.map_of(t.STR, t.STR)),
    ResultColumn("by_time", t.map_of(t.TIMESTAMP, t.IP4)),
    ResultColumn("by_number", t.map_of(t.INT8, t.BOOL)),
    ResultColumn("nested_map", t.map_of(t.STR, t.array_of(t.BOOL))),
    ResultColumn("pair", t.tuple_of((t.TIMESTAMP, t.IP4, t.STR, t.array_of(t.FLOAT8)))),
)

CONTROL = "".join(chr(i) for i in range(32)) + "\x7f"
FLOATS = [
    0.1, -2.25, 1e20, float("nan"), 0.30000000000000004, float("inf"), float("-inf"), 1e-7, 1e16,
    1e15, 5e-324, -0.0, 0.0, 1.7976931348623157e308, 1e21, 1e-5, 1e-6, 9.9e-7, 1.5e-5, 1e-4,
    9.999e-5, 123456789.123, 1.2345678901234567e16, 1e100, -1e-100, 2.5e-300, 100.0, 4.35,
    9007199254740993.0, 1e22, 123e18, 0.5, -1.0, 3.0e-310, 12345.678e-10,
]  # fmt: skip
STRINGS = [
    "plain",
    'quote " back \\ slash / comma, here',
    "line\nbreak\r\ttab \x00\x01\x1f\x7f",
    "unicode é 日本 😀 \u2028\u2029",
    "",
    None,
    CONTROL,
    "\\u2028 and \\/ and \\\\u2029 \u2028\\",
    "a/b//c\\/",
    '"',
    ",",
    "\t",
    "\r\n",
    "\\",
]
JSONS = [
    '{"a": 1.50, "b":[1 ,2], "s": "q\\"u\\u00e9"}',
    "not json",
    "[1, null, true]",
    '"just a string"',
    "null",
    None,
    "",
    "{}",
    '{"nested": {"k": [1, 2, {"x": "y"}]}, "e": []}',
]
IPS = [2130706433, 0, 4294967295, 167772161, None, 16909060]
INTS = [1, -7, 2**31 - 1, 0, None, -(2**31)]
LONGS = [2**62, -(2**63), 0, 1, None, 2**63 - 1]
BOOLS = [True, False, None]
STAMPS = [
    D(2024, 1, 2, 3, 4, 5, 678000),
    D(1969, 12, 31, 23, 59, 59, 999000),
    D(2024, 7, 1, 22, 30),
    D(2024, 3, 31, 0, 59, 59, 1000),
    D(2000, 2, 29),
    None,
    D(1955, 6, 15, 12, 0, 0, 1000),
    D(2024, 10, 27, 1, 30),
]
EVENTDATES = [1704164645678, -1, 0, 1711846799001, 951782400000, -500_000_000_123, 4102444799999]


def _c(name: str) -> exp.Expression:
    return exp.column(name, quoted=True)


def _s(text: str) -> exp.Expression:
    return exp.Literal.string(text)


def _map(
    d: LineDialect, keys: list[exp.Expression], values: list[exp.Expression]
) -> exp.Expression:
    name = "mapFromArrays" if d.engine == "clickhouse" else "map"
    key_list, value_list = exp.Array(expressions=keys), exp.Array(expressions=values)
    return exp.Anonymous(this=name, expressions=[key_list, value_list])


def _array(*names: str) -> exp.Expression:
    return exp.Array(expressions=[_c(n) for n in names])


def _rows() -> dict[str, list[Any]]:
    """Every value of every list, cycled so that the lists line up in many combinations."""
    count = max(len(FLOATS), len(STRINGS), len(STAMPS) * 3)
    pick: Callable[[Sequence[Any], int], Any] = lambda values, i: values[i % len(values)]  # noqa: E731
    return {
        "s": [pick(STRINGS, i) for i in range(count)],
        "i4": [pick(INTS, i) for i in range(count)],
        "i8": [pick(LONGS, i) for i in range(count)],
        "f": [pick(FLOATS, i) if i % 11 != 10 else None for i in range(count)],
        "b": [pick(BOOLS, i) for i in range(count)],
        "ts": [pick(STAMPS, i) for i in range(count)],
        "ip": [pick(IPS, i) for i in range(count)],
        "j": [pick(JSONS, i) for i in range(count)],
    }


ROWS = _rows()
COUNT = len(ROWS["s"])

OPTION_SETS = [
    EncodeOptions(),
    EncodeOptions(ip_as_string=True),
    EncodeOptions(tz=ZoneInfo("Europe/Madrid")),
    EncodeOptions(tz=ZoneInfo("America/New_York"), date_format="iso", ip_as_string=True),
    EncodeOptions(tz=dt.timezone(dt.timedelta(hours=2)), date_format="sql"),
    EncodeOptions(tz=dt.timezone(-dt.timedelta(hours=5, minutes=30)), date_format="iso"),
    EncodeOptions(date_format="iso"),
    EncodeOptions(tz=ZoneInfo("Asia/Kolkata"), date_format="iso"),
    EncodeOptions(tz=ZoneInfo("Europe/Madrid"), date_format="iso"),
    EncodeOptions(tz=dt.timezone(dt.timedelta(hours=5, minutes=45, seconds=30)), date_format="iso"),
]


@pytest.fixture(scope="module")
def stored(engine_stores: Any) -> Any:
    eventdates = [EVENTDATES[i % len(EVENTDATES)] for i in range(COUNT)]
    return engine_stores.store(TABLE, STORED[1:], ROWS, eventdates)


def both(stored: Any, *args: Any, **kwargs: Any) -> list[bytes]:
    duck = stored.lines("duckdb", *args, **kwargs, computed=COMPUTED)
    house = stored.lines("clickhouse", *args, **kwargs, computed=COMPUTED)
    assert len(duck) == COUNT
    for index, (want, got) in enumerate(zip(duck, house, strict=True)):
        assert got == want, (index, got, want)
    return duck


@pytest.mark.parametrize("mode", TEXT_MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("options", OPTION_SETS, ids=[f"o{i}" for i in range(len(OPTION_SETS))])
def test_every_mode_and_option_gives_the_same_bytes(
    stored: Any, mode: Mode, options: EncodeOptions
) -> None:
    both(stored, mode, options, COLUMNS)


@pytest.mark.parametrize("mode", TEXT_MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("streamed", [False, True])
def test_framed_lines_fetched_or_streamed(stored: Any, mode: Mode, streamed: bool) -> None:
    framed = both(stored, mode, EncodeOptions(), COLUMNS, framed=True, streamed=streamed)
    plain = stored.lines("duckdb", mode, EncodeOptions(), COLUMNS, computed=COMPUTED)
    for line, bare in zip(framed, plain, strict=True):
        assert line in (b"," + bare, bare + b"\r\n")


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: c.name)
def test_single_columns(stored: Any, column: ResultColumn) -> None:
    """One column alone (csv quotes a lone empty cell), in every mode."""
    for mode in TEXT_MODES:
        both(stored, mode, EncodeOptions(ip_as_string=True), [column])


def test_duckdb_lines_are_the_reference(stored: Any) -> None:
    """A few of DuckDB's lines as ``test_modes.py`` pins them: what ClickHouse matched."""
    simple = stored.lines("duckdb", Mode.JSON_SIMPLE, EncodeOptions(), STORED)
    first = json.loads(simple[0])
    assert first["eventdate"] == 1704164645678 and first["ip"] == 2130706433
    assert first["j"] == {"a": 1.5, "b": [1, 2], "s": 'q"ué'}
    assert b"100000000000000000000.0" in simple[2] and b"\\u000F" in simple[6]
    csv = stored.lines("duckdb", Mode.CSV, EncodeOptions(), STORED)
    assert csv[1].split(b",")[0] == b"1969-12-31 23:59:59.999"
    assert csv[2].split(b",")[4] == b"1e+20"


# How DuckDB reads json text (yyjson: trailing commas, NaN/Infinity, numbers too big kept as
# they came) and writes it back (compact, strings re-escaped, its float spelling, -0 as 0).
JSON_TEXTS = [
    *(j for j in JSONS if j is not None),
    ' [1, null, true] ', "1e2", "1E+2", "-0", "12345678901234567890", "1.0", "0.1e1",
    "123456789012345678901234567890", '{"a":1,"a":2}', '"\\/\\u002F\\u2028\\ud83d\\ude00"',
    "[1,]", "{a:1}", "NaN", "[Infinity]", "// c\n1", "/* c */ 1", "  ", '"\\u0001\\u001f"',
    "[1e400]", "-1e-400", '{"x": {}}', "[ ]", "{ }", '"a\tb"', "\ufeff[1]", "true false", "1 2",
    '{"k":"v"} ', '"\\ud800"', "[0.30000000000000004]", "[1E400]", "[100.0, 1e20, 1e-7]",
    "[-9223372036854775808, 9223372036854775807, 18446744073709551615, 18446744073709551616]",
    "[nan]", "[NAN]", "[inf]", "[-inf]", "[-Infinity]", "[+1]", "[01]", "[.5]", "[1.]",
    '{"a":1,}', "[1,,2]", "[,]", "[1 , ]", "[-NaN]", "[infinity]", "[1e5]", "[1E-2]", "[-0.0]",
    "[-0]", "[0e0]", "[1.5E+3]", "[-9223372036854775809]", "[1.0e400]", "[-1e400]", "[1e-400]",
    '["\\u00e9\\u0041\\n\\/\\b\\f\\t\\r\\u007f\\u0080"]', '["\\uD83D\\uDE00"]',
    '["\u2028"]', '{"k\\u0041":1}', '\n{"a"\t:\r\n1}\n', "[1]x", "[1]  ", '"\\x"', "['a']",
    "[1,2]]", '{"a":1}}', "[5e-7]", "[0.1e-6]", "[123.456e2]", "[1e21]", "[100e-2]", "[[1,],]",
    '{"a":[1,2,],"b":{"c":3,},}', "[1,\n]", "[\"a\",]", '{"a b": "c d", "e":"f\\"g"}', "[-]",
    "[1e]", "[1e+]", "[0x10]", "[true,]", "[null , ]", "[1 2]", "[\"a\" \"b\"]", "tru", "nul",
    '"\\u0000"', "[1.7976931348623157e308]", "[5e-324]", "[2.5e-324]", "[-]", "{,}", "[1,]]",
]  # fmt: skip


def test_json_texts(engine_stores: Any) -> None:
    columns = [ResultColumn("j", t.JSON)]
    count = len(JSON_TEXTS)
    stored = engine_stores.store("my.lines.json", columns, {"j": JSON_TEXTS}, [0] * count)
    for mode in (Mode.JSON_SIMPLE, Mode.CSV):
        duck = stored.lines("duckdb", mode, EncodeOptions(), columns)
        house = stored.lines("clickhouse", mode, EncodeOptions(), columns)
        wrong = [(j, d, h) for j, d, h in zip(JSON_TEXTS, duck, house, strict=True) if d != h]
        assert wrong == []


def test_random_floats_and_strings(engine_stores: Any) -> None:
    """Shortest digits, exponents and escapes of many random values."""
    rng = random.Random(20240102)
    floats: list[float | None] = []
    while len(floats) < 3000:
        value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        floats.append(value)
        floats.append(rng.uniform(-1e4, 1e4) * 10.0 ** rng.randint(-12, 25))
        floats.append(float(rng.randint(-(10**18), 10**18)) * 10.0 ** rng.randint(-30, 5))
    alphabet = CONTROL + ' "\\/,\tabcé日😀\u2028\u2029u0123456789'
    strings = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in floats]
    columns = [ResultColumn("f", t.FLOAT8), ResultColumn("s", t.STR), ResultColumn("j", t.JSON)]
    values = {"f": floats, "s": strings, "j": strings}
    stored = engine_stores.store("my.lines.random", columns, values, [0] * len(floats))
    for mode in (Mode.JSON_SIMPLE_COMPACT, Mode.CSV, Mode.TSV):
        duck = stored.lines("duckdb", mode, EncodeOptions(), columns)
        house = stored.lines("clickhouse", mode, EncodeOptions(), columns)
        wrong = [(d, h) for d, h in zip(duck, house, strict=True) if d != h]
        assert wrong == []
    finite = [f for f in floats if f is not None and math.isfinite(f)]
    assert len(finite) > 2900


def test_epoch_ms_and_drop_nulls(stored: Any) -> None:
    """The helpers of the hidden outputs and of the alert engine's shared scans."""
    got = {}
    for engine, store in stored.stores.items():
        d = line_dialect(engine)
        rule = exp.Case().when(exp.GT(this=_c("i4"), expression=exp.Literal.number(0)), _c("i4"))
        rules = exp.Array(expressions=[rule, exp.Literal.number(7), exp.Null()])
        query = (
            exp.select(
                d.epoch_ms(_c("eventdate")), d.epoch_ms(_c("ts")), d.drop_nulls(rules), _c("_seq")
            )
            .from_(exp.Table(this=exp.to_identifier(TABLE, quoted=True)))
            .order_by(_c("_seq"))
        )
        got[engine] = [tuple(row[:3]) for row in store.fetch(query)]
    assert got["clickhouse"] == got["duckdb"]
    assert got["duckdb"][1][:2] == (-1, -1) and got["duckdb"][0][2] == [1, 7]
    assert got["duckdb"][1][2] == [7]


LINQ = [
    f"from {TABLE} select *",
    f"from {TABLE} select i4 > 1 as big, ip, ts, s, j, i4 / 2 as half, f + 1 as more",
]


@pytest.mark.parametrize("linq", LINQ)
def test_compiled_queries_give_the_same_lines(stored: Any, linq: str) -> None:
    """Lines over what each engine's compiler makes of the same LINQ (its own output types)."""
    options = EncodeOptions(ip_as_string=True, tz=ZoneInfo("Europe/Madrid"), date_format="iso")
    got: dict[str, dict[Mode, list[bytes]]] = {}
    for engine, store in stored.stores.items():
        compiled = compile_linq(
            linq, store.schema, now_ms=0, bounds=Bounds(client="self"), engine=engine
        )
        got[engine] = {}
        for mode in TEXT_MODES:
            line = line_expression(mode, compiled.columns, options, engine=engine)
            rows = store.fetch(line_select(compiled.expression, line))
            got[engine][mode] = sorted(str(r[0]).encode() for r in rows)
    assert got["clickhouse"] == got["duckdb"]


def test_maps_are_json_objects(stored: Any) -> None:
    """A map is an object in the JSON modes, and its JSON text in csv: keys as text (a
    timestamp's as its epoch ms, a number's digits), values as the columns' values."""
    names = ["scores", "texts", "by_time", "by_number", "nested_map"]
    columns = [c for c in COLUMNS if c.name in names]
    first = json.loads(both(stored, Mode.JSON_SIMPLE, EncodeOptions(ip_as_string=True), columns)[0])
    assert first == {
        "scores": {"a": 0.1, 'q"u\\o/te\n': 0.1},
        "texts": {"x": "plain"},
        "by_time": {str(EVENTDATES[0]): "127.0.0.1"},
        "by_number": {"7": True, "-1": True},
        "nested_map": {"k": [True]},
    }
    csv_line = both(stored, Mode.CSV, EncodeOptions(), columns[1:2])[0]
    assert csv_line == b'"{""x"":""plain""}"'
