"""LINQ: lexer → parser (AST with spans) → analyzer (typed plan) → compiler (sqlglot → SQL).

Every compilation runs within a ``Budget`` (``limits.py``): size, depth and time. A
``RecursionError`` the budget did not foresee still ends as a ``LinqError``, never a crash."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlglot import exp

from ..errors import LinqError, LinqLimitError
from . import ast
from .analyzer import SchemaLookup, analyze
from .compile import COMPILERS, DEFAULT_ENGINE, Bounds, Compiler
from .ir import Plan, ResultColumn
from .limits import DEFAULT_BUDGET, Budget, Meter
from .parser import parse

TOO_DEEP = "Query nested too deeply to compile"


@dataclass(frozen=True)
class CompiledQuery:
    plan: Plan
    expression: exp.Select
    engine: str = DEFAULT_ENGINE

    @property
    def sql(self) -> str:
        return render(self.expression, self.engine)

    @property
    def columns(self) -> tuple[ResultColumn, ...]:
        return self.plan.columns


def render(expression: exp.Expression, engine: str = DEFAULT_ENGINE) -> str:
    """The SQL text of a compiled expression in ``engine``'s dialect."""
    try:
        return expression.sql(dialect=compiler_for(engine).dialect)
    except RecursionError:
        raise LinqLimitError(TOO_DEEP) from None


def compiler_for(engine: str) -> type[Compiler]:
    compiler = COMPILERS.get(engine)
    if compiler is None:
        raise ValueError(f"no LINQ compiler for the engine `{engine}`")
    return compiler


def compile_plan(
    plan: Plan, *, now_ms: int, bounds: Bounds, engine: str = DEFAULT_ENGINE
) -> exp.Select:
    """An analyzed plan compiled again with other bounds (each window of a live query)."""
    try:
        return compiler_for(engine)(now_ms, bounds).compile(plan)
    except RecursionError:
        raise LinqLimitError(TOO_DEEP) from None


def compile_linq(
    text: str,
    schemas: SchemaLookup,
    *,
    now_ms: int,
    bounds: Bounds | None = None,
    budget: Budget = DEFAULT_BUDGET,
    engine: str = DEFAULT_ENGINE,
    select_all: bool = False,
) -> CompiledQuery:
    """LINQ text → a SELECT of ``engine``'s dialect. Raises ``LinqError`` (with its source
    attached) and nothing else. ``select_all``: as if the query ended with ``select *``
    (``selecting_all``)."""
    meter = Meter(budget)
    compiler = compiler_for(engine)
    try:
        query = parse(text, meter)
        if select_all:
            query = selecting_all(query)
        plan = analyze(query, schemas, text, meter)
        expression = compiler(now_ms, bounds or Bounds(), meter).compile(plan)
    except LinqError as error:
        raise error.with_source(text) from None
    except RecursionError:
        raise LinqLimitError(TOO_DEEP, None, text) from None
    return CompiledQuery(plan, expression, engine)


def selecting_all(query: ast.Query) -> ast.Query:
    """``query`` ending with ``select *``: its rows show every column of its table beside the
    ones it creates, whatever it selects (an alert's ``withSelectAll``). A query that groups is
    left as it is: after a grouping only its keys, bucket and aggregations exist, which it
    shows already."""
    if any(isinstance(clause, ast.Group) for clause in query.clauses):
        return query
    star = ast.Select((ast.SelectItem(ast.Star()),))
    return replace(query, clauses=(*query.clauses, star))


__all__ = [
    "Bounds",
    "Budget",
    "CompiledQuery",
    "LinqError",
    "compile_linq",
    "compile_plan",
    "compiler_for",
    "parse",
    "render",
    "selecting_all",
]
