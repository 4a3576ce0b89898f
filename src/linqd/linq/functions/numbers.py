"""Mathematics: rounding, powers and logarithms, trigonometry and the constants e and pi.

Functions that keep their argument's type (``abs``, ``ceil``, ``round`` ...) cast the engine's
result back to it; the others give float8.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, both, call, lit, paren, sig
from .helpers import as_type, case, number, on_clickhouse


def _keeping_type(function: str) -> Translator:
    """An engine function whose result is cast to the LINQ result type (DuckDB's ceil of a
    DECIMAL literal is a DECIMAL, its sign() a TINYINT)."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        return as_type(call(function, *(number(a) for a in args)), result)

    return translate


def _real(function: str) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        return call(function, *(number(a) for a in args))

    return translate


def _abs(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if on_clickhouse(ctx) and result.is_integer:
        # abs(Int64) is a UInt64 there; the way back fails on abs(-2^63), as DuckDB's abs does.
        target = "Nullable(Int32)" if result.name == "int4" else "Nullable(Int64)"
        return call("accurateCast", call("abs", args[0].sql), lit(target))
    return _keeping_type("abs")(ctx, args, result)


def _half_away(value: exp.Expression) -> exp.Expression:
    """C's round(): the nearest integer, halves away from zero (ClickHouse's round() of a Float64
    rounds halves to even). ``value - trunc(value)`` is exact in binary floating point."""
    whole = call("trunc", value)
    fraction = call("abs", exp.Sub(this=value, expression=whole))
    step = exp.Add(this=whole, expression=call("sign", value))
    return case((exp.GTE(this=fraction, expression=lit(0.5)), step), default=whole)


def _round(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    constant_digits = len(args) == 1 or (args[1].is_const and isinstance(args[1].const, int))
    if not on_clickhouse(ctx) and constant_digits:
        return _keeping_type("round")(ctx, args, result)
    # DuckDB's round of a double halves away from zero (ClickHouse's: to even), and it takes
    # its digits as a constant only: other digits compute what it does, on both engines.
    half_away = _half_away if on_clickhouse(ctx) else (lambda v: call("round", v))
    value = number(args[0])
    if len(args) == 1:
        if result.is_integer:
            return as_type(value, result)
        return as_type(half_away(value), result)
    digits = args[1].sql
    # DuckDB: round(x * 10^d) / 10^d, and for d < 0 round(x / 10^-d) * 10^-d.
    power = call("pow", lit(10.0), call("abs", digits))
    up = exp.Div(this=half_away(exp.Mul(this=value, expression=power)), expression=power)
    down = exp.Mul(this=half_away(exp.Div(this=value, expression=power)), expression=power)
    if args[1].is_const and isinstance(args[1].const, int):
        if args[1].const >= 0 and result.is_integer:
            return as_type(value, result)
        return as_type(paren(up if args[1].const >= 0 else down), result)
    return as_type(case((exp.GTE(this=digits, expression=lit(0)), up), default=down), result)


def _log(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if len(args) == 1:
        return call("ln", number(args[0]))
    if on_clickhouse(ctx):
        # DuckDB's log(b, x) is log10(x) / log10(b), to the last bit.
        base, value = (call("log10", number(a)) for a in args)
        return paren(exp.Div(this=value, expression=base))
    return call("log", number(args[0]), number(args[1]))


def _e(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return call("exp", lit(1))


def _pi(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return call("pi")


def _rand(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return call("randCanonical" if on_clickhouse(ctx) else "random")


def _simplify(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return args[0].sql


def _math(
    names: tuple[str, ...], signatures: tuple[str, ...], doc: str, translate: Translator
) -> FunctionDef:
    return FunctionDef(names, tuple(sig(s) for s in signatures), doc, "math",
                       both(translate))  # fmt: skip


SAME = ("num -> $0",)
REAL = ("num -> float8",)

FUNCTIONS: tuple[FunctionDef, ...] = (
    _math(("abs",), SAME, "Absolute value.", _abs),
    _math(("ceil",), SAME, "Smallest integral value not below the number.", _keeping_type("ceil")),
    _math(("floor",), SAME, "Largest integral value not above the number.",
          _keeping_type("floor")),
    _math(("round",), ("num, int? -> $0",),
          "Rounded to `decimals` places (default 0), halves away from zero.",
          _round),
    _math(("signum",), SAME, "-1, 0 or 1, the sign of the number.", _keeping_type("sign")),
    _math(("sqrt",), REAL, "Square root (NaN for negative numbers).", _real("sqrt")),
    _math(("cbrt",), REAL, "Cube root.", _real("cbrt")),
    _math(("pow",), ("num, num -> float8",), "`x` raised to the power `y`.", _real("pow")),
    _math(("exp",), REAL, "e raised to the power `x`.", _real("exp")),
    _math(("log",), ("num -> float8", "num, num -> float8"),
          "Natural logarithm; `log(base, x)` the logarithm in that base.", _log),
    _math(("log2",), REAL, "Base-2 logarithm.", _real("log2")),
    _math(("log10",), REAL, "Base-10 logarithm.", _real("log10")),
    _math(("sin",), REAL, "Sine (radians).", _real("sin")),
    _math(("cos",), REAL, "Cosine (radians).", _real("cos")),
    _math(("tan",), REAL, "Tangent (radians).", _real("tan")),
    _math(("asin",), REAL, "Arc sine, in radians.", _real("asin")),
    _math(("acos",), REAL, "Arc cosine, in radians.", _real("acos")),
    _math(("atan",), REAL, "Arc tangent, in radians.", _real("atan")),
    _math(("atan2",), ("num, num -> float8",), "Arc tangent of `y / x` using both signs.",
          _real("atan2")),
    _math(("e",), ("-> float8",), "Euler's number.", _e),
    _math(("pi",), ("-> float8",), "The number pi.", _pi),
    _math(("rand",), ("-> float8",),
          "A random number from 0 (included) to 1 (excluded), drawn for each row: "
          "`where simplify(float8(rand())) < 0.1` keeps about one row in ten.", _rand),
    _math(("simplify",), ("any -> $0",),
          "Its argument unchanged. Devo documents only its use in sampling, "
          "`simplify(float8(rand()))`, where it hands the number on as it is.", _simplify),
)  # fmt: skip
