"""Null tests and conditionals: ``isnull``, ``isnotnull``, ``ifthenelse``, ``decode``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, both, sig
from .helpers import as_type, number, on_clickhouse


def _isnull(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Is(this=args[0].sql, expression=exp.Null())


def _isnotnull(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Not(this=exp.Is(this=args[0].sql, expression=exp.Null()))


def _typed(sql: exp.Expression, result: LType) -> exp.Expression:
    # Branches of different numeric types (or a DECIMAL literal) must come out as the result type.
    return as_type(sql, result) if result.is_numeric else sql


def _ifthenelse(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    condition, then, otherwise = args
    chosen = exp.Case(
        ifs=[exp.If(this=condition.sql, true=number(then))], default=number(otherwise)
    )
    return _typed(chosen, result)


def _decode(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    subject, *rest = args
    pairs = len(rest) // 2
    ifs = [exp.If(this=rest[2 * i].sql, true=number(rest[2 * i + 1])) for i in range(pairs)]
    default = number(rest[-1]) if len(rest) % 2 else None
    if on_clickhouse(ctx):
        # ClickHouse's CASE x WHEN NULL matches a null x; comparisons keep DuckDB's meaning.
        for branch in ifs:
            branch.set("this", exp.EQ(this=subject.sql, expression=branch.this))
        return _typed(exp.Case(ifs=ifs, default=default), result)
    return _typed(exp.Case(this=subject.sql, ifs=ifs, default=default), result)


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("isnull",), (sig("any -> bool"),), "True when the value is null.", "null",
                both(_isnull)),
    FunctionDef(("isnotnull",), (sig("any -> bool"),), "True when the value is not null.",
                "null", both(_isnotnull)),
    FunctionDef(
        ("ifthenelse",),
        (sig("bool, num, num -> $num"), sig("bool, any, any -> $1")),
        "`a` when the condition holds, else `b` (also when the condition is null).",
        "logic", both(_ifthenelse),
    ),
    FunctionDef(
        ("decode",),
        (sig("any, any, any, any... -> $2"),),
        "`decode(f, v1, r1, v2, r2, ..., otherwise)`: the result paired with the first value "
        "equal to `f`, else `otherwise` (null when omitted).",
        "logic", both(_decode),
    ),
)  # fmt: skip
