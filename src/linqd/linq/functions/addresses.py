"""The address types ``ip6``, ``net6`` and ``mac``: their conversions, and the SQL that reads,
writes and range-checks them on each engine.

An ip6 is an unsigned 128-bit integer (DuckDB UHUGEINT, ClickHouse UInt128) and a mac an
unsigned 64-bit one, so comparisons are integer comparisons and `ip <- net` is one BETWEEN.
Text is read with the patterns of ``linq/addresses.py`` on both engines, and written in the
canonical form defined there: ClickHouse's own IPv6NumToString where it already writes it,
expressions elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlglot import exp

from ..addresses import (
    DOTTED_AS_HEX,
    DOTTED_TAIL,
    HEX6_PATTERN,
    MAC_PATTERN,
    MAC_SEPARATORS,
    MAPPED_HIGH,
    MAPPED_LOW,
    net6_range,
    parse_ip6,
    parse_mac,
)
from ..types import Kind, LType
from .base import Arg, Context, FunctionDef, both, call, cast, lit, paren, sig, try_cast
from .helpers import case, identity, on_clickhouse, regex_full_match, trim

IP6_SQL = "UHUGEINT"
MAC_SQL = "UBIGINT"
IP4_COUNT = 1 << 32
# An address of 0:0:0:0:0:0:x:x that ClickHouse would write as deprecated "IPv4-compatible"
# mixed text (`::1.2.3.4`); RFC 5952 keeps hex there (`::102:304`).
COMPATIBLE_LOW, COMPATIBLE_HIGH = 1 << 16, IP4_COUNT - 1
# A first group that is not zero moves ClickHouse's longest zero run off the start.
_MARK = 1 << 112


def ip6_literal(value: int) -> exp.Expression:
    """An ip6 constant: exact from text (a bare 2**127 would be read as a DOUBLE)."""
    return cast(lit(str(value)), IP6_SQL)


def mac_literal(value: int) -> exp.Expression:
    return cast(lit(value), MAC_SQL)


def typed_null(kind: Kind) -> exp.Expression:
    return cast(exp.Null(), IP6_SQL if kind is Kind.IP6 else MAC_SQL)


# -- text → value --------------------------------------------------------------------------------


def bound(
    ctx: Context,
    value: exp.Expression,
    name: str,
    body: Callable[[exp.Expression], exp.Expression],
) -> exp.Expression:
    """``body`` over ``value`` computed once: the body refers to it many times, and nested
    conversions (`str(ip6(...))`) would multiply the SQL at every level. The engines have no
    `let`; a one-item array mapped by a lambda is one. A column or constant is used as it is.
    On DuckDB the body must hold no regular expression: DuckDB compiles a constant pattern
    inside a lambda again for every row (17 us a row for the ip6 pattern)."""
    if isinstance(value, exp.Column | exp.Literal | exp.Null):
        return body(value)
    param = exp.to_identifier(name)
    each = exp.Lambda(this=body(exp.column(param)), expressions=[param])
    one = exp.Array(expressions=[value])
    if on_clickhouse(ctx):
        return call("arrayElement", call("arrayMap", each, one), lit(1))
    return call("list_extract", call("list_transform", one, each), lit(1))


def ip6_of_text(ctx: Context, text: exp.Expression) -> exp.Expression:
    """The ip6 of any RFC 4291 text (see ``addresses.py``); null when the text is not one."""
    if on_clickhouse(ctx):

        def read(t: exp.Expression) -> exp.Expression:
            hexes = call("replaceRegexpOne", t, lit(DOTTED_TAIL), lit(DOTTED_AS_HEX))
            valid = regex_full_match(ctx, hexes, HEX6_PATTERN)
            return case((valid, call("toUInt128", call("toIPv6OrNull", t))))

        return bound(ctx, trim(ctx, text), "_ip6_text", read)
    return _duckdb_ip6(ctx, trim(ctx, text))


def _duckdb_ip6(ctx: Context, text: exp.Expression) -> exp.Expression:
    # `::` becomes as many zero groups as make eight, each group is padded to 4 hex digits, and
    # the 32 digits are read as one number; a trailing dotted IPv4 reads as two zero groups
    # plus its own 32-bit value. Regular expressions stay outside lambdas (``bound``) and run
    # on the rare dotted texts only. (Sixteen groups read one by one and shifted took five
    # times as long.)
    dotted = call("contains", text, lit("."))
    hexes = case(
        (dotted, call("regexp_replace", text, lit(DOTTED_TAIL), lit(DOTTED_AS_HEX))),
        default=text,
    )

    def number(h: exp.Expression) -> exp.Expression:
        # With `::` there are 2 to 8 colons; its empty fields at either end count as zero groups.
        without = call("length", call("replace", h, lit(":"), lit("")))
        colons = paren(exp.Sub(this=call("length", h), expression=without))
        zeros = call("repeat", lit("0:"), cast(exp.Sub(this=lit(8), expression=colons), "INTEGER"))
        expanded = call("replace", h, lit("::"), call("concat", lit(":"), zeros))
        group = exp.to_identifier("_ip6_group")
        pad = exp.Lambda(
            this=call("lpad", exp.column(group), lit(4), lit("0")), expressions=[group]
        )
        groups = call("list_transform", call("string_split", expanded, lit(":")), pad)
        digits = call("concat", lit("0x"), call("array_to_string", groups, lit("")))
        return try_cast(digits, IP6_SQL)

    def shifted(value: exp.Expression, shift: int) -> exp.Expression:
        return paren(exp.BitwiseLeftShift(this=value, expression=lit(shift)))

    quad = r"(\d+)\.(\d+)\.(\d+)\.(\d+)$"
    octets = _or_all(
        [
            shifted(try_cast(call("regexp_extract", text, lit(quad), lit(index)), IP6_SQL), shift)
            for index, shift in enumerate((24, 16, 8, 0), start=1)
        ]
    )
    total = exp.BitwiseOr(
        this=bound(ctx, hexes, "_ip6_hex", number),
        expression=case((dotted, octets), default=ip6_literal(0)),
    )
    return case((regex_full_match(ctx, hexes, HEX6_PATTERN), paren(total)))


def _or_all(terms: Sequence[exp.Expression]) -> exp.Expression:
    total = terms[0]
    for term in terms[1:]:
        total = exp.BitwiseOr(this=total, expression=term)
    return paren(total)


def mac_of_text(ctx: Context, text: exp.Expression) -> exp.Expression:
    text = trim(ctx, text)
    valid = regex_full_match(ctx, text, MAC_PATTERN)
    if on_clickhouse(ctx):
        digits = call("replaceRegexpAll", text, lit(MAC_SEPARATORS), lit(""))
        # unhex gives the 6 bytes big-endian; reinterpretAsUInt64 reads little-endian.
        return case((valid, call("reinterpretAsUInt64", call("reverse", call("unhex", digits)))))
    digits = call("regexp_replace", text, lit(MAC_SEPARATORS), lit(""), lit("g"))
    return case((valid, try_cast(exp.DPipe(this=lit("0x"), expression=digits), MAC_SQL)))


# -- value → canonical text ----------------------------------------------------------------------


def _bits(sql: exp.Expression, shift: int, mask: int) -> exp.Expression:
    shifted = paren(exp.BitwiseRightShift(this=sql, expression=lit(shift))) if shift else sql
    return paren(exp.BitwiseAnd(this=shifted, expression=lit(mask)))


def ip6_text(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """RFC 5952 text of an ip6, mixed notation for IPv4-mapped addresses only."""
    if on_clickhouse(ctx):
        return bound(ctx, sql, "_ip6", _clickhouse_ip6_text)
    return bound(ctx, sql, "_ip6", lambda v: _duckdb_ip6_text(ctx, v))


def _clickhouse_ip6_text(sql: exp.Expression) -> exp.Expression:
    own = call("IPv6NumToString", call("toIPv6", sql))
    marked = call("bitOr", sql, ip6_literal(_MARK))
    compatible = call("substring", call("IPv6NumToString", call("toIPv6", marked)), lit(2))
    in_range = exp.Between(
        this=sql, low=ip6_literal(COMPATIBLE_LOW), high=ip6_literal(COMPATIBLE_HIGH)
    )
    return case((in_range, compatible), default=own)


def _duckdb_ip6_text(ctx: Context, sql: exp.Expression) -> exp.Expression:
    groups = [_bits(sql, shift, 0xFFFF) for shift in range(112, -1, -16)]
    # Every group in hex between colons; the longest run of zero groups becomes `::` (the first
    # of equal runs: CASE tries the longest first, and takes its first occurrence, which is a
    # whole run since none is longer), then the padding colons go unless they are part of that
    # `::`. String functions only: this runs inside lambdas (``bound``).
    padded = call("printf", lit(":%x" * 8 + ":"), *groups)

    def compress(text: exp.Expression) -> exp.Expression:
        branches = []
        for length in range(8, 1, -1):
            run = ":0" * length + ":"
            at = call("strpos", text, lit(run))
            before = call("left", text, exp.Sub(this=at, expression=lit(1)))
            after = call("substr", text, exp.Add(this=at, expression=lit(len(run))))
            joined = call("concat", before, lit("::"), after)
            branches.append((exp.GT(this=at, expression=lit(0)), joined))
        return case(*branches, default=text)

    def unpad(text: exp.Expression) -> exp.Expression:
        start = case((call("starts_with", text, lit("::")), lit(1)), default=lit(2))
        cut = case((call("ends_with", text, lit("::")), lit(0)), default=lit(1))
        length = exp.Sub(
            this=exp.Sub(this=call("length", text), expression=cut),
            expression=paren(exp.Sub(this=start, expression=lit(1))),
        )
        return call("substr", text, start, length)

    unpadded = bound(ctx, bound(ctx, padded, "_ip6_groups", compress), "_ip6_compressed", unpad)
    octets = [_bits(sql, shift, 255) for shift in (24, 16, 8, 0)]
    mapped = call("printf", lit("::ffff:%d.%d.%d.%d"), *octets)
    in_mapped = exp.Between(this=sql, low=ip6_literal(MAPPED_LOW), high=ip6_literal(MAPPED_HIGH))
    return case((in_mapped, mapped), default=unpadded)


def mac_text(ctx: Context, sql: exp.Expression) -> exp.Expression:
    """Lowercase, colon-separated: ``00:1a:2b:3c:4d:5e``."""
    if on_clickhouse(ctx):
        return call("lower", call("MACNumToString", sql))
    octets = [_bits(sql, shift, 255) for shift in range(40, -1, -8)]
    return call("printf", lit(":".join(["%02x"] * 6)), *octets)


def address_text(ctx: Context, sql: exp.Expression, kind: Kind) -> exp.Expression:
    return ip6_text(ctx, sql) if kind is Kind.IP6 else mac_text(ctx, sql)


TEXT_IN_RESULTS = (Kind.IP6, Kind.MAC)


def text_in_results(ltype: LType) -> bool:
    """Whether values of ``ltype`` hold ip6 or mac values (themselves, or as items of arrays,
    sets, maps and tuples at any depth), which leave the engine as text: DuckDB hands a
    UHUGEINT to Arrow as a decimal128 that wraps past 2**127, and Arrow has no 128-bit integer
    for ClickHouse's either; the API writes these values as text anyway."""
    if ltype.kind in TEXT_IN_RESULTS:
        return True
    parts = [ltype.element, ltype.key, *ltype.fields]
    return any(part is not None and text_in_results(part) for part in parts)


def result_text(ctx: Context, sql: exp.Expression, ltype: LType, depth: int = 0) -> exp.Expression:
    """A result value of a type ``text_in_results`` holds, with its addresses as their
    canonical text."""
    if ltype.kind in TEXT_IN_RESULTS:
        return address_text(ctx, sql, ltype.kind)
    if ltype.kind is Kind.TUPLE:
        getter = "tupleElement" if on_clickhouse(ctx) else "struct_extract"
        items = [
            _text_part(ctx, call(getter, sql, lit(i)), field, depth)
            for i, field in enumerate(ltype.fields, start=1)
        ]
        return exp.Tuple(expressions=items)
    if ltype.kind is Kind.MAP:
        keys = _each(
            ctx, call("mapKeys" if on_clickhouse(ctx) else "map_keys", sql), ltype.key, depth
        )
        values = _each(
            ctx,
            call("mapValues" if on_clickhouse(ctx) else "map_values", sql),
            ltype.element,
            depth,
        )
        return call("mapFromArrays" if on_clickhouse(ctx) else "map", keys, values)
    return _each(ctx, sql, ltype.element, depth)


def _text_part(
    ctx: Context, sql: exp.Expression, ltype: LType | None, depth: int
) -> exp.Expression:
    if ltype is None or not text_in_results(ltype):
        return sql
    return result_text(ctx, sql, ltype, depth + 1)


def _each(ctx: Context, items: exp.Expression, ltype: LType | None, depth: int) -> exp.Expression:
    """The items of an array with their addresses as text."""
    if ltype is None or not text_in_results(ltype):
        return items
    name = f"_a{depth}"
    each = exp.Lambda(
        this=result_text(ctx, exp.column(name), ltype, depth + 1),
        expressions=[exp.to_identifier(name)],
    )
    if on_clickhouse(ctx):
        return call("arrayMap", each, items)
    return call("list_transform", items, each)


# -- networks ------------------------------------------------------------------------------------


def network_range(kind: Kind, net: object) -> tuple[int, int]:
    """The first and last address of a net4 or net6 constant, as ip6 integers (a net4 as the
    IPv4-mapped addresses of its range)."""
    assert isinstance(net, tuple)
    network, prefix = int(net[0]), int(net[1])
    if kind is Kind.NET6:
        return net6_range(network, prefix)
    return MAPPED_LOW + network, MAPPED_LOW + network + (1 << (32 - prefix)) - 1


def in_network(
    value: exp.Expression, value_kind: Kind, net_kind: Kind, net: object
) -> exp.Expression:
    """Is the address ``value`` (an ip4 or ip6) in the network constant ``net``: one range check
    on the value's own integers. Across families an ip4 is its IPv4-mapped ip6
    (`::ffff:a.b.c.d`): an ip4 is in a net6 that holds its mapped address, and an ip6 in a net4
    when it is the mapped address of one of the net4's."""
    low, high = network_range(net_kind, net)
    if value_kind is Kind.IP4:
        low, high = max(low - MAPPED_LOW, 0), min(high - MAPPED_LOW, IP4_COUNT - 1)
        if low > high:
            return exp.false()
        return exp.Between(this=value, low=lit(low), high=lit(high))
    return exp.Between(this=value, low=ip6_literal(low), high=ip6_literal(high))


# -- conversions ---------------------------------------------------------------------------------


def _ip6(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    kind = value.type.kind
    if kind is Kind.IP6:
        return value.sql
    if kind is Kind.IP4:
        return exp.Add(this=cast(value.sql, IP6_SQL), expression=ip6_literal(MAPPED_LOW))
    if value.is_const:
        number = parse_ip6(str(value.const)) if value.const is not None else None
        return typed_null(Kind.IP6) if number is None else ip6_literal(number)
    return ip6_of_text(ctx, value.sql)


def _mac(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = args[0]
    if value.type.kind is Kind.MAC:
        return value.sql
    if value.is_const:
        number = parse_mac(str(value.const)) if value.const is not None else None
        return typed_null(Kind.MAC) if number is None else mac_literal(number)
    return mac_of_text(ctx, value.sql)


FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(
        ("ip6",),
        (sig("str -> ip6"), sig("ip4 -> ip6"), sig("ip6 -> ip6")),
        "An ip6 from any RFC 4291 text (`2001:DB8::1`, `::ffff:192.0.2.1`, the full eight "
        "groups; no zone `%eth0`, no brackets, blanks around ignored) or from an ip4 (its "
        "IPv4-mapped address `::ffff:a.b.c.d`); null when the text is not an IPv6 address (a "
        "bare dotted quad is not). Written back (`str`, results) in RFC 5952 form: lowercase, "
        "the longest run of zero groups as `::`, dotted only for IPv4-mapped addresses. LINQ "
        'has no unquoted ip6 literal (it would clash with `:`): write `ip6("::1")`, or a '
        'string where an ip6 is expected (`ip = "::1"`, `ip in {"::1", "::2"}`).',
        "conversion",
        both(_ip6),
    ),
    FunctionDef(
        ("net6",),
        (sig("net6 -> net6"),),
        'A net6 (IPv6 CIDR range) from constant text such as `net6("2001:db8::/32")`; host '
        "bits are cleared, as for net4. A quoted CIDR after `<-` or `in` is read as a net6 "
        'too: `ip6(x) <- "2001:db8::/32"`.',
        "conversion",
        both(identity),
    ),
    FunctionDef(
        ("mac",),
        (sig("str -> mac"), sig("mac -> mac")),
        "A MAC address (EUI-48) from `00:1A:2b:3c:4d:5e`, `00-1a-2b-3c-4d-5e` or Cisco's "
        "`001a.2b3c.4d5e` (hex in either case, one separator throughout); null otherwise. "
        "Written back lowercase and colon-separated (`00:1a:2b:3c:4d:5e`).",
        "conversion",
        both(_mac),
    ),
)
