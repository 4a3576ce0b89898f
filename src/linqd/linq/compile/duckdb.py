"""The DuckDB flavour of the compiler (the embedded default engine)."""

from __future__ import annotations

from sqlglot import exp

from ..functions.base import Arg, call, lit
from ..ir import Plan, TCall
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

    def translate_call(self, expr: TCall, args: list[Arg]) -> exp.Expression:
        sql = super().translate_call(expr, args)
        if not any(_holds_subquery(lam) for lam in sql.find_all(exp.Lambda)):
            return sql
        # DuckDB refuses a subquery inside a lambda ("subqueries in lambda expressions"), which
        # a lookup argument (`osa(uabrowser(userAgent), "x")`) puts there: the arguments become
        # the columns of a one-row table, and the lambdas read those instead.
        row = self._alias()
        bound: list[Arg] = []
        values = exp.Select()
        for i, arg in enumerate(args):
            if arg.is_const:
                bound.append(arg)  # a constant stays a literal: translators may need one
                continue
            name = f"_b{i}"
            values = values.select(exp.alias_(arg.sql, name), copy=False)
            bound.append(Arg(exp.column(name, table=row), arg.type, arg.const))
        table = exp.Subquery(this=values, alias=exp.TableAlias(this=exp.to_identifier(row)))
        inner = exp.Select().select(super().translate_call(expr, bound), copy=False)
        inner = inner.from_(table, copy=False)
        return exp.Subquery(this=inner)

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


def _holds_subquery(node: exp.Expression) -> bool:
    return node.find(exp.Select) is not None


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
