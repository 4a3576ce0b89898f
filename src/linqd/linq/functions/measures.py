"""Measures: the Shannon entropy of a text and a byte count for people (humanSize)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, both, call, cast, lit, paren, sig
from .helpers import case, const_bool, on_clickhouse

# The engines' entropy aggregates differ in the last bits (the order they sum in, their log2);
# rounded to 1e-9 bits with floor, products and sums (exact alike on both) they agree but for a
# value within ~1e-14 of a rounding edge.
ENTROPY_STEPS = 1e9  # per bit


def _shannonentropy(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text = args[0].sql
    if on_clickhouse(ctx):
        # ngrams(s, 1): the UTF-8 characters (splitByString('', s) would give bytes).
        entropy = call("arrayReduce", lit("entropy"), call("ngrams", text, lit(1)))
    else:
        # string_split(s, ''): the characters; '' gives [''], whose entropy is 0 all the same.
        entropy = call("list_aggregate", call("string_split", text, lit("")), lit("entropy"))
    scaled = exp.Add(this=exp.Mul(this=entropy, expression=lit(ENTROPY_STEPS)), expression=lit(0.5))
    rounded = paren(exp.Div(this=call("floor", scaled), expression=lit(ENTROPY_STEPS)))
    # ClickHouse's ngrams() of a null is an empty array, whose entropy is 0: keep the null.
    return case((exp.Not(this=exp.Is(this=text, expression=exp.Null())), rounded))


# Byte count prefixes by power of the unit: SI (1000, kB) and binary (1024, KiB).
SI_PREFIXES = ("k", "M", "G", "T", "P", "E")
BINARY_PREFIXES = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def _text(number: exp.Expression) -> exp.Expression:
    return cast(cast(number, "BIGINT"), "VARCHAR")


def _scaled(count: exp.Expression, divisor: int, prefix: str) -> exp.Expression:
    """``count / divisor`` with one decimal, halves up, then `` <prefix>B``. Java's %.1f rounds
    the quotient's shortest decimal (106.35, not the double just below it) half up, which
    floor(q * 10 + 0.5) also gives; the text is written from whole numbers so both engines write
    the same."""
    quotient = exp.Div(this=cast(count, "DOUBLE"), expression=lit(float(divisor)))
    tenths = call(
        "floor", exp.Add(this=exp.Mul(this=quotient, expression=lit(10)), expression=lit(0.5))
    )
    whole = call("floor", exp.Div(this=tenths, expression=lit(10)))
    digit = exp.Sub(this=tenths, expression=exp.Mul(this=whole, expression=lit(10)))
    text = exp.DPipe(this=_text(whole), expression=lit("."))
    text = exp.DPipe(this=text, expression=_text(digit))
    return exp.DPipe(this=text, expression=lit(f" {prefix}B"))


def _humansize(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    si = const_bool(ctx, args[1], "humanSize", "unit flag") if len(args) > 1 else False
    unit, prefixes = (1000, SI_PREFIXES) if si else (1024, BINARY_PREFIXES)
    count = args[0].sql
    # The largest power of the unit not above the count, by exact integer comparisons (the Java
    # idiom's log(bytes) / log(unit) can land on the wrong side of an exact power).
    branches = [
        (exp.GTE(this=count, expression=lit(unit**power)), _scaled(count, unit**power, prefix))
        for power, prefix in reversed(list(enumerate(prefixes, start=1)))
    ]
    below = exp.DPipe(this=_text(count), expression=lit(" B"))
    return case(*branches, (exp.Not(this=exp.Is(this=count, expression=exp.Null())), below))


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("shannonentropy",), (sig("str -> float8"),),
                "Shannon entropy of the text's characters, in bits per character: "
                "-sum(p log2 p) over the frequency p of each distinct character; 0 for an empty "
                "text. Rounded to 1e-9.", "strings", both(_shannonentropy)),
    FunctionDef(("humanSize",), (sig("int, bool? -> str"),),
                "A byte count for people: `1536` is `1.5 KiB`; with `true` (a constant) in SI "
                "units, `1.5 kB` for `1500`. One decimal, halves up; below one unit `n B`.",
                "strings", both(_humansize)),
)  # fmt: skip
