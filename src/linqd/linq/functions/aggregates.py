"""Aggregation functions: only in the `select` after a `group`.

Devo distinguishes ``avg`` (nulls count, as zero) from ``nnavg`` (nulls skipped); the same holds
for the deviations and variances. ``first``/``last`` follow eventdate order.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ...columns import SEQ_COLUMN
from ..types import LType
from . import lists
from .base import Arg, Context, FunctionDef, Translator, call, cast, lit, sig
from .helpers import case, on_clickhouse, sql_type

# DuckDB's aggregate names → ClickHouse's.
CLICKHOUSE_AGGREGATES = {
    "avg": "avg",
    "min": "min",
    "max": "max",
    "stddev_pop": "stddevPop",
    "stddev_samp": "stddevSamp",
    "var_pop": "varPop",
    "var_samp": "varSamp",
    "approx_count_distinct": "uniqCombined64",
}


def _agg(name: str, *, nulls_as_zero: bool = False, to: str | None = None) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        sql_args = [a.sql for a in args]
        if nulls_as_zero:
            sql_args[0] = exp.Coalesce(this=sql_args[0], expressions=[lit(0)])
        if not on_clickhouse(ctx):
            out = call(name, *sql_args)
        elif name.endswith("_samp"):
            # ClickHouse's sample deviation of one value is nan, DuckDB's is null.
            enough = exp.GT(this=exp.Count(this=sql_args[0]), expression=lit(1))
            out = case((enough, call(CLICKHOUSE_AGGREGATES[name], *sql_args)))
        elif name == "approx_count_distinct":
            # An estimate of no rows is 0 (not null, as the store's null-for-empty makes it).
            out = exp.Coalesce(
                this=call(CLICKHOUSE_AGGREGATES[name], *sql_args), expressions=[lit(0)]
            )
        else:
            out = call(CLICKHOUSE_AGGREGATES[name], *sql_args)
        return cast(out, to) if to else out

    return translate


def _count(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    return exp.Count(this=args[0].sql if args else exp.Star())


def _sum(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    # DuckDB widens integer sums to HUGEINT; Devo's sum of integers is an int8.
    total = call("sum", args[0].sql)
    return cast(total, "BIGINT" if result.is_integer else "DOUBLE")


def _quantile(fraction: float) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if not on_clickhouse(ctx):
            return call("quantile_disc", args[0].sql, lit(fraction))
        # DuckDB's quantile_disc is the nearest rank: the ceil(fraction * n)-th smallest value,
        # which is quantileExactWeighted's answer with every weight 1 (the smallest value whose
        # running count reaches fraction * n), over distinct values rather than a sorted copy.
        return exp.ParameterizedAgg(
            this="quantileExactWeighted", expressions=[lit(fraction)], params=[args[0].sql, lit(1)]
        )

    return translate


def _percentile(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """The ``n``th percentile, linearly interpolated between the two values around it (the
    R-7 rule, as a spreadsheet's PERCENTILE.INC)."""
    level = args[1].const
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 <= level <= 100:
        raise ctx.error("The percentile of `percentile' must be a constant from 0 to 100")
    fraction = lit(float(level) / 100)
    value = cast(args[0].sql, "DOUBLE")
    if on_clickhouse(ctx):
        return exp.ParameterizedAgg(
            this="quantileExactInclusive", expressions=[fraction], params=[value]
        )
    return call("quantile_cont", value, fraction)


def _ordered(name: str, skip_nulls: bool) -> Translator:
    """first/last by eventdate; without an eventdate (a regrouping) in arrival order."""

    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if on_clickhouse(ctx):
            return _ch_ordered(ctx, name, skip_nulls, args[0].sql)
        time = ctx.time_column()
        value = args[0].sql
        if time is None:
            base = call("first" if name.endswith("min") else "last", value)
        else:
            base = call(name if skip_nulls else f"{name}_null", value, time)
        if skip_nulls:
            return exp.Filter(
                this=base,
                expression=exp.Where(this=exp.Not(this=exp.Is(this=value, expression=exp.Null()))),
            )
        return base

    return translate


def _ch_ordered(ctx: Context, name: str, skip_nulls: bool, value: exp.Expression) -> exp.Expression:
    """ClickHouse's argMin/argMax skip null values: a null is kept inside a one-element tuple
    (written tuple(x): `(x)` is only parentheses).
    Equal eventdates are ordered by arrival (_seq), as DuckDB's scan order does."""
    earliest = name.endswith("min")
    time = ctx.time_column()
    if time is None:
        # Regrouped rows have no eventdate: their order, as DuckDB's first()/last().
        pick = "any" if earliest else "anyLast"
        if skip_nulls:
            return call(pick, value)
        return call("tupleElement", call(pick, call("tuple", value)), lit(1))
    function = "argMin" if earliest else "argMax"
    order = exp.Tuple(expressions=[time, exp.column(SEQ_COLUMN, quoted=True)])
    if skip_nulls:
        present = exp.Not(this=exp.Is(this=value, expression=exp.Null()))
        return call(f"{function}If", value, order, present)
    kept = call(function, call("tuple", value), order)
    return call("tupleElement", kept, lit(1))


def _sum2(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    value = cast(args[0].sql, "DOUBLE")
    return call("sum", exp.Mul(this=value, expression=value))


def _ch_collect(sort: bool, value: exp.Expression) -> exp.Expression:
    # groupArray skips nulls, DuckDB's list() keeps them: a one-element tuple is never null.
    gather = call("groupArray", call("tuple", value))
    element = exp.to_identifier("t")
    first = exp.Lambda(this=call("tupleElement", exp.column("t"), lit(1)), expressions=[element])
    out = call("arrayMap", first, gather)
    return call("arraySort", out) if sort else out


def _collect(distinct: bool, sort: bool = False) -> Translator:
    def translate(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
        if distinct:
            # A set as every set is: distinct, sorted, without null (``lists.as_set``).
            return lists.as_set(ctx, _collect(False)(ctx, args, result))
        if on_clickhouse(ctx):
            return _ch_collect(sort, args[0].sql)
        out = call("list", args[0].sql)
        return call("list_sort", out) if sort else out

    return translate


# Devo's bound on collectcompact's distinct values (spec §11); tests may lower it.
COLLECTCOMPACT_MAX = 100_000
COLLECTCOMPACT_MESSAGE = "Maximum number of elements surpassed for operation `collectcompact`"


def _collectcompact(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    """Each distinct non-null value → its count (a bag), sorted by value; the query fails
    with Devo's message past ``COLLECTCOMPACT_MAX`` distinct values."""
    value = args[0].sql
    over = lit(COLLECTCOMPACT_MAX)
    if on_clickhouse(ctx):
        # sumMap sums the counts by key and sorts the keys; a null value is left out.
        ones = call("map", call("assumeNotNull", value), call("toInt64", lit(1)))
        counts = call("sumMapIf", ones, exp.Not(this=exp.Is(this=value, expression=exp.Null())))
        too_many = exp.GT(this=call("length", counts), expression=over)
        check = call("throwIf", too_many, lit(COLLECTCOMPACT_MESSAGE))
        return call("if", exp.EQ(this=check, expression=lit(0)), counts, counts)
    # histogram() is sorted by value, leaves nulls out, and is null when there is none.
    bag_type = f"MAP({sql_type(args[0].type)}, BIGINT)"
    counts = exp.Coalesce(
        this=cast(call("histogram", value), bag_type), expressions=[cast(call("map"), bag_type)]
    )
    too_many = exp.GT(this=call("cardinality", counts), expression=over)
    return case((too_many, call("error", lit(COLLECTCOMPACT_MESSAGE))), default=counts)


def _sizedistinct(ctx: Context, args: Sequence[Arg], result: LType) -> exp.Expression:
    distinct = exp.Count(this=exp.Distinct(expressions=[args[0].sql]))
    if on_clickhouse(ctx):
        # count(DISTINCT) is uniqExact there, null for no rows under null-for-empty.
        return exp.Coalesce(this=distinct, expressions=[lit(0)])
    return distinct


def _aggregate(
    names: tuple[str, ...], signatures: str | tuple[str, ...], doc: str, translate: Translator
) -> FunctionDef:
    sigs = (signatures,) if isinstance(signatures, str) else signatures
    return FunctionDef(
        names,
        tuple(sig(s) for s in sigs),
        doc,
        "aggregation",
        {"duckdb": translate, "clickhouse": translate},
        aggregate=True,
    )


_PERCENTILES = tuple(
    _aggregate(
        (f"percentile{n}",),
        "num -> $0",
        f"The {n}th percentile (a value of the group, no interpolation).",
        _quantile(n / 100),
    )
    for n in (5, 10, 25, 75, 90, 95)
)

FUNCTIONS: tuple[FunctionDef, ...] = (
    _aggregate(
        ("count",),
        ("-> int8", "any -> int8"),
        "Number of rows; with an argument, of rows where it is not null.",
        _count,
    ),
    _aggregate(("sum",), "num -> $num", "Sum of the values (nulls ignored).", _sum),
    _aggregate(
        ("avg",),
        "num -> float8",
        "Average, counting nulls as zero.",
        _agg("avg", nulls_as_zero=True),
    ),
    _aggregate(("nnavg",), "num -> float8", "Average of the non-null values.", _agg("avg")),
    _aggregate(("min",), "any -> $0", "Smallest value.", _agg("min")),
    _aggregate(("max",), "any -> $0", "Largest value.", _agg("max")),
    _aggregate(
        ("first",),
        "any -> $0",
        "Value of the earliest event (may be null).",
        _ordered("arg_min", False),
    ),
    _aggregate(
        ("last",),
        "any -> $0",
        "Value of the latest event (may be null).",
        _ordered("arg_max", False),
    ),
    _aggregate(("nnfirst",), "any -> $0", "Earliest non-null value.", _ordered("arg_min", True)),
    _aggregate(("nnlast",), "any -> $0", "Latest non-null value.", _ordered("arg_max", True)),
    _aggregate(
        ("median",), "num -> $0", "Median (50th percentile, a value of the group).", _quantile(0.5)
    ),
    *_PERCENTILES,
    _aggregate(
        ("percentile",),
        "num, num -> float8",
        "The `n`th percentile (`percentile(f, 90)`, `n` a constant from 0 to 100), linearly "
        "interpolated between the two values around it, as a spreadsheet's PERCENTILE.INC.",
        _percentile,
    ),
    _aggregate(
        ("stddev",),
        "num -> float8",
        "Standard deviation (biased), nulls as zero.",
        _agg("stddev_pop", nulls_as_zero=True),
    ),
    _aggregate(
        ("ustddev",),
        "num -> float8",
        "Standard deviation (unbiased), nulls as zero.",
        _agg("stddev_samp", nulls_as_zero=True),
    ),
    _aggregate(
        ("nnstddev",),
        "num -> float8",
        "Standard deviation (biased) of non-null values.",
        _agg("stddev_pop"),
    ),
    _aggregate(
        ("nnustddev",),
        "num -> float8",
        "Standard deviation (unbiased) of non-null values.",
        _agg("stddev_samp"),
    ),
    _aggregate(
        ("var",),
        "num -> float8",
        "Variance (biased), nulls as zero.",
        _agg("var_pop", nulls_as_zero=True),
    ),
    _aggregate(
        ("uvar",),
        "num -> float8",
        "Variance (unbiased), nulls as zero.",
        _agg("var_samp", nulls_as_zero=True),
    ),
    _aggregate(
        ("nnvar",), "num -> float8", "Variance (biased) of non-null values.", _agg("var_pop")
    ),
    _aggregate(
        ("nnuvar",), "num -> float8", "Variance (unbiased) of non-null values.", _agg("var_samp")
    ),
    _aggregate(("sum2",), "num -> float8", "Sum of the squares.", _sum2),
    _aggregate(
        ("hllppcount",),
        "any -> float8",
        "Estimated number of distinct values (HyperLogLog).",
        _agg("approx_count_distinct", to="DOUBLE"),
    ),
    _aggregate(
        ("sizedistinct",),
        "any -> int8",
        "Exact number of distinct non-null values.",
        _sizedistinct,
    ),
    _aggregate(("collect",), "any -> array($0)", "All values, as an array.", _collect(False)),
    _aggregate(
        ("collectcompact",),
        "any -> bag($0)",
        "Each distinct non-null value with how many times it occurs: a bag, i.e. a map "
        "value → count sorted by value (empty when there is none). More than 100,000 distinct "
        "values make the query fail with Devo's message `Maximum number of elements surpassed "
        "for operation `collectcompact``.",
        _collectcompact,
    ),
    _aggregate(
        ("collectdistinct",),
        "any -> set($0)",
        "The distinct non-null values, as a set (sorted).",
        _collect(True),
    ),
    _aggregate(
        ("collectsorted",), "any -> array($0)", "All values, sorted.", _collect(False, sort=True)
    ),
)
