"""Tokens → ``ast.Query``. A hand-written recursive-descent parser, one ``_parse_<clause>`` per
clause and one method per logical level (or, and, not, comparison); the binary operators
(``?:``, ``|``, ``^``, ``&``, shifts, ``+ -``, ``* / \\ % %%``, lowest first) are read by one
precedence-climbing loop, then unary operators and postfix ``[ ]``.

Recursion is bounded by the budget's ``max_nesting`` (see ``limits.py``), counted where the
parser recurses: a bracket, a call, a unary operator, ``not``, each step up the precedence
ladder on the right of an operator, and a subquery (weighted). Chains of one level are loops
and cost nothing here; how deep they make the tree is checked once the text is parsed.
"""

from __future__ import annotations

from ..errors import LinqLimitError, LinqSyntaxError, Span
from . import ast
from .lexer import tokenize
from .limits import SUBQUERY_WEIGHT, Meter, check_depth, refuse
from .tokens import CLAUSE_KEYWORDS, T, Token

COMPARISON_OPS = ("=", "==", "!=", "/=", "<", "<=", ">", ">=")
CHAINABLE = ("<", "<=", ">", ">=")
MEMBERSHIP_OPS = ("->", "->>", "<-", "~")

_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("?:",),
    ("|",),
    ("^",),
    ("&",),
    ("<<", ">>", ">>>"),
    ("+", "-"),
    ("*", "/", "\\", "%", "%%"),
)
_LEVEL_OF = {op: level for level, ops in enumerate(_BINARY_LEVELS) for op in ops}


class Parser:
    def __init__(self, source: str, meter: Meter | None = None) -> None:
        self.source = source
        self.meter = meter or Meter()
        self.tokens = tokenize(source, self.meter)
        self.i = 0
        self.depth = 0

    # -- token helpers ---------------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def _advance(self) -> Token:
        token = self.tokens[self.i]
        if token.type is not T.EOF:
            self.i += 1
        self.meter.tick(token.span)
        return token

    def _error(self, expected: list[str], token: Token | None = None) -> LinqSyntaxError:
        token = token or self.tok
        span = token.span
        listing = ", ".join(expected)
        message = (
            f"Encountered {token.describe()} at line {span.line}, column {span.column}. "
            f"Was expecting one of: {listing}"
        )
        return LinqSyntaxError(message, span, self.source)

    def _expect_op(self, op: str) -> Token:
        if not self.tok.is_op(op):
            raise self._error([f"'{op}'"])
        return self._advance()

    def _expect_keyword(self, word: str) -> Token:
        if not self.tok.is_keyword(word):
            raise self._error([f"'{word}'"])
        return self._advance()

    def _span_from(self, start: Span) -> Span:
        end = self.tokens[max(self.i - 1, 0)].span.end
        return Span(start.start, max(end, start.start), start.line, start.column)

    # -- query -----------------------------------------------------------------------------------

    def _enter(self, token: Token, levels: int = 1) -> None:
        """One more level of recursion, refused past the budget where ``token`` stands."""
        self.depth += levels
        if self.depth > self.meter.budget.max_nesting:
            limit = self.meter.budget.max_nesting
            raise refuse(
                f"Expression nested too deeply: more than {limit} levels of parentheses, "
                "brackets, calls, operators or subqueries",
                token.span,
                self.source,
            )

    def parse(self) -> ast.Query:
        query = self._parse_query()
        if self.tok.type is not T.EOF:
            raise self._error(["<EOF>", *(f"'{k}'" for k in CLAUSE_KEYWORDS)])
        check_depth(query, self.meter.budget)
        return query

    def _parse_query(self) -> ast.Query:
        start = self.tok.span
        self._expect_keyword("from")
        table, table_span = self._parse_table_name()
        clauses: list[ast.Clause] = []
        pragmas: list[ast.Pragma] = []
        while True:
            token = self.tok
            if token.is_keyword("pragma"):
                pragmas.append(self._parse_pragma())
            elif token.is_keyword("where"):
                clauses.append(self._parse_where())
            elif token.is_keyword("select"):
                clauses.append(self._parse_select())
            elif token.is_keyword("group"):
                clauses.append(self._parse_group())
            elif token.is_keyword("every"):
                clauses.append(self._parse_every())
            elif token.is_keyword("limit"):
                clauses.append(self._parse_limit())
            elif token.is_keyword("offset"):
                clauses.append(self._parse_offset())
            elif token.is_keyword("order"):
                clauses.append(self._parse_order())
            else:
                break
        return ast.Query(table, tuple(clauses), tuple(pragmas), self._span_from(start), table_span)

    def _name_part(self) -> str:
        token = self.tok
        if token.type in (T.IDENT, T.KEYWORD):
            self._advance()
            return token.text
        if token.type is T.QUOTED_IDENT:
            self._advance()
            return str(token.value)
        raise self._error(["<ID>"])

    def _parse_table_name(self) -> tuple[str, Span]:
        start = self.tok.span
        parts = [self._name_part()]
        while self.tok.is_op("."):
            self._advance()
            parts.append(self._name_part())
        return ".".join(parts), self._span_from(start)

    def _parse_where(self) -> ast.Where:
        start = self._advance().span
        conditions = [self._parse_expr()]
        while self.tok.is_op(","):
            self._advance()
            conditions.append(self._parse_expr())
        return ast.Where(tuple(conditions), self._span_from(start))

    def _parse_select(self) -> ast.Select:
        start = self._advance().span
        items = [self._parse_select_item()]
        while self.tok.is_op(","):
            self._advance()
            items.append(self._parse_select_item())
        return ast.Select(tuple(items), self._span_from(start))

    def _parse_select_item(self) -> ast.SelectItem:
        start = self.tok.span
        if self.tok.is_op("*"):
            self._advance()
            return ast.SelectItem(ast.Star(start), None, start)
        expr = self._parse_expr()
        alias = None
        if self.tok.is_keyword("as"):
            self._advance()
            alias = self._parse_alias()
        return ast.SelectItem(expr, alias, self._span_from(start))

    def _parse_alias(self) -> str:
        token = self.tok
        if token.type is T.IDENT:
            self._advance()
            return token.text
        if token.type is T.QUOTED_IDENT:
            self._advance()
            return str(token.value)
        raise self._error(["<ID>"])

    def _parse_period(self) -> tuple[int | None, bool]:
        """After ``every``: a duration, ``-`` (no period) or ``0``."""
        token = self.tok
        if token.type is T.DURATION:
            self._advance()
            return int(token.value), False  # type: ignore[call-overload]
        if token.is_op("-"):
            self._advance()
            return None, True
        if token.type is T.INT and token.value == 0:
            self._advance()
            return None, True
        raise self._error(["<DURATION>", "'-'"])

    def _parse_group(self) -> ast.Group:
        start = self._advance().span
        every_ms: int | None = None
        dash = False
        if self.tok.is_keyword("every"):
            self._advance()
            every_ms, dash = self._parse_period()
        keys: list[ast.Expr] = []
        if self.tok.is_keyword("by"):
            self._advance()
            keys.append(self._parse_expr())
            while self.tok.is_op(","):
                self._advance()
                keys.append(self._parse_expr())
        return ast.Group(every_ms, dash, tuple(keys), self._span_from(start))

    def _parse_every(self) -> ast.Every:
        start = self._advance().span
        period, _ = self._parse_period()
        return ast.Every(period, self._span_from(start))

    def _parse_count(self) -> int:
        token = self.tok
        if token.type is not T.INT:
            raise self._error(["<INT>"])
        self._advance()
        return int(str(token.value))

    def _parse_limit(self) -> ast.Limit:
        start = self._advance().span
        return ast.Limit(self._parse_count(), self._span_from(start))

    def _parse_offset(self) -> ast.Offset:
        start = self._advance().span
        return ast.Offset(self._parse_count(), self._span_from(start))

    def _parse_order(self) -> ast.OrderBy:
        start = self._advance().span
        self._expect_keyword("by")
        items = [self._parse_order_item()]
        while self.tok.is_op(","):
            self._advance()
            items.append(self._parse_order_item())
        return ast.OrderBy(tuple(items), self._span_from(start))

    def _parse_order_item(self) -> ast.OrderItem:
        expr = self._parse_expr()
        descending = False
        if self.tok.is_keyword("asc", "desc"):
            descending = self._advance().text == "desc"
        return ast.OrderItem(expr, descending)

    def _parse_pragma(self) -> ast.Pragma:
        start = self._advance().span
        parts = [self._name_part()]
        while self.tok.is_op("."):
            self._advance()
            parts.append(self._name_part())
        self._expect_op(":")
        value = self._parse_unary()
        return ast.Pragma(".".join(parts), value, self._span_from(start))

    # -- expressions -----------------------------------------------------------------------------

    def _parse_expr(self) -> ast.Expr:
        self._enter(self.tok)
        try:
            return self._parse_or()
        finally:
            self.depth -= 1

    def _parse_or(self) -> ast.Expr:
        left = self._parse_and()
        while self.tok.is_keyword("or"):
            self._advance()
            right = self._parse_and()
            left = ast.Binary("or", left, right, _join(left, right))
        return left

    def _parse_and(self) -> ast.Expr:
        left = self._parse_not()
        while self.tok.is_keyword("and"):
            self._advance()
            right = self._parse_not()
            left = ast.Binary("and", left, right, _join(left, right))
        return left

    def _parse_not(self) -> ast.Expr:
        if self.tok.is_keyword("not"):
            token = self._advance()
            self._enter(token)
            operand = self._parse_not()
            self.depth -= 1
            return ast.Unary("not", operand, self._span_from(token.span))
        return self._parse_comparison()

    def _parse_comparison(self) -> ast.Expr:
        left = self._parse_binary(0)
        ops: list[str] = []
        operands = [left]
        while True:
            token = self.tok
            if token.is_op(*COMPARISON_OPS):
                op = "=" if token.text == "==" else token.text
                self._advance()
                ops.append(op)
                operands.append(self._parse_binary(0))
                continue
            if token.is_op(*MEMBERSHIP_OPS) or token.is_keyword("in"):
                if ops:
                    break
                self._advance()
                right = self._membership_right()
                left = ast.Binary(token.text, left, right, _join(left, right))
                operands = [left]
                continue
            break
        if not ops:
            return operands[0]
        if len(ops) == 1:
            return ast.Binary(ops[0], operands[0], operands[1], _join(operands[0], operands[1]))
        if not all(op in CHAINABLE for op in ops):
            raise LinqSyntaxError("Only <, <=, >, >= can be chained", operands[0].span, self.source)
        return ast.Chain(tuple(ops), tuple(operands), _join(operands[0], operands[-1]))

    def _membership_right(self) -> ast.Expr:
        """What follows ``in``: an expression, or Devo's ``in my.lookuplist.<name>`` (the
        lookup's keys), read as a subquery of the lookup that the analyzer narrows to its key."""
        if self.tok.text == "my" and self._peek().is_op(".") and self._peek(2).text == "lookuplist":
            start = self.tok.span
            table, table_span = self._parse_table_name()
            span = self._span_from(start)
            return ast.Subquery(ast.Query(table, (), (), span, table_span), span)
        return self._parse_binary(0)

    def _parse_binary(self, lowest: int) -> ast.Expr:
        """Binary operators of precedence ``lowest`` and up; left-associative."""
        left = self._parse_unary()
        while True:
            token = self.tok
            level = _LEVEL_OF.get(token.text, -1) if token.type is T.OP else -1
            if level < lowest:
                return left
            self._advance()
            self._enter(token)
            right = self._parse_binary(level + 1)
            self.depth -= 1
            left = ast.Binary(token.text, left, right, _join(left, right))

    def _parse_unary(self) -> ast.Expr:
        token = self.tok
        if token.is_op("-", "~", "!"):
            self._advance()
            self._enter(token)
            operand = self._parse_unary()
            self.depth -= 1
            op = "not" if token.text == "!" else token.text
            return ast.Unary(op, operand, self._span_from(token.span))
        return self._parse_postfix()

    def _parse_postfix(self) -> ast.Expr:
        expr = self._parse_primary()
        while self.tok.is_op("["):
            self._advance()
            index = self._parse_expr()
            self._expect_op("]")
            expr = ast.Index(expr, index, self._span_from(expr.span))
        return expr

    def _parse_primary(self) -> ast.Expr:
        token = self.tok
        kind = token.type
        if kind is T.STRING:
            self._advance()
            return ast.Literal(ast.LitKind.STR, token.value, token.span)
        if kind is T.INT:
            self._advance()
            return ast.Literal(ast.LitKind.INT, token.value, token.span)
        if kind is T.FLOAT:
            self._advance()
            return ast.Literal(ast.LitKind.FLOAT, token.value, token.span)
        if kind is T.DURATION:
            self._advance()
            return ast.Literal(ast.LitKind.DURATION, token.value, token.span)
        if kind is T.IP4:
            self._advance()
            return ast.Literal(ast.LitKind.IP4, token.text, token.span)
        if kind is T.CIDR:
            self._advance()
            return ast.Literal(ast.LitKind.NET4, token.text, token.span)
        if token.is_keyword("true", "false"):
            self._advance()
            return ast.Literal(ast.LitKind.BOOL, token.text == "true", token.span)
        if token.is_keyword("null"):
            self._advance()
            return ast.Literal(ast.LitKind.NULL, None, token.span)
        if kind in (T.IDENT, T.QUOTED_IDENT):
            self._advance()
            name = token.text if kind is T.IDENT else str(token.value)
            if self.tok.is_op("("):
                return self._parse_call(name, token.span)
            return ast.Name(name, token.span)
        if token.is_op("("):
            return self._parse_parenthesised()
        if token.is_op("{"):
            return self._parse_braces()
        if token.is_op("["):
            self._advance()
            items = self._parse_items("]")
            return ast.Collection("array", items, self._span_from(token.span))
        raise self._error(["<ID>", "<STRING>", "<INT>", "'('", "'{'", "'['", "'-'", "'not'"])

    def _parse_items(self, closing: str) -> tuple[ast.Expr, ...]:
        items: list[ast.Expr] = []
        if not self.tok.is_op(closing):
            items.append(self._parse_expr())
            while self.tok.is_op(","):
                self._advance()
                items.append(self._parse_expr())
        self._expect_op(closing)
        return tuple(items)

    def _parse_call(self, name: str, start: Span) -> ast.Expr:
        self._expect_op("(")
        if self.tok.is_op("*") and self._peek().is_op(")"):
            self._advance()  # count(*) is count()
            self._advance()
            return ast.Call(name, (), self._span_from(start))
        args = self._parse_items(")")
        return ast.Call(name, args, self._span_from(start))

    def _parse_parenthesised(self) -> ast.Expr:
        start = self._advance().span
        if self.tok.is_keyword("from"):
            self._enter(self.tok, SUBQUERY_WEIGHT)
            query = self._parse_query()
            self.depth -= SUBQUERY_WEIGHT
            self._expect_op(")")
            return ast.Subquery(query, self._span_from(start))
        first = self._parse_expr()
        if self.tok.is_op(","):
            items = [first]
            while self.tok.is_op(","):
                self._advance()
                items.append(self._parse_expr())
            self._expect_op(")")
            return ast.Collection("tuple", tuple(items), self._span_from(start))
        self._expect_op(")")
        return first

    def _parse_braces(self) -> ast.Expr:
        start = self._advance().span
        if self.tok.is_op("}"):
            self._advance()
            return ast.Collection("set", (), self._span_from(start))
        first = self._parse_expr()
        if self.tok.is_op(":"):
            self._advance()
            pairs = [(first, self._parse_expr())]
            while self.tok.is_op(","):
                self._advance()
                key = self._parse_expr()
                self._expect_op(":")
                pairs.append((key, self._parse_expr()))
            self._expect_op("}")
            return ast.MapLiteral(tuple(pairs), self._span_from(start))
        items = [first]
        while self.tok.is_op(","):
            self._advance()
            items.append(self._parse_expr())
        self._expect_op("}")
        return ast.Collection("set", tuple(items), self._span_from(start))


def _join(left: ast.Expr, right: ast.Expr) -> Span:
    a, b = left.span, right.span
    return Span(a.start, max(a.end, b.end), a.line, a.column)


def parse_expression(source: str, meter: Meter | None = None) -> ast.Expr:
    """One expression and nothing after it: the body of a higher-order function's string,
    ``map(arr, '_ * 2')``. Spans are offsets into ``source``."""
    parser = Parser(source, meter)
    try:
        expr = parser._parse_expr()
        if parser.tok.type is not T.EOF:
            raise parser._error(["<EOF>"])
    except RecursionError:
        raise LinqLimitError("Query nested too deeply", None, source) from None
    return expr


def parse(source: str, meter: Meter | None = None) -> ast.Query:
    """Parse LINQ text; raises a ``LinqError`` and nothing else."""
    try:
        return Parser(source, meter).parse()
    except RecursionError:
        # The budget keeps the parser far from Python's limit; this is the last resort.
        raise LinqLimitError("Query nested too deeply", None, source) from None
