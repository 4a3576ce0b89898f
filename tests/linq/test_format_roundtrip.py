"""``format_query`` and ``parse`` are inverses, and ``parse`` fails only with ``LinqError``.

Property tests with hypothesis: random text and random joins of LINQ fragments never crash the
parser; random syntax trees survive ``parse(format_query(q)) == q``.
"""

from __future__ import annotations

import itertools
import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linqd.errors import LinqError
from linqd.linq import ast, parse
from linqd.linq.ast import LitKind
from linqd.linq.format import format_duration, format_expr, format_query
from linqd.linq.tokens import KEYWORDS

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- (a) the parser fails only with LinqError ------------------------------------------------------

FRAGMENTS = (
    "from", "where", "select", "group", "every", "by", "as", "limit", "offset", "order", "asc",
    "desc", "pragma", "and", "or", "not", "in", "true", "false", "null", "demo.ecommerce.data",
    "T", "a", "b", "x.y", "`q q`", "`", "count()", "count(*)", "re(", "f(a, b)", '"s"', "'s'",
    '"\\', "'\\'", "404", "1.5", ".5", "1e3", "5m", "15h45m50s", "1ms", "0", "-", "10.0.0.1",
    "10.0.0.0/8", "256.1.1.1", "1.2.3.4/40", "{", "}", "[", "]", "(", ")", ",", ":", ";", ".",
    "=", "==", "!=", "/=", "<", "<=", ">", ">=", "->", "->>", "<-", "~", "+", "*", "/", "\\", "%",
    "%%", "?:", "&", "|", "^", "<<", ">>", ">>>", "!", "//", "\n", " ", "*", "#", "@", "$",
    "(from T group by k, v)", "[0]", '["k"]', "{1, 2}", '{"a": 1}', "(1, 2)",
)  # fmt: skip


def _parse_or_linq_error(text: str) -> None:
    try:
        parse(text)
    except LinqError as error:
        assert error.message
        if error.span is not None:
            assert error.span.line >= 1
            assert error.span.column >= 1
            assert error.render().startswith(error.message)


@FAST
@given(st.text(max_size=200))
def test_random_text_parses_or_raises_linq_error(text: str) -> None:
    _parse_or_linq_error(text)


@FAST
@given(st.text(alphabet=string.printable, max_size=200))
def test_random_printable_after_from_parses_or_raises_linq_error(text: str) -> None:
    _parse_or_linq_error("from " + text)


@FAST
@given(
    st.lists(st.sampled_from(FRAGMENTS), max_size=40),
    st.lists(st.sampled_from(["", " ", "\n"]), min_size=40, max_size=40),
)
def test_random_fragment_joins_parse_or_raise_linq_error(parts: list[str], seps: list[str]) -> None:
    text = "".join(p + s for p, s in zip(parts, seps, strict=False))
    _parse_or_linq_error(text)
    _parse_or_linq_error("from T where " + text)
    _parse_or_linq_error("from T " + text)


# -- (b) random trees survive format → parse ----------------------------------------------------

_IDENT_START = string.ascii_letters + "_$@"
simple_names = st.text(alphabet=_IDENT_START + string.digits, min_size=1, max_size=8).filter(
    lambda s: s[0] in _IDENT_START
)
# Any name without a back quote can be written back-quoted.
quoted_names = st.text(
    alphabet=st.characters(blacklist_characters="`", blacklist_categories=("Cs",)), max_size=8
)
names = st.one_of(simple_names, simple_names, st.sampled_from(sorted(KEYWORDS)), quoted_names)
# A pragma key is written as it is (dotted simple names; keywords are fine as parts).
pragma_keys = st.lists(
    st.one_of(simple_names, st.sampled_from(sorted(KEYWORDS))), min_size=1, max_size=3
).map(".".join)

octet = st.integers(0, 255)
ip4_text = st.tuples(octet, octet, octet, octet).map(lambda t: ".".join(map(str, t)))
floats = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False).filter(
    lambda f: math.copysign(1.0, f) > 0
)

literals = st.one_of(
    st.builds(ast.Literal, st.just(LitKind.STR), st.text(max_size=12)),
    st.builds(ast.Literal, st.just(LitKind.INT), st.integers(0, 10**30)),
    st.builds(ast.Literal, st.just(LitKind.FLOAT), floats),
    st.builds(ast.Literal, st.just(LitKind.BOOL), st.booleans()),
    st.just(ast.Literal(LitKind.NULL, None)),
    st.builds(ast.Literal, st.just(LitKind.DURATION), st.integers(0, 10**13)),
    st.builds(ast.Literal, st.just(LitKind.IP4), ip4_text),
    st.builds(
        ast.Literal,
        st.just(LitKind.NET4),
        st.tuples(ip4_text, st.integers(0, 32)).map(lambda t: f"{t[0]}/{t[1]}"),
    ),
)

BINARY_OPS = (
    "=", "!=", "/=", "<", "<=", ">", ">=", "and", "or", "->", "->>", "<-", "~", "in", "+", "-",
    "*", "/", "\\", "%", "%%", "?:", "&", "|", "^", "<<", ">>", ">>>",
)  # fmt: skip
CHAIN_OPS = ("<", "<=", ">", ">=")


def _chain(draw: st.DrawFn, exprs: st.SearchStrategy[ast.Expr]) -> ast.Chain:
    ops = draw(st.lists(st.sampled_from(CHAIN_OPS), min_size=2, max_size=3))
    operands = draw(st.lists(exprs, min_size=len(ops) + 1, max_size=len(ops) + 1))
    return ast.Chain(tuple(ops), tuple(operands))


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    small = st.lists(children, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ast.Call, names, small),
        st.builds(ast.Unary, st.sampled_from(("-", "not", "~")), children),
        st.builds(ast.Binary, st.sampled_from(BINARY_OPS), children, children),
        st.composite(lambda draw: _chain(draw, children))(),
        st.builds(ast.Index, children, children),
        st.builds(ast.Collection, st.sampled_from(("set", "array")), small),
        st.builds(
            ast.Collection,
            st.just("tuple"),
            st.lists(children, min_size=2, max_size=3).map(tuple),
        ),
        st.builds(
            ast.MapLiteral,
            st.lists(st.tuples(children, children), min_size=1, max_size=2).map(tuple),
        ),
    )


def _expressions(
    leaves: st.SearchStrategy[ast.Expr], max_leaves: int
) -> st.SearchStrategy[ast.Expr]:
    return st.recursive(leaves, _extend, max_leaves=max_leaves)


def _select_items(exprs: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.SelectItem]:
    return st.one_of(
        st.just(ast.SelectItem(ast.Star())),
        st.builds(ast.SelectItem, exprs, st.one_of(st.none(), names)),
    )


def _clauses(exprs: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Clause]:
    some = st.lists(exprs, min_size=1, max_size=3).map(tuple)
    periods = st.integers(0, 10**10)
    return st.one_of(
        st.builds(ast.Where, some),
        st.builds(ast.Select, st.lists(_select_items(exprs), min_size=1, max_size=3).map(tuple)),
        st.builds(ast.Group, periods, st.just(False), st.lists(exprs, max_size=2).map(tuple)),
        st.builds(ast.Group, st.none(), st.booleans(), st.lists(exprs, max_size=2).map(tuple)),
        st.builds(ast.Every, st.one_of(st.none(), periods)),
        st.builds(ast.Limit, st.integers(0, 10**9)),
        st.builds(ast.Offset, st.integers(0, 10**9)),
        st.builds(
            ast.OrderBy,
            st.lists(st.builds(ast.OrderItem, exprs, st.booleans()), min_size=1, max_size=2).map(
                tuple
            ),
        ),
    )


def _unambiguous(clause_list: list[ast.Clause]) -> bool:
    # `group` + `every 5m` prints as `group every 5m`, which is a temporal grouping: a bare
    # group directly followed by a client period has no text of its own.
    return not any(
        isinstance(a, ast.Group)
        and a.every_ms is None
        and not a.every_dash
        and not a.keys
        and isinstance(b, ast.Every)
        for a, b in itertools.pairwise(clause_list)
    )


_tables = st.lists(names.filter(lambda n: "." not in n), min_size=1, max_size=4).map(".".join)


def _queries(exprs: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Query]:
    return st.builds(
        ast.Query,
        _tables,
        st.lists(_clauses(exprs), max_size=4).filter(_unambiguous).map(tuple),
        st.lists(st.builds(ast.Pragma, pragma_keys, exprs), max_size=2).map(tuple),
    )


_leaves: st.SearchStrategy[ast.Expr] = st.one_of(literals, st.builds(ast.Name, names))
# Expressions without subqueries, queries over them, then expressions that may hold such a
# query as a subquery (one level deep), and queries over those.
EXPRESSIONS = _expressions(_leaves, 8)
INNER_QUERIES = _queries(_expressions(_leaves, 3))
NESTED_EXPRESSIONS = _expressions(st.one_of(_leaves, st.builds(ast.Subquery, INNER_QUERIES)), 4)
QUERIES = _queries(NESTED_EXPRESSIONS)


@FAST
@given(EXPRESSIONS)
def test_random_expressions_survive_format_and_parse(expr: ast.Expr) -> None:
    query = ast.Query("t", (ast.Where((expr,)),))
    text = format_query(query)
    assert parse(text) == query, text


@FAST
@given(QUERIES)
def test_random_queries_survive_format_and_parse(query: ast.Query) -> None:
    text = format_query(query)
    assert parse(text) == query, text


@FAST
@given(QUERIES)
def test_formatting_is_stable(query: ast.Query) -> None:
    text = format_query(query)
    assert format_query(parse(text)) == text


@FAST
@given(st.integers(0, 10**14))
def test_durations_round_trip(ms: int) -> None:
    text = format_duration(ms)
    assert parse(f"from t select {text} as d").clauses[0] == ast.Select(
        (ast.SelectItem(ast.Literal(LitKind.DURATION, ms), "d"),)
    )


@FAST
@given(st.text(max_size=30))
def test_strings_round_trip(value: str) -> None:
    literal = ast.Literal(LitKind.STR, value)
    assert parse(f"from t where {format_expr(literal)}").clauses == (ast.Where((literal,)),)


def test_spec_example_round_trips(spec_example: str) -> None:
    query = parse(spec_example)
    text = format_query(query)
    assert parse(text) == query, text
    assert format_query(parse(text)) == text


@pytest.mark.parametrize(
    "source",
    [
        "from t where a <= x < b",
        "from t where -a[0] * ~b",
        "from t where not a ?: b in {1} and c <- 10.0.0.0/8",
        'from t where x[0]["k"] -> \'v\' or y ->> "w"',
        "from t where (a, b) in (from u group every - by a, b select a, b pragma x.y:1)",
        'from t select (from u group by k, v)[x] as m, {"a": [1, (2, 3)]} as n',
        "from t group every 1d1h1m1s1ms by `x y`, `select` every - limit 0 offset 3",
        'from t order by a desc, b asc pragma tz: tz("UTC")',
        "from t where `in`(a, b) and a \\ b % c %% d / e",
        "from t where a >>> b >> c << d & e ^ f | g",
    ],
)
def test_hand_written_queries_round_trip(source: str) -> None:
    query = parse(source)
    assert parse(format_query(query)) == query


# -- known gaps ----------------------------------------------------------------------------------


def test_infinite_float_is_refused() -> None:
    # A literal beyond a double's range has no text to round-trip through: it is an error.
    with pytest.raises(LinqError, match="Number out of range"):
        parse("from t where x = 1e999")


def test_back_quoted_pragma_key_round_trips() -> None:
    query = parse("from t pragma `a b`.c:1")
    assert parse(format_query(query)) == query
