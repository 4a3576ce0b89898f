"""The ClickHouse flavour of the compiler.

The store runs every query with ``CLICKHOUSE_SETTINGS``: ClickHouse resolves a SELECT alias
anywhere in its query, so ``toStartOfInterval(eventdate, ...) AS eventdate`` would otherwise
replace the column that WHERE and GROUP BY read. Outputs are cast to the types DuckDB gives, so
both engines hand back the same Arrow types (ClickHouse's own would be UInt8 for a comparison,
UInt64 for a count, IPv4 for an address)."""

from __future__ import annotations

from sqlglot import exp

from ..functions.base import call, cast, lit
from ..functions.helpers import any_of, ch_type, from_epoch_ms
from ..ir import TBucket, TCall, TColumn, TExpr, TLookup
from ..limits import MAX_SQL_NODES
from ..types import Kind, LType
from .base import SUBQUERY_ROW_CAP, Compiler
from .duckdb import CAP_MESSAGE

CLICKHOUSE_SETTINGS: dict[str, str | int] = {
    # Names read in WHERE, GROUP BY and expressions are the source's columns, never an output
    # alias of the same name (the bucket `... AS eventdate` of a grouping).
    "prefer_column_name_to_alias": 1,
    # ORDER BY 1, 2: grouped rows come in the order of their output positions.
    "enable_positional_arguments": 1,
    # if() evaluates only the branch it takes: the subquery cap fails only past the cap.
    "short_circuit_function_evaluation": "enable",
    # sum(), avg(), min() ... of no rows are null, as in DuckDB (a bare `group` of nothing).
    "aggregate_functions_null_for_empty": 1,
    # Lookups `(from T group by k, v)[key]` are correlated scalar subqueries.
    "allow_experimental_correlated_subqueries": 1,
    # Text comes back as Arrow strings, not binary.
    "output_format_arrow_string_as_string": 1,
    # The SQL text ClickHouse parses (256 KiB by default): a user agent function carries
    # uap-core's rules, 20-160 KiB of SQL each; the compiler's own budget bounds the rest.
    "max_query_size": 16 * 1024 * 1024,
    # Likewise its syntax tree (50,000 nodes by default), as large as the compiler's budget.
    "max_ast_elements": MAX_SQL_NODES,
    "max_expanded_ast_elements": MAX_SQL_NODES,
}

# ClickHouse has one String type for text and bytes, and Arrow strings are UTF-8: a `bytes` or
# `dc` result column leaves the query as a one-field named tuple, an Arrow struct of this one
# field, which the store turns into Arrow binary (what DuckDB's BLOB is).
BINARY_FIELD = "linqd_bytes"
BINARY_TUPLE = f"Tuple({BINARY_FIELD} Nullable(String))"


TEXT = exp.DataType.build("Nullable(String)", dialect="clickhouse")


class ClickHouseCompiler(Compiler):
    engine = "clickhouse"
    dialect = "clickhouse"

    def result_sql(self, expr: TExpr) -> exp.Expression:
        sql = super().result_sql(expr)
        if not expr.type.is_binary:
            return sql
        tuple_type = exp.DataType.build(BINARY_TUPLE, dialect=self.dialect)
        return exp.Cast(this=call("tuple", sql), to=tuple_type)

    def timestamp_sql(self, ms: int) -> exp.Expression:
        return from_epoch_ms(self, lit(ms))

    def null_sql(self, ltype: LType) -> exp.Expression:
        to = ch_type(ltype)
        return exp.Null() if to is None else exp.Cast(this=exp.Null(), to=to)

    def time_bucket_sql(self, period_ms: int) -> exp.Expression:
        # Millisecond intervals are aligned to the epoch, as DuckDB's time_bucket from epoch 0,
        # and floor times before 1970 as it does. ClickHouse's second-and-coarser intervals
        # would be faster, but they clamp those times to the epoch (DateTime is unsigned).
        interval = call("toIntervalMillisecond", lit(period_ms))
        return call("toStartOfInterval", exp.column("eventdate", quoted=True), interval)

    def column_sql(self, expr: TColumn) -> exp.Expression:
        column = super().column_sql(expr)
        # ip4 is stored as IPv4; expressions work on its number, as on DuckDB's UINTEGER.
        return cast(column, "UINTEGER") if expr.type.kind is Kind.IP4 else column

    def output_sql(self, expr: TExpr) -> exp.Expression:
        sql = self.expr_sql(expr)
        if isinstance(expr, TColumn | TBucket):
            return sql  # already of its storage type (a bucket: eventdate's, never null)
        if isinstance(expr, TCall) and expr.fn.name == "count":
            # Never null: a Nullable type would only cost (ClickHouse counts as UInt64).
            return exp.Cast(this=sql, to=exp.DataType.build("Int64", dialect=self.dialect))
        to = ch_type(expr.type)
        if to is None or (
            isinstance(sql, exp.Cast) and sql.to.sql(self.dialect) == to.sql(self.dialect)
        ):
            return sql
        return exp.Cast(this=sql, to=to)

    def text_sql(self, sql: exp.Expression) -> exp.Expression:
        return exp.Cast(this=sql, to=TEXT.copy())

    def joined_text_sql(self, texts: list[exp.Expression]) -> exp.Expression:
        # concatWithSeparator is null as soon as one text is: keep only those that are not.
        element = exp.to_identifier("x")
        present = exp.Lambda(this=call("isNotNull", exp.column("x")), expressions=[element])
        kept = call("arrayFilter", present, exp.Array(expressions=texts))
        return call("arrayStringConcat", kept, lit(" "))

    def pick_sql(self, value: exp.Expression) -> exp.Expression:
        return call("anyOrNull", value)

    def lookup_sql(self, expr: TLookup) -> exp.Expression:
        # ClickHouse cannot correlate a subquery with columns its outer query does not select,
        # so the lookup is a constant: the subquery's rows as two arrays (keys, values), read
        # once as a scalar subquery named by an alias, and the value at the key's position.
        # Tuples keep null values in the arrays; a null key matches nothing, as with `=`.
        keys = [self.expr_sql(key) for key in expr.keys]
        names = [c.name for c in expr.plan.columns]
        inner = self.capped_subquery(expr.plan, len(names))
        rows = self._alias()
        columns = [exp.column(name, table=rows, quoted=True) for name in names]
        arrays = exp.Select().select(
            call(
                "tuple",
                call("groupArray", call("tuple", *columns[: len(keys)])),
                call("groupArray", call("tuple", columns[-1])),
            ),
            copy=False,
        )
        arrays = arrays.from_(
            exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(rows))),
            copy=False,
        )
        table = self._alias()
        named = exp.Alias(this=exp.Subquery(this=arrays), alias=exp.to_identifier(table))
        position = call("indexOf", call("tupleElement", named, lit(1)), call("tuple", *keys))
        values = call("tupleElement", exp.column(table), lit(2))
        found = call("tupleElement", call("arrayElementOrNull", values, position), lit(1))
        missing: list[exp.Expression] = [
            exp.Is(this=key.copy(), expression=exp.Null()) for key in keys
        ]
        return exp.Case(ifs=[exp.If(this=any_of(missing), true=exp.Null())], default=found)

    def cap_check(
        self, columns: list[exp.Expression], size: exp.Expression
    ) -> tuple[list[exp.Expression], exp.Expression | None]:
        # throwIf() takes a constant message only; reading the message text as a number fails
        # with an error that quotes it, row count included, and if() reads it only past the cap.
        failure = call("toUInt8", call("concat", lit(CAP_MESSAGE), call("toString", size)))
        over = exp.GT(this=size.copy(), expression=lit(SUBQUERY_ROW_CAP))
        return columns, exp.EQ(this=call("if", over, failure, lit(0)), expression=lit(0))
