"""The LINQ parser: every clause, every literal and operator, precedence, subqueries, spans, and
every example query of the spec."""

from __future__ import annotations

import re

import pytest

from linqd.errors import LinqError, LinqSyntaxError
from linqd.linq import ast, parse
from linqd.linq.ast import LitKind
from linqd.linq.format import format_expr
from linqd.linq.parser import parse_expression

# -- helpers -------------------------------------------------------------------------------------


def N(name: str) -> ast.Name:
    return ast.Name(name)


def S(value: str) -> ast.Literal:
    return ast.Literal(LitKind.STR, value)


def I(value: int) -> ast.Literal:  # noqa: E743
    return ast.Literal(LitKind.INT, value)


def F(value: float) -> ast.Literal:
    return ast.Literal(LitKind.FLOAT, value)


def D(ms: int) -> ast.Literal:
    return ast.Literal(LitKind.DURATION, ms)


def B(op: str, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    return ast.Binary(op, left, right)


def C(name: str, *args: ast.Expr) -> ast.Call:
    return ast.Call(name, args)


def where_expr(text: str) -> ast.Expr:
    """The single condition of ``from t where <text>``."""
    query = parse(f"from t where {text}")
    (clause,) = query.clauses
    assert isinstance(clause, ast.Where)
    (condition,) = clause.conditions
    return condition


def shape(text: str) -> str:
    """The fully parenthesised form of an expression: shows how it was grouped."""
    return format_expr(where_expr(text))


# -- from ----------------------------------------------------------------------------------------


def test_from_only() -> None:
    assert parse("from demo.ecommerce.data") == ast.Query("demo.ecommerce.data", ())


@pytest.mark.parametrize(
    ("source", "table"),
    [
        ("from siem.logtrust.web.activity", "siem.logtrust.web.activity"),
        ("from `web.iis.access-w3c-all`", "web.iis.access-w3c-all"),
        ("from my.app.`development@talion`.alertflow.x", "my.app.development@talion.alertflow.x"),
        ("from a . b", "a.b"),
        ("from my.app.group.select", "my.app.group.select"),  # keywords as name parts
        ("from T", "T"),
    ],
)
def test_table_names(source: str, table: str) -> None:
    assert parse(source).table == table


def test_query_must_start_with_from() -> None:
    with pytest.raises(LinqSyntaxError, match="Was expecting one of: 'from'"):
        parse("select * from t")


# -- where ---------------------------------------------------------------------------------------


def test_where_with_commas_means_and() -> None:
    query = parse("from t where a = 1, b > 2, c")
    assert query.clauses == (ast.Where((B("=", N("a"), I(1)), B(">", N("b"), I(2)), N("c"))),)


def test_repeated_where() -> None:
    query = parse('from t where a = 1 where b = "x" where c')
    assert query.clauses == (
        ast.Where((B("=", N("a"), I(1)),)),
        ast.Where((B("=", N("b"), S("x")),)),
        ast.Where((N("c"),)),
    )


# -- select --------------------------------------------------------------------------------------


def test_select_with_and_without_alias() -> None:
    query = parse("from t select a, b + 1 as c, count() as `n n`")
    assert query.clauses == (
        ast.Select(
            (
                ast.SelectItem(N("a")),
                ast.SelectItem(B("+", N("b"), I(1)), "c"),
                ast.SelectItem(C("count"), "n n"),
            )
        ),
    )


def test_select_star() -> None:
    (select,) = parse("from t select *").clauses
    assert isinstance(select, ast.Select)
    (item,) = select.items
    assert isinstance(item.expr, ast.Star)
    assert item.alias is None


def test_select_star_with_more_items() -> None:
    (select,) = parse("from t select *, a as b").clauses
    assert isinstance(select, ast.Select)
    assert isinstance(select.items[0].expr, ast.Star)
    assert select.items[1] == ast.SelectItem(N("a"), "b")


def test_count_star_is_count() -> None:
    (select,) = parse("from t group select count(*) as n").clauses[1:]
    assert select == ast.Select((ast.SelectItem(C("count"), "n"),))


def test_alias_cannot_be_a_keyword() -> None:
    with pytest.raises(LinqSyntaxError):
        parse("from t select a as where")


# -- group and every -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "group"),
    [
        ("group every 5m by k1, k2", ast.Group(300_000, False, (N("k1"), N("k2")))),
        ("group every 1h", ast.Group(3_600_000, False, ())),
        ("group every 15h45m50s", ast.Group(56_750_000, False, ())),
        ("group by k1, k2", ast.Group(None, False, (N("k1"), N("k2")))),
        ("group every - by k", ast.Group(None, True, (N("k"),))),
        ("group every -", ast.Group(None, True, ())),
        ("group every 0", ast.Group(None, True, ())),
        ("group", ast.Group(None, False, ())),
        ("group by a + 1", ast.Group(None, False, (B("+", N("a"), I(1)),))),
    ],
)
def test_group(source: str, group: ast.Group) -> None:
    (clause,) = parse(f"from t {source}").clauses
    assert clause == group


def test_group_temporal_flag() -> None:
    assert ast.Group(300_000, False, ()).temporal
    assert not ast.Group(None, True, ()).temporal
    assert not ast.Group(None, False, ()).temporal


@pytest.mark.parametrize(
    ("source", "period"),
    [("every 10m", 600_000), ("every 3h", 10_800_000), ("every -", None), ("every 0", None)],
)
def test_every_client_period(source: str, period: int | None) -> None:
    clauses = parse(f"from t group every 10m by a {source}").clauses
    assert clauses == (ast.Group(600_000, False, (N("a"),)), ast.Every(period))


def test_group_by_then_every_is_a_client_period() -> None:
    # DESIGN: `group by x every 10m` is not a temporal grouping.
    clauses = parse("from T1 group by x every 10m where x in (from T2)").clauses
    assert clauses[:2] == (ast.Group(None, False, (N("x"),)), ast.Every(600_000))


def test_bare_group_then_select() -> None:
    clauses = parse("from t group select count() as n").clauses
    assert clauses == (ast.Group(None, False, ()), ast.Select((ast.SelectItem(C("count"), "n"),)))


def test_every_needs_a_period() -> None:
    with pytest.raises(LinqSyntaxError, match="Was expecting one of: <DURATION>, '-'"):
        parse("from t group every by a")


# -- limit, offset, order ------------------------------------------------------------------------


def test_limit_and_offset() -> None:
    assert parse("from t limit 10 offset 5").clauses == (ast.Limit(10), ast.Offset(5))
    assert parse("from t offset 0").clauses == (ast.Offset(0),)


@pytest.mark.parametrize("source", ["from t limit -1", "from t limit 1.5", "from t limit x"])
def test_limit_needs_an_integer(source: str) -> None:
    with pytest.raises(LinqSyntaxError, match="<INT>"):
        parse(source)


def test_order_by() -> None:
    (clause,) = parse("from t order by a, b asc, c desc").clauses
    assert clause == ast.OrderBy(
        (ast.OrderItem(N("a")), ast.OrderItem(N("b")), ast.OrderItem(N("c"), descending=True))
    )


def test_order_needs_by() -> None:
    with pytest.raises(LinqSyntaxError, match="'by'"):
        parse("from t order a")


# -- pragmas -------------------------------------------------------------------------------------


def test_pragmas() -> None:
    query = parse('from t where x pragma comment.free:"text" pragma tz: tz("UTC")')
    assert query.clauses == (ast.Where((N("x"),)),)
    assert query.pragmas == (
        ast.Pragma("comment.free", S("text")),
        ast.Pragma("tz", C("tz", S("UTC"))),
    )


def test_bsdk_pragma_line() -> None:
    query = parse(
        "from t pragma preaggr.transparent.allowed: true pragma "
        'subquery.timespan.inherit.when: "absent" pragma subquery.timespan.inherit.action: '
        '"replace" pragma subquery.timespan.trim.above: true pragma alg.concat.null: "null" '
        'pragma quota.cpu.priority.problem: 2 pragma proc.vault.name: "low" pragma tz: tz("UTC")'
    )
    assert [(p.key, p.value) for p in query.pragmas] == [
        ("preaggr.transparent.allowed", ast.Literal(LitKind.BOOL, True)),
        ("subquery.timespan.inherit.when", S("absent")),
        ("subquery.timespan.inherit.action", S("replace")),
        ("subquery.timespan.trim.above", ast.Literal(LitKind.BOOL, True)),
        ("alg.concat.null", S("null")),
        ("quota.cpu.priority.problem", I(2)),
        ("proc.vault.name", S("low")),
        ("tz", C("tz", S("UTC"))),
    ]


def test_pragma_needs_a_colon() -> None:
    with pytest.raises(LinqSyntaxError, match="':'"):
        parse('from t pragma comment.free "x"')


# -- comments ------------------------------------------------------------------------------------


def test_comments_are_ignored() -> None:
    with_comments = parse(
        "// leading\nfrom t // the table\n  where a = 1 // first\n  // alone\n  select a // end"
    )
    assert with_comments == parse("from t where a = 1 select a")


# -- literals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "literal"),
    [
        ('"double"', S("double")),
        ("'single'", S("single")),
        ('"a\\\\b"', S("a\\b")),
        ("'a\\b'", S("a\\b")),
        ("404", I(404)),
        ("1.5", F(1.5)),
        ("15s", D(15_000)),
        ("1ms", D(1)),
        ("1w", D(604_800_000)),
        ("15h45m50s", D(56_750_000)),
        ("true", ast.Literal(LitKind.BOOL, True)),
        ("false", ast.Literal(LitKind.BOOL, False)),
        ("null", ast.Literal(LitKind.NULL, None)),
        ("203.0.113.21", ast.Literal(LitKind.IP4, "203.0.113.21")),
        ("10.0.0.0/8", ast.Literal(LitKind.NET4, "10.0.0.0/8")),
    ],
)
def test_literals(source: str, literal: ast.Literal) -> None:
    assert where_expr(source) == literal


@pytest.mark.parametrize(
    ("source", "expr"),
    [
        ("{1, 2, 3}", ast.Collection("set", (I(1), I(2), I(3)))),
        ("{}", ast.Collection("set", ())),
        ("{10.0.0.1, 10.0.0.2}", ast.Collection("set", tuple(
            ast.Literal(LitKind.IP4, ip) for ip in ("10.0.0.1", "10.0.0.2")))),
        ('["item1","item2"]', ast.Collection("array", (S("item1"), S("item2")))),
        ("[]", ast.Collection("array", ())),
        ('(1.33, "text", true)', ast.Collection(
            "tuple", (F(1.33), S("text"), ast.Literal(LitKind.BOOL, True)))),
        ('{"a": 1, "b": 2}', ast.MapLiteral(((S("a"), I(1)), (S("b"), I(2))))),
        ("{k: [1], 2: {3}}", ast.MapLiteral(
            ((N("k"), ast.Collection("array", (I(1),))),
             (I(2), ast.Collection("set", (I(3),)))))),
        ('{"a": 1}', ast.MapLiteral(((S("a"), I(1)),))),
        ('{"a": {"b": 1}}', ast.MapLiteral(((S("a"), ast.MapLiteral(((S("b"), I(1)),))),))),
        ('{"a": x + 1, b: f(y)}', ast.MapLiteral(
            ((S("a"), ast.Binary("+", N("x"), I(1))), (N("b"), C("f", N("y")))))),
        ('{1 + 2: "x"}', ast.MapLiteral(((ast.Binary("+", I(1), I(2)), S("x")),))),
        ('{"a": 1}["a"]', ast.Index(ast.MapLiteral(((S("a"), I(1)),)), S("a"))),
        ('{"a", "b"}', ast.Collection("set", (S("a"), S("b")))),
        ("(a)", N("a")),
        ("((a))", N("a")),
    ],
)  # fmt: skip
def test_collections(source: str, expr: ast.Expr) -> None:
    assert where_expr(source) == expr


def test_calls() -> None:
    assert where_expr("f()") == C("f")
    assert where_expr('toktains(f, "x", true, true)') == C(
        "toktains", N("f"), S("x"), ast.Literal(LitKind.BOOL, True), ast.Literal(LitKind.BOOL, True)
    )
    assert where_expr("`in`(a, b, {1})") == C("in", N("a"), N("b"), ast.Collection("set", (I(1),)))
    assert where_expr('str(jqeval(jqcompile(".a"), x))') == C(
        "str", C("jqeval", C("jqcompile", S(".a")), N("x"))
    )
    assert where_expr("databaseinstance(null)") == C(
        "databaseinstance", ast.Literal(LitKind.NULL, None)
    )


def test_back_quoted_names() -> None:
    assert where_expr("`timeTaken>200`") == N("timeTaken>200")
    assert where_expr("`where` = 1") == B("=", N("where"), I(1))


# -- operators and precedence ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "op",
    ["=", "!=", "/=", "<", "<=", ">", ">=", "->", "->>", "<-", "in", "~", "+", "-", "*", "/",
     "\\", "%", "%%", "?:", "&", "|", "^", "<<", ">>", ">>>", "and", "or"],
)  # fmt: skip
def test_every_binary_operator(op: str) -> None:
    assert where_expr(f"a {op} b") == B(op, N("a"), N("b"))


def test_double_equals_is_equals() -> None:
    assert where_expr("a == b") == B("=", N("a"), N("b"))


@pytest.mark.parametrize(
    ("source", "expr"),
    [
        ("not a", ast.Unary("not", N("a"))),
        ("!a", ast.Unary("not", N("a"))),
        ("-a", ast.Unary("-", N("a"))),
        ("~a", ast.Unary("~", N("a"))),
        ("-5", ast.Unary("-", I(5))),
        ("- -a", ast.Unary("-", ast.Unary("-", N("a")))),
        ("not not a", ast.Unary("not", ast.Unary("not", N("a")))),
    ],
)
def test_unary_operators(source: str, expr: ast.Expr) -> None:
    assert where_expr(source) == expr


@pytest.mark.parametrize(
    ("source", "expr"),
    [
        ("x[0]", ast.Index(N("x"), I(0))),
        ('x["k"]', ast.Index(N("x"), S("k"))),
        ('jsonparse(message)["CreationTime"]', ast.Index(C("jsonparse", N("message")),
                                                          S("CreationTime"))),
        ("x[0][1]", ast.Index(ast.Index(N("x"), I(0)), I(1))),
        ("x[i + 1]", ast.Index(N("x"), B("+", N("i"), I(1)))),
        ("[1, 2][0]", ast.Index(ast.Collection("array", (I(1), I(2))), I(0))),
    ],
)  # fmt: skip
def test_indexing(source: str, expr: ast.Expr) -> None:
    assert where_expr(source) == expr


@pytest.mark.parametrize(
    ("source", "expr"),
    [
        ("a <= x < b", ast.Chain(("<=", "<"), (N("a"), N("x"), N("b")))),
        ("1 < x <= 2 < y", ast.Chain(("<", "<=", "<"), (I(1), N("x"), I(2), N("y")))),
        ('"2024-09-10 07:21:35" < eventdate < "2024-09-12 12:21:35"', ast.Chain(
            ("<", "<"), (S("2024-09-10 07:21:35"), N("eventdate"), S("2024-09-12 12:21:35")))),
        ("now()-1d < eventdate < now()", ast.Chain(
            ("<", "<"), (B("-", C("now"), D(86_400_000)), N("eventdate"), C("now")))),
        ("a > b >= c", ast.Chain((">", ">="), (N("a"), N("b"), N("c")))),
    ],
)  # fmt: skip
def test_chained_comparisons(source: str, expr: ast.Expr) -> None:
    assert where_expr(source) == expr


@pytest.mark.parametrize("source", ["a = b = c", "a < b = c", "a != b < c"])
def test_only_order_comparisons_chain(source: str) -> None:
    with pytest.raises(LinqSyntaxError, match="can be chained"):
        parse(f"from t where {source}")


@pytest.mark.parametrize(
    ("source", "grouped"),
    [
        ("a or b and c", "(a or (b and c))"),
        ("a and b or c", "((a and b) or c)"),
        ("a or b or c", "((a or b) or c)"),
        ("not a and b", "((not a) and b)"),
        ("not a = b", "(not (a = b))"),
        ("not a or b", "((not a) or b)"),
        ("a = b and c != d", "((a = b) and (c != d))"),
        ("a = b or c", "((a = b) or c)"),
        ("a -> b and c ~ d", "((a -> b) and (c ~ d))"),
        ("a in b or c <- d", "((a in b) or (c <- d))"),
        ("a ?: b = c", "((a ?: b) = c)"),
        ("a ?: b ?: c", "((a ?: b) ?: c)"),
        ("a ?: b | c", "(a ?: (b | c))"),
        ("a | b ^ c", "(a | (b ^ c))"),
        ("a ^ b & c", "(a ^ (b & c))"),
        ("a & b << c", "(a & (b << c))"),
        ("a << b + c", "(a << (b + c))"),
        ("a >> b >>> c", "((a >> b) >>> c)"),
        ("a + b * c", "(a + (b * c))"),
        ("a * b + c", "((a * b) + c)"),
        ("a - b - c", "((a - b) - c)"),
        ("a - b + c", "((a - b) + c)"),
        ("a / b * c", "((a / b) * c)"),
        ("a \\ b % c %% d", "(((a \\ b) % c) %% d)"),
        ("-a * b", "((-a) * b)"),
        ("-a[0]", "(-a[0])"),
        ("~a & b", "((~a) & b)"),
        ("(a + b) * c", "((a + b) * c)"),
        ("a + b < c * d", "((a + b) < (c * d))"),
        ("a < b + c <= d", "(a < (b + c) <= d)"),
        ("now() - 1h < eventdate", "((now() - 1h) < eventdate)"),
        ("x in {1, 2} = true", "((x in {1, 2}) = true)"),
        ("a -> b -> c", "((a -> b) -> c)"),
        ("a ~ re('x') and b", '((a ~ re("x")) and b)'),
        ("a <- 10.0.0.0/8", "(a <- 10.0.0.0/8)"),
        ("a < -1", "(a < (-1))"),
        ("a<-1", "(a <- 1)"),
    ],
)
def test_precedence(source: str, grouped: str) -> None:
    assert shape(source) == grouped


# -- subqueries ----------------------------------------------------------------------------------


def test_in_subquery() -> None:
    expr = where_expr("username in (from siem.logtrust.web.navigation group every - by userEmail)")
    assert expr == B(
        "in",
        N("username"),
        ast.Subquery(
            ast.Query("siem.logtrust.web.navigation", (ast.Group(None, True, (N("userEmail"),)),))
        ),
    )


def test_tuple_in_subquery() -> None:
    expr = where_expr("(srcPort, serverPort) in (from T2 group by srcPort, serverPort)")
    assert expr == B(
        "in",
        ast.Collection("tuple", (N("srcPort"), N("serverPort"))),
        ast.Subquery(ast.Query("T2", (ast.Group(None, False, (N("srcPort"), N("serverPort"))),))),
    )


def test_lookup_map_form() -> None:
    (select,) = parse("from t select (from T2 group by userEmail, level)[username] as lvl").clauses
    assert select == ast.Select(
        (
            ast.SelectItem(
                ast.Index(
                    ast.Subquery(
                        ast.Query("T2", (ast.Group(None, False, (N("userEmail"), N("level"))),))
                    ),
                    N("username"),
                ),
                "lvl",
            ),
        )
    )


def test_subquery_on_the_left_of_has() -> None:
    expr = where_expr("(from T2 select referer) -> url")
    assert expr == B(
        "->",
        ast.Subquery(ast.Query("T2", (ast.Select((ast.SelectItem(N("referer")),)),))),
        N("url"),
    )


def test_nested_subqueries_with_their_own_clauses_and_pragmas() -> None:
    query = parse(
        "from T1 where x in (from T2 where y in (from T3 limit 3) pragma a.b:1) select x limit 2"
    )
    assert len(query.clauses) == 3
    where = query.clauses[0]
    assert isinstance(where, ast.Where)
    outer_in = where.conditions[0]
    assert isinstance(outer_in, ast.Binary)
    assert isinstance(outer_in.right, ast.Subquery)
    inner = outer_in.right.query
    assert inner.table == "T2"
    assert inner.pragmas == (ast.Pragma("a.b", I(1)),)
    inner_where = inner.clauses[0]
    assert isinstance(inner_where, ast.Where)
    deepest = inner_where.conditions[0]
    assert isinstance(deepest, ast.Binary)
    assert deepest.right == ast.Subquery(ast.Query("T3", (ast.Limit(3),)))
    assert query.clauses[1:] == (ast.Select((ast.SelectItem(N("x")),)), ast.Limit(2))


def test_unclosed_subquery() -> None:
    with pytest.raises(LinqSyntaxError, match=r"Was expecting one of: .*'\)'"):
        parse("from t where x in (from T2 where y")


# -- spans ---------------------------------------------------------------------------------------


SPANNED = """from demo.ecommerce.data
  where statusCode = 404,
        method in {"GET", "POST"}
  select count(uri) as n,
     bytes + 1
"""


def _text(span: object) -> str:
    from linqd.errors import Span

    assert isinstance(span, Span)
    return SPANNED[span.start : span.end]


def test_spans_of_nodes_on_multi_line_input() -> None:
    query = parse(SPANNED)
    assert (query.span.line, query.span.column) == (1, 1)
    assert (query.table_span.line, query.table_span.column) == (1, 6)
    assert _text(query.table_span) == "demo.ecommerce.data"
    where, select = query.clauses
    assert isinstance(where, ast.Where)
    assert isinstance(select, ast.Select)
    assert (where.span.line, where.span.column) == (2, 3)
    first, second = where.conditions
    assert (first.span.line, first.span.column) == (2, 9)
    assert _text(first.span) == "statusCode = 404"
    assert isinstance(first, ast.Binary)
    assert (first.right.span.line, first.right.span.column) == (2, 22)
    assert (second.span.line, second.span.column) == (3, 9)
    assert _text(second.span) == 'method in {"GET", "POST"}'
    assert isinstance(second, ast.Binary)
    assert (second.right.span.line, second.right.span.column) == (3, 19)
    item, bare = select.items
    assert (select.span.line, select.span.column) == (4, 3)
    assert (item.span.line, item.span.column) == (4, 10)
    assert _text(item.span) == "count(uri) as n"
    assert isinstance(item.expr, ast.Call)
    assert _text(item.expr.span) == "count(uri)"
    assert (bare.span.line, bare.span.column) == (5, 6)
    assert _text(bare.span) == "bytes + 1"


def test_spans_do_not_take_part_in_equality() -> None:
    assert parse("from t where a=1") == parse("from t\n\n   where    a  =  1")


def test_span_of_a_subquery_and_its_table() -> None:
    source = "from t\nwhere x in (\n  from T2)"
    expr = parse(source).clauses[0]
    assert isinstance(expr, ast.Where)
    condition = expr.conditions[0]
    assert isinstance(condition, ast.Binary)
    sub = condition.right
    assert isinstance(sub, ast.Subquery)
    assert (sub.span.line, sub.span.column) == (2, 12)
    assert (sub.query.table_span.line, sub.query.table_span.column) == (3, 8)


# -- syntax errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "line", "column", "expected"),
    [
        ("from demo.ecommerce.data blablabla", 1, 26, "<EOF>, 'where', 'select', 'group'"),
        ("from t where", 1, 13, "<ID>, <STRING>, <INT>"),
        ("from t\nwhere a = \n  )", 3, 3, "<ID>"),
        ("from t select a as", 1, 19, "<ID>"),
        ("from", 1, 5, "<ID>"),
        ("", 1, 1, "'from'"),
        ("from t where f(a, b", 1, 20, "')'"),
        ("from t where a ; b", 1, 16, "<EOF>"),
        ("from t select a as b as c", 1, 22, "<EOF>"),
    ],
)
def test_syntax_errors_say_where_and_what_was_expected(
    source: str, line: int, column: int, expected: str
) -> None:
    with pytest.raises(LinqSyntaxError) as info:
        parse(source)
    message = info.value.message
    assert f"at line {line}, column {column}" in message
    assert "Was expecting one of: " in message
    assert expected in message
    assert info.value.span is not None
    assert (info.value.span.line, info.value.span.column) == (line, column)


@pytest.mark.parametrize(
    "source",
    [
        "from t where " + "(" * 2000 + "a" + ")" * 2000,
        "from t where " + "not " * 2000 + "a",
        "from t where " + "-" * 2000 + "a",
        "from t where " + "a[" * 500 + "0" + "]" * 500,
        "from t where " + "(from t where " * 300 + "a" + ")" * 300,
        "from t where " + "{" * 1000 + "}" * 1000,
    ],
)
def test_deep_nesting_is_a_syntax_error_not_a_crash(source: str) -> None:
    with pytest.raises(LinqError, match="nested too deeply"):
        parse(source)


def test_long_flat_expressions_parse() -> None:
    expr = where_expr(" or ".join(f"a = {i}" for i in range(2000)))
    assert isinstance(expr, ast.Binary)
    assert expr.op == "or"


# -- every example of the spec --------------------------------------------------------------------


def test_spec_example_parses(spec_example: str) -> None:
    query = parse(spec_example)
    assert query.table
    assert isinstance(query, ast.Query)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{"a": 1, "b"}', "':'"),  # once a map, every item is key: value
        ('{"a": 1, 2, 3}', "':'"),
        ('{"a", "b": 1}', "'}'"),  # once a set, no item has a value
        ('{"a": }', "<ID>"),
        ('{"a": 1', "'}'"),
    ],
)
def test_map_literal_errors(source: str, expected: str) -> None:
    with pytest.raises(LinqSyntaxError, match=f"Was expecting one of: .*{re.escape(expected)}"):
        where_expr(source)


def test_parse_expression_reads_one_expression_only() -> None:
    assert parse_expression("_ * 2") == ast.Binary("*", N("_"), I(2))
    with pytest.raises(LinqSyntaxError, match="<EOF>"):
        parse_expression("_ * 2 select")
