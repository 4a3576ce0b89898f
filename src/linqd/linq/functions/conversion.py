"""Type conversions: ``str``, ``int``, ``float``, ``bool``, ``timestamp``, ``duration``, ``ip4``,
``net4``, ``epoch``.

Reading text never fails a query: a value that cannot be read gives null. A literal that cannot be
read where the analyzer converts it itself (``timestamp("...")``, ``net4("...")``) is a compile
error instead.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from sqlglot import exp

from ..types import Kind, LType
from . import lists
from .addresses import address_text
from .base import Arg, Context, FunctionDef, both, call, cast, lit, paren, sig, try_cast
from .helpers import (
    all_of,
    case,
    ch_cast,
    epoch_ms_of,
    from_epoch_ms,
    identity,
    lower,
    on_clickhouse,
    regex_extract,
    regex_full_match,
    trim,
    try_cast_as,
)

TIMESTAMP_TEXT = "%Y-%m-%d %H:%M:%S.%g"
# Text accepted by timestamp(): to the second, to the millisecond, to the minute, a date alone.
TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%g", "%Y-%m-%d %H:%M", "%Y-%m-%d")

# Compound durations in decreasing units (`1h30m`, `5m`, `250ms`); the groups line up with
# DURATION_UNITS_MS. Written for both Python's re and DuckDB's RE2.
DURATION_PATTERN = r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
DURATION_UNITS_MS = (604_800_000, 86_400_000, 3_600_000, 60_000, 1_000, 1)

# A dotted quad without leading zeros, each part 0-255 (what the analyzer's ip4 literals accept).
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IP4_PATTERN = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"
INTEGER_PATTERN = r"^[+-]?[0-9]+$"
# What DuckDB's strptime takes with TIMESTAMP_FORMATS (1 to 3 digits of a second's fraction).
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?: (?:[01]?[0-9]|2[0-3]):[0-5]?[0-9](?::[0-5]?[0-9](?:\.[0-9]{1,3})?)?)?$"
)


def parse_duration(text: str) -> int | None:
    match = re.match(DURATION_PATTERN, text)
    if not text or match is None:
        return None
    parts = zip(match.groups(), DURATION_UNITS_MS, strict=True)
    return sum(int(digits or 0) * unit for digits, unit in parts)


def ip4_text(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """The dotted text of an ip4 (UINTEGER) expression."""
    if on_clickhouse(ctx):
        return call("IPv4NumToString", sql)
    octets: list[exp.Expression] = [
        cast(
            paren(
                exp.BitwiseAnd(
                    this=paren(exp.BitwiseRightShift(this=sql, expression=lit(shift))),
                    expression=lit(255),
                )
            ),
            "VARCHAR",
        )
        for shift in (24, 16, 8, 0)
    ]
    # concat_ws skips NULL parts: a null address would come out as "", not null.
    known = exp.Not(this=exp.Is(this=sql, expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=known, true=call("concat_ws", lit("."), *octets))])


def json_text(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """A JSON value as plain text: strings unquoted, anything else as JSON."""
    if on_clickhouse(ctx):
        # JSONExtractString of the root: a string unquoted, other values minified; null is ''.
        is_null = exp.EQ(this=call("JSONType", sql), expression=lit("Null"))
        return case((exp.Not(this=is_null), call("JSONExtractString", sql)))
    return call("json_extract_string", sql, lit("$"))


def _float_text(sql: exp.Expression) -> exp.Expression:
    """DuckDB's text of a double on ClickHouse: a whole number keeps a '.0' (`3.0`, not `3`)."""
    whole = all_of(
        [
            call("isFinite", sql),
            exp.EQ(this=sql, expression=call("trunc", sql)),
            exp.LT(this=call("abs", sql), expression=lit(1e16)),
        ]
    )
    text = call("toString", sql)
    return case((whole, call("concat", text, lit(".0"))), default=text)


def _item_text(ctx: Context, item: exp.Expression, kind: LType | None) -> exp.Expression:
    """An item of a collection, map or tuple as ``str`` writes it; a null item as ``null``."""
    if kind is None or kind.kind in (Kind.ANY, Kind.NULL):
        text = ch_cast(item, "Nullable(String)") if on_clickhouse(ctx) else cast(item, "VARCHAR")
    else:
        text = _str(ctx, [Arg(item, kind)], kind)
    return exp.Coalesce(this=text, expressions=[lit("null")])


def _joined(ctx: Context, texts: exp.Expression, opening: str, closing: str) -> exp.Expression:
    """An array of texts as one: ``opening``, the texts apart by ", ", ``closing``."""
    joiner = "arrayStringConcat" if on_clickhouse(ctx) else "array_to_string"
    return call("concat", lit(opening), call(joiner, texts, lit(", ")), lit(closing))


def _collection_text(ctx: Context, value: Arg) -> exp.Expression:
    """A collection as text: `[a, b]`, each item as `str` writes it and a null item as `null`
    (the way a Java list prints, one form on both engines)."""
    name = f"_i{_depth(value.sql)}"  # a nested collection's items need a name of their own
    written = lists.lam(_item_text(ctx, lists.ref(name), value.type.element), name)
    return _joined(ctx, lists.transform(ctx, value.sql, written), "[", "]")


def _map_text(ctx: Context, value: Arg) -> exp.Expression:
    """A map as text: `{a=1, b=2}` in the map's order, as a Java map prints."""
    name = f"_i{_depth(value.sql)}"

    def pair(key: exp.Expression, item: exp.Expression) -> exp.Expression:
        key_text = _item_text(ctx, key, value.type.key)
        return call("concat", key_text, lit("="), _item_text(ctx, item, value.type.element))

    if on_clickhouse(ctx):
        # Keys and values side by side (an item of an array of arrays cannot be nullable).
        written = lists.lam(pair(lists.ref(name), lists.ref(f"{name}v")), name, f"{name}v")
        keys, values = lists.map_keys(ctx, value.sql), lists.map_values(ctx, value.sql)
        return _joined(ctx, call("arrayMap", written, keys, values), "{", "}")
    # Over the entries, so that the map is written once.
    entry = lists.ref(name)
    key, item = (call("struct_extract", entry, lit(f)) for f in ("key", "value"))
    written = lists.lam(pair(key, item), name)
    return _joined(ctx, call("list_transform", call("map_entries", value.sql), written), "{", "}")


def _tuple_text(ctx: Context, value: Arg) -> exp.Expression:
    """A tuple as text: `(1, a)`, each item as `str` writes it (DuckDB's own form)."""
    getter = "tupleElement" if on_clickhouse(ctx) else "struct_extract"
    texts = [
        _item_text(ctx, call(getter, value.sql, lit(i)), field)
        for i, field in enumerate(value.type.fields, start=1)
    ]
    parts = [p for text in texts for p in (lit(", "), text)][1:]
    return call("concat", lit("("), *parts, lit(")"))


def _depth(sql: exp.Expression) -> int:
    """How many item names (``_iN``) ``sql`` already uses: the next one is free."""
    return sum(1 for c in sql.find_all(exp.Column) if c.name.startswith("_i"))


def _str(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    kind = value.type.kind
    if value.type.is_collection:
        return _collection_text(ctx, value)
    if kind is Kind.MAP:
        return _map_text(ctx, value)
    if kind is Kind.TUPLE and value.type.fields:
        return _tuple_text(ctx, value)
    if kind in (Kind.STR, Kind.REGEX, Kind.NET4, Kind.NET6):
        return value.sql  # a network or re is already its text in SQL
    if kind in (Kind.IP6, Kind.MAC):
        return address_text(ctx, value.sql, kind)
    if kind is Kind.JSON:
        return json_text(ctx, value.sql)
    if kind is Kind.IP4:
        return ip4_text(ctx, value.sql)
    if value.type.is_binary:
        # Bytes are no text: their base16, as to16 prints them.
        return exp.Lower(this=call("hex", value.sql))
    if not on_clickhouse(ctx):
        if kind is Kind.TIMESTAMP:
            return call("strftime", value.sql, lit(TIMESTAMP_TEXT))
        return cast(value.sql, "VARCHAR")
    if kind is Kind.TIMESTAMP:
        # A DateTime64(3)'s text is `yyyy-MM-dd HH:mm:ss.SSS`.
        return call("toString", ch_cast(value.sql, "Nullable(DateTime64(3, 'UTC'))"))
    if kind is Kind.FLOAT8:
        return _float_text(value.sql)
    if kind is Kind.BOOL:
        # A comparison is a UInt8 on ClickHouse: as Bool its text is true/false.
        return call("toString", cast(value.sql, "BOOLEAN"))
    return cast(value.sql, "VARCHAR")


def _int(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    kind = value.type.kind
    if kind is Kind.FLOAT8:
        # Java truncates towards zero where DuckDB's cast rounds. NaN, the infinities and
        # numbers beyond int8 have no int8 value: null, rather than failing the whole query.
        return try_cast_as(ctx, call("trunc", value.sql), "BIGINT")
    if kind in (Kind.STR, Kind.JSON):
        text = trim(ctx, value.sql if kind is Kind.STR else json_text(ctx, value.sql))
        # DuckDB would round "3.7" to 4; text that is not an integer is null.
        integral = regex_full_match(ctx, text, INTEGER_PATTERN)
        return case((integral, try_cast_as(ctx, text, "BIGINT")))
    if kind is Kind.TIMESTAMP:
        return epoch_ms_of(ctx, value.sql)
    return cast(value.sql, "BIGINT")


def _float(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    if value.type.kind is Kind.STR:
        return try_cast_as(ctx, trim(ctx, value.sql), "DOUBLE")
    if value.type.kind is Kind.JSON:
        return try_cast_as(ctx, json_text(ctx, value.sql), "DOUBLE")
    return cast(value.sql, "DOUBLE")


def _bool(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    if value.type.is_numeric:
        return paren(exp.NEQ(this=value.sql, expression=lit(0)))
    if value.type.kind is Kind.BOOL:
        return value.sql
    text = value.sql if value.type.kind is Kind.STR else json_text(ctx, value.sql)
    return exp.Case(
        this=lower(ctx, trim(ctx, text)),
        ifs=[
            exp.If(this=lit("true"), true=exp.true()),
            exp.If(this=lit("false"), true=exp.false()),
        ],
    )


def _timestamp(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    if value.type.kind is Kind.TIMESTAMP:
        return value.sql
    if value.type.is_integer:
        return from_epoch_ms(ctx, cast(value.sql, "BIGINT"))
    text = trim(ctx, value.sql)
    if on_clickhouse(ctx):
        # The pattern admits TIMESTAMP_FORMATS only; the parser then checks the calendar.
        parsed = call("parseDateTime64BestEffortOrNull", text, lit(3), lit("UTC"))
        return case((regex_full_match(ctx, text, TIMESTAMP_PATTERN), parsed))
    formats = exp.Array(expressions=[lit(f) for f in TIMESTAMP_FORMATS])
    return call("try_strptime", text, formats)


def _duration(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    if value.type.kind is Kind.DURATION:
        return value.sql
    if value.type.is_integer:
        return cast(value.sql, "BIGINT")
    if value.is_const and isinstance(value.const, str):
        parsed = parse_duration(value.const)
        if parsed is None:
            raise ctx.error(f"Cannot read {value.const!r} as duration")
        return lit(parsed)
    pattern = lit(DURATION_PATTERN)
    total: exp.Expression = lit(0)
    for group, unit in enumerate(DURATION_UNITS_MS, start=1):
        digits = exp.Nullif(this=regex_extract(ctx, value.sql, pattern, group), expression=lit(""))
        amount = exp.Coalesce(this=try_cast_as(ctx, digits, "BIGINT"), expressions=[lit(0)])
        total = exp.Add(this=total, expression=exp.Mul(this=amount, expression=lit(unit)))
    valid = all_of(
        [
            regex_full_match(ctx, value.sql, DURATION_PATTERN),
            exp.NEQ(this=value.sql, expression=lit("")),
        ]
    )
    return case((valid, paren(total)))


def _ip4(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    if value.type.kind is Kind.IP4:
        return value.sql
    if value.type.is_integer:
        return try_cast_as(ctx, value.sql, "UINTEGER")
    if value.is_const:
        try:
            number = int(ipaddress.IPv4Address(str(value.const).strip()))
        except ValueError:
            return cast(exp.Null(), "UINTEGER")
        return cast(lit(number), "UINTEGER")
    text = trim(ctx, value.sql)
    valid = regex_full_match(ctx, text, IP4_PATTERN)
    if on_clickhouse(ctx):
        return case((valid, call("toUInt32", call("toIPv4OrNull", text))))
    total: exp.Expression = lit(0)
    for part, weight in enumerate((1 << 24, 1 << 16, 1 << 8, 1), start=1):
        octet = try_cast(call("split_part", text, lit("."), lit(part)), "BIGINT")
        total = exp.Add(this=total, expression=exp.Mul(this=octet, expression=lit(weight)))
    return cast(case((valid, paren(total))), "UINTEGER")


INT_SOURCES = ("num", "str", "json", "bool", "timestamp", "duration", "ip4")

FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(
        ("str",),
        (sig("any -> str"),),
        "Text of any value: JSON strings unquoted, timestamps as `yyyy-MM-dd HH:mm:ss.SSS`, "
        "ip4 as a dotted quad, ip6 in RFC 5952 form, mac as `00:1a:2b:3c:4d:5e`, durations as "
        "milliseconds, bytes as lower-case base16, arrays and sets as `[a, b]`, maps as "
        "`{a=1, b=2}` in their order, tuples as `(1, a)` (each item as its text, a null item as "
        "`null`).",
        "conversion",
        both(_str),
    ),
    FunctionDef(
        ("int", "bigint"),
        tuple(sig(f"{source} -> int8") for source in INT_SOURCES),
        "An int8: numbers truncated towards zero (null for NaN, infinities and numbers beyond "
        "int8), text read as an integer (null when it is not one), timestamps as epoch "
        "milliseconds, durations as milliseconds.",
        "conversion",
        both(_int),
    ),
    FunctionDef(
        ("float", "float8"),
        (sig("num -> float8"), sig("str -> float8"), sig("json -> float8")),
        "A float8 from a number or from text (null when the text is not a number).",
        "conversion",
        both(_float),
    ),
    FunctionDef(
        ("bool",),
        (sig("bool -> bool"), sig("num -> bool"), sig("str -> bool"), sig("json -> bool")),
        "A bool: numbers are true when not zero, text `true`/`false` in any case (null otherwise).",
        "conversion",
        both(_bool),
    ),
    FunctionDef(
        ("timestamp",),
        (sig("timestamp -> timestamp"), sig("int -> timestamp"), sig("str -> timestamp")),
        "A timestamp from epoch milliseconds or from UTC text `yyyy-MM-dd[ HH:mm[:ss[.SSS]]]` "
        "(null when computed text does not match).",
        "conversion",
        both(_timestamp),
    ),
    FunctionDef(
        ("duration",),
        (sig("str -> duration"), sig("int -> duration"), sig("duration -> duration")),
        "A duration from text such as `5m` or `1h30m` (units w, d, h, m, s, ms) or from "
        "milliseconds; null when computed text is not a duration.",
        "conversion",
        both(_duration),
    ),
    FunctionDef(
        ("ip4",),
        (sig("str -> ip4"), sig("int -> ip4"), sig("ip4 -> ip4")),
        "An ip4 from a dotted quad or from its unsigned 32-bit number; null when invalid.",
        "conversion",
        both(_ip4),
    ),
    FunctionDef(
        ("net4",),
        (sig("net4 -> net4"),),
        'A net4 (CIDR range) from constant text such as `net4("10.0.0.0/8")`.',
        "conversion",
        both(identity),
    ),
    FunctionDef(
        ("epoch",),
        (sig("timestamp -> int8"),),
        "Milliseconds since 1970-01-01 UTC.",
        "conversion",
        both(lambda ctx, a, r: epoch_ms_of(ctx, a[0].sql)),
    ),
)


def text_of(ctx: Context, value: Arg) -> exp.Expression:
    """A value as ``str(value)`` writes it (one text on both engines)."""
    return _str(ctx, [value], LType(Kind.STR))
