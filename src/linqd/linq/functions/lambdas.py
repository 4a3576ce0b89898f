"""Lambdas over lists, spelled per engine: DuckDB's ``list_*`` functions take the list first,
ClickHouse's ``array*`` functions the lambda first."""

from __future__ import annotations

from sqlglot import exp

from .base import Context, call, lit
from .helpers import on_clickhouse


def lambda_(body: exp.Expression, *names: str) -> exp.Lambda:
    return exp.Lambda(this=body, expressions=[exp.to_identifier(n) for n in names])


def map_(ctx: Context, body: exp.Expression, name: str, items: exp.Expression) -> exp.Expression:
    """``body`` over each item of ``items``, the item named ``name``."""
    if on_clickhouse(ctx):
        return call("arrayMap", lambda_(body, name), items)
    return call("list_transform", items, lambda_(body, name))


def join(ctx: Context, texts: exp.Expression) -> exp.Expression:
    """A list of texts as one text."""
    return call("arrayStringConcat" if on_clickhouse(ctx) else "array_to_string", texts, lit(""))


def let(ctx: Context, value: exp.Expression, name: str, body: exp.Expression) -> exp.Expression:
    """``body`` with ``value`` bound to ``name``. A lambda over a list reads an outer expression
    anew for every item; a value bound here is computed once per row."""
    if on_clickhouse(ctx):
        return call("arrayElement", map_(ctx, body, name, call("array", value)), lit(1))
    return call("list_extract", map_(ctx, body, name, call("list_value", value)), lit(1))


def pieces(ctx: Context, text: exp.Expression, size: int) -> exp.Expression:
    """``text`` cut into pieces of ``size`` characters (a shorter rest is dropped). A lambda over
    indexes would read the whole text for every piece (ClickHouse copies what a lambda reads from
    outside it for every item): a regular expression cuts it in one pass."""
    pattern = lit(f"(?s).{{{size}}}")
    return call("extractAll" if on_clickhouse(ctx) else "regexp_extract_all", text, pattern)
