"""Devo-style error messages: what went wrong, at which line and column, and the source line with
a caret under the offending text (``LinqError.render()``). Every query compiles for both engines:
errors do not depend on the engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from linqd.errors import LinqError, LinqNameError, LinqSyntaxError, LinqTypeError, Span
from linqd.linq import Bounds, compile_linq
from linqd.linq.compile import COMPILERS
from linqd.store.catalog import TableSchema

Lookup = Callable[[str], TableSchema | None]
ENGINES = tuple(COMPILERS)
NOW = 1_700_000_000_000
E = "from demo.ecommerce.data"


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def compile_error(text: str, schemas: Lookup, engine: str) -> LinqError:
    with pytest.raises(LinqError) as info:
        compile_linq(text, schemas, now_ms=NOW, bounds=Bounds(0, NOW, "self"), engine=engine)
    error = info.value
    assert error.source == text
    return error


def caret_lines(error: LinqError) -> tuple[str, str]:
    """The rendered source line and caret line (without their two-space indent)."""
    head, source_line, caret = error.render().split("\n")
    assert head.startswith(error.message)
    assert source_line.startswith("  ")
    assert caret.startswith("  ")
    return source_line[2:], caret[2:]


def underlined(error: LinqError) -> str:
    line, caret = caret_lines(error)
    start = caret.index("^")
    return line[start : len(caret)]


# -- names ---------------------------------------------------------------------------------------


def test_unknown_table(schemas: Lookup, engine: str) -> None:
    error = compile_error("from x.y", schemas, engine)
    assert isinstance(error, LinqNameError)
    assert error.message.startswith("Unknown table `x.y`")
    assert "at line 1, column 6" in error.message
    assert caret_lines(error) == ("from x.y", "     ^^^")


def test_unknown_table_in_a_subquery(schemas: Lookup, engine: str) -> None:
    text = f"{E}\nwhere uri in (\n  from no.such.table group by x)"
    error = compile_error(text, schemas, engine)
    assert "Unknown table `no.such.table`" in error.message
    assert "at line 3, column 8" in error.message
    assert underlined(error) == "no.such.table"


def test_unknown_identifier(schemas: Lookup, engine: str) -> None:
    error = compile_error(f"{E} where foo = 1", schemas, engine)
    assert isinstance(error, LinqNameError)
    assert error.message.startswith("Unknown identifier `foo'")
    assert "at line 1, column 32" in error.message
    assert underlined(error) == "foo"


def test_unknown_function(schemas: Lookup, engine: str) -> None:
    error = compile_error(f"{E} select ip10(clientIpAddress) as x", schemas, engine)
    assert isinstance(error, LinqNameError)
    assert error.message.startswith("No function named `ip10'")
    assert underlined(error).startswith("ip10(")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (f"{E} select method as x, uri as x", "x"),
        (f"{E} select method as client", "client"),
        (f"{E} select method as eventdate", "eventdate"),
        (f"{E} group every 5m by method select count() as n, count() as n", "n"),
        (f"{E} group every 5m by method select count() as eventdate", "eventdate"),
    ],
)
def test_duplicate_alias(text: str, name: str, schemas: Lookup, engine: str) -> None:
    error = compile_error(text, schemas, engine)
    assert isinstance(error, LinqNameError)
    assert error.message.startswith(f"Identifier `{name}` is used more than once")
    assert error.span is not None


def test_names_after_group_are_the_keys_and_the_aggregations(schemas: Lookup, engine: str) -> None:
    error = compile_error(f"{E} group by method select count() as n where uri = 1", schemas, engine)
    assert error.message.startswith("Unknown identifier `uri'")


# -- aggregation and types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"{E} select count() as n",
        f"{E} where count() > 1",
        f"{E} select avg(timeTaken) as a group by method",
        f"{E} group by max(statusCode)",
    ],
)
def test_aggregation_before_group(text: str, schemas: Lookup, engine: str) -> None:
    error = compile_error(text, schemas, engine)
    assert isinstance(error, LinqTypeError)
    assert "can only be used after group" in error.message or "aggregation" in error.message


@pytest.mark.parametrize(
    ("text", "words", "underline"),
    [
        (f"{E} where statusCode", "bool", "statusCode"),
        (f'{E} where statusCode + "a"', "add", 'statusCode + "a"'),
        (f"{E} select method - 1 as m", "sub", "method - 1"),
        (f"{E} group by method select sum(method) as s", "sum", "sum(method)"),
        (f"{E} where uri ~ 5", "matches", "uri ~ 5"),
        # A literal the analyzer cannot type is an error at its item, never an engine failure
        # while the rows stream (an HTTP 200 with no rows).
        (f'{E} select ["One", 77] as x', "share one type", '"One"'),
        (f'{E} select {{1, "a"}} as x', "set literal", '"a"'),
        (f"{E} select [1, true] as x", "bool, not int8", "true"),
        (f"{E} select [method, statusCode] as x", "int8, not str", "statusCode"),
        (f"{E} select [eventdate, 5] as x", "not timestamp", "5"),
        (f"{E} select [[1], 2] as x", "array literal", "2"),
        (f"{E} where method in {{statusCode}}", "`in`", "method in {statusCode}"),
        # The values a conditional chooses from share one type (the engines would cast one
        # side or fail as the rows stream).
        (f'{E} select ifthenelse(true, "abc", 1) as x', "ifthenelse", '"abc"'),
        (f"{E} select nvl(method, false) as x", "nvl", "false"),
        (f'{E} select decode(eventdate, 0.5, "a", "b") as x', "decode", "0.5"),
    ],
)
def test_type_errors(text: str, words: str, underline: str, schemas: Lookup, engine: str) -> None:
    error = compile_error(text, schemas, engine)
    assert isinstance(error, LinqTypeError)
    assert words in error.message
    assert underlined(error) == underline


# -- syntax --------------------------------------------------------------------------------------


def test_parse_error_lists_what_was_expected(schemas: Lookup, engine: str) -> None:
    error = compile_error(f"{E} blablabla", schemas, engine)
    assert isinstance(error, LinqSyntaxError)
    assert error.message.startswith("Encountered <ID> 'blablabla' at line 1, column 26.")
    assert "Was expecting one of:" in error.message
    for expected in (
        "<EOF>",
        "'where'",
        "'select'",
        "'group'",
        "'every'",
        "'limit'",
        "'offset'",
        "'order'",
        "'pragma'",
    ):
        assert expected in error.message
    assert underlined(error) == "blablabla"


def test_parse_error_at_the_end_of_a_multi_line_query(schemas: Lookup, engine: str) -> None:
    text = f"{E}\nwhere statusCode = 404 and\n  uri = 5 +"
    error = compile_error(text, schemas, engine)
    assert "Encountered <EOF> at line 3, column 12" in error.message
    assert "Was expecting one of:" in error.message
    line, caret = caret_lines(error)
    assert line == "  uri = 5 +"
    assert caret == " " * 11 + "^"


# -- positions on multi-line queries --------------------------------------------------------------


MULTI = f"""{E}
  where statusCode = 404
  select uri as u,
         nosuch as v
"""


def test_error_position_on_a_multi_line_query(schemas: Lookup, engine: str) -> None:
    error = compile_error(MULTI, schemas, engine)
    assert error.message == "Unknown identifier `nosuch' at line 4, column 10"
    assert error.span is not None
    assert (error.span.line, error.span.column) == (4, 10)
    assert error.render() == (
        "Unknown identifier `nosuch' at line 4, column 10\n"
        "           nosuch as v\n"
        "           ^^^^^^"
    )


def test_error_inside_a_nested_multi_line_subquery(schemas: Lookup, engine: str) -> None:
    text = (
        f"{E}\n"
        "  where clientIpAddress in (\n"
        "    from demo.ecommerce.data\n"
        "      where statusCode = 404\n"
        "      group every - by clientIpAdress)\n"
    )
    error = compile_error(text, schemas, engine)
    assert "Unknown identifier `clientIpAdress' at line 5, column 24" in error.message
    assert underlined(error) == "clientIpAdress"


def test_tabs_and_comments_do_not_shift_columns(schemas: Lookup, engine: str) -> None:
    text = f"{E} // comment with where foo\n\twhere bar = 1"
    error = compile_error(text, schemas, engine)
    assert "Unknown identifier `bar' at line 2, column 8" in error.message


# -- rendering -----------------------------------------------------------------------------------


def test_render_without_span_or_source_is_the_message() -> None:
    assert LinqError("plain").render() == "plain"
    assert LinqError("no source", Span(0, 1, 1, 1)).render() == "no source"


def test_render_adds_the_position_when_the_message_lacks_it() -> None:
    error = LinqError("Bad thing", Span(5, 8, 1, 6), "from abc")
    assert error.render() == "Bad thing (at line 1, column 6)\n  from abc\n       ^^^"


def test_caret_is_at_least_one_character_and_stays_on_the_line() -> None:
    error = LinqError("At the end", Span(8, 8, 1, 9), "from abc")
    assert error.render().split("\n")[2] == "  " + " " * 8 + "^"
    long_span = LinqError("Spans lines", Span(5, 40, 1, 6), "from abc\nwhere x")
    assert long_span.render().split("\n")[2] == "       ^^^"


def test_compile_raises_only_linq_errors_with_their_source(schemas: Lookup, engine: str) -> None:
    for text in ["", "from", f"{E} where", f"{E} where x", "from a.b", f"{E} select f(1) as y"]:
        error = compile_error(text, schemas, engine)
        assert error.render().startswith(error.message)


# -- once known bugs, now pinned -------------------------------------------------------------------


def test_a_tuple_index_must_be_a_constant(schemas: Lookup, engine: str) -> None:
    for text in (f'{E} select (1, "a")[statusCode] as t', f'{E} select (1, "a")[-1] as t'):
        error = compile_error(text, schemas, engine)
        assert "A tuple's index must be a constant integer from 0" in error.message


def test_a_long_or_chain_compiles(schemas: Lookup, engine: str) -> None:
    text = f"{E} where " + " or ".join(f"statusCode = {i}" for i in range(300))
    sql = compile_linq(text, schemas, now_ms=NOW, engine=engine).sql
    assert sql.count(" OR ") == 299


def test_a_temporal_regrouping_without_eventdate_is_a_linq_error(
    schemas: Lookup, engine: str
) -> None:
    text = f"{E} group by method select count() as n group every 1h select sum(n) as s"
    error = compile_error(text, schemas, engine)
    assert error.message.startswith("Time grouping needs eventdate")


# -- what one engine cannot do ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"{E} select hour(eventdate, method) as h",
        f'{E} select formatdate(eventdate, "HH", uri) as h',
        f'{E} select parsedate(uri, "yyyy", method) as h',
    ],
)
def test_clickhouse_takes_constant_time_zones_only(text: str, schemas: Lookup) -> None:
    # A ClickHouse DateTime64's zone is part of its type; DuckDB takes a zone per row.
    compile_linq(text, schemas, now_ms=NOW, engine="duckdb")
    error = compile_error(text, schemas, "clickhouse")
    assert error.message == "A time zone must be a constant string on clickhouse"
