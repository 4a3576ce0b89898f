"""Measures of a text's content: Shannon entropy."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import LType
from .base import Arg, Context, FunctionDef, both, call, lit, paren, sig
from .helpers import case, on_clickhouse

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


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("shannonentropy",), (sig("str -> float8"),),
                "Shannon entropy of the text's characters, in bits per character: "
                "-sum(p log2 p) over the frequency p of each distinct character; 0 for an empty "
                "text. Rounded to 1e-9.", "strings", both(_shannonentropy)),
)  # fmt: skip
