"""The budget of one LINQ compilation: how long a text, how many tokens, how deep, how much SQL,
and how much time parsing, analysis and compilation may take.

Every query, alert definition and backtest is LINQ sent by a client, so the front end must
refuse what would otherwise take the server down: a text of a million tokens, an expression
nested so deep that Python's recursion limit (1,000 frames) is hit somewhere, or a short text
that compiles to exponentially large SQL (translators that use an argument more than once,
nested). Each refusal is a ``LinqLimitError`` (a ``LinqError``: HTTP 400, Devo's query error
shape) that points at the place in the text when there is one.

The limits are far above hand-written queries and above the generated ones we know of (a
20,000-term ``or`` is about 80,000 tokens):

- ``max_chars`` 1 MiB of text and ``max_tokens`` 100,000 tokens;
- ``max_nesting`` 64: what the recursive-descent parser may hold open at once (parentheses,
  brackets, calls, unary operators, ``not``, and each step up the operator precedence ladder
  on the right of an operator); a subquery counts ``SUBQUERY_WEIGHT``. Ten Python frames per
  level at most, so 640 frames: the parser reports its own limit, never a ``RecursionError``;
- ``max_depth`` 100: the depth of the expression tree the analyzer builds, where a chain of
  ``+`` counts each operator (the tree is as deep as the chain is long) while a chain of
  ``and`` or ``or`` counts its logarithm (the analyzer balances those). The analyzer, the IR
  walkers and the formatter take at most three frames per level;
- ``max_sql_depth`` 240 and ``max_sql_nodes`` 1,000,000: the compiled expression trees, counted
  as the compiler builds them (a node used twice counts twice, as it is printed twice).
  sqlglot's printer takes three frames per level;
- ``seconds`` 10: a deadline checked inside the lexer, parser, analyzer and compiler loops.

A chain of 1,000 ``+`` is therefore refused with a clear error rather than compiled: beyond the
Python frames, DuckDB itself refuses expressions deeper than 1,000 (``max_expression_depth``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..errors import LinqLimitError, Span
from . import ast

MAX_CHARS = 1_048_576
MAX_TOKENS = 100_000
MAX_NESTING = 64
MAX_DEPTH = 100
MAX_SQL_DEPTH = 240
MAX_SQL_NODES = 1_000_000
COMPILE_SECONDS = 10.0
# A subquery costs the parser and sqlglot's printer several times what an operator does.
SUBQUERY_WEIGHT = 4
# The clock is read once every this many steps: a step is a token, a parsed or analyzed
# expression, or a compiled node, each a few microseconds.
_CHECK_EVERY = 256


@dataclass(frozen=True)
class Budget:
    max_chars: int = MAX_CHARS
    max_tokens: int = MAX_TOKENS
    max_nesting: int = MAX_NESTING
    max_depth: int = MAX_DEPTH
    max_sql_depth: int = MAX_SQL_DEPTH
    max_sql_nodes: int = MAX_SQL_NODES
    seconds: float | None = COMPILE_SECONDS


DEFAULT_BUDGET = Budget()
UNLIMITED = Budget(
    max_chars=2**62,
    max_tokens=2**62,
    max_nesting=2**62,
    max_depth=2**62,
    max_sql_depth=2**62,
    max_sql_nodes=2**62,
    seconds=None,
)


def refuse(message: str, span: Span | None, source: str | None = None) -> LinqLimitError:
    """The error, its position in the message as every LINQ error has it (Devo's form)."""
    if span is not None:
        message = f"{message} at line {span.line}, column {span.column}"
    return LinqLimitError(message, span, source)


class Meter:
    """The running side of a ``Budget`` for one compilation: its deadline and step count."""

    def __init__(
        self, budget: Budget = DEFAULT_BUDGET, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._deadline = None if budget.seconds is None else clock() + budget.seconds
        self._steps = 0

    def tick(self, span: Span | None = None) -> None:
        """One step of work; every few hundred, the deadline is checked."""
        self._steps += 1
        if self._steps % _CHECK_EVERY == 0:
            self.check(span)

    def check(self, span: Span | None = None) -> None:
        if self._deadline is not None and self._clock() > self._deadline:
            raise refuse(f"The query took more than {self.budget.seconds:g} s to compile", span)


def check_depth(query: ast.Query, budget: Budget) -> None:
    """Refuse expressions deeper than ``budget.max_depth`` (see the module docstring), naming
    the place where the limit is crossed. Iterative: the tree may be deeper than Python's
    stack."""
    depths: dict[int, int] = {}
    for root in _expressions(query):
        # Post-order over (node, children pushed?) pairs.
        stack: list[tuple[ast.Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in depths:
                continue
            weight, children = _children(node)
            if not expanded:
                stack.append((node, True))
                stack.extend((child, False) for child in children if id(child) not in depths)
                continue
            depth = weight + max((depths[id(c)] for c in children), default=0)
            if depth > budget.max_depth:
                raise refuse(
                    f"Expression too deep: more than {budget.max_depth} nested operators, "
                    "calls or subqueries",
                    _place(node),
                )
            depths[id(node)] = depth


def _place(node: ast.Expr) -> Span:
    # In a chain `a + b + c ...` the node where the limit is crossed spans the chain from its
    # start; its right operand is where the chain got too long.
    return node.right.span if isinstance(node, ast.Binary) else node.span


def _expressions(query: ast.Query) -> Iterator[ast.Expr]:
    for clause in query.clauses:
        match clause:
            case ast.Where(conditions=conditions):
                yield from conditions
            case ast.Select(items=items):
                yield from (i.expr for i in items if not isinstance(i.expr, ast.Star))
            case ast.Group(keys=keys):
                yield from keys
            case ast.OrderBy(items=order):
                yield from (i.expr for i in order)
    yield from (p.value for p in query.pragmas)


def _logical_operands(node: ast.Binary) -> list[ast.Expr]:
    """The operands of a run of one logical operator, as the analyzer flattens it."""
    operands: list[ast.Expr] = []
    pending: list[ast.Expr] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.Binary) and current.op == node.op:
            pending += [current.right, current.left]
        else:
            operands.append(current)
    return operands


def _children(node: ast.Expr) -> tuple[int, list[ast.Expr]]:
    """(levels the node adds, its sub-expressions) as the analyzer will nest them."""
    match node:
        case ast.Binary(op="and" | "or"):
            operands = _logical_operands(node)
            return max(1, math.ceil(math.log2(len(operands)))), operands
        case ast.Binary(left=left, right=right) | ast.Index(target=left, index=right):
            return 1, [left, right]
        case ast.Unary(operand=operand):
            return 1, [operand]
        case ast.Call(args=items) | ast.Collection(items=items):
            return 1, list(items)
        case ast.Chain(ops=ops, operands=operands):
            return len(ops), list(operands)
        case ast.MapLiteral(items=pairs):
            return 1, [part for pair in pairs for part in pair]
        case ast.Subquery(query=query):
            return SUBQUERY_WEIGHT, list(_expressions(query))
    return 0, []  # names and literals
