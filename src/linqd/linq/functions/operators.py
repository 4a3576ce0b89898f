"""Operators and the functions behind them: comparison, logic, arithmetic, bitwise, membership."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlglot import exp

from .. import types as t
from ..addresses import IP4_TEXT, parse_ip6, parse_mac
from ..types import Kind, LType
from . import lists
from .addresses import in_network, ip6_literal, mac_literal
from .base import (
    Arg,
    Context,
    FunctionDef,
    Translator,
    both,
    call,
    cast,
    lit,
    paren,
    same,
    sig,
)
from .conversion import text_of
from .helpers import (
    all_of,
    any_of,
    case,
    ch_cast,
    contains,
    epoch_ms_of,
    from_epoch_ms,
    json_input,
    lower,
    on_clickhouse,
    regex_matches,
)


def _binary(cls: Callable[..., exp.Expression]) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        return paren(cls(this=args[0].sql, expression=args[1].sql))

    return translate


def _comparison(
    name: str, cls: Callable[..., exp.Expression], symbol: str, doc: str
) -> FunctionDef:
    return FunctionDef(
        (name,),
        (sig("any, any -> bool"),),
        f"{doc}. Infix `{symbol}`. A literal is read as the other side's type; values that "
        "cannot be compared make the comparison false (no rows), as in Devo. NaN compares as "
        "in Java: only `!=` holds.",
        "comparison",
        both(_compare(cls)),
        infix=symbol,
    )


def _compare(cls: Callable[..., exp.Expression]) -> Translator:
    """A comparison as IEEE 754 (and Java, and ClickHouse) has it: NaN is neither equal to,
    less than nor greater than anything, itself included; only `!=` holds. DuckDB holds NaN
    equal to itself and greater than every number: its float operands are checked."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        compared = cls(this=args[0].sql, expression=args[1].sql)
        floats = [a.sql for a in args if a.type.kind is Kind.FLOAT8 and not a.is_const]
        if on_clickhouse(ctx) or not floats:
            return paren(compared)
        nans = [call("isnan", f) for f in floats]
        if cls is exp.NEQ:
            return paren(any_of([compared, *nans]))
        return paren(all_of([compared, *(exp.Not(this=n) for n in nans)]))

    return translate


def _ch_int_type(result: LType) -> str:
    return "Nullable(Int32)" if result.kind is Kind.INT4 else "Nullable(Int64)"


def _ch_checked(
    result: LType, build: Callable[[exp.Expression, exp.Expression], exp.Expression]
) -> Translator:
    """Integer arithmetic that fails on overflow, as DuckDB's does: computed in Int128 and cast
    back with accurateCast (ClickHouse's own Int64 arithmetic wraps around). One Int128 operand
    makes the operation Int128: the right one, a leaf in a chain like `a + b + c`, so a chain
    costs two levels of SQL per operator, not three (the compile budget counts them)."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        wide = build(args[0].sql, call("toInt128", args[1].sql))
        return call("accurateCast", wide, lit(_ch_int_type(result)))

    return translate


def _ch_arithmetic(cls: Callable[..., exp.Expression]) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if result.is_integer or result.kind is Kind.DURATION:
            build = _ch_checked(result, lambda a, b: cls(this=a, expression=b))
            return build(ctx, args, result)
        return paren(cls(this=args[0].sql, expression=args[1].sql))

    return translate


def _ch_bitwise(name: str) -> Translator:
    """A bit function of the arguments as the result's signed type: a literal 5 is a UInt8 on
    ClickHouse, and bitNot(5) would be 250."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        signed = _ch_int_type(result)
        return call(name, *(ch_cast(a.sql, signed) for a in args))

    return translate


def _duration_interval(sql: exp.Expression) -> exp.Expression:
    return call("to_milliseconds", sql)


# What `array + x` cannot take as x (an element or the elements to append)...
NOT_ELEMENTS = (Kind.MAP, Kind.TUPLE)
# ...and what cannot be made text when the elements mix.
NOT_TEXT = (Kind.ARRAY, Kind.SET, Kind.MAP, Kind.TUPLE)


def _append(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """``array + x`` appends x, ``array + array2`` (or a set) concatenates; elements of another
    type than the result's are converted to text (the only mix the result type allows)."""
    items, added = args
    element = result.element or t.ANY
    if added.type.kind in NOT_ELEMENTS:
        raise ctx.error(f"Cannot add a {added.type.kind.value} to an array")

    def converted(sql: exp.Expression, ltype: LType) -> exp.Expression:
        source = ltype.element or t.ANY
        if element.kind is not Kind.STR or source.kind in (Kind.STR, Kind.ANY, Kind.NULL):
            return sql
        if source.kind in NOT_TEXT:
            # The engines write a collection as different text: no one array of str.
            raise ctx.error(f"Cannot add a {added.type} to an array of {items.type.element}")
        name = "_t"
        text = text_of(ctx, Arg(lists.ref(name), source))
        return lists.transform(ctx, sql, lists.lam(text, name))

    first = converted(items.sql, items.type)
    if added.type.is_collection:
        second = converted(added.sql, added.type)
    else:
        value = added.sql
        if element.kind is Kind.STR and added.type.kind not in (Kind.STR, Kind.NULL, Kind.ANY):
            if added.type.kind in NOT_TEXT:
                raise ctx.error(f"Cannot add a {added.type} to an array of {items.type.element}")
            value = text_of(ctx, added)
        second = exp.Array(expressions=[value])
    return lists.concat(ctx, first, second)


def _add(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    a, b = args
    if result.kind is Kind.ARRAY:
        return _append(ctx, args, result)
    if result.kind is Kind.STR:
        return paren(exp.DPipe(this=a.sql, expression=b.sql, safe=True))
    if result.kind is Kind.TIMESTAMP:
        stamp, duration = (a, b) if a.type.kind is Kind.TIMESTAMP else (b, a)
        return paren(exp.Add(this=stamp.sql, expression=_duration_interval(duration.sql)))
    return paren(exp.Add(this=a.sql, expression=b.sql))


def _ch_add(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    a, b = args
    if result.kind is Kind.ARRAY:
        return _append(ctx, args, result)
    if result.kind is Kind.STR:
        return _add(ctx, args, result)
    if result.kind is Kind.TIMESTAMP:
        stamp, duration = (a, b) if a.type.kind is Kind.TIMESTAMP else (b, a)
        return from_epoch_ms(
            ctx, exp.Add(this=epoch_ms_of(ctx, stamp.sql), expression=duration.sql)
        )
    return _ch_arithmetic(exp.Add)(ctx, args, result)


def _ch_sub(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if len(args) == 1:
        return _neg(ctx, args, result)
    a, b = args
    if a.type.kind is Kind.TIMESTAMP and b.type.kind is Kind.TIMESTAMP:
        return paren(exp.Sub(this=epoch_ms_of(ctx, a.sql), expression=epoch_ms_of(ctx, b.sql)))
    if result.kind is Kind.TIMESTAMP:
        return from_epoch_ms(ctx, exp.Sub(this=epoch_ms_of(ctx, a.sql), expression=b.sql))
    return _ch_arithmetic(exp.Sub)(ctx, args, result)


def _divisor(arg: Arg, result: LType) -> exp.Expression:
    """The divisor of an integer division or remainder, null when it is zero: an integer has no
    infinity, and both engines would fail the whole query (a float divides as IEEE does)."""
    if not (result.is_integer or result.kind is Kind.DURATION):
        return arg.sql
    if arg.is_const and isinstance(arg.const, int) and arg.const != 0:
        return arg.sql  # `statusCode \ 100`: nothing to check
    return exp.Nullif(this=arg.sql, expression=lit(0))


def _ch_div(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if result.is_integer or result.kind is Kind.DURATION:
        # intDiv truncates towards zero, as DuckDB's // does.
        return call("intDiv", args[0].sql, _divisor(args[1], result))
    return paren(exp.Div(this=args[0].sql, expression=args[1].sql))


# Shifts are Java's, on the two's complement bits of an int8 (64 bits) or int4 (32): the count
# is taken modulo the width (`n & 63`), a left shift drops the bits it pushes out, `>>` keeps
# the sign and `>>>` shifts zeros in. The engines refuse or answer 0 for counts past the width,
# and DuckDB refuses to shift a negative number left.


def _bits(result: LType) -> int:
    return 32 if result.kind is Kind.INT4 else 64


def _count(ctx: Context, count: Arg, bits: int) -> exp.Expression:
    if count.is_const and isinstance(count.const, int):
        return lit(count.const & (bits - 1))
    # An unsigned count: ClickHouse shifts an unsigned value by a signed count arithmetically;
    # DuckDB shifts a BIT string by an INTEGER only.
    if on_clickhouse(ctx):
        masked = call("bitAnd", ch_cast(count.sql, "Nullable(Int64)"), lit(bits - 1))
        return ch_cast(masked, "Nullable(UInt8)")
    return cast(exp.BitwiseAnd(this=count.sql, expression=lit(bits - 1)), "INTEGER")


def _bits_of(sql: exp.Expression, to: str) -> exp.Expression:
    """DuckDB: an integer as its two's complement bits (its BIT string, as wide as its type),
    which shift logically and wrap. A shift's own result is taken back as its bits, so a
    chain `a << b << c` costs no extra casts per operator."""
    if (
        isinstance(sql, exp.Cast)
        and isinstance(sql.this, exp.BitwiseLeftShift | exp.BitwiseRightShift)
        and sql.to.sql("duckdb") == exp.DataType.build(to, dialect="duckdb").sql("duckdb")
    ):
        return sql.this
    return cast(cast(sql, to), "BIT")


def _lshift(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    bits = _bits(result)
    count = _count(ctx, args[1], bits)
    if on_clickhouse(ctx):
        width = _ch_int_type(result)
        return call("bitShiftLeft", ch_cast(args[0].sql, width), count)
    to = "INTEGER" if bits == 32 else "BIGINT"
    return cast(exp.BitwiseLeftShift(this=_bits_of(args[0].sql, to), expression=count), to)


def _rshift(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    count = _count(ctx, args[1], _bits(result))
    if on_clickhouse(ctx):
        return call("bitShiftRight", ch_cast(args[0].sql, _ch_int_type(result)), count)
    # A literal is a small type on DuckDB (-8 is a TINYINT): shift it as the result's type.
    value = cast(args[0].sql, "INTEGER" if result.kind is Kind.INT4 else "BIGINT")
    return paren(exp.BitwiseRightShift(this=value, expression=count))


def _urshift(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    count = _count(ctx, args[1], 64)
    if on_clickhouse(ctx):
        bits = call("reinterpretAsUInt64", ch_cast(args[0].sql, "Nullable(Int64)"))
        return call("toInt64", call("bitShiftRight", bits, count))
    shifted_bits = exp.BitwiseRightShift(this=_bits_of(args[0].sql, "BIGINT"), expression=count)
    return cast(shifted_bits, "BIGINT")


def _sub(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if len(args) == 1:
        return _neg(ctx, args, result)
    a, b = args
    if a.type.kind is Kind.TIMESTAMP and b.type.kind is Kind.TIMESTAMP:
        return paren(exp.Sub(this=call("epoch_ms", a.sql), expression=call("epoch_ms", b.sql)))
    if result.kind is Kind.TIMESTAMP:
        return paren(exp.Sub(this=a.sql, expression=_duration_interval(b.sql)))
    return paren(exp.Sub(this=a.sql, expression=b.sql))


def _rdiv(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return paren(exp.Div(this=cast(args[0].sql, "DOUBLE"), expression=args[1].sql))


def _div(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if result.is_integer or result.kind is Kind.DURATION:
        return paren(exp.IntDiv(this=args[0].sql, expression=_divisor(args[1], result)))
    return paren(exp.Div(this=args[0].sql, expression=args[1].sql))


def _rem(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    a, b = args[0].sql, _divisor(args[1], result)
    remainder = paren(exp.Mod(this=a, expression=b))
    if on_clickhouse(ctx) and result.kind is Kind.FLOAT8:
        # fmod: a finite number by an infinity is that number (ClickHouse's % gives NaN).
        dividend_kept = exp.And(this=call("isInfinite", b), expression=call("isFinite", a))
        return case((dividend_kept, a), default=remainder)
    return remainder


def _mod(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    a, b = args[0].sql, _divisor(args[1], result)
    inner = exp.Mod(
        this=paren(exp.Add(this=paren(exp.Mod(this=a, expression=b)), expression=b)), expression=b
    )
    return paren(inner)


def _not(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Not(this=paren(args[0].sql))


def _neg(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Neg(this=paren(args[0].sql))


def _nvl(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Coalesce(this=args[0].sql, expressions=[args[1].sql])


def _items(arg: Arg) -> list[exp.Expression] | None:
    """The elements of a literal collection argument, or None for a computed collection."""
    if isinstance(arg.sql, exp.Array):
        return list(arg.sql.expressions)
    return None


NETWORK_KINDS = (Kind.NET4, Kind.NET6)
ADDRESS_KINDS = (Kind.IP4, Kind.IP6)


def _in_network(ctx: Context, value: Arg, network: Arg) -> exp.Expression:
    kind = value.type.kind
    if not network.is_const:
        raise ctx.error(f"`in` needs a constant {network.type} (a literal or net4/net6 of text)")
    if kind in (Kind.NULL, Kind.ANY):
        kind = Kind.IP4 if network.type.kind is Kind.NET4 else Kind.IP6
    elif kind not in ADDRESS_KINDS:
        raise ctx.error(f"`in` tests an ip4 or ip6 against a {network.type}, not a {value.type}")
    return in_network(value.sql, kind, network.type.kind, network.const)


def _as_member(value: Arg, element: LType) -> Arg | None:
    """``value`` as a possible member of a container of ``element`` items: itself when the types
    can be equal, a text literal read as a number the way `=` reads it (`"404"` for 404), or
    None when it can never be a member."""
    if _may_hold(element, value.type):
        return value
    if isinstance(value.const, str) and element.is_numeric:
        text = value.const.strip()
        if re.fullmatch(r"-?\d+", text):
            return Arg(lit(int(text)), element, int(text))
        try:
            number = float(text)
        except ValueError:
            return None
        return Arg(cast(lit(number), "DOUBLE"), t.FLOAT8, number)
    if isinstance(value.const, str) and element.kind in (Kind.IP6, Kind.MAC):
        # Held as numbers: the text is read here (ClickHouse would fail on text it cannot read).
        parse, literal = (
            (parse_ip6, ip6_literal) if element.kind is Kind.IP6 else (parse_mac, mac_literal)
        )
        address = parse(value.const)
        return None if address is None else Arg(literal(address), element, address)
    if isinstance(value.const, str) and element.kind is Kind.IP4:
        # The engines read a dotted quad; text that is none can never be a member.
        return value if re.fullmatch(IP4_TEXT, value.const.strip()) else None
    if isinstance(value.const, str) and element.kind not in (Kind.STR, Kind.JSON):
        return value  # a timestamp in text: the engines read it, as before
    return None


def _never(value: Arg) -> exp.Expression:
    """The membership of a value of another type than the container's: false, null for null."""
    return case((exp.Not(this=exp.Is(this=value.sql, expression=exp.Null())), exp.false()))


def _in(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    *values, container = args
    if container.type.kind in NETWORK_KINDS:
        checks = [_in_network(ctx, v, container) for v in values]
    elif container.type.kind is Kind.MAP:
        checks = [_map_has(ctx, container, v) for v in values]
    elif container.type.kind is Kind.STR:
        for value in values:
            if value.type.kind in (*ADDRESS_KINDS, Kind.MAC):
                # A quoted text that is no CIDR: containment in text would fail on the engine.
                raise ctx.error(f"`in` tests a {value.type} against a network, not a str")
        checks = [_in_text(ctx, v, container) for v in values]
    else:
        # The analyzer read a literal set's items as the first value's type
        # (`_membership_container`); each other value must fit them too.
        items = _items(container)
        if items is not None and not items:
            return exp.false()
        element = container.type.element if container.type.is_collection else container.type
        element = element or values[0].type
        checks = []
        for value in values:
            member = _as_member(value, element)
            if member is None:
                checks.append(_never(value))
            elif items is not None:
                checks.append(exp.In(this=member.sql, expressions=items))
            elif container.type.is_collection:
                checks.append(_list_contains(ctx, container.sql, member.sql))
            else:
                checks.append(exp.EQ(this=member.sql, expression=container.sql))
    result_sql = checks[0]
    for check in checks[1:]:
        result_sql = exp.And(this=result_sql, expression=check)
    return paren(result_sql)


def _map_has(ctx: Context, mapping: Arg, key: Arg) -> exp.Expression:
    """Is ``key`` a key of the map (false for a key of another type, as `=` would be)."""
    if not _same_kind(mapping.type.key or t.ANY, key.type):
        return exp.false()
    return lists.map_has(ctx, mapping.sql, key.sql)


def _in_text(ctx: Context, value: Arg, text: Arg) -> exp.Expression:
    """``value <- "text"``: containment for a text, never for another type, null for null (a
    bare null would leave DuckDB's contains() between its overloads)."""
    if value.type.kind is Kind.NULL:
        return exp.Null()
    return contains(ctx, text.sql, value.sql) if _may_hold(t.STR, value.type) else _never(value)


def _list_contains(ctx: Context, items: exp.Expression, value: exp.Expression) -> exp.Expression:
    """Whether ``items`` holds ``value``; null for a null value, as `=` and text containment
    are (ClickHouse's has() would look for a null item)."""
    if on_clickhouse(ctx):
        return call("if", call("isNull", value), exp.Null(), call("has", items, value))
    return call("list_contains", items, value)


def _may_hold(element: LType, needle: LType) -> bool:
    """Whether items of type ``element`` can equal a value of type ``needle``."""
    kinds = {element.kind, needle.kind}
    if kinds & {Kind.ANY, Kind.NULL}:
        return True
    if element.is_numeric and needle.is_numeric:
        return True
    return element == needle


def _has(case_sensitive: bool) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        target, *needles = args
        if target.type.kind is Kind.MAP:
            checks = [_map_has(ctx, target, n) for n in needles]
        elif target.type.is_collection:
            element = target.type.element
            items = target.sql
            folded = not case_sensitive and element is not None and element.kind is Kind.STR
            if folded:
                name = exp.to_identifier("_w")
                fold = exp.Lambda(this=lower(ctx, exp.column("_w")), expressions=[name])
                items = (
                    call("arrayMap", fold, items)
                    if on_clickhouse(ctx)
                    else call("list_transform", items, fold)
                )
            checks = [
                _list_contains(ctx, items, lower(ctx, n.sql) if folded else n.sql)
                if element is None or _may_hold(element, n.type)
                # A needle of another type is never an item (DuckDB's list_contains would
                # refuse the query): false, or null for a null needle.
                else _never(n)
                for n in needles
            ]
        elif case_sensitive:
            checks = [contains(ctx, target.sql, n.sql) for n in needles]
        else:
            lowered = lower(ctx, target.sql)
            checks = [contains(ctx, lowered, lower(ctx, n.sql)) for n in needles]
        out = checks[0]
        for check in checks[1:]:
            out = exp.Or(this=out, expression=check)
        return paren(out)

    return translate


def _matches(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return regex_matches(ctx, args[0].sql, args[1].sql)


def _json_key(arg: Arg) -> bool:
    """Whether ``arg`` can name a JSON member: an integer (a position) or a string (a key).
    Any other index (a fraction, a boolean) names none: null on both engines."""
    return arg.type.is_integer or arg.type.kind is Kind.STR


def _map_at(ctx: Context, target: Arg, key: Arg) -> exp.Expression:
    if not _same_kind(target.type.key or t.ANY, key.type):
        raise ctx.error(f"The keys of this map are {target.type.key}, not {key.type}")
    value = target.type.element or t.ANY
    found = lists.map_get(ctx, target.sql, key.sql, nullable=value.kind not in NOT_TEXT)
    return lists.never_null(ctx, found, value)


def _at(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    target, index = args
    if target.type.kind is Kind.MAP:
        return _map_at(ctx, target, index)
    if target.type.kind is Kind.JSON or target.type.kind is Kind.STR:
        if not _json_key(index):
            return cast(exp.Null(), "VARCHAR")
        path: exp.Expression
        if index.type.is_integer:
            path = exp.DPipe(
                this=exp.DPipe(this=lit("$["), expression=cast(index.sql, "VARCHAR")),
                expression=lit("]"),
            )
        else:
            # JSONPath cannot name the empty key (`$.""`); a JSON pointer can: `/`.
            quoted = exp.DPipe(this=lit("$."), expression=call("json_quote", index.sql))
            path = case((exp.EQ(this=index.sql, expression=lit("")), lit("/")), default=quoted)
        return call("json_extract", json_input(ctx, target), path)
    if target.type.kind is Kind.TUPLE:
        # A tuple's elements may differ in type: the engine picks one by a constant position.
        if not index.is_const or not isinstance(index.const, int) or index.const < 0:
            raise ctx.error("A tuple's index must be a constant integer from 0")
        return call("struct_extract", target.sql, lit(index.const + 1))
    # LINQ indexes from 0, DuckDB lists from 1.
    found = call("list_extract", target.sql, exp.Add(this=index.sql, expression=lit(1)))
    return lists.never_null(ctx, found, result)


def _ch_at(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    target, index = args
    if target.type.kind is Kind.MAP:
        return _map_at(ctx, target, index)
    if target.type.kind is Kind.JSON or target.type.kind is Kind.STR:
        if not _json_key(index):
            return ch_cast(exp.Null(), "Nullable(String)")
        key = index.sql
        if index.type.is_integer:
            # JSONPath's [0] is ClickHouse's 1 (its negative indexes count from the end too).
            if index.is_const and isinstance(index.const, int):
                key = lit(index.const + 1 if index.const >= 0 else index.const)
            else:
                plus_one = exp.Add(this=index.sql, expression=lit(1))
                key = call("if", exp.GTE(this=index.sql, expression=lit(0)), plus_one, index.sql)
        # JSONExtractRaw gives '' for a missing key where DuckDB gives null.
        return call("nullIf", call("JSONExtractRaw", json_input(ctx, target), key), lit(""))
    if target.type.kind is Kind.TUPLE:
        if not index.is_const or not isinstance(index.const, int) or index.const < 0:
            raise ctx.error("A tuple's index must be a constant integer from 0")
        return call("tupleElement", target.sql, lit(index.const + 1))
    # arrayElementOrNull, as DuckDB's list_extract, is null out of range (arrayElement: '').
    position = exp.Add(this=index.sql, expression=lit(1))
    return call("arrayElementOrNull", target.sql, position)


def _intersect(bitwise: Translator) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        a, b = args
        if result.kind is not Kind.SET:
            return bitwise(ctx, args, result)
        mine, theirs = a.type.element or t.ANY, b.type.element or t.ANY
        if not _same_kind(mine, theirs):
            raise ctx.error(f"Cannot intersect a set of {mine} with a set of {theirs}")
        return lists.intersection(ctx, a.sql, b.sql)

    return translate


def _same_kind(a: LType, b: LType) -> bool:
    """Can values of these types be compared inside the engines' list functions?"""
    if {a.kind, b.kind} & {Kind.ANY, Kind.NULL} or a.kind is b.kind:
        return True
    return a.is_numeric and b.is_numeric


NUMERIC = (sig("num, num -> $num"),)

FUNCTIONS: tuple[FunctionDef, ...] = (
    _comparison("eq", exp.EQ, "=", "Equal"),
    _comparison("ne", exp.NEQ, "!=", "Not equal (also `/=`)"),
    _comparison("lt", exp.LT, "<", "Less than"),
    _comparison("le", exp.LTE, "<=", "Less than or equal"),
    _comparison("gt", exp.GT, ">", "Greater than"),
    _comparison("ge", exp.GTE, ">=", "Greater than or equal"),
    FunctionDef(
        ("and",),
        (sig("bool, bool -> bool"),),
        "Logical and. Infix `and`; in `where`, a comma also means and.",
        "logic",
        both(_binary(exp.And)),
        infix="and",
    ),
    FunctionDef(
        ("or",),
        (sig("bool, bool -> bool"),),
        "Logical or. Infix `or`.",
        "logic",
        both(_binary(exp.Or)),
        infix="or",
    ),
    FunctionDef(
        ("not",),
        (sig("bool -> bool"),),
        "Logical negation. Prefix `not`; false when its argument is null.",
        "logic",
        both(_not),
        infix="not",
    ),
    FunctionDef(
        ("add",),
        (
            sig("num, num -> $num"),
            sig("str, str -> str"),
            sig("timestamp, duration -> timestamp"),
            sig("duration, timestamp -> timestamp"),
            sig("duration, duration -> duration"),
            sig("array, any -> $append"),
        ),
        "Addition; concatenates strings; adds a duration to a timestamp; appends an element to "
        "an array, or concatenates two arrays (an array and a set). Mixed element types make "
        'an array of text: `[1, 2] + "a"` is `["1", "2", "a"]`. Infix `+`.',
        "arithmetic",
        {"duckdb": _add, "clickhouse": _ch_add},
        infix="+",
    ),
    FunctionDef(
        ("sub",),
        (
            sig("num, num -> $num"),
            sig("timestamp, duration -> timestamp"),
            sig("timestamp, timestamp -> duration"),
            sig("duration, duration -> duration"),
            sig("num -> $0"),
            sig("duration -> duration"),
        ),
        "Subtraction; timestamp - duration is a timestamp, timestamp - timestamp a duration. "
        "With one argument, the additive inverse (as `neg`). Infix `-`.",
        "arithmetic",
        {"duckdb": _sub, "clickhouse": _ch_sub},
        infix="-",
    ),
    FunctionDef(
        ("mul",),
        (*NUMERIC, sig("duration, int -> duration"), sig("int, duration -> duration")),
        "Multiplication. Infix `*`.",
        "arithmetic",
        {"duckdb": _binary(exp.Mul), "clickhouse": _ch_arithmetic(exp.Mul)},
        infix="*",
    ),
    FunctionDef(
        ("rdiv",),
        (sig("num, num -> float8"),),
        "Real division (null when dividing by zero). Infix `/`.",
        "arithmetic",
        both(_rdiv),
        infix="/",
    ),
    FunctionDef(
        ("div",),
        (sig("int, int -> $num"), sig("duration, int -> duration"), sig("num, num -> float8")),
        "Integer division for integers (null when dividing by zero), real division otherwise. "
        "Infix `\\`.",
        "arithmetic",
        {"duckdb": _div, "clickhouse": _ch_div},
        infix="\\",
    ),
    FunctionDef(
        ("rem",),
        NUMERIC,
        "Remainder of the division (sign of the dividend); null for an integer remainder by "
        "zero. Infix `%`.",
        "arithmetic",
        both(_rem),
        infix="%",
    ),
    FunctionDef(
        ("mod",),
        NUMERIC,
        "Modulo (sign of the divisor); null for an integer modulo by zero. Infix `%%`.",
        "arithmetic",
        both(_mod),
        infix="%%",
    ),
    FunctionDef(
        ("neg",),
        (sig("num -> $0"), sig("duration -> duration")),
        "Additive inverse. Prefix `-`.",
        "arithmetic",
        both(_neg),
        infix="-",
    ),
    FunctionDef(
        ("band",),
        (sig("int, int -> $num"), sig("set, set -> $0")),
        "Bitwise and; on two sets, their intersection (a set). `|` and `-` apply to integers "
        "only, as Devo documents no set union or difference. Infix `&`.",
        "bitwise",
        {
            "duckdb": _intersect(_binary(exp.BitwiseAnd)),
            "clickhouse": _intersect(_ch_bitwise("bitAnd")),
        },
        infix="&",
    ),
    FunctionDef(
        ("bor",),
        (sig("int, int -> $num"),),
        "Bitwise or. Infix `|`.",
        "bitwise",
        {"duckdb": _binary(exp.BitwiseOr), "clickhouse": _ch_bitwise("bitOr")},
        infix="|",
    ),
    FunctionDef(
        ("bxor",),
        (sig("int, int -> $num"),),
        "Bitwise exclusive or. Infix `^`.",
        "bitwise",
        {"duckdb": same("xor"), "clickhouse": _ch_bitwise("bitXor")},
        infix="^",
    ),
    FunctionDef(
        ("bnot",),
        (sig("int -> $0"),),
        "Bitwise not. Prefix `~`.",
        "bitwise",
        {
            "duckdb": lambda ctx, a, r: exp.BitwiseNot(this=paren(a[0].sql)),
            "clickhouse": _ch_bitwise("bitNot"),
        },
        infix="~",
    ),
    FunctionDef(
        ("lshift",),
        (sig("int, int -> $0"),),
        "Shift left, as Java's: the count modulo the width (64 bits, 32 for an int4), the bits "
        "pushed out dropped. Infix `<<`.",
        "bitwise",
        both(_lshift),
        infix="<<",
    ),
    FunctionDef(
        ("rshift",),
        (sig("int, int -> $0"),),
        "Arithmetic shift right (the sign kept), the count modulo the width. Infix `>>`.",
        "bitwise",
        both(_rshift),
        infix=">>",
    ),
    FunctionDef(
        ("urshift",),
        (sig("int, int -> int8"),),
        "Unsigned shift right of the 64 bits (zeros shifted in: `-8 >>> 60` is 15), the count "
        "modulo 64. Infix `>>>`.",
        "bitwise",
        both(_urshift),
        infix=">>>",
    ),
    FunctionDef(
        ("nvl",),
        (sig("any, any -> $0"),),
        "The first argument, or the second when the first is null. Infix `?:`.",
        "null",
        both(_nvl),
        infix="?:",
    ),
    FunctionDef(
        ("in",),
        (sig("any, any... -> bool"),),
        "Membership of the first arguments in the last: a set or array, a map's keys, a "
        "string, a net4 or net6 range or a subquery. Infix `in` and `<-`; the function form "
        'needs back quotes. A network must be a constant (a literal, `net4("...")`, '
        '`net6("...")` or quoted CIDR text) and what it tests ip4 or ip6 addresses; a type '
        "error otherwise. "
        "Across address families an ip4 is its IPv4-mapped ip6 (`::ffff:a.b.c.d`): "
        '`10.1.2.3 <- net6("::ffff:10.0.0.0/104")` and `ip6("::ffff:10.1.2.3") <- '
        "10.0.0.0/8` hold.",
        "membership",
        both(_in),
        infix="in",
    ),
    FunctionDef(
        ("has",),
        (sig("str, str... -> bool"), sig("coll, any... -> bool"), sig("map, any... -> bool")),
        "Contains any of the values (case-sensitive); on a map, has any of them as a key; a value "
        "of another type than a collection's items is never one of them. Infix `->`.",
        "membership",
        both(_has(True)),
        infix="->",
    ),
    FunctionDef(
        ("weakhas",),
        (sig("str, str... -> bool"), sig("coll, any... -> bool")),
        "Contains any of the values, ignoring case. Infix `->>`.",
        "membership",
        both(_has(False)),
        infix="->>",
    ),
    FunctionDef(
        ("matches",),
        (sig("str, re -> bool"),),
        'Regular-expression match (anywhere in the text). Infix `~`: `s ~ re("^a.*")`.',
        "membership",
        both(_matches),
        infix="~",
    ),
    FunctionDef(
        ("at",),
        (
            sig("coll, int -> elem($0)"),
            sig("map, any -> elem($0)"),
            sig("json, any -> json"),
            sig("str, any -> json"),
            sig("tuple, int -> any"),
        ),
        "Element `n` (0-based) of an array or tuple, the value of key `k` of a map (null when "
        'it has no such key) or of JSON. Postfix `x[n]`, `x["k"]`.',
        "collections",
        {"duckdb": _at, "clickhouse": _ch_at},
    ),
)
