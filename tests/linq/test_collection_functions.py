"""Collections on both engines: array, set, tuple and map constructors and literals, access by
position and key, sorting and searching, bags, `+` on arrays, `&` on sets, the higher-order
`map` and `filter`, and the collectcompact aggregate. The spec cites one Devo example
(`length({1,20,3,4,20,20})` is 4: a set holds distinct values); the rest are worked by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from linqd.clock import SimulatedClock
from linqd.errors import LinqError, LinqNameError, LinqSyntaxError, LinqTypeError, QueryLimitError
from linqd.linq import Bounds, compile_linq
from linqd.linq import types as t
from linqd.linq.functions import aggregates
from linqd.meta import MetaStore
from linqd.store.catalog import Column, TableSchema
from linqd.store.duckdb import DuckDBStore

from .chdb_tables import ENGINES, Runner, running_on
from .test_functions import DEMO_ROW, EVENT_MS, NOW_MS

TABLE = "demo.ecommerce.data"
DEMO = f'from {TABLE} where uri = "/cart?id=7"'
CODE_ROWS = f'from {TABLE} where uri = "/codes"'
# Rows for collectcompact: statusCode 200 three times, 404 twice, 500 once, and a null.
CODES = [200, 404, 200, 500, None, 200, 404]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBStore]:
    tmp: Path = tmp_path_factory.mktemp("collections")
    events = DuckDBStore(tmp / "e.duckdb", MetaStore(tmp / "m.sqlite"), SimulatedClock())
    events.append(TABLE, DEMO_ROW, client="self", eventdates=[EVENT_MS])
    events.append(
        TABLE,
        {
            "statusCode": CODES,
            "method": ["GET", "POST", "GET", "GET", "PUT", "POST", None],
            "uri": ["/codes"] * len(CODES),
        },
        client="self",
        eventdates=[EVENT_MS + 1 + i for i in range(len(CODES))],
    )
    yield events
    events.close()


@pytest.fixture(scope="module", params=ENGINES)
def engine(
    request: pytest.FixtureRequest, store: DuckDBStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runner]:
    with running_on(request.param, store, tmp_path_factory) as runner:
        yield runner


def plain(value: Any, type_name: str) -> Any:
    """A map as a dict: DuckDB hands it back as one, ClickHouse's Arrow as (key, value) pairs."""
    if type_name.startswith("map(") and isinstance(value, list):
        return dict(value)
    return value


def evaluate(engine: Runner, expression: str) -> tuple[Any, str]:
    """``expression`` over the demo row alone."""
    rows = run(engine, f"{DEMO} select {expression} as value")
    assert len(rows) == 1
    return rows[0][-1], last_type(engine, f"{DEMO} select {expression} as value")


def last_type(engine: Runner, text: str) -> str:
    query = compile_linq(text, engine.store.schema, now_ms=NOW_MS, engine=engine.engine)
    return query.columns[-1].type.name


def run(engine: Runner, text: str) -> list[tuple[Any, ...]]:
    query = compile_linq(
        text, engine.store.schema, now_ms=NOW_MS, bounds=Bounds(client="self"), engine=engine.engine
    )
    types = [c.type.name for c in query.columns]
    return [
        tuple(plain(v, t) for v, t in zip(row, types, strict=True)) for row in engine.rows(query)
    ]


# The demo row: statusCode 404, method "GET", timeTaken null, bytesTransferred 1500.
CASES = [
    # -- constructors and literals ---------------------------------------------------------------
    ("mkarray(1, 2, 3)", [1, 2, 3]),
    ("mkarray(statusCode, 2.5)", [404.0, 2.5]),
    ('mkarray("a", method)', ["a", "GET"]),
    ("mkarray()", []),
    ("length({1,20,3,4,20,20})", 4),  # Devo's example: a set holds distinct values
    ("length(mkset(1, 20, 3, 4, 20, 20))", 4),
    ("{3, 1, 2, 1}", [1, 2, 3]),  # sorted, as both engines give one order
    ("mkset(statusCode, 1, statusCode)", [1, 404]),
    ("{1, null, 1}", [1]),  # a set holds no null
    ('{"b", "a", "b"}', ["a", "b"]),
    ('mktuple(1, "a")[1]', "a"),  # (a tuple as a value: ClickHouse's Arrow gives a struct)
    ('mktuple(1, "a") = (1, "a")', True),
    ("array({3, 1, 3})", [1, 3]),
    ("set([3, 1, 3, null])", [1, 3]),
    ("set([method, method])", ["GET"]),
    ("length(set([1, 1, 2]))", 2),
    # -- maps ------------------------------------------------------------------------------------
    ('{"a": 1, "b": 2}', {"a": 1, "b": 2}),
    ('{"b": 1, "a": 2}', {"b": 1, "a": 2}),  # in the order given
    ('{"a": 1, "a": 2}', {"a": 2}),  # the last value of a repeated key
    ('{"a": 1}["a"]', 1),
    ('{"a": 1}["z"]', None),
    ('{"a": null}["a"]', None),
    ('{"a": [1, 2], "b": [3]}["b"]', [3]),
    ("{1: 2.5, 2: 3}[2]", 3.0),
    ('{1: "x"}["1"]', "x"),  # a quoted key is read as the map's key type, as `=` reads it
    ('{clientIpAddress: "me"}["192.168.1.10"]', "me"),
    ('mkmap("a", 1, "b", 2)', {"a": 1, "b": 2}),
    ('mkmap(method, 1, "x", 2, method, 3)', {"GET": 3, "x": 2}),
    ('mkmap(method, 1)["GET"]', 1),
    ('mkmap(str(timeTaken), 1, "x", 2)', {"x": 2}),  # a null key is left out
    ('keys({"b": 1, "a": 2})', ["b", "a"]),
    ('values({"b": 1, "a": 2})', [1, 2]),
    ('length({"b": 1, "a": 2})', 2),
    ('has({"a": 1}, "a")', True),
    ('{"a": 1} -> "b"', False),
    ('{"a": 1} -> 1', False),  # a key of another type is never there
    ('"a" in {"a": 1}', True),
    ('method in {"GET": 1}', True),
    ("404 in {404: true}", True),
    # -- access by position ----------------------------------------------------------------------
    ("at0([10, 20, 30], 0)", 10),
    ("at0([10, 20, 30], 2)", 30),
    ("at0([10, 20, 30], 3)", None),
    ("at0([10, 20, 30], -1)", None),
    ("at1([10, 20, 30], 1)", 10),
    ("at1([10, 20, 30], 3)", 30),
    ("at1([10, 20, 30], 0)", None),
    ("atend([10, 20, 30], 0)", 30),
    ("atend([10, 20, 30], 2)", 10),
    ("atend([10, 20, 30], 3)", None),
    ("atend([10, 20, 30], -1)", None),
    ("at0({30, 10}, 0)", 10),
    ("[10, 20, 30][1]", 20),
    ("at0([10, 20], timeTaken)", None),
    # -- sort, indexof, dropnulls, join ----------------------------------------------------------
    ("sort([3, null, 1, 2])", [1, 2, 3, None]),
    ("sort([3, null, 1, 2], true)", [1, 2, 3, None]),
    ("sort([3, null, 1, 2], false)", [3, 2, 1, None]),
    ('sort(["b", "a", "B"])', ["B", "a", "b"]),
    ("indexof([5, 6, 7], 7)", 2),
    ("indexof([5, 6, 7, 7], 7)", 2),
    ("indexof([5, 6, 7], 8)", -1),
    ('indexof(["GET", "PUT"], method)', 0),
    ("indexof([5, null], null)", 1),
    ("dropnulls([1, null, 2, null])", [1, 2]),
    ("dropnulls([null])", []),
    ("join([1, 2, 3])", "1,2,3"),
    ('join(["a", null, "b"], " | ")', "a | b"),
    ('join(["a"], "")', "a"),
    ("join([1.5, 2.0])", "1.5,2.0"),
    ('join([true, false], ";")', "true;false"),
    ("join([])", ""),
    # -- bags ------------------------------------------------------------------------------------
    ("bag(1, 2, 2)", {1: 1, 2: 2}),
    ('bag(["b", "a", "b", null])', {"a": 1, "b": 2}),
    ("bag({3, 3})", {3: 1}),
    ("bag(statusCode, 404, 200)[404]", 2),
    ("bag(1, 2, 2)[7]", None),
    ("keys(bag(3, 1, 3))", [1, 3]),
    ("values(bag(3, 1, 3))", [1, 2]),
    ("length(bag(1, 1, 1))", 1),
    # -- add on arrays ---------------------------------------------------------------------------
    ("[1, 2] + 3", [1, 2, 3]),
    ("[1, 2] + [3, 4]", [1, 2, 3, 4]),
    ('[1, 2] + "a"', ["1", "2", "a"]),  # Devo: mixed elements make an array(str)
    ('["a"] + [1, 2]', ["a", "1", "2"]),
    ("[1, 2] + 2.5", [1.0, 2.0, 2.5]),
    ("[1] + {3, 2, 3}", [1, 2, 3]),
    ("[1] + null", [1, None]),
    ("[] + 1", [1]),
    ("[statusCode] + statusCode", [404, 404]),
    ('[eventdate] + "x"', ["2023-11-14 22:13:20.123", "x"]),
    # -- sub with one argument -------------------------------------------------------------------
    ("sub(5)", -5),
    ("sub(statusCode)", -404),
    ("sub(2.5)", -2.5),
    ("sub(-3)", 3),
    ("sub(timeTaken)", None),
    # -- & on sets -------------------------------------------------------------------------------
    ("{1, 2, 3} & {2, 3, 4}", [2, 3]),
    ("{3, 1} & {5}", []),
    ('{"a", "b"} & set(["b", method])', ["b"]),
    ("6 & 3", 2),  # integers keep the bitwise and
    # -- map and filter --------------------------------------------------------------------------
    ("map([1, 2, 3], '_ * 2')", [2, 4, 6]),
    ("map([1, null], '_ + 1')", [2, None]),
    ("map({3, 1}, 'str(_) + method')", ["1GET", "3GET"]),
    ("map([1, 2], '_ > 1')", [False, True]),
    ("map([[1, 2], [3]], 'map(_, \"_ * 10\")')", [[10, 20], [30]]),
    ("map([[1, 2], [3]], 'length(_)')", [2, 1]),
    ("map([], '_')", []),
    ("filter([1, 2, 3, null], '_ > 1')", [2, 3]),
    ("filter({3, 1, 2}, '_ != 2')", [1, 3]),
    ('filter(["a", "bb"], \'length(_) > statusCode - 403\')', ["bb"]),
    ("filter([1, 2, 3], 'false')", []),
    ("length(filter([1, 2, 3], '_ % 2 = 1'))", 2),
]


@pytest.mark.parametrize(("expression", "expected"), CASES)
def test_function(engine: Runner, expression: str, expected: object) -> None:
    value, _ = evaluate(engine, expression)
    assert value == expected


@pytest.mark.parametrize(
    ("expression", "type_name"),
    [
        ('{"a": 1}', "map(str,int8)"),
        ("{1: 2.5, 2: 3}", "map(int8,float8)"),
        ('{"a": [1]}', "map(str,array(int8))"),
        ("bag(1, 2)", "map(int8,int8)"),
        ("keys({1.5: true})", "array(float8)"),
        ("values({1.5: true})", "array(bool)"),
        ("{1, 2}", "set(int8)"),
        ("mkset(1, 2.5)", "set(float8)"),
        ("array({1})", "array(int8)"),
        ("set([1])", "set(int8)"),
        ("mktuple(1, 2)", "tuple"),
        ("sort({2, 1})", "array(int8)"),
        ('[1] + "a"', "array(str)"),
        ("[1] + 2.5", "array(float8)"),
        ("map([1], '_ * 1.5')", "array(float8)"),
        ("map([1], 'str(_)')", "array(str)"),
        ("filter({1}, '_ > 0')", "set(int8)"),
        ("{1} & {2}", "set(int8)"),
        ("indexof([1], 1)", "int4"),
        ('join(["a"])', "str"),
    ],
)
def test_result_types(engine: Runner, expression: str, type_name: str) -> None:
    assert evaluate(engine, expression)[1] == type_name


def test_a_map_of_timestamps_and_addresses(engine: Runner) -> None:
    value, type_name = evaluate(engine, "{eventdate: clientIpAddress}")
    assert type_name == "map(timestamp,ip4)"
    ((stamp, address),) = value.items()
    assert stamp.replace(tzinfo=None).isoformat() == "2023-11-14T22:13:20.123000"
    assert address == 3_232_235_786


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("{null: 1}", "A map key cannot be null"),
        ("{[1]: 1}", "A map key must be a single value, not array"),
        ('{"a": 1, "b": "x"}', "must share one type"),
        ('{"a": 1, 2: 1}', "must share one type"),
        ('[(1, "a"), (2.5, "b")]', r"is tuple\(float8,str\), not tuple\(int8,str\)"),
        ('mkmap("a")', "in pairs"),
        ('mkarray(null, ["a"])', "`null` is null, not array"),
        ('{"a": [1], "b": null}', "`null` is null, not array"),
        ("mkmap()", "at least one key"),
        ("bag()", "keys of this map have no type"),
        ("bag(null)", "keys of this map have no type"),
        ('{"a": 1}[1]', "keys of this map are str, not int8"),
        ('indexof([1, 2], "a")', "looks for a str in an array of int8"),
        ('{1, 2} & {"a"}', "Cannot intersect a set of int8 with a set of str"),
        ("{1} | {2}", "Function `bor' takes"),  # Devo documents `&` only on sets
        ("{1} - {2}", "Function `sub' takes"),
        ('sort([1], method = "GET")', "must be true or false"),
        ("map(statusCode, '_')", "applies to an array or a set, not int8"),
        ("map([1], 2)", "must be a string literal"),
        ("map([1], method)", "must be a string literal"),
        ("map([1])", "takes an array and an expression"),
        ("filter([1], '_ + 1')", "must be a bool, not int8"),
        ("map([1], '_ + nosuch')", "Unknown identifier `nosuch'"),
        ("map([1], '_ +')", "Encountered <EOF>"),
        ("map([1], '_ 1')", "Encountered"),
        ('[1] + {"a": 1}', "Cannot add a map"),
        ("join([1], method)", "separator of `join' must be a constant string"),
        ("[[1]] + 2", "Cannot add a int8 to an array of array"),
    ],
)
def test_type_errors(engine: Runner, expression: str, message: str) -> None:
    with pytest.raises(LinqError, match=message):
        evaluate(engine, expression)


def test_an_error_in_a_lambda_points_into_its_string() -> None:
    store_schema = _lambda_schema()
    for expression, wrong, cls in [
        ("map([1], '_ + nosuch')", "nosuch", LinqNameError),
        ("filter([1], \"_ > 'a' + 1\")", "'a' + 1", LinqTypeError),
        ("map([1], '_ +')", "", LinqSyntaxError),
    ]:
        query = f"from {TABLE} select {expression} as value"
        with pytest.raises(cls) as caught:
            compile_linq(query, store_schema, now_ms=NOW_MS)
        span = caught.value.span
        assert span is not None and caught.value.source == query
        inside = query.index(expression.split("'")[1] if "'" in expression else "_")
        assert span.start >= inside, (expression, span)
        if wrong:
            assert query[span.start : span.end] == wrong
        assert "^" in caught.value.render()


def test_an_escaped_lambda_string_points_at_the_string() -> None:
    query = f'from {TABLE} select map([1], "_ + \\"x") as value'
    with pytest.raises(LinqError) as caught:
        compile_linq(query, _lambda_schema(), now_ms=NOW_MS)
    span = caught.value.span
    assert span is not None
    assert query[span.start : span.end] == '"_ + \\"x"'
    assert "In the expression" in caught.value.message


def _lambda_schema() -> Callable[[str], TableSchema | None]:
    schema = TableSchema(TABLE, (Column("statusCode", t.INT8), Column("method", t.STR)))
    return lambda name: schema if name == TABLE else None


def test_aggregations_are_refused_inside_a_lambda(engine: Runner) -> None:
    with pytest.raises(LinqError, match="can only be used after group"):
        run(engine, f"from {TABLE} group select map(collect(statusCode), '_ + count()') as v")


def test_a_lambda_sees_the_columns_after_a_group(engine: Runner) -> None:
    rows = run(
        engine,
        f"{CODE_ROWS} group by method select map(collect(statusCode), '_ + length(method)') as v"
        ' where method = "GET"',
    )
    assert rows == [("GET", [203, 203, 503])]


# -- collectcompact -------------------------------------------------------------------------------


def test_collectcompact_counts_each_value(engine: Runner) -> None:
    rows = run(engine, f"{CODE_ROWS} group select collectcompact(statusCode) as c")
    assert rows == [({200: 3, 404: 2, 500: 1},)]


def test_collectcompact_by_key(engine: Runner) -> None:
    rows = run(engine, f"{CODE_ROWS} group by method select collectcompact(statusCode) as c")
    assert rows == [
        ("GET", {200: 2, 500: 1}),
        ("POST", {200: 1, 404: 1}),
        ("PUT", {}),  # only a null code
        (None, {404: 1}),
    ]


def test_collectdistinct_is_a_set(engine: Runner) -> None:
    rows = run(engine, f"{CODE_ROWS} group select collectdistinct(statusCode) as c")
    assert rows == [([200, 404, 500],)]
    rows = run(engine, f"{CODE_ROWS} group by method select collectdistinct(statusCode) as c")
    assert rows == [("GET", [200, 500]), ("POST", [200, 404]), ("PUT", []), (None, [404])]


def test_collectcompact_of_text_is_sorted(engine: Runner) -> None:
    rows = run(engine, f"{CODE_ROWS} group select collectcompact(method) as c")
    assert rows == [({"GET": 3, "POST": 2, "PUT": 1},)]
    keys = run(engine, f"{CODE_ROWS} group select keys(collectcompact(method)) as c")
    assert keys == [(["GET", "POST", "PUT"],)]


def test_collectcompact_fails_past_its_bound_with_devos_message(
    engine: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert aggregates.COLLECTCOMPACT_MAX == 100_000
    monkeypatch.setattr(aggregates, "COLLECTCOMPACT_MAX", 2)
    with pytest.raises(QueryLimitError) as caught:
        run(engine, f"{CODE_ROWS} group select collectcompact(statusCode) as c")
    assert (
        str(caught.value) == "Maximum number of elements surpassed for operation `collectcompact`"
    )
    # At the bound itself the query runs.
    rows = run(engine, f"{CODE_ROWS} group by method select collectcompact(statusCode) as c")
    assert len(rows) == 4
