"""The budget of one compilation (``linq/limits.py``): size, depth and time end in a
``LinqLimitError`` that points at the place, never in a ``RecursionError`` or a runaway."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlglot import exp

from linqd.errors import LinqError, LinqLimitError
from linqd.linq import Bounds, Budget, compile_linq, render
from linqd.linq.analyzer import analyze
from linqd.linq.compile import DuckDBCompiler
from linqd.linq.lexer import tokenize
from linqd.linq.limits import MAX_DEPTH, MAX_NESTING, Meter
from linqd.linq.parser import Parser
from linqd.store.catalog import TableSchema

Lookup = Callable[[str], TableSchema | None]
NOW = 1_700_000_000_000
E = "from demo.ecommerce.data"
BOUNDS = Bounds(0, NOW, "self")


def compiles(text: str, schemas: Lookup, budget: Budget | None = None) -> str:
    extra = {} if budget is None else {"budget": budget}
    return compile_linq(text, schemas, now_ms=NOW, bounds=BOUNDS, **extra).sql


def refused(text: str, schemas: Lookup, budget: Budget | None = None) -> LinqLimitError:
    with pytest.raises(LinqLimitError) as info:
        compiles(text, schemas, budget)
    assert info.value.source == text
    return info.value


def at(error: LinqError) -> tuple[int, int]:
    assert error.span is not None
    assert f"at line {error.span.line}, column {error.span.column}" in error.message
    return error.span.line, error.span.column


def with_frames(frames: int, action: Callable[[], str]) -> str:
    """``action`` run below ``frames`` extra Python frames: what a deep caller leaves."""
    if frames:
        return with_frames(frames - 1, action)
    return action()


# -- size ----------------------------------------------------------------------------------------


def test_text_longer_than_the_budget(schemas: Lookup) -> None:
    text = f"{E} where uri = " + '"' + "x" * 200 + '"'
    error = refused(text, schemas, Budget(max_chars=100))
    assert "longer than 100 characters" in error.message
    assert refused(" " * (Budget().max_chars + 1), schemas).message.startswith("Query longer")


def test_too_many_tokens_points_at_the_first_one_too_many(schemas: Lookup) -> None:
    text = f"{E} where " + " or ".join(f"statusCode = {i}" for i in range(20))
    error = refused(text, schemas, Budget(max_tokens=10))
    assert "longer than 10 tokens" in error.message
    # from, demo, ., ecommerce, ., data, where, statusCode, =, 0, or: the 11th token
    assert at(error) == (1, text.index(" or ") + 2)


def test_a_20000_term_or_is_within_the_budget(schemas: Lookup) -> None:
    text = f"{E} where " + " or ".join(f"statusCode = {i}" for i in range(20_000))
    assert compiles(text, schemas).count(" OR ") == 19_999


# -- nesting and depth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("open_", "close", "levels"),
    [
        ("(", ")", 1),
        ("abs(", ")", 1),
        ("[", "]", 1),
        ("-", "", 1),
        ("not ", "", 1),
        # up the precedence ladder twice, then a parenthesis: three levels each time
        ("1 + 2 * (", ")", 3),
    ],
)
def test_nesting_is_refused_where_it_crosses_the_limit(
    schemas: Lookup, open_: str, close: str, levels: int
) -> None:
    most = MAX_NESTING // levels - 1  # the select item itself is one level
    ok = f"{E} select " + open_ * most + "1" + close * most + " as x"
    if open_ != "not ":
        with_frames(200, lambda: compiles(ok, schemas))
    deep = f"{E} where " + open_ * 200 + "true" + close * 200
    error = refused(deep, schemas)
    assert "nested too deeply" in error.message
    line, column = at(error)
    assert line == 1 and len(f"{E} where ") < column < len(f"{E} where ") + 200 * len(open_)


def test_a_chain_of_1000_plus_is_a_clear_error_at_the_operand_past_the_limit(
    schemas: Lookup,
) -> None:
    text = f"{E} select " + " + ".join(["timeTaken"] * 1_000)
    error = refused(text + " as total", schemas)
    assert f"more than {MAX_DEPTH} nested operators" in error.message
    # the operand that makes the chain one operator too deep
    offset = len(f"{E} select ") + (MAX_DEPTH + 1) * len("timeTaken + ")
    assert at(error) == (1, offset + 1)


@pytest.mark.parametrize("op", ["+", "-", "*", "\\", "%", "&", "|", "^", "<<", "?:", "<"])
def test_chains_at_the_limit_compile_even_below_a_deep_caller(schemas: Lookup, op: str) -> None:
    operators = MAX_DEPTH
    chain = f" {op} ".join(["timeTaken"] * (operators + 1))
    sql = with_frames(200, lambda: compiles(f"{E} select {chain} as total", schemas))
    assert "total" in sql
    longer = f" {op} ".join(["timeTaken"] * (operators + 2))
    assert "too deep" in refused(f"{E} select {longer} as total", schemas).message


@pytest.mark.parametrize("op", ["or", "and"])
def test_and_or_chains_count_their_balanced_depth(schemas: Lookup, op: str) -> None:
    def text(plus: int) -> str:
        # 64 operands are 6 levels once balanced; `=` one more; then the `+` chain
        term = "+".join(["1"] * (plus + 1))
        return f"{E} where " + f" {op} ".join(f"{term} = {i}" for i in range(64))

    compiles(text(MAX_DEPTH - 7), schemas)
    assert "too deep" in refused(text(MAX_DEPTH - 6), schemas).message


def test_subqueries_count_more_than_operators(schemas: Lookup) -> None:
    def nested(levels: int) -> str:
        inner = "(from demo.ecommerce.data select method)"
        for _ in range(levels):
            inner = f"(from demo.ecommerce.data where method in {inner} select method)"
        return f"{E} where method in {inner}"

    compiles(nested(8), schemas)
    assert "nested too deeply" in refused(nested(40), schemas).message


def test_exponential_sql_is_refused_before_it_is_built(schemas: Lookup) -> None:
    # `a %% b` uses b three times: nesting on the right triples the SQL at each level
    text = f"{E} select " + "timeTaken %% (" * 14 + "2" + ")" * 14 + " as x"
    error = refused(text, schemas)
    assert "compiles to more than 1000000 SQL nodes" in error.message
    at(error)
    small = f"{E} select " + "timeTaken %% (" * 5 + "2" + ")" * 5 + " as x"
    refused(small, schemas, Budget(max_sql_nodes=1_000))
    compiles(small, schemas)


def test_sql_depth_is_bounded_where_translators_nest_deeper(schemas: Lookup) -> None:
    # each `%%` is four SQL levels: 60 of them pass the LINQ depth, not the SQL depth
    text = f"{E} select " + " %% ".join(["timeTaken"] * 60) + " as x"
    assert "levels of SQL" in refused(text, schemas).message


# -- time ----------------------------------------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("stage", ["lexer", "parser", "analyzer", "compiler"])
def test_the_deadline_is_checked_inside_each_stage(schemas: Lookup, stage: str) -> None:
    text = f"{E} where " + " or ".join(f"statusCode = {i}" for i in range(2_000))
    clock = ManualClock()
    meter = Meter(Budget(seconds=5.0), clock=clock)  # the deadline is at 5.0
    parser = Parser(text, meter)
    query = parser.parse()
    plan = analyze(query, schemas, text, meter)
    clock.now = 6.0  # past the deadline from here on
    with pytest.raises(LinqLimitError, match=r"took more than 5 s to compile"):
        if stage == "lexer":
            tokenize(text, meter)
        elif stage == "parser":
            parser.i = 0
            parser.parse()
        elif stage == "analyzer":
            analyze(query, schemas, text, meter)
        else:
            DuckDBCompiler(NOW, BOUNDS, meter).compile(plan)


# -- the last resort -------------------------------------------------------------------------


def test_recursion_the_budget_did_not_foresee_is_still_a_linq_error(schemas: Lookup) -> None:
    text = f"{E} select " + " + ".join(["timeTaken"] * (MAX_DEPTH + 1)) + " as total"
    with pytest.raises(LinqLimitError, match="nested too deeply to compile"):
        with_frames(900, lambda: compiles(text, schemas))
    deep: exp.Expression = exp.column("a")
    for i in range(2_000):
        deep = exp.Paren(this=exp.Add(this=deep, expression=exp.Literal.number(i)))
    with pytest.raises(LinqLimitError):
        render(exp.select(deep))
