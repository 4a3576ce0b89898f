"""HyperLogLog sketches (``dc``): ``hllpp`` builds one per group, ``estimation`` reads the number
of distinct values from it, ``pack``/``unpackhllpp`` turn it into bytes and back, and
``hllppcount`` is not built from these sketches: it stays each engine's own estimator, many
times faster (``aggregates.py``).

A sketch is the same bytes on both engines, so it is built in SQL from parts both compute alike:

- the hash of a value is the first 8 bytes of the MD5 of its text (``str(f)``), read as a
  big-endian unsigned 64-bit number (DuckDB reads the first 16 digits of ``md5()``'s hex text,
  which it computes once per distinct value of a dictionary-encoded column: ``md5_number_upper``
  is 6 times slower; ClickHouse reverses the digest's first 8 bytes for ``reinterpretAsUInt64``);
- precision p = 14: the hash's top 14 bits pick one of m = 16384 registers, and the rank is the
  number of leading zeros of the other 50 bits plus one, at most 50 (a value whose 50 bits are
  all zero, once in 2^50, counts as rank 50);
- a register keeps the highest rank of its values (ClickHouse ``maxMap``; DuckDB the sorted
  distinct (register, rank) codes, the last of each register).

The packed form, what ``pack`` gives and what a ``dc`` column is in responses (base64 like any
bytes), is the byte 0x01 (format version), the byte 14 (p), then one 3-byte big-endian code
``register * 64 + rank`` per register in use, in register order: no register appears twice, and
an empty sketch is the two header bytes.

The estimate is Ertl's improved raw estimator ("New cardinality estimation algorithms for
HyperLogLog sketches", 2017, algorithm 6), which needs no empirical bias tables: within about
1% (1.04/sqrt(m) = 0.81% standard error) from one value up. It is rounded to a whole number, a
float8, so that last-bit differences between the engines' ``ln``/``pow`` never show.

Sketches are not merged: no aggregate takes ``dc`` values yet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from .base import Arg, Context, FunctionDef, both, call, cast, lit, paren, sig
from .conversion import _str as text_of
from .helpers import all_of, case, on_clickhouse
from .lambdas import lambda_, let, map_, pieces

PRECISION = 14
REGISTERS = 1 << PRECISION
RANK_BITS = 64 - PRECISION  # bits after the register index
MAX_RANK = RANK_BITS
CODE_SHIFT = 64  # code = register * 64 + rank: a rank fits in 6 bits
HEADER = bytes([1, PRECISION])
HEADER_HEX = HEADER.hex().upper()
CODE_BYTES = 3
# Ertl's sigma(x) adds x^(2^k) 2^(k-1) until the sum stops changing: for x = 1 - 1/m the terms
# are below a double's resolution from k = 25 on.
SIGMA_TERMS = 32
ALPHA_INF_M2 = REGISTERS * REGISTERS / (2 * math.log(2))
STR = LType(Kind.STR)


def _sum(ctx: Context, items: exp.Expression) -> exp.Expression:
    return call("arraySum" if on_clickhouse(ctx) else "list_sum", items)


def _size(ctx: Context, items: exp.Expression) -> exp.Expression:
    return call("length" if on_clickhouse(ctx) else "len", items)


# -- building --------------------------------------------------------------------------------------


def _hash(ctx: Context, value: Arg) -> exp.Expression:
    text = text_of(ctx, [value], STR) if value.type.kind is not Kind.STR else value.sql
    if on_clickhouse(ctx):
        first = call("substring", call("MD5", text), lit(1), lit(8))
        return call("reinterpretAsUInt64", call("reverse", first))
    digits = call("left", call("md5", text), lit(16))
    return cast(exp.DPipe(this=lit("0x"), expression=digits), "UBIGINT")


def _register_and_rank(ctx: Context, value: Arg) -> tuple[exp.Expression, exp.Expression]:
    h = _hash(ctx, value)
    low_mask = (1 << RANK_BITS) - 1
    if on_clickhouse(ctx):
        register = call("bitShiftRight", h, lit(RANK_BITS))
        low = call("bitAnd", h.copy(), lit(low_mask))
    else:
        register = exp.BitwiseRightShift(this=h, expression=lit(RANK_BITS))
        low = exp.BitwiseAnd(this=h.copy(), expression=lit(low_mask))
    # The highest set bit of the low bits: log2 of a double, corrected where it rounds across a
    # power of two (log2(2^50 - 1) is 50.0 as a double). 0 counts as 1: both are rank 50.
    number = _float(ctx, call("greatest", low, lit(1)))
    guess = call("floor", call("log2", number))
    over = exp.GT(this=call("pow", lit(2), guess.copy()), expression=number.copy())
    next_power = call("pow", lit(2), paren(exp.Add(this=guess.copy(), expression=lit(1))))
    under = exp.LTE(this=next_power, expression=number.copy())
    high_bit = paren(
        exp.Add(this=exp.Sub(this=guess, expression=_int(ctx, over)), expression=_int(ctx, under))
    )
    rank = exp.Sub(this=lit(MAX_RANK), expression=high_bit)
    return register, rank


def _codes(ctx: Context, value: Arg) -> exp.Expression:
    """The aggregate: the sorted codes ``register * 64 + rank`` of the registers in use."""
    register, rank = _register_and_rank(ctx, value)
    present = exp.Not(this=exp.Is(this=value.sql, expression=exp.Null()))
    if on_clickhouse(ctx):
        # -OrDefault: no rows give empty arrays, not the null that null-for-empty would give.
        pairs = call(
            "maxMapIfOrDefault",
            call("array", call("toUInt32", call("assumeNotNull", register))),
            call("array", call("toUInt32", call("assumeNotNull", rank))),
            present,
        )
        keys = call("tupleElement", pairs, lit(1))
        ranks = call("tupleElement", pairs.copy(), lit(2))
        joined = exp.Add(
            this=exp.Mul(this=exp.column("k"), expression=lit(CODE_SHIFT)),
            expression=exp.column("r"),
        )
        return call("arrayMap", lambda_(joined, "k", "r"), keys, ranks)
    code = cast(
        exp.Add(
            this=exp.Mul(this=paren(register), expression=lit(CODE_SHIFT)), expression=paren(rank)
        ),
        "INTEGER",
    )
    gathered = exp.Filter(
        this=call("list", exp.Distinct(expressions=[code])), expression=exp.Where(this=present)
    )
    ordered = call("list_sort", call("coalesce", gathered, cast(exp.Array(), "INTEGER[]")))
    # Each code beside the next; a register's highest rank is its last code.
    pairs = call(
        "list_zip", ordered, call("list_slice", ordered.copy(), lit(2), lit(REGISTERS * 64))
    )
    this, after = (call("struct_extract_at", exp.column("p"), lit(i)) for i in (1, 2))
    last = exp.Or(
        this=exp.Is(this=after, expression=exp.Null()),
        expression=exp.NEQ(
            this=exp.IntDiv(this=after.copy(), expression=lit(CODE_SHIFT)),
            expression=exp.IntDiv(this=this, expression=lit(CODE_SHIFT)),
        ),
    )
    kept = call("list_filter", pairs, lambda_(last, "p"))
    return call("list_transform", kept, lambda_(this.copy(), "p"))


def _pack_codes(ctx: Context, codes: exp.Expression) -> exp.Expression:
    c = exp.column("c")
    if on_clickhouse(ctx):
        digits = call("leftPad", call("hex", call("toUInt32", c)), lit(2 * CODE_BYTES), lit("0"))
        text = call("arrayStringConcat", call("arrayMap", lambda_(digits, "c"), codes), lit(""))
    else:
        digits = call("lpad", call("hex", c), lit(2 * CODE_BYTES), lit("0"))
        text = call("array_to_string", call("list_transform", codes, lambda_(digits, "c")),
                    lit(""))  # fmt: skip
    return call("unhex", call("concat", lit(HEADER_HEX), text))


# -- reading ---------------------------------------------------------------------------------------


def _valid_packing(ctx: Context, data: exp.Expression) -> exp.Expression:
    text = call("hex", data)
    size = call("length" if on_clickhouse(ctx) else "octet_length", data.copy())
    return all_of([
        exp.EQ(this=call("substring", text, lit(1), lit(2 * len(HEADER))),
               expression=lit(HEADER_HEX)),
        exp.EQ(this=exp.Mod(this=paren(exp.Sub(this=size, expression=lit(len(HEADER)))),
                            expression=lit(CODE_BYTES)), expression=lit(0)),
    ])  # fmt: skip


def _unpack_codes(ctx: Context, data: exp.Expression) -> exp.Expression:
    """The codes of a packed sketch (checked by ``_valid_packing``), read from its hex text."""
    digits = call("substring", call("hex", data), lit(2 * len(HEADER) + 1))
    piece = exp.column("x")
    if on_clickhouse(ctx):
        code = call("reinterpretAsUInt32", call("reverse", call("unhex", piece)))
    else:
        code = cast(exp.DPipe(this=lit("0x"), expression=piece), "INTEGER")
    return map_(ctx, code, "x", pieces(ctx, digits, 2 * CODE_BYTES))


def _float(ctx: Context, value: exp.Expression) -> exp.Expression:
    # CAST(... AS DOUBLE) is Nullable on ClickHouse, which its array sums refuse.
    return call("toFloat64", value) if on_clickhouse(ctx) else cast(value, "DOUBLE")


def _int(ctx: Context, value: exp.Expression) -> exp.Expression:
    return call("toInt32", value) if on_clickhouse(ctx) else cast(value, "INTEGER")


def _estimate(ctx: Context, codes: exp.Expression) -> exp.Expression:
    """Ertl's improved raw estimate from the codes, rounded to a whole number. Bound once each
    (``let``): the codes ``c``, the share of registers not in use ``x``."""
    c, k, x = exp.column("c"), exp.column("k"), exp.column("x")
    used = _size(ctx, c)
    share = exp.Div(
        this=_float(ctx, paren(exp.Sub(this=lit(REGISTERS), expression=used))),
        expression=lit(float(REGISTERS)),
    )
    # Over the registers in use, 2^-rank.
    v: exp.Expression = exp.column("v")
    if on_clickhouse(ctx):
        # Codes of a nullable column are Nullable, which ClickHouse's arraySum refuses.
        v = call("assumeNotNull", v)
    rank = paren(exp.Mod(this=v, expression=lit(CODE_SHIFT)))
    ranked = _sum(ctx, map_(ctx, call("pow", lit(2.0), exp.Neg(this=rank)), "v", c.copy()))
    # Over the registers not in use, m sigma(x) (Ertl's sigma, its terms written out).
    term = paren(
        exp.Mul(
            this=call("pow", x, call("pow", lit(2.0), k)),
            expression=call("pow", lit(2.0), paren(exp.Sub(this=k.copy(), expression=lit(1)))),
        )
    )
    terms = map_(ctx, term, "k", call("range", lit(1), lit(SIGMA_TERMS + 1)))
    sigma = paren(exp.Add(this=x.copy(), expression=_sum(ctx, terms)))
    z = paren(
        exp.Add(
            this=call("coalesce", ranked, lit(0.0)),
            expression=paren(exp.Mul(this=lit(float(REGISTERS)), expression=sigma)),
        )
    )
    estimate = paren(exp.Div(this=lit(ALPHA_INF_M2), expression=z))
    rounded = call("floor", exp.Add(this=estimate, expression=lit(0.5)))
    body = case((exp.EQ(this=used.copy(), expression=lit(0)), lit(0.0)), default=rounded)
    return let(ctx, codes, "c", let(ctx, share, "x", body))


# -- the catalogue ---------------------------------------------------------------------------------


def _hllpp(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return _pack_codes(ctx, _codes(ctx, args[0]))


def _estimation(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    data = args[0].sql
    return case((_valid_packing(ctx, data), _estimate(ctx, _unpack_codes(ctx, data.copy()))))


def _pack(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return args[0].sql


def _unpackhllpp(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    data = args[0].sql
    return case((_valid_packing(ctx, data), data.copy()))


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(("hllpp",), (sig("any -> dc"),),
                "A HyperLogLog sketch (`dc`) of the distinct non-null values, for `estimation`: "
                "precision 14 (16384 registers), MD5 of the value's text as hash; the same bytes "
                "on every engine.", "aggregation", both(_hllpp), aggregate=True),
    FunctionDef(("estimation",), (sig("dc -> float8"),),
                "The estimated number of distinct values of a `dc` sketch (a whole number); "
                "null for bytes that are not a packed sketch.", "sketches",
                both(_estimation)),
    FunctionDef(("pack",), (sig("dc -> bytes"),),
                "A `dc` sketch as bytes: 0x01, 14 (the precision), then a 3-byte big-endian "
                "`register * 64 + rank` per register in use, in register order.", "sketches",
                both(_pack)),
    FunctionDef(("unpackhllpp",), (sig("bytes -> dc"),),
                "A `dc` sketch from the bytes `pack` gives; null when they do not start with "
                "the header 0x01 0x0e or are not whole 3-byte codes.", "sketches",
                both(_unpackhllpp)),
)  # fmt: skip
