"""SQL-building helpers shared by the catalogue modules, beyond the basic ones in ``base``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from .base import Arg, Context, call, cast, lit, paren, try_cast

SQL_TYPES = (
    (Kind.STR, "VARCHAR"),
    (Kind.INT4, "INTEGER"),
    (Kind.INT8, "BIGINT"),
    (Kind.FLOAT8, "DOUBLE"),
    (Kind.BOOL, "BOOLEAN"),
    (Kind.TIMESTAMP, "TIMESTAMP"),
    (Kind.DURATION, "BIGINT"),
    (Kind.IP4, "UINTEGER"),
    (Kind.IP6, "UHUGEINT"),
    (Kind.MAC, "UBIGINT"),
    (Kind.NET4, "VARCHAR"),
    (Kind.NET6, "VARCHAR"),
    (Kind.JSON, "VARCHAR"),
    (Kind.BYTES, "BLOB"),
    (Kind.DC, "BLOB"),
)


# The Nullable ClickHouse type of each LINQ type's values (what DuckDB's SQL_TYPES are there).
CLICKHOUSE_TYPES = (
    (Kind.STR, "Nullable(String)"),
    (Kind.INT4, "Nullable(Int32)"),
    (Kind.INT8, "Nullable(Int64)"),
    (Kind.FLOAT8, "Nullable(Float64)"),
    (Kind.BOOL, "Nullable(Bool)"),
    (Kind.TIMESTAMP, "Nullable(DateTime64(3, 'UTC'))"),
    (Kind.DURATION, "Nullable(Int64)"),
    (Kind.IP4, "Nullable(UInt32)"),
    (Kind.IP6, "Nullable(UInt128)"),
    (Kind.MAC, "Nullable(UInt64)"),
    (Kind.NET4, "Nullable(String)"),
    (Kind.NET6, "Nullable(String)"),
    (Kind.JSON, "Nullable(String)"),
    # ClickHouse's String holds any bytes; result columns of these two are sent as BINARY_TUPLE.
    (Kind.BYTES, "Nullable(String)"),
    (Kind.DC, "Nullable(String)"),
)
CLICKHOUSE = "clickhouse"


def ch_type(ltype: LType) -> exp.DataType | None:
    """The ClickHouse type of ``ltype``'s values; None for collections and untyped values."""
    for kind, name in CLICKHOUSE_TYPES:
        if kind is ltype.kind:
            return exp.DataType.build(name, dialect="clickhouse")
    return None


def on_clickhouse(ctx: Context) -> bool:
    return ctx.engine == CLICKHOUSE


def json_plain(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """Text as ClickHouse's JSON functions take it: they refuse LowCardinality(Nullable(String)),
    which the ClickHouse store uses for low-cardinality columns such as ``hostname``."""
    if on_clickhouse(ctx):
        return exp.Cast(this=sql, to=exp.DataType.build("Nullable(String)", dialect="clickhouse"))
    return sql


def json_input(ctx: Context, value: Arg) -> exp.Expression:
    """The JSON a json function reads from ``value``: text that is not JSON is null. Checking
    the input, not the result, matters: DuckDB folds a constant call (`label("abc")`) while it
    plans, and its JSON functions fail the whole query on text that is not JSON."""
    sql = json_plain(ctx, value.sql)
    if value.type.kind is Kind.STR:
        valid = call("isValidJSON" if on_clickhouse(ctx) else "json_valid", sql)
        return exp.Case(ifs=[exp.If(this=valid, true=sql)])
    return sql


def sql_type(ltype: LType) -> str:
    for kind, name in SQL_TYPES:
        if kind is ltype.kind:
            return name
    raise ValueError(f"no SQL type for {ltype}")


def identity(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """The argument itself: conversions that the analyzer or the storage type already did."""
    return args[0].sql


def ch_cast(sql: exp.Expression, type_name: str) -> exp.Expression:
    """``sql`` as a ClickHouse type written in ClickHouse's own syntax."""
    return exp.Cast(this=sql, to=exp.DataType.build(type_name, dialect="clickhouse"))


def ch_try_cast(sql: exp.Expression, type_name: str) -> exp.Expression:
    """``sql`` read as ``type_name``, null when it does not fit (DuckDB's TRY_CAST; ClickHouse's
    CAST would wrap -1 to 4294967295 for UInt32, or fail on bad text)."""
    return call("accurateCastOrNull", sql, lit(type_name))


# DuckDB type names of TRY_CAST targets → the ClickHouse types accurateCastOrNull reads.
CLICKHOUSE_TRY_TYPES = {
    "BIGINT": "Int64",
    "INTEGER": "Int32",
    "DOUBLE": "Float64",
    "UINTEGER": "UInt32",
    "UBIGINT": "UInt64",
    "UHUGEINT": "UInt128",
}


def try_cast_as(ctx: Context, sql: exp.Expression, duckdb_type: str) -> exp.Expression:
    """``sql`` read as ``duckdb_type`` (a DuckDB type name), null when it cannot be."""
    if on_clickhouse(ctx):
        return ch_try_cast(sql, CLICKHOUSE_TRY_TYPES[duckdb_type])
    return try_cast(sql, duckdb_type)


def from_epoch_ms(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """The UTC timestamp of epoch milliseconds."""
    if on_clickhouse(ctx):
        # toInt64 keeps a constant non-nullable: the MergeTree key can then prune by eventdate.
        return call("fromUnixTimestamp64Milli", call("toInt64", sql), lit("UTC"))
    return call("epoch_ms", sql)


def epoch_ms_of(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """The epoch milliseconds of a timestamp."""
    return call("toUnixTimestamp64Milli" if on_clickhouse(ctx) else "epoch_ms", sql)


def lower(ctx: Context, sql: exp.Expression) -> exp.Expression:
    # ClickHouse's lower() is ASCII only; DuckDB's lower() folds every letter.
    return call("lowerUTF8", sql) if on_clickhouse(ctx) else exp.Lower(this=sql)


def contains(ctx: Context, text: exp.Expression, part: exp.Expression) -> exp.Expression:
    if on_clickhouse(ctx):
        return paren(exp.GT(this=call("position", text, part), expression=lit(0)))
    return call("contains", text, part)


def regex_matches(
    ctx: Context, text: exp.Expression, pattern: exp.Expression, ignore_case: bool = False
) -> exp.Expression:
    """Does the RE2 ``pattern`` match anywhere in ``text``."""
    if on_clickhouse(ctx):
        if ignore_case:
            pattern = (
                lit("(?i)" + pattern.name)
                if isinstance(pattern, exp.Literal) and pattern.is_string
                else call("concat", lit("(?i)"), pattern)
            )
        return call("match", text, pattern)
    return call("regexp_matches", text, pattern, *([lit("i")] if ignore_case else []))


def regex_extract(
    ctx: Context, text: exp.Expression, pattern: exp.Expression, group: int
) -> exp.Expression:
    """Capture group ``group`` (0: the whole match) of the first match; '' when none."""
    name = "regexpExtract" if on_clickhouse(ctx) else "regexp_extract"
    return call(name, text, pattern, lit(group))


def regex_full_match(ctx: Context, text: exp.Expression, pattern: str) -> exp.Expression:
    """Does ``pattern`` (anchored with ^ and $ itself) match the text."""
    if on_clickhouse(ctx):
        return call("match", text, lit(pattern))
    return call("regexp_full_match", text, lit(pattern))


def trim(ctx: Context, sql: exp.Expression) -> exp.Expression:
    return call("trimBoth" if on_clickhouse(ctx) else "trim", sql)


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
