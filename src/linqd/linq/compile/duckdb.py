"""The DuckDB flavour of the compiler (the embedded default engine)."""

from __future__ import annotations

from sqlglot import exp

from ..functions.base import call, lit
from ..ir import Plan
from .base import SUBQUERY_ROW_CAP, Compiler

EPOCH = exp.Anonymous(this="epoch_ms", expressions=[exp.Literal.number(0)])
TEXT = exp.DataType.build("VARCHAR", dialect="duckdb")
CAP_MESSAGE = (
    "Exceeded limits while computing data for subproblem: max value for size is "
    f"{SUBQUERY_ROW_CAP} but reached "
)


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.In)


class DuckDBCompiler(Compiler):
    engine = "duckdb"
    dialect = "duckdb"

    def compile(self, plan: Plan) -> exp.Select:
        select = super().compile(plan)
        select.transform(_shield_case_operands, copy=False)
        return select

    def time_bucket_sql(self, period_ms: int) -> exp.Expression:
        width = call("to_milliseconds", lit(period_ms))
        return call("time_bucket", width, exp.column("eventdate", quoted=True), EPOCH)

    def text_sql(self, sql: exp.Expression) -> exp.Expression:
        # Built once: parsing a type name for each of a large union's columns is most of its
        # compilation time.
        return exp.Cast(this=sql, to=TEXT.copy())

    def joined_text_sql(self, texts: list[exp.Expression]) -> exp.Expression:
        return call("concat_ws", lit(" "), *texts)

    def cap_check(
        self, columns: list[exp.Expression], size: exp.Expression
    ) -> tuple[list[exp.Expression], exp.Expression | None]:
        # DuckDB's error() aborts the whole query from inside the plan.
        failure = call(
            "error", exp.DPipe(this=lit(CAP_MESSAGE), expression=exp.cast(size, "VARCHAR"))
        )
        over = exp.GT(this=size.copy(), expression=lit(SUBQUERY_ROW_CAP))
        first = exp.Case(ifs=[exp.If(this=over, true=failure)], default=columns[0])
        return [first, *columns[1:]], None


def _shield_case_operands(node: exp.Expression) -> exp.Expression:
    """DuckDB 2.0 fails to bind a comparison of a constant with a CASE whose branches all
    differ from it and that has no match ("BindBuiltinScalarFunction did not return a
    BoundFunctionExpression": ``(CASE x WHEN 1 THEN 'a' WHEN 2 THEN 'a' END) = 'abc'``), as its
    optimizer folds the comparison into the branches. ``greatest`` of one value is that value,
    and keeps the optimizer from folding."""
    if isinstance(node, _COMPARISONS):
        for key in ("this", "expression"):
            operand = node.args.get(key)
            inner = operand.unnest() if isinstance(operand, exp.Expression) else None
            if isinstance(inner, exp.Case):
                node.set(key, call("greatest", inner))
    return node
