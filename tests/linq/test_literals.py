"""Literals and function calls the analyzer must type, on both engines (DuckDB, and ClickHouse on
chdb) over a one-event table: an array or set literal gets one element type (numbers widen,
quoted values read as the other items' type) or is a type error at its item; and, as a property
over the whole function catalogue, a selected expression either is a ``LinqError`` or gives the
one row on both engines with the same value. Never no rows: an engine failing on a value the
analyzer let through shows as an HTTP 200 with no rows once the response has started."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linqd.clock import SimulatedClock
from linqd.errors import LinqError, QueryFailed
from linqd.linq import Bounds, compile_linq
from linqd.linq.functions import unique_functions
from linqd.linq.functions.base import FunctionDef, Signature
from linqd.meta import MetaStore
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import Runner, running_on
from .test_functions import DEMO_ROW, EVENT_MS, NOW_MS

TABLE = "demo.ecommerce.data"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("literals")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(
        TABLE,
        DEMO_ROW,
        client="self",
        eventdates=[EVENT_MS],
    )
    yield events
    events.close()


@pytest.fixture(scope="module")
def runners(store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Runner]]:
    with (
        running_on("duckdb", store, tmp_path_factory) as duck,
        running_on("clickhouse", store, tmp_path_factory) as house,
    ):
        yield [duck, house]


def outcome(runner: Runner, expression: str) -> list[tuple[Any, ...]] | LinqError | QueryFailed:
    """The rows of ``select expression`` on one engine, or the error that refused it."""
    text = f"from {TABLE} select {expression} as value"
    try:
        query = compile_linq(
            text,
            runner.store.schema,
            now_ms=NOW_MS,
            bounds=Bounds(client="self"),
            engine=runner.engine,
        )
    except LinqError as error:
        return error
    try:
        return [row[-1:] for row in runner.rows(query)]
    except QueryFailed as error:
        return error


# -- array and set literals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("[1, 2.5]", [1.0, 2.5]),
        ("[statusCode, 0.5]", [404.0, 0.5]),
        ("[null, 1]", [None, 1]),
        ('["a", method]', ["a", "GET"]),
        ('{10.0.0.1, "10.0.0.2"}', [167_772_161, 167_772_162]),
        ('["2023-11-14", eventdate] = ["2023-11-14", eventdate]', True),
        ('statusCode in {404, "x"}', True),  # an item of another type is never a member
        ('method in {"GET", 1}', True),
        ('(1, "a") = (1, "a")', True),  # a tuple's items keep their own types
    ],
)
def test_collection_literals_take_one_element_type(
    runners: list[Runner], expression: str, expected: object
) -> None:
    for runner in runners:
        assert outcome(runner, expression) == [(expected,)], runner.engine


# -- found by the property below, now pinned ------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # `NOT TRUE IS NULL` is `NOT (TRUE IS NULL)`: arguments that are operators keep their
        # parentheses inside a translation.
        ("isnull(not true)", False),
        ('isnotnull(isnotnull(isnotnull("5m")))', True),
        ("isnull(-statusCode)", False),
        # The values a conditional chooses from take one type, the type of its result.
        ("nvl(timeTaken, 2.5)", 2.5),
        ('ifthenelse(true, null, "x")', None),
        ('decode(statusCode, "404", 1, 2.5)', 1.0),
        # Arrays of items that can never be equal compare false, as other mismatched types do.
        ('[1, 2.5] = ["a", "b"]', False),
    ],
)
def test_operator_arguments_keep_their_grouping(
    runners: list[Runner], expression: str, expected: object
) -> None:
    for runner in runners:
        assert outcome(runner, expression) == [(expected,)], runner.engine


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # Text that is not JSON is null to the JSON functions (DuckDB's would fail the query).
        ('at("abc", "k")', None),
        ('label("abc")', None),
        ("at(method, 1)", None),
        # The empty key is a key; an index that is neither an integer nor a string names none.
        ('at("{\\"\\": 3}", "")', "3"),
        ('at(jsonparse("{\\"a\\": [1, 2]}"), 2.5)', None),
        ('at(jsonparse("{\\"a\\": [1, 2]}"), true)', None),
        # An integer has no infinity: integer division and remainders by zero are null, an
        # int of an infinity or NaN too.
        ("7 \\ 0", None),
        ("timeTaken % 0", None),
        ("7 %% 0", None),
        ("int(1 / 0)", None),
        ("int(log(-3))", None),
        ("2.5 \\ 0", math.inf),
        # fmod: a finite number by an infinity is that number.
        ("rem(2.5, log(0))", 2.5),
        # A null text splits into no piece, an empty text into one empty piece.
        ('split(str(timeTaken), ",")', []),
        ("splitre(method, null)", []),
        ('split("", ",")', [""]),
        ('split("", ",", 0)', ""),
        ('split("", "")', [""]),
        # A null needle is unknown; a needle of another type is never an item.
        ('has(["a"], null)', None),
        ('has(["a"], "b", null)', None),
        ('has(["a"], 1)', False),
        # weakhas ignores case in a collection too.
        ('weakhas(["A", "b"], "B")', True),
        ('has(["A"], "a")', False),
        # An empty date pattern writes nothing and reads no date.
        ('formatdate(eventdate, "")', ""),
        ('parsedate("2023", "")', None),
        # Text is never an item of a collection of numbers.
        ('weakin("a", [1, 2.5])', False),
        # A capture group the pattern lacks captures nothing.
        ('peek("abc", re("b"), 1)', None),
        # A period that is not positive holds nothing.
        ("period(eventdate, -5m)", None),
        ("period(eventdate, 5m * (statusCode - 405))", None),
        # A date pattern without a year reads a date of 1970, as Java's.
        ('parsedate("2023", "2023")', datetime(1970, 1, 1)),
        ('parsedate("03-04", "MM-dd")', datetime(1970, 3, 4)),
        ('parsedate("12:30", "HH:mm", "Europe/Madrid")', datetime(1970, 1, 1, 11, 30)),
        # A negative start or length names no part of a text.
        ('substring("abcdef", -2)', None),
        ('substring("abcdef", 1, statusCode - 406)', None),
        ('substring("abcdef", statusCode - 403, 2)', "bc"),
        # Digits from a column round as constant digits do, halves away from zero.
        ("round(2.345, statusCode - 402)", 2.35),
        ("round(-2.5, statusCode - 404)", -3.0),
        ("round(1234.5, statusCode - 406)", 1200.0),
        # A collection as text, as a Java list prints.
        ('str(["a", "b"])', "[a, b]"),
        ("str([1, 2.5])", "[1.0, 2.5]"),
        ('str([null, "x"])', "[null, x]"),
        ("str({10.0.0.1})", "[10.0.0.1]"),
        ("str([])", "[]"),
        # A map as text, as a Java map prints: in its order, `key=value`.
        ('str({"a": 1, "b": 2})', "{a=1, b=2}"),
        ("str({404: method})", "{404=GET}"),
        ("str(bag(1, 2, 2))", "{1=1, 2=2}"),
        ('str({"x": [1, 2], "y": [3]})', "{x=[1, 2], y=[3]}"),
        ('str({"a": null})', "{a=null}"),
        ('str([{"a": 1}])', "[{a=1}]"),
        # A tuple as text, its items as `str` writes them.
        ('str((1, "a", null))', "(1, a, null)"),
        ("str((2.0, 10.0.0.1, [true]))", "(2.0, 10.0.0.1, [true])"),
        ('str(mktuple(method, {"k": statusCode}))', "(GET, {k=404})"),
        # No null array or map (ClickHouse has none): a missing one is empty on both engines.
        ("at([[1], [2]], 5)", []),
        ("atend([[1], [2]], 2)", []),
        ('{"a": [1]}["b"]', []),
        ('[{"a": 1}][3]', {}),
        ("at0([[1], [2]], 1)", [2]),
        # A lookup (a correlated subquery on DuckDB) as the argument of a function with lambdas.
        ('osa(uabrowser(uri), "Othr")', 1),
        ('damerau("co.ux", publicsuffix(replace(method, "GET", "www.example.co.uk")))', 1),
        ('hamming(mm2country(ip4(replace(method, "GET", "8.8.8.8"))), "ES")', 1),
        # Addresses leave the query as their text wherever they are held.
        ('mkarray(mkarray(ip6("2001:db8::1")))', [["2001:db8::1"]]),
        ('{"a": mac("00:1a:2b:3c:4d:5e")}', {"a": "00:1a:2b:3c:4d:5e"}),
        ('{"k": [mac("00:1a:2b:3c:4d:5e")]}', {"k": ["00:1a:2b:3c:4d:5e"]}),
        ('(ip6("::1"), 1)', ("::1", 1)),
        # A tuple as a value is a tuple on both engines (ClickHouse's Arrow gives a struct).
        ('(1, "a")', (1, "a")),
        ("mktuple(method, [(1, null)])", ("GET", [(1, None)])),
        # Shifts are Java's: the count modulo 64, bits pushed out dropped, `>>>` fills zeros.
        ("1 << 64", 1),
        ("1 << -1", -9223372036854775808),
        ("-1 << 2", -4),
        ("3 << 62", -4611686018427387904),
        ("-8 >> -1", -1),
        ("-8 >> 70", -1),
        ("-8 >>> 60", 15),
        ("-8 >>> 2", 4611686018427387902),
        ("statusCode << (statusCode - 340)", 404),
        ("length(method) << 30", -1073741824),  # an int4 wraps at 32 bits
        ("-length(method) >> 33", -2),
        # NaN compares as in Java: only `!=` holds.
        ("sqrt(-3) = sqrt(-3)", False),
        ("sqrt(-3) != sqrt(-3)", True),
        ("sqrt(-3) > 1", False),
        ("1 < sqrt(-3)", False),
        ("sqrt(4) = 2", True),
        # Each value tested by `in` is read against the container on its own.
        ('`in`(7, "abc", method)', False),
        ('`in`(method, 7, ["a"])', False),
        ('`in`(statusCode, "404", 404)', True),
        ('`in`(statusCode, "404", "x", 404)', False),
        ('`in`(null, "abc")', None),
        ('`in`("b", null, "abc")', None),
        # Text tested against an address is read as one; text that is none is no member.
        ('`in`(0, "abc", ip6("2001:db8::1"))', False),
        ('`in`("2001:db8::1", ip6("2001:db8::1"))', True),
        ('`in`("abc", mac("00:1a:2b:3c:4d:5e"))', False),
        ('`in`("abc", clientIpAddress)', False),
        # A null argument is typed as its parameter (DuckDB could not choose an overload).
        ("hour(null)", None),
        ('formatdate(null, "yyyy")', None),
        ("length(null)", None),
    ],
)
def test_former_engine_disagreements_give_one_answer(
    runners: list[Runner], expression: str, expected: object
) -> None:
    for runner in runners:
        assert outcome(runner, expression) == [(expected,)], runner.engine


# -- the catalogue, as a property ----------------------------------------------------------------

# Expressions of each type: literals and the table's columns (its one row has a null timeTaken).
POOLS: dict[str, tuple[str, ...]] = {
    "str": (
        *('"abc"', '""', '"10.0.0.1"', '"2023-11-14 22:13:20"', '"5m"', "method", "uri"),
        # Lookups (correlated subqueries) as arguments of every other function. (A ua*
        # function is 1,270 rules of SQL: its nesting has cases of its own, in
        # test_useragent_functions.py, to keep this test's time.)
        *("publicsuffix(method)", "mm2country(clientIpAddress)"),
    ),
    "int8": ("0", "7", "-3", "statusCode", "bytesTransferred", "timeTaken"),
    "float8": ("2.5", "-0.5"),
    "bool": ("true", "false"),
    "timestamp": ("eventdate",),
    "duration": ("5m", "1d"),
    "ip4": ("10.0.0.1", "clientIpAddress"),
    "net4": ("10.0.0.0/8",),
    "ip6": ('ip6("2001:db8::1")', 'ip6("::ffff:10.0.0.1")', "ip6(uri)"),
    "net6": ('net6("2001:db8::/32")', 'net6("::ffff:10.0.0.0/104")'),
    "mac": ('mac("00:1a:2b:3c:4d:5e")', "mac(method)"),
    "array(net4)": ("[10.0.0.0/8, 192.168.0.0/16]",),
    "array(net6)": ('[net6("fc00::/7"), net6("::/0")]',),
    "null": ("null",),
    "re": ('re("[a-z]+")',),
    "json": ('jsonparse("{\\"a\\": [1, 2]}")',),
    "jq": ('jqcompile(".a")',),
    "tuple": ('(1, "a")',),
    "bytes": ('from16("00ff")', 'md5("a")', 'toutf8("héllo")', 'from64("")'),
    "dc": ('unpackhllpp(from16("010e000041"))',),
    "coll": ('["a", "b"]', "[1, 2.5]", "{1, 2}", "[]", '["One", 77]', "[true, 1]"),
    "map": ('{"a": 1, "b": 2}', "{404: method}", "bag(1, 2, 2)"),
}
ALL = tuple(e for pool in POOLS.values() for e in pool)
PATTERNS = {
    "num": POOLS["int8"] + POOLS["float8"],
    "int": POOLS["int8"],
    "any": ALL,
    # map/filter take a LINQ expression of `_` in a string.
    "str": POOLS["str"] + ("'_ * 2'", "'_ > 1'", "'str(_)'"),
}


# `rand` draws a new number on each engine: it has tests of its own (test_oracle.py).
FUNCTIONS: list[FunctionDef] = [
    fn for fn in unique_functions() if not fn.aggregate and fn.name != "rand"
]


def _pool(pattern: str) -> tuple[str, ...]:
    if pattern in PATTERNS:
        return PATTERNS[pattern]
    if pattern in POOLS:
        return POOLS[pattern]
    if pattern.startswith(("array", "set")):
        return POOLS["coll"]
    return POOLS.get(pattern, ALL)


@st.composite
def calls(draw: st.DrawFn, depth: int = 2) -> str:
    """A call of a catalogue function: a signature, an arity it takes, and for each parameter
    an expression of its type (mostly) or of any type (to reach the type errors)."""
    fn = draw(st.sampled_from(FUNCTIONS))
    signature: Signature = draw(st.sampled_from(fn.signatures))
    low = len(signature.params) - signature.optional
    high = len(signature.params) + (2 if signature.variadic else 0)
    count = draw(st.integers(low, high))
    args = []
    for index in range(count):
        pattern = signature.param(index)
        if depth > 0 and draw(st.integers(0, 5)) == 0:
            args.append(draw(calls(depth - 1)))
        elif draw(st.integers(0, 4)) == 0:
            args.append(draw(st.sampled_from(ALL)))
        else:
            args.append(draw(st.sampled_from(_pool(pattern))))
    name = f"`{fn.name}`" if fn.name == "in" else fn.name
    return f"{name}({', '.join(args)})"


def same(a: object, b: object) -> bool:
    """One value from each engine: equal, floats to their last bits, NaN as NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def problem(expression: str, results: list[Any]) -> str | None:
    """What is wrong with one expression's results on the engines (DuckDB, ClickHouse), if
    anything: rows other than the one selected, one engine failing alone, or two values."""
    for result in results:
        if isinstance(result, list) and len(result) != 1:
            return f"{len(result)} rows from one selected row: {results}"
    if any(isinstance(r, LinqError) for r in results):
        return None  # refused at compilation (an engine may lack a function)
    failed = [r for r in results if isinstance(r, QueryFailed)]
    if failed:
        # A query both engines refuse as they run (overflow, division by zero) fails the same
        # way on each; one engine alone failing is a disagreement.
        return None if len(failed) == len(results) else f"one engine fails: {results}"
    duck, house = (r[0][0] for r in results)
    return None if same(duck, house) else f"DuckDB {duck!r}, ClickHouse {house!r}"


@settings(
    max_examples=800,  # ~1 min of the suite's 20 on CI; derandomized, so a failure repeats
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(expression=calls())
def test_an_expression_is_an_error_or_one_row_with_the_same_value_on_both_engines(
    runners: list[Runner], expression: str
) -> None:
    results = [outcome(runner, expression) for runner in runners]
    report = problem(expression, results)
    if report is not None:
        pytest.fail(f"{expression}: {report}")
