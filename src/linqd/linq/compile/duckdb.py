"""The DuckDB flavour of the compiler (the embedded default engine)."""

from __future__ import annotations

from sqlglot import exp

from ..functions.base import call, lit
from .base import SUBQUERY_ROW_CAP, Compiler

EPOCH = exp.Anonymous(this="epoch_ms", expressions=[exp.Literal.number(0)])
TEXT = exp.DataType.build("VARCHAR", dialect="duckdb")
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
