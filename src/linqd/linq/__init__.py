"""LINQ: lexer → parser (AST with spans) → analyzer (typed plan) → compiler (sqlglot → SQL).

Every compilation runs within a ``Budget`` (``limits.py``): size, depth and time. A
``RecursionError`` the budget did not foresee still ends as a ``LinqError``, never a crash."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..errors import LinqError, LinqLimitError
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
) -> CompiledQuery:
    """LINQ text → a SELECT of ``engine``'s dialect. Raises ``LinqError`` (with its source
    attached) and nothing else."""
    meter = Meter(budget)
    compiler = compiler_for(engine)
    try:
        plan = analyze(parse(text, meter), schemas, text, meter)
        expression = compiler(now_ms, bounds or Bounds(), meter).compile(plan)
    except LinqError as error:
        raise error.with_source(text) from None
    except RecursionError:
        raise LinqLimitError(TOO_DEEP, None, text) from None
    return CompiledQuery(plan, expression, engine)


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
]
