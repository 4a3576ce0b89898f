"""SQL for arrays, sets and maps that each engine spells its own way: DuckDB's ``list_*`` and
``map_*`` functions with ``lambda x: ...``, ClickHouse's ``array*`` and ``map*`` with ``x -> ...``.

The shapes every engine gives alike, relied on by the catalogue and the compiler:

- a set is an array of distinct values, sorted, without null: both engines' own distinct drop
  nulls, and DuckDB's keeps no order, so a set is sorted to be one value on both (and two equal
  sets compare equal as arrays);
- a map has no null key and one entry per key (the last given wins, at the place of its first):
  both engines refuse a null key, DuckDB refuses a repeated one and ClickHouse keeps both.
"""

from __future__ import annotations

from sqlglot import exp

from ..types import Kind, LType
from .base import Context, call, lit, paren
from .helpers import on_clickhouse


def lam(body: exp.Expression, *params: str) -> exp.Expression:
    """A lambda over ``params`` (referenced in ``body`` as ``exp.column(name)``)."""
    return exp.Lambda(this=body, expressions=[exp.to_identifier(p) for p in params])


def ref(name: str) -> exp.Expression:
    return exp.column(name)


def transform(ctx: Context, items: exp.Expression, fn: exp.Expression) -> exp.Expression:
    """``fn`` (a lambda) applied to every item."""
    if on_clickhouse(ctx):
        return call("arrayMap", fn, items)
    return call("list_transform", items, fn)


def keep(ctx: Context, items: exp.Expression, fn: exp.Expression) -> exp.Expression:
    """The items for which ``fn`` (a lambda) is true, in order."""
    if on_clickhouse(ctx):
        return call("arrayFilter", fn, items)
    return call("list_filter", items, fn)


def contains(ctx: Context, items: exp.Expression, value: exp.Expression) -> exp.Expression:
    return call("has" if on_clickhouse(ctx) else "list_contains", items, value)


def size(ctx: Context, items: exp.Expression) -> exp.Expression:
    return call("length" if on_clickhouse(ctx) else "len", items)


def element(ctx: Context, items: exp.Expression, position: exp.Expression) -> exp.Expression:
    """The item at the 1-based ``position`` (negative: from the end); null out of range."""
    return call("arrayElementOrNull" if on_clickhouse(ctx) else "list_extract", items, position)


def never_null(ctx: Context, sql: exp.Expression, ltype: LType) -> exp.Expression:
    """A collection-valued item as ClickHouse gives it on both engines: an empty array or map
    where there is none (ClickHouse has no null array or map)."""
    if on_clickhouse(ctx) or ltype.kind not in (Kind.ARRAY, Kind.SET, Kind.MAP):
        return sql
    empty = call("map") if ltype.kind is Kind.MAP else exp.Array(expressions=[])
    return exp.Coalesce(this=sql, expressions=[empty])


def position_of(ctx: Context, items: exp.Expression, value: exp.Expression) -> exp.Expression:
    """The 1-based position of the first item equal to ``value``; 0 when there is none (DuckDB's
    list_position gives null there)."""
    if on_clickhouse(ctx):
        return call("indexOf", items, value)
    return exp.Coalesce(this=call("list_position", items, value), expressions=[lit(0)])


def reverse(ctx: Context, items: exp.Expression) -> exp.Expression:
    return call("arrayReverse" if on_clickhouse(ctx) else "list_reverse", items)


def concat(ctx: Context, first: exp.Expression, second: exp.Expression) -> exp.Expression:
    return call("arrayConcat" if on_clickhouse(ctx) else "list_concat", first, second)


def sort(ctx: Context, items: exp.Expression, descending: bool = False) -> exp.Expression:
    """Sorted, nulls last either way."""
    if on_clickhouse(ctx):
        return call("arrayReverseSort" if descending else "arraySort", items)
    return call("list_sort", items, lit("DESC" if descending else "ASC"), lit("NULLS LAST"))


def as_set(ctx: Context, items: exp.Expression) -> exp.Expression:
    """The distinct non-null items, sorted: a set."""
    if on_clickhouse(ctx):
        # arrayDistinct keeps a null of a computed item (not of a literal one).
        return call("arraySort", call("arrayDistinct", without_nulls(ctx, items)))
    return call("list_sort", call("list_distinct", items))


def without_nulls(ctx: Context, items: exp.Expression) -> exp.Expression:
    item = "_n"
    return keep(ctx, items, lam(exp.Not(this=exp.Is(this=ref(item), expression=exp.Null())), item))


def intersection(ctx: Context, first: exp.Expression, second: exp.Expression) -> exp.Expression:
    """The items of the set ``first`` also in ``second``: a set again (sorted, distinct)."""
    item = "_i"
    return keep(ctx, first, lam(contains(ctx, second, ref(item)), item))


def indexes(ctx: Context, items: exp.Expression) -> exp.Expression:
    """1, 2, ... n for an array of n items."""
    if on_clickhouse(ctx):
        return call("arrayEnumerate", items)
    return call("range", lit(1), paren(exp.Add(this=size(ctx, items), expression=lit(1))))


# -- maps ------------------------------------------------------------------------------------------


def make_map(ctx: Context, keys: exp.Expression, values: exp.Expression) -> exp.Expression:
    """A map of distinct, non-null keys and their values (two arrays of one length)."""
    return call("mapFromArrays" if on_clickhouse(ctx) else "map", keys, values)


def unique_map(ctx: Context, keys: exp.Expression, values: exp.Expression) -> exp.Expression:
    """A map of keys that may repeat or be null: null keys are left out, and a repeated key
    keeps its first place and its last value."""
    i = "_k"
    at = ref(i)
    key = element(ctx, keys, at)
    first = exp.EQ(this=position_of(ctx, keys, key), expression=at)
    present = exp.Not(this=exp.Is(this=key, expression=exp.Null()))
    kept = keep(ctx, indexes(ctx, keys), lam(exp.And(this=present, expression=first), i))
    last = exp.Sub(
        this=exp.Add(this=size(ctx, keys), expression=lit(1)),
        expression=position_of(ctx, reverse(ctx, keys), element(ctx, keys, at)),
    )
    return make_map(
        ctx,
        transform(ctx, kept, lam(element(ctx, keys, ref(i)), i)),
        transform(ctx, kept, lam(element(ctx, values, last), i)),
    )


def map_get(
    ctx: Context, mapping: exp.Expression, key: exp.Expression, nullable: bool = True
) -> exp.Expression:
    """The value of ``key``; null when the map has no such key. Not ``nullable`` (values that
    are arrays or maps): ClickHouse has no null array, and gives an empty one."""
    if on_clickhouse(ctx):
        # m[k] is the value type's default (0, '', []) for a missing key. (sqlglot would shift
        # a bracket's index by one, as for arrays: arrayElement is the same on a map.)
        value = call("arrayElement", mapping, key)
        if not nullable:
            return value
        return call("if", call("mapContains", mapping, key), value, exp.Null())
    return call("map_extract_value", mapping, key)


def map_keys(ctx: Context, mapping: exp.Expression) -> exp.Expression:
    return call("mapKeys" if on_clickhouse(ctx) else "map_keys", mapping)


def map_values(ctx: Context, mapping: exp.Expression) -> exp.Expression:
    return call("mapValues" if on_clickhouse(ctx) else "map_values", mapping)


def map_size(ctx: Context, mapping: exp.Expression) -> exp.Expression:
    return call("length" if on_clickhouse(ctx) else "cardinality", mapping)


def map_has(ctx: Context, mapping: exp.Expression, key: exp.Expression) -> exp.Expression:
    if on_clickhouse(ctx):
        return call("mapContains", mapping, key)
    return call("map_contains", mapping, key)
