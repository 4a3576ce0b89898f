"""Mathematics: rounding, powers and logarithms, trigonometry and the constants e and pi.

Functions that keep their argument's type (``abs``, ``ceil``, ``round`` ...) cast the engine's
result back to it; the others give float8.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, Translator, call, lit, sig
from .helpers import as_type, number


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


def _log(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if len(args) == 1:
        return call("ln", number(args[0]))
    return call("log", number(args[0]), number(args[1]))


def _e(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return call("exp", lit(1))


def _pi(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return call("pi")


def _math(
    names: tuple[str, ...], signatures: tuple[str, ...], doc: str, translate: Translator
) -> FunctionDef:
    return FunctionDef(names, tuple(sig(s) for s in signatures), doc, "math",
                       {"duckdb": translate})  # fmt: skip


SAME = ("num -> $0",)
REAL = ("num -> float8",)

FUNCTIONS: tuple[FunctionDef, ...] = (
    _math(("abs",), SAME, "Absolute value.", _keeping_type("abs")),
    _math(("ceil",), SAME, "Smallest integral value not below the number.", _keeping_type("ceil")),
    _math(("floor",), SAME, "Largest integral value not above the number.",
          _keeping_type("floor")),
    _math(("round",), ("num, int? -> $0",),
          "Rounded to `decimals` places (default 0), halves away from zero.",
          _keeping_type("round")),
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
)  # fmt: skip
