"""Literals and function calls the analyzer must type, on both engines (DuckDB, and ClickHouse on
chdb) over a one-event table: an array or set literal gets one element type (numbers widen,
quoted values read as the other items' type) or is a type error at its item; and, as a property
over the whole function catalogue, a selected expression either is a ``LinqError`` or gives the
one row on both engines with the same value. Never no rows: an engine failing on a value the
analyzer let through shows as an HTTP 200 with no rows once the response has started."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
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


# -- the catalogue, as a property ----------------------------------------------------------------

# Expressions of each type: literals and the table's columns (its one row has a null timeTaken).
POOLS: dict[str, tuple[str, ...]] = {
    "str": ('"abc"', '""', '"10.0.0.1"', '"2023-11-14 22:13:20"', '"5m"', "method", "uri"),
    "int8": ("0", "7", "-3", "statusCode", "bytesTransferred", "timeTaken"),
    "float8": ("2.5", "-0.5"),
    "bool": ("true", "false"),
    "timestamp": ("eventdate",),
    "duration": ("5m", "1d"),
    "ip4": ("10.0.0.1", "clientIpAddress"),
    "net4": ("10.0.0.0/8",),
    "null": ("null",),
    "re": ('re("[a-z]+")',),
    "json": ('jsonparse("{\\"a\\": [1, 2]}")',),
    "jq": ('jqcompile(".a")',),
    "tuple": ('(1, "a")',),
    "coll": ('["a", "b"]', "[1, 2.5]", "{1, 2}", "[]", '["One", 77]', "[true, 1]"),
}
ALL = tuple(e for pool in POOLS.values() for e in pool)
PATTERNS = {"num": POOLS["int8"] + POOLS["float8"], "int": POOLS["int8"], "any": ALL}


@dataclass(frozen=True)
class Exclusion:
    """A known disagreement between the engines, not fixed yet: a problem the property reports
    for an expression matching ``expression`` whose report matches ``problem`` is let through.
    Each is a bug in one function's translation (``functions/``), to fix there."""

    name: str
    expression: str  # a regex the generated expression matches
    problem: str  # a regex the problem's report matches (an engine's error, or the values)


EXCLUSIONS = (
    # DuckDB fails reading a text that is not JSON as JSON (`at(str, key)`, `label(str)`);
    # ClickHouse gives null.
    Exclusion("json-of-plain-text", r"\b(at|label)\(", "Malformed JSON"),
    # An empty key into JSON (`at(json, "")`): DuckDB refuses the path, ClickHouse gives null.
    Exclusion("json-empty-key", r"\bat\(", "JSON path error"),
    # A fractional index into JSON: ClickHouse refuses it, DuckDB gives null.
    Exclusion("json-fractional-index", r"\bat\(", "JSONExtractRaw should be"),
    # An integer of an infinity or NaN (`int(x / 0)`): ClickHouse refuses it, DuckDB gives null.
    Exclusion("int-of-infinity", r"\bint\(", "inf or nan"),
    # DuckDB refuses an empty strftime/strptime pattern; ClickHouse gives "" (or null).
    Exclusion("empty-date-pattern", r"\b(formatdate|parsedate)\(", "Empty format string"),
    # DuckDB's list_contains refuses a needle of another type than the list's items;
    # ClickHouse answers (the analyzer does not check a needle against the element type).
    Exclusion("needle-of-another-type", r"\b(has|weakhas)\(", "Cannot deduce template type"),
    # Only null needles: DuckDB gives null, ClickHouse false.
    Exclusion("null-needles", r"\b(has|weakhas)\(", r"^DuckDB None, ClickHouse False$"),
    # An untyped null literal makes DuckDB's overloaded functions ambiguous (`hour(null)`).
    Exclusion("null-into-overloads", r"\bnull\b", "Could not choose a best candidate"),
    # `in`(v1, v2, ..., x) with a scalar x reads only the first value's literals as x's type.
    Exclusion("in-values-of-mixed-types", r"`in`\(", "one engine fails"),
    # `weakin(str, collection of numbers)`: DuckDB fails casting the text, ClickHouse is false.
    Exclusion("weakin-of-another-type", r"\bweakin\(", "Could not convert"),
    # Shifts by a count outside 0..63: DuckDB refuses large left shifts, ClickHouse negative
    # counts, and the other gives 0.
    Exclusion(
        "shift-count-out-of-range",
        r"\b(lshift|rshift|urshift)\(",
        r"out of range|shift positions|negative number|safely converted"
        r"|^DuckDB -?\d+, ClickHouse -?\d+$",
    ),
    # ClickHouse refuses a capture group the pattern lacks; DuckDB gives null.
    Exclusion("peek-group-out-of-range", r"\bpeek\(", "is out-of-range"),
    # ClickHouse fails on `x % 0` and `x \\ 0` even when x is null; DuckDB gives null.
    Exclusion("integer-division-of-null-by-zero", r"\b(rem|mod|div)\(", "Division by zero"),
    # NaN (`acos(7)`, `sqrt(-3)`, `log(-3)`) compared: DuckDB holds NaN equal to itself and
    # greater than every number, ClickHouse holds no comparison with NaN.
    Exclusion(
        "nan-comparisons",
        r"\b(acos|asin|sqrt|log|log2|log10)\(",
        r"^DuckDB (True|False), ClickHouse",
    ),
    # A remainder by an infinity (`rem(0, log(0))`): DuckDB gives the dividend, ClickHouse NaN.
    Exclusion("remainder-by-infinity", r"\b(rem|mod)\(", "nan"),
    # A pattern with no fields (`parsedate(s, "2023")`): DuckDB's epoch of parsing is 1900,
    # ClickHouse's 1970.
    Exclusion("parsedate-without-fields", r'\bparsedate\([^,]+, "[^a-zA-Z"]*"\)', "."),
    # A negative period: DuckDB refuses it, ClickHouse buckets anyway.
    Exclusion("period-of-negative-duration", r"\bperiod\(", "Period must be greater"),
    # DuckDB's round takes its digits as a constant INTEGER, not a BIGINT column.
    Exclusion("round-digits-from-a-column", r"\bround\(", "No function matches"),
    # ClickHouse's splitByString takes a constant separator only.
    Exclusion("split-by-a-column", r"\bsplit\(", "const String"),
    # A null text: DuckDB splits it into null, ClickHouse into [].
    Exclusion("split-of-null", r"\bsplit\(", r"DuckDB None, ClickHouse \[\]"),
    # The n-th part of an empty text: DuckDB gives "", ClickHouse null.
    Exclusion("split-part-of-empty", r"\bsplit\(", r"DuckDB '', ClickHouse None"),
    # An empty text split by an empty separator: DuckDB gives [""], ClickHouse [].
    Exclusion("split-empty-by-empty", r"\bsplit\(", r"DuckDB \[''\], ClickHouse \[\]"),
    # A negative start or length, and what is computed from it.
    Exclusion("substring-out-of-range", r"\bsubstring\(.*-\d", "."),
    # A null pattern: DuckDB splits into the whole text, ClickHouse gives null; a null text:
    # DuckDB gives null, ClickHouse [].
    Exclusion(
        "splitre-of-null",
        r"\bsplitre\(",
        r"DuckDB \['.*ClickHouse None|DuckDB None, ClickHouse \[\]",
    ),
    # A collection or tuple as text: DuckDB prints `[a, b]`, ClickHouse `['a','b']`.
    Exclusion("str-of-a-collection", r"\bstr\(", r"DuckDB '[\[(].*ClickHouse ['\"][\[(]"),
    # A tuple as a value: ClickHouse's Arrow gives it as a struct (a dict), DuckDB as a tuple.
    Exclusion("tuple-as-a-value", r"\(1, \"a\"\)", r"ClickHouse \{'1'"),
    # A user agent function of a column is a correlated subquery (useragent.py), which DuckDB
    # refuses inside the lambdas of other functions' translations (`osa`); ClickHouse runs it.
    Exclusion("useragent-inside-a-lambda", r"\bua[a-z]+\(", "subqueries in lambda expressions"),
)

FUNCTIONS: list[FunctionDef] = [fn for fn in unique_functions() if not fn.aggregate]


def _pool(pattern: str) -> tuple[str, ...]:
    if pattern in PATTERNS:
        return PATTERNS[pattern]
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


def excused(expression: str, report: str) -> str | None:
    for exclusion in EXCLUSIONS:
        if re.search(exclusion.expression, expression) and re.search(exclusion.problem, report):
            return exclusion.name
    return None


@settings(
    max_examples=2500,
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
    if report is not None and excused(expression, report) is None:
        pytest.fail(f"{expression}: {report}")


def test_exclusions_are_named_once() -> None:
    names = [exclusion.name for exclusion in EXCLUSIONS]
    assert len(names) == len(set(names))
