"""``formatnumber(n, pattern [, locale])``: a number as text by a Java ``DecimalFormat`` pattern.

The subset taken, read when the query is compiled (the pattern and locale must be constants):

- ``#`` and ``0`` digits, every ``#`` before every ``0`` in the integer part: the ``0``s are
  the minimum of integer digits (``00000`` pads 42 to ``00042``; ``#.##`` writes 0.5 as ``.5``,
  as Java does, and a value with no digit at all as ``0``);
- ``,`` grouping in the integer part: the group size is the number of digit characters after
  the last ``,`` (``#,##0``: thousands);
- ``.`` then ``0``s (digits always written) then ``#``s (written when not zero): ``0.00``,
  ``0.###``, ``#,##0.0#``;
- a final ``%``: the number times 100, then the sign.

Anything else (literal text, quotes, ``;`` negative subpatterns, ``E`` exponents, ``‰``,
``¤``) is refused by name. Rounding is half to even, Java's default, on the number scaled by
10^digits in float8 arithmetic (``0.125`` with ``0.00`` is ``0.12``; ``1.005`` is ``1.00``
because the float8 nearest 1.005 is below it); a negative number keeps its sign when it rounds
to zero (``-0.00``), as Java's DecimalFormat writes it. Integers are formatted from their
float8 value (exact up to 2^53); a value whose scaled, rounded magnitude reaches 10^18, and
NaN or an infinity, give null.

``locale``: ``en`` (and ``en_US``, ``en_GB``: `1,234.5`) or ``es``, ``de``, ``it``, ``pt``,
``nl`` (and ``es_ES``, ``de_DE``, ``de_AT``, ``it_IT``, ``pt_PT``, ``pt_BR``, ``nl_NL``:
`1.234,5`); default ``en``. Other locales are refused: their separators vary by JDK version.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, both, call, cast, lit, paren, sig
from .helpers import all_of, case, const_text, on_clickhouse

_PATTERN = re.compile(r"(?P<integer>[#0,]*)(?:\.(?P<fraction>0*#*))?(?P<percent>%?)")
COMMA_LOCALES = ("en", "en_us", "en_gb")
DOT_LOCALES = ("es", "es_es", "de", "de_de", "de_at", "it", "it_it", "pt", "pt_pt", "pt_br",
               "nl", "nl_nl")  # fmt: skip
# The rounded, scaled magnitude must stay an exact BIGINT.
LIMIT = 1e18


@dataclass(frozen=True)
class NumberPattern:
    min_integer: int
    grouping: int  # 0: none
    min_fraction: int
    max_fraction: int
    percent: bool


def parse_pattern(pattern: str) -> NumberPattern | None:
    """The pattern, or None when it is outside the subset."""
    found = _PATTERN.fullmatch(pattern)
    if found is None:
        return None
    integer, fraction = found.group("integer"), found.group("fraction") or ""
    digits = integer.replace(",", "")
    if not re.fullmatch(r"#*0*", digits) or not (digits or fraction):
        return None
    grouping = 0
    if "," in integer:
        grouping = len(integer) - integer.rindex(",") - 1
        if grouping == 0:
            return None
    return NumberPattern(
        min_integer=digits.count("0"),
        grouping=grouping,
        min_fraction=fraction.count("0"),
        max_fraction=len(fraction),
        percent=bool(found.group("percent")),
    )


def _separators(ctx: Context, args: Sequence[Arg]) -> tuple[str, str]:
    """(grouping, decimal) of the locale argument."""
    if len(args) < 3:
        return ",", "."
    locale = const_text(ctx, args[2], "formatnumber", "locale").strip().lower().replace("-", "_")
    if locale in COMMA_LOCALES:
        return ",", "."
    if locale in DOT_LOCALES:
        return ".", ","
    raise ctx.error(
        f"Unsupported locale for `formatnumber': {args[2].const!r} (supported: "
        f"{', '.join(COMMA_LOCALES + DOT_LOCALES)})"
    )


def _half_even(ctx: Context, y: exp.Expression) -> exp.Expression:
    """A non-negative double rounded to a whole number, ties to even: exact (floor and the
    difference of a double and its floor are exact), so the same on every engine."""
    low = call("floor", y)
    rest = paren(exp.Sub(this=y.copy(), expression=low.copy()))
    odd = exp.EQ(this=call("fmod" if not on_clickhouse(ctx) else "modulo", low.copy(), lit(2.0)),
                 expression=lit(1.0))  # fmt: skip
    up = exp.Or(
        this=exp.GT(this=rest, expression=lit(0.5)),
        expression=paren(exp.And(this=exp.EQ(this=rest.copy(), expression=lit(0.5)),
                                 expression=odd)),
    )  # fmt: skip
    return case((up, exp.Add(this=low.copy(), expression=lit(1.0))), default=low.copy())


def _zeros_before(text: exp.Expression, width: int) -> exp.Expression:
    """``text`` with zeros before it up to ``width`` characters (never cut, unlike lpad)."""
    missing = call("greatest", lit(0), exp.Sub(this=lit(width), expression=call("length", text)))
    return call("concat", call("repeat", lit("0"), missing), text.copy())


def _replace(ctx: Context, text: exp.Expression, pattern: str, by: str) -> exp.Expression:
    if on_clickhouse(ctx):
        return call("replaceRegexpAll", text, lit(pattern), lit(by))
    return call("regexp_replace", text, lit(pattern), lit(by), lit("g"))


def _formatnumber(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text = const_text(ctx, args[1], "formatnumber", "pattern")
    pattern = parse_pattern(text)
    if pattern is None:
        raise ctx.error(
            f"Unsupported pattern for `formatnumber': {text!r} (digits # and 0, grouping `,`, "
            "a fraction `.0#`, a final `%`)"
        )
    group_mark, decimal_mark = _separators(ctx, args)
    value = cast(args[0].sql, "DOUBLE")
    if pattern.percent:
        value = paren(exp.Mul(this=value, expression=lit(100.0)))
    scaled = exp.Mul(this=call("abs", value), expression=lit(float(10**pattern.max_fraction)))
    rounded = _half_even(ctx, paren(scaled))
    fits = all_of([call("isfinite" if not on_clickhouse(ctx) else "isFinite", scaled.copy()),
                   exp.LT(this=rounded.copy(), expression=lit(LIMIT))])  # fmt: skip
    # Null before the cast, which fails on a value out of range even in a branch not taken.
    whole = cast(case((fits, rounded)), "BIGINT")
    digits_sql = call("toString", whole) if on_clickhouse(ctx) else cast(whole, "VARCHAR")
    # Every digit the pattern may show: the fraction's and at least min_integer before them.
    digits = _zeros_before(digits_sql, pattern.max_fraction + pattern.min_integer)
    size = call("length", digits)
    integer = call(
        "substring", digits, lit(1), exp.Sub(this=size, expression=lit(pattern.max_fraction))
    )
    if pattern.min_integer == 0:
        integer = _replace(ctx, integer, "^0+", "")
    if pattern.grouping:
        # Groups counted from the right: reversed, a mark after every full group, reversed back.
        marked = _replace(ctx, call("reverse", integer), f"([0-9]{{{pattern.grouping}}})",
                          f"\\1{group_mark}")  # fmt: skip
        integer = call("reverse", _replace(ctx, marked, f"[{re.escape(group_mark)}]$", ""))
    parts: list[exp.Expression] = [integer]
    if pattern.max_fraction:
        start = exp.Add(
            this=exp.Sub(this=size.copy(), expression=lit(pattern.max_fraction)),
            expression=lit(1),
        )
        fraction = call("substring", digits.copy(), start)
        optional = pattern.max_fraction - pattern.min_fraction
        if optional:
            fraction = _replace(ctx, fraction, f"0{{1,{optional}}}$", "")
        point = case((exp.GT(this=call("length", fraction), expression=lit(0)),
                      lit(decimal_mark)), default=lit(""))  # fmt: skip
        parts += [point, fraction.copy()]
    number = call("concat", *parts)
    # No digit at all (`#.##` of 0.001): Java writes 0.
    number = case((exp.EQ(this=number, expression=lit("")), lit("0")), default=number.copy())
    sign = case((exp.LT(this=value.copy(), expression=lit(0)), lit("-")), default=lit(""))
    out = call("concat", sign, number, lit("%" if pattern.percent else ""))
    return case((fits.copy(), out))


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("formatnumber",), (sig("num, str, str? -> str"),),
                "A number as text by a Java DecimalFormat pattern, a constant of the subset "
                "`#`/`0` digits, `,` grouping, `.` fraction (`0` always, `#` when not zero) and a "
                'final `%`: `formatnumber(1234567.891, "#,##0.00")` is `1,234,567.89`, '
                '`formatnumber(42, "00000")` is `00042`, `formatnumber(0.5, "0.###")` is `0.5`. '
                "Half-even rounding; `locale` `en` (default) or `es`, `de`, `it`, `pt`, `nl` "
                "(`1.234,5`); null for NaN, infinities and magnitudes from 10^18. Other patterns "
                "and locales are refused.", "strings", both(_formatnumber)),
)  # fmt: skip
