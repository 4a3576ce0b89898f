"""Each result row's place in the store, carried beside the query's own columns.

Query jobs page plain row queries by (event time, append sequence) and alert rules identify an
event alert by its sequence number; both need those two values for every result row without
adding them to the row the user sees. ``with_hidden`` adds them to a plan as extra outputs under
names no LINQ column can take (``__linqd_ts``, ``__linqd_seq``); the result columns stay the
query's own. The names are a convention between the plan and the code that reads its rows (the
event time in epoch ms ``AS ts``), which is why they live here, beside both readers, and not in
the compiler: the compiler only carries the outputs through.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from .columns import EVENTDATE, SEQ_COLUMN
from .linq import types as t
from .linq.compile import line_dialect
from .linq.ir import Output, Plan, TColumn

HIDDEN_TS = "__linqd_ts"
HIDDEN_SEQ = "__linqd_seq"


def with_hidden(plan: Plan) -> Plan:
    """The plan with the event's time and append sequence as extra (hidden) outputs."""
    hidden = (
        Output(HIDDEN_TS, TColumn(EVENTDATE, t.TIMESTAMP)),
        Output(HIDDEN_SEQ, TColumn(SEQ_COLUMN, t.INT8)),
    )
    return replace(plan, stage=replace(plan.stage, outputs=plan.stage.outputs + hidden))


def hidden_columns(engine: str, table: str | None = None) -> tuple[exp.Expr, exp.Expr]:
    """``<epoch ms of __linqd_ts> AS ts, __linqd_seq AS seq``: the hidden outputs as a reader of
    the rows selects them on ``engine`` (``table``: the alias of the query they come from, if
    any)."""
    stamp = exp.column(HIDDEN_TS, table=table, quoted=True)
    return (
        exp.alias_(line_dialect(engine).epoch_ms(stamp), "ts"),
        exp.alias_(exp.column(HIDDEN_SEQ, table=table, quoted=True), "seq"),
    )
