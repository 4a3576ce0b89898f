"""Bytes and their text encodings (base16, base64, Z85, UTF-8), hashes, and integers as hex.

``bytes`` is a LINQ type of its own (DuckDB BLOB, ClickHouse String). A value that is not valid
for a decoding (odd or non-hex base16, malformed base64, a Z85 text of the wrong length or out of
range, bytes that are not UTF-8) decodes to null, never to an error: the check is a pattern
matched before the engine's decoder runs, so the engines agree on what is valid. Z85 has no
built-in on either engine: it is arithmetic on 4-byte groups over a range of group indexes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from .base import Arg, Context, FunctionDef, Translator, both, call, cast, lit, paren, sig
from .helpers import all_of, case, on_clickhouse, regex_full_match
from .lambdas import join, lambda_, map_, pieces

HEX_TEXT = "^([0-9a-fA-F]{2})*$"
# RFC 4648 §4: groups of 4, the last one padded with `=` to 4.
BASE64_TEXT = "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
# ZeroMQ RFC 32/Z85.
Z85_ALPHABET = (
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)
Z85_TEXT = "^([0-9a-zA-Z.\\-:+=\\^!/*?&<>()\\[\\]{}@%$#]{5})*$"
UINT32_MAX = 2**32 - 1


def _int_div(ctx: Context, a: exp.Expression, b: exp.Expression) -> exp.Expression:
    # sqlglot writes ClickHouse's `//` as a float division cast back: wrong past 2^53.
    if on_clickhouse(ctx):
        return call("intDiv", a, b)
    return exp.IntDiv(this=a, expression=b)


def raw(ctx: Context, arg: Arg) -> exp.Expression:
    """A str or bytes argument as bytes (a text's UTF-8)."""
    if on_clickhouse(ctx):
        if arg.type.kind is Kind.NULL:
            return cast(exp.Null(), "VARCHAR")
        return arg.sql
    if arg.type.kind is Kind.STR:
        return call("encode", arg.sql)
    if arg.type.kind is Kind.NULL:
        return cast(exp.Null(), "BLOB")
    return arg.sql


def byte_count(ctx: Context, data: exp.Expression) -> exp.Expression:
    return call("length" if on_clickhouse(ctx) else "octet_length", data)


def hex_of(ctx: Context, data: exp.Expression) -> exp.Expression:
    """Bytes as lower-case base16 text."""
    return exp.Lower(this=call("hex", data))


def unhex(ctx: Context, text: exp.Expression) -> exp.Expression:
    """Base16 text (checked) as bytes."""
    return call("unhex", text)


# Engine functions whose result is base16 text: DuckDB's digests, ClickHouse's hex.
HEX_RESULTS = ("md5", "sha1", "sha256", "hex")


def _to16(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    sql = args[0].sql
    # to16(md5(x)) is the digest's own hex text: not decoded to bytes and encoded back (DuckDB
    # hashes a dictionary-encoded column once per distinct value only when nothing follows).
    if isinstance(sql, exp.Anonymous) and sql.name.lower() == "unhex":
        inner = sql.expressions[0]
        if isinstance(inner, exp.Anonymous) and inner.name.lower() in HEX_RESULTS:
            # DuckDB's digests are lower-case already, ClickHouse's hex upper-case.
            return exp.Lower(this=inner) if inner.name.lower() == "hex" else inner
    return hex_of(ctx, raw(ctx, args[0]))


def _from16(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text = args[0].sql
    return case((regex_full_match(ctx, text, HEX_TEXT), unhex(ctx, text)))


def _to64(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return call("base64Encode" if on_clickhouse(ctx) else "to_base64", raw(ctx, args[0]))


def _from64(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text = args[0].sql
    decoded = call("base64Decode" if on_clickhouse(ctx) else "from_base64", text)
    return case((regex_full_match(ctx, text, BASE64_TEXT), decoded))


def _toutf8(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return raw(ctx, args[0])


def _fromutf8(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    data = raw(ctx, args[0])
    if on_clickhouse(ctx):
        return case((call("isValidUTF8", data), data))
    # decode() fails on bytes that are not UTF-8; try() makes that null.
    return call("try", call("decode", data))


def _hex(width: int | None) -> Translator:
    """An integer's 64-bit two's complement in lower-case hex: as few digits as it takes
    (Java's Long.toHexString), or zero-padded to ``width``."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if on_clickhouse(ctx):
            # ClickHouse drops leading zero bytes only: 1 is `01`.
            digits = call(
                "replaceRegexpOne",
                exp.Lower(this=call("hex", call("toInt64", args[0].sql))),
                lit("^0(.)"),
                lit("\\1"),
            )
        else:
            digits = exp.Lower(this=call("hex", cast(args[0].sql, "BIGINT")))
        if width is None:
            return digits
        return call("leftPad" if on_clickhouse(ctx) else "lpad", digits, lit(width), lit("0"))

    return translate


DIGESTS = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}


def _digest(name: str) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        data = raw(ctx, args[0])
        if on_clickhouse(ctx):
            # The digest is a FixedString: every cast to String drops its trailing zero bytes.
            return call("unhex", call("hex", call(DIGESTS[name], data)))
        # DuckDB hashes a text's UTF-8 as it is: no BLOB of it is needed.
        text = args[0].sql if args[0].type.kind is Kind.STR else data
        return call("unhex", call(name, text))

    return translate


# -- Z85 -------------------------------------------------------------------------------------------


def _toz85(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    data = raw(ctx, args[0])
    group = exp.column("g")  # a 4-byte group as 8 hex digits
    if on_clickhouse(ctx):
        value = call("reinterpretAsUInt32", call("reverse", call("unhex", group)))
    else:
        value = cast(exp.DPipe(this=lit("0x"), expression=group), "UBIGINT")
    chars = []
    for position in range(5):
        digit = exp.Mod(
            this=paren(_int_div(ctx, value.copy(), lit(85 ** (4 - position)))), expression=lit(85)
        )
        # An unsigned position is not an index DuckDB's substring takes.
        place = cast(exp.Add(this=digit, expression=lit(1)), "BIGINT")
        chars.append(call("substring", lit(Z85_ALPHABET), place, lit(1)))
    groups = pieces(ctx, call("hex", data), 8)
    text = join(ctx, map_(ctx, call("concat", *chars), "g", groups))
    whole_groups = exp.EQ(
        this=exp.Mod(this=byte_count(ctx, data.copy()), expression=lit(4)), expression=lit(0)
    )
    return case((whole_groups, text))


def _fromz85(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    text = args[0].sql
    group = exp.column("g")  # 5 characters (checked to be Z85's, so one byte each)
    find = "position" if on_clickhouse(ctx) else "strpos"
    value: exp.Expression = lit(0)
    for position in range(5):
        char = call("substring", group, lit(position + 1), lit(1))
        digit = exp.Sub(this=call(find, lit(Z85_ALPHABET), char), expression=lit(1))
        value = exp.Add(
            this=value, expression=exp.Mul(this=paren(digit), expression=lit(85 ** (4 - position)))
        )
    values = map_(ctx, paren(value), "g", pieces(ctx, text, 5))
    v = exp.column("v")
    if on_clickhouse(ctx):
        group_hex = call("leftPad", call("hex", call("toUInt32", v)), lit(8), lit("0"))
        too_big = call(
            "arrayExists", lambda_(exp.GT(this=v, expression=lit(UINT32_MAX)), "v"), values.copy()
        )
    else:
        # BIGINT: a group of characters outside the alphabet (refused below) must not fail.
        group_hex = call("lpad", call("hex", cast(v, "BIGINT")), lit(8), lit("0"))
        too_big = exp.GT(
            this=call("coalesce", call("list_max", values.copy()), lit(0)),
            expression=lit(UINT32_MAX),
        )
    data = unhex(ctx, join(ctx, map_(ctx, group_hex, "v", values)))
    valid = all_of([regex_full_match(ctx, text, Z85_TEXT), exp.Not(this=paren(too_big))])
    return case((valid, data))


def _bytes_fn(
    names: tuple[str, ...], signatures: tuple[str, ...], doc: str, translate: Translator
) -> FunctionDef:
    return FunctionDef(names, tuple(sig(s) for s in signatures), doc, "encodings", both(translate))


STR_OR_BYTES = ("str", "bytes")

FUNCTIONS: tuple[FunctionDef, ...] = (
    _bytes_fn(("to16",), tuple(f"{t} -> str" for t in STR_OR_BYTES),
              "Base16 (hex) text of bytes, or of a text's UTF-8, in lower case: "
              '`to16(md5("abc"))` is `900150983cd24fb0d6963f7d28e17f72`.', _to16),
    _bytes_fn(("from16",), ("str -> bytes",),
              "The bytes of base16 (hex) text, upper or lower case; null when the text has an "
              "odd length or a character that is not a hex digit.", _from16),
    _bytes_fn(("to64",), tuple(f"{t} -> str" for t in STR_OR_BYTES),
              "Standard base64 (RFC 4648 §4, with `=` padding) of bytes, or of a text's UTF-8.",
              _to64),
    _bytes_fn(("from64",), ("str -> bytes",),
              "The bytes of standard base64 text (RFC 4648 §4, padded to a multiple of 4); null "
              "when the text is not that (no padding, URL-safe alphabet, spaces).", _from64),
    _bytes_fn(("toutf8",), ("str -> bytes",), "The UTF-8 bytes of a text.", _toutf8),
    _bytes_fn(("fromutf8",), ("bytes -> str",),
              "The text whose UTF-8 the bytes are; null when they are not valid UTF-8 "
              "(overlong forms, surrogates, past U+10FFFF, cut sequences), rather than a text "
              "with replacement characters.", _fromutf8),
    _bytes_fn(("toz85",), tuple(f"{t} -> str" for t in STR_OR_BYTES),
              "Z85 text (ZeroMQ RFC 32) of bytes, or of a text's UTF-8: 5 characters per 4 "
              "bytes; null when the length is not a multiple of 4.", _toz85),
    _bytes_fn(("fromz85",), ("str -> bytes",),
              "The bytes of Z85 text (ZeroMQ RFC 32); null when its length is not a multiple "
              "of 5, it has a character outside the Z85 alphabet, or a group exceeds 2^32-1.",
              _fromz85),
    _bytes_fn(("hex",), ("int -> str",),
              "An integer in lower-case hex with no leading zeros, negative numbers as their "
              "64-bit two's complement (Java's `Long.toHexString`): `hex(255)` is `ff`, "
              "`hex(-1)` is `ffffffffffffffff`.", _hex(None)),
    _bytes_fn(("hex8",), ("int -> str",),
              "As `hex`, zero-padded to the 16 digits of an int8 (8 bytes): `hex8(255)` is "
              "`00000000000000ff`.", _hex(16)),
    _bytes_fn(("md5",), tuple(f"{t} -> bytes" for t in STR_OR_BYTES),
              "The MD5 digest (16 bytes) of bytes, or of a text's UTF-8; `to16` prints it.",
              _digest("md5")),
    _bytes_fn(("sha1",), tuple(f"{t} -> bytes" for t in STR_OR_BYTES),
              "The SHA-1 digest (20 bytes) of bytes, or of a text's UTF-8.", _digest("sha1")),
    _bytes_fn(("sha256",), tuple(f"{t} -> bytes" for t in STR_OR_BYTES),
              "The SHA-256 digest (32 bytes) of bytes, or of a text's UTF-8.",
              _digest("sha256")),
)  # fmt: skip
