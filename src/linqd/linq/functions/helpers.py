"""SQL-building helpers shared by the catalogue modules, beyond the basic ones in ``base``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from .base import Arg, Context, cast, lit, paren

SQL_TYPES = (
    (Kind.STR, "VARCHAR"),
    (Kind.INT4, "INTEGER"),
    (Kind.INT8, "BIGINT"),
    (Kind.FLOAT8, "DOUBLE"),
    (Kind.BOOL, "BOOLEAN"),
    (Kind.TIMESTAMP, "TIMESTAMP"),
    (Kind.DURATION, "BIGINT"),
    (Kind.IP4, "UINTEGER"),
    (Kind.JSON, "VARCHAR"),
)


def sql_type(ltype: LType) -> str:
    for kind, name in SQL_TYPES:
        if kind is ltype.kind:
            return name
    raise ValueError(f"no SQL type for {ltype}")


def identity(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """The argument itself: conversions that the analyzer or the storage type already did."""
    return args[0].sql


def as_type(sql: exp.Expression, ltype: LType) -> exp.Expression:
    """``sql`` cast to the storage type of ``ltype``: DuckDB's own result types (TINYINT from
    sign(), DECIMAL from a literal such as 2.5) must not leak into result columns."""
    if ltype.kind in (Kind.NULL, Kind.ANY):
        return sql  # a function of a bare null: nothing to narrow
    return cast(sql, sql_type(ltype))


def number(arg: Arg) -> exp.Expression:
    """A numeric argument; a float literal is read as DOUBLE, not as DuckDB's DECIMAL."""
    if arg.type.kind is Kind.FLOAT8 and arg.is_const:
        return cast(arg.sql, "DOUBLE")
    return arg.sql


def plus(sql: exp.Expression, amount: int) -> exp.Expression:
    return paren(exp.Add(this=sql, expression=lit(amount)))


def minus(sql: exp.Expression, amount: int) -> exp.Expression:
    return paren(exp.Sub(this=sql, expression=lit(amount)))


def shifted(arg: Arg, amount: int) -> exp.Expression:
    """An integer argument plus ``amount`` (folded when the argument is a literal)."""
    if arg.is_const and isinstance(arg.const, int):
        return lit(arg.const + amount)
    return plus(arg.sql, amount)


def case(
    *branches: tuple[exp.Expression, exp.Expression], default: exp.Expression | None = None
) -> exp.Expression:
    ifs = [exp.If(this=condition, true=value) for condition, value in branches]
    return exp.Case(ifs=ifs, default=default)


def any_of(conditions: list[exp.Expression]) -> exp.Expression:
    result = conditions[0]
    for condition in conditions[1:]:
        result = exp.Or(this=result, expression=condition)
    return paren(result)


def all_of(conditions: list[exp.Expression]) -> exp.Expression:
    result = conditions[0]
    for condition in conditions[1:]:
        result = exp.And(this=result, expression=condition)
    return paren(result)


def const_text(ctx: Context, arg: Arg, function: str, what: str) -> str:
    """A string argument that must be known when the query is compiled (a format, a path)."""
    if not arg.is_const or not isinstance(arg.const, str):
        raise ctx.error(f"The {what} of `{function}' must be a constant string")
    return arg.const


def const_int(ctx: Context, arg: Arg, function: str, what: str) -> int:
    value = arg.const
    if not arg.is_const or not isinstance(value, int) or isinstance(value, bool):
        raise ctx.error(f"The {what} of `{function}' must be a constant integer")
    return value


def const_bool(ctx: Context, arg: Arg, function: str, what: str) -> bool:
    if not arg.is_const or not isinstance(arg.const, bool):
        raise ctx.error(f"The {what} of `{function}' must be true or false")
    return arg.const


REGEX_SPECIAL = "\\.+*?()|[]{}^$"


def regex_escape(text: str) -> str:
    """``text`` as a regular expression matching itself (RE2 syntax)."""
    return "".join("\\" + c if c in REGEX_SPECIAL else c for c in text)
