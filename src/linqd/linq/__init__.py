"""LINQ: lexer → parser (AST with spans) → analyzer (typed plan) → compiler (sqlglot → SQL)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..errors import LinqError
from .analyzer import SchemaLookup, analyze
from .compile import Bounds, DuckDBCompiler
from .ir import Plan, ResultColumn
from .parser import parse


@dataclass(frozen=True)
class CompiledQuery:
    plan: Plan
    expression: exp.Select

    @property
    def sql(self) -> str:
        return self.expression.sql(dialect="duckdb")

    @property
    def columns(self) -> tuple[ResultColumn, ...]:
        return self.plan.columns


def compile_plan(plan: Plan, *, now_ms: int, bounds: Bounds) -> exp.Select:
    """An analyzed plan compiled again with other bounds (each window of a live query)."""
    return DuckDBCompiler(now_ms, bounds).compile(plan)


def compile_linq(
    text: str, schemas: SchemaLookup, *, now_ms: int, bounds: Bounds | None = None
) -> CompiledQuery:
    """LINQ text → DuckDB SQL. Raises ``LinqError`` (with its source attached) and nothing else."""
    try:
        plan = analyze(parse(text), schemas, text)
        expression = DuckDBCompiler(now_ms, bounds or Bounds()).compile(plan)
    except LinqError as error:
        raise error.with_source(text) from None
    return CompiledQuery(plan, expression)


__all__ = ["Bounds", "CompiledQuery", "LinqError", "compile_linq", "compile_plan", "parse"]
