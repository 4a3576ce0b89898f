"""Arrays, sets, tuples, maps and bags: constructors, conversions, access by position or key,
sorting, searching, and the higher-order ``map`` and ``filter``.

Representations (``lists.py`` has the engine SQL): a set is a sorted array of distinct non-null
values; a map has distinct non-null keys, in the order they were given; a bag (Devo's multiset)
is a map from each distinct non-null element to how many times it occurs, sorted by element, so
its type is ``map(T,int8)`` and it is indexed, listed and encoded as any map.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from .. import types as t
from ..types import Kind, LType
from . import lists
from .base import Arg, Context, FunctionDef, Translator, both, call, lit, sig
from .conversion import text_of
from .helpers import case, const_bool, const_text, on_clickhouse, plus


def _of_collection(translate: Translator) -> Translator:
    """A function of a collection, null for an untyped null (`at0([], 0)`, `null`): ClickHouse's
    array functions refuse a value that is not an array."""

    def guarded(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if args[0].type.kind in (Kind.NULL, Kind.ANY):
            return exp.Null()
        return translate(ctx, args, result)

    return guarded


def _mkarray(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Array(expressions=[a.sql for a in args])


def _mkset(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return lists.as_set(ctx, _mkarray(ctx, args, result))


def _mktuple(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Tuple(expressions=[a.sql for a in args])


def _mkmap(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    keys = exp.Array(expressions=[a.sql for a in args[0::2]])
    return lists.unique_map(ctx, keys, exp.Array(expressions=[a.sql for a in args[1::2]]))


def _array(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return args[0].sql  # a set is already an array of its values


def _set(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if args[0].type.kind is Kind.SET:
        return args[0].sql
    return lists.as_set(ctx, args[0].sql)


def _keys(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return lists.map_keys(ctx, args[0].sql)


def _values(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return lists.map_values(ctx, args[0].sql)


def _index(ctx: Context, index: Arg, base: int) -> exp.Expression:
    """The 1-based position of a ``base``-based index from the start; only indexes from
    ``base`` up name an element (the engines would read a negative one from the end)."""
    position = plus(index.sql, 1 - base) if base != 1 else index.sql
    return case((exp.GTE(this=index.sql, expression=lit(base)), position))


def _at(base: int) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        items, index = args
        return lists.never_null(
            ctx, lists.element(ctx, items.sql, _index(ctx, index, base)), result
        )

    return translate


def _atend(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    items, index = args
    # 0 is the last element: position -1 counts from the end on both engines.
    from_end = exp.Neg(this=plus(index.sql, 1))
    position = case((exp.GTE(this=index.sql, expression=lit(0)), from_end))
    return lists.never_null(ctx, lists.element(ctx, items.sql, position), result)


def _sort(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    ascending = const_bool(ctx, args[1], "sort", "order") if len(args) > 1 else True
    return lists.sort(ctx, args[0].sql, descending=not ascending)


def _comparable_needle(ctx: Context, items: Arg, needle: Arg, function: str) -> None:
    element = items.type.element or t.ANY
    kinds = {element.kind, needle.type.kind}
    if kinds & {Kind.ANY, Kind.NULL} or element.kind is needle.type.kind:
        return
    if element.is_numeric and needle.type.is_numeric:
        return
    raise ctx.error(f"`{function}' looks for a {needle.type} in an array of {element}")


def _indexof(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    items, needle = args
    _comparable_needle(ctx, items, needle, "indexof")
    found = exp.Sub(this=lists.position_of(ctx, items.sql, needle.sql), expression=lit(1))
    return exp.Cast(this=exp.Paren(this=found), to=exp.DataType.build("INTEGER"))


def _dropnulls(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    if args[0].type.kind is Kind.SET:
        return args[0].sql  # a set holds no null
    return lists.without_nulls(ctx, args[0].sql)


def _join(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    items = args[0]
    # ClickHouse joins with a constant separator only.
    text = const_text(ctx, args[1], "join", "separator") if len(args) > 1 else DEFAULT_SEPARATOR
    separator = lit(text)
    element = items.type.element or t.ANY
    texts = items.sql
    if element.kind not in (Kind.STR, Kind.ANY, Kind.NULL):
        name = "_j"
        each = text_of(ctx, Arg(lists.ref(name), element))
        texts = lists.transform(ctx, items.sql, lists.lam(each, name))
    if on_clickhouse(ctx):
        return call("arrayStringConcat", texts, separator)
    return call("array_to_string", texts, separator)


DEFAULT_SEPARATOR = ","


def bag_of(ctx: Context, items: exp.Expression) -> exp.Expression:
    """The bag of an array's items: each distinct non-null item → its count, sorted."""
    distinct = lists.as_set(ctx, items)
    key = "_b"
    if on_clickhouse(ctx):
        count = call("toInt64", call("countEqual", items, lists.ref(key)))
    else:
        inner = "_c"
        same = exp.EQ(this=lists.ref(inner), expression=lists.ref(key))
        matching = lists.keep(ctx, items, lists.lam(same, inner))
        count = exp.Cast(this=lists.size(ctx, matching), to=exp.DataType.build("BIGINT"))
    return lists.make_map(ctx, distinct, lists.transform(ctx, distinct, lists.lam(count, key)))


def _bag(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return bag_of(ctx, args[0].sql)


def _map(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return lists.transform(ctx, args[0].sql, args[1].sql)


def _filter(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return lists.keep(ctx, args[0].sql, args[1].sql)


# The analyzer types the constructors' arguments as it types literals (``analyzer.CONSTRUCTORS``)
# and builds the same values; the translations here build them from arguments typed already.
FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(
        ("mkarray",),
        (sig("any... -> array"),),
        "An array of the arguments, typed as an array literal `[a, b]` is (numbers widen, "
        "quoted values read as the others' type).",
        "collections",
        both(_mkarray),
    ),
    FunctionDef(
        ("mkset",),
        (sig("any... -> set"),),
        "A set of the arguments, as a set literal `{a, b}`: distinct values, sorted, without "
        "null (`length(mkset(1, 20, 20))` is 2).",
        "collections",
        both(_mkset),
    ),
    FunctionDef(
        ("mktuple",),
        (sig("any... -> tuple"),),
        "A tuple of the arguments, each keeping its own type, as `(a, b)`.",
        "collections",
        both(_mktuple),
    ),
    FunctionDef(
        ("mkmap",),
        (sig("any... -> map"),),
        'A map of keys and values in pairs, as the literal `{"a": 1, "b": 2}`: keys of one '
        "type, values of one type; a null key is left out, and a repeated key keeps its first "
        "place and its last value.",
        "collections",
        both(_mkmap),
    ),
    FunctionDef(
        ("array",),
        (sig("coll -> array(elem($0))"),),
        "The values of a set (or an array) as an array.",
        "collections",
        both(_of_collection(_array)),
    ),
    FunctionDef(
        ("set",),
        (sig("coll -> set(elem($0))"),),
        "The distinct non-null values of an array, sorted: a set.",
        "collections",
        both(_of_collection(_set)),
    ),
    FunctionDef(
        ("keys",),
        (sig("map -> array(key($0))"),),
        "The keys of a map (or the elements of a bag), in the map's order.",
        "collections",
        both(_of_collection(_keys)),
    ),
    FunctionDef(
        ("values",),
        (sig("map -> array(elem($0))"),),
        "The values of a map (or the counts of a bag), in the map's order.",
        "collections",
        both(_of_collection(_values)),
    ),
    FunctionDef(
        ("at0",),
        (sig("coll, int -> elem($0)"),),
        "Element `n` counted from 0; null past the end or for a negative `n`. Same as `at` and "
        "`x[n]`.",
        "collections",
        both(_of_collection(_at(0))),
    ),
    FunctionDef(
        ("at1",),
        (sig("coll, int -> elem($0)"),),
        "Element `n` counted from 1; null past the end or for `n` below 1.",
        "collections",
        both(_of_collection(_at(1))),
    ),
    FunctionDef(
        ("atend",),
        (sig("coll, int -> elem($0)"),),
        "Element `n` counted from the end from 0: `atend(a, 0)` is the last one; null past the "
        "start or for a negative `n`.",
        "collections",
        both(_of_collection(_atend)),
    ),
    FunctionDef(
        ("sort",),
        (sig("coll, bool? -> array(elem($0))"),),
        "The elements sorted, ascending unless the second argument is false; nulls last "
        "either way.",
        "collections",
        both(_of_collection(_sort)),
    ),
    FunctionDef(
        ("indexof",),
        (sig("coll, any -> int4"),),
        "The 0-based position of the first element equal to the value; -1 when there is none "
        "(as Java's `indexOf`). A null value finds the first null element.",
        "collections",
        both(_of_collection(_indexof)),
    ),
    FunctionDef(
        ("dropnulls",),
        (sig("array -> $0"), sig("set -> $0")),
        "The elements that are not null, in order.",
        "collections",
        both(_of_collection(_dropnulls)),
    ),
    FunctionDef(
        ("bag",),
        (sig("coll -> bag(elem($0))"), sig("any... -> bag($0)")),
        "A bag (multiset) of an array's elements, or of the arguments: a map from each "
        "distinct non-null element to how many times it occurs, sorted by element "
        "(`bag(1, 2, 2)` is `{1: 1, 2: 2}`). Index it (`b[2]` is 2), take its `keys` and "
        "`values`, as a map.",
        "collections",
        both(_of_collection(_bag)),
    ),
    FunctionDef(
        ("join",),
        (sig("coll, str? -> str"),),
        "The elements as text (as `str` writes them) joined by the separator, "
        f'`"{DEFAULT_SEPARATOR}"` when none is given (a constant); null elements are left out.',
        "collections",
        both(_of_collection(_join)),
    ),
    FunctionDef(
        ("map",),
        (sig("coll, str -> array"),),
        "The array of an expression applied to every element: `map(a, '_ * 2')`. The string is "
        "a LINQ expression where `_` is the element (the row's columns are visible too).",
        "collections",
        both(_of_collection(_map)),
    ),
    FunctionDef(
        ("filter",),
        (sig("coll, str -> $0"),),
        "The elements for which a bool expression holds, in order: `filter(a, '_ > 2')` (`_` "
        "is the element, as in `map`).",
        "collections",
        both(_of_collection(_filter)),
    ),
)
