"""The DuckDB flavour of the compiler (the embedded default engine)."""

from __future__ import annotations

from sqlglot import exp

from ..functions.base import call, lit
from ..ir import Plan
from .base import SUBQUERY_ROW_CAP, Compiler

EPOCH = exp.Anonymous(this="epoch_ms", expressions=[exp.Literal.number(0)])
CAP_MESSAGE = (
    "Exceeded limits while computing data for subproblem: max value for size is "
    f"{SUBQUERY_ROW_CAP} but reached "
)


class DuckDBCompiler(Compiler):
    engine = "duckdb"
    dialect = "duckdb"

    def time_bucket_sql(self, period_ms: int) -> exp.Expression:
        width = call("to_milliseconds", lit(period_ms))
        return call("time_bucket", width, exp.column("eventdate", quoted=True), EPOCH)

    def capped_subquery(self, plan: Plan, width: int) -> exp.Select:
        # DuckDB's error() aborts the whole query from inside the plan, so the cap costs one
        # window count over the (small) subquery result instead of a second execution.
        inner = self.subquery_select(plan)
        alias = self._alias()
        names = [c.name for c in plan.columns][-width:]
        size = exp.column("_n", table=alias, quoted=True)
        counted = (
            exp.Select()
            .select(
                *(exp.column(n, quoted=True) for n in names),
                exp.alias_(
                    exp.Window(this=exp.Count(this=exp.Star())),
                    exp.to_identifier("_n", quoted=True),
                ),
                copy=False,
            )
            .from_(
                exp.Subquery(
                    this=inner, alias=exp.TableAlias(this=exp.to_identifier(self._alias()))
                ),
                copy=False,
            )
        )
        checked = []
        for i, name in enumerate(names):
            value: exp.Expression = exp.column(name, table=alias, quoted=True)
            if i == 0:
                failure = call(
                    "error", exp.DPipe(this=lit(CAP_MESSAGE), expression=exp.cast(size, "VARCHAR"))
                )
                value = exp.Case(
                    ifs=[exp.If(this=exp.GT(this=size, expression=lit(SUBQUERY_ROW_CAP)),
                                true=failure)],
                    default=value,
                )  # fmt: skip
            checked.append(exp.alias_(value, exp.to_identifier(name, quoted=True)))
        return (
            exp.Select()
            .select(*checked, copy=False)
            .from_(
                exp.Subquery(this=counted, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                copy=False,
            )
        )
