"""How a definition is evaluated: its query compiled once, the kind of steps it takes (new
events, or periods closing), their length, and the SQL that gives a step's rows.

- ``each`` without any grouping and without a subquery follows the store's appends: every
  stored event that matches is an alert, as soon as it is stored.
- Everything else steps through periods aligned to UTC epoch multiples: the query's own
  ``group every`` period (each, deviation, gradient), the trigger's ``period`` (several, low,
  inactivity, rolling), or one minute (each with a subquery; Devo's minimum with subqueries).
  A step ending at ``e`` reads the main query over ``[e - length - externalOffset, e -
  externalOffset)`` (``length`` is ``backPeriod`` for rolling) and subqueries over ``[e -
  internalOffset - internalPeriod, e - internalOffset)``. With a temporal grouping the main range
  is one whole bucket, so the shifted end is rounded down to the bucket size.
- ``withSelectAll`` (true unless a definition says false) runs an ``each`` or ``rolling`` query
  as if it ended with ``select *``: its alerts' fields are every column of the table beside the
  ones the query creates, as Devo's "all the columns will be shown". With false they are the
  columns the query selects (all of them when it has no ``select``, or ``select *``). A query
  that groups shows its keys, bucket and aggregations either way, as do the counting kinds
  (several, low, inactivity) their keys and counts.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sqlglot import exp

from ..columns import CLIENT_COLUMN, SEQ_COLUMN
from ..hidden_outputs import HIDDEN_TS, hidden_columns, with_hidden
from ..linq import Bounds, compile_linq, compile_plan
from ..linq.analyzer import SchemaLookup
from ..linq.compile import line_dialect
from ..linq.ir import Plan, stages, subplans
from ..query.lines import line_expression, line_select
from ..query.modes import EncodeOptions, Mode
from ..store.base import EventStore, Statement
from .kinds import Shape, Step
from .kinds.base import EVENTDATE, SEQ
from .model import AlertDefinition, TriggerKind

MINUTE = 60_000
_OPTIONS = EncodeOptions(ip_as_string=True)
# The sequence window of an event step, bound when the query runs: lo < _seq <= hi.
LO, HI = "lo", "hi"


def window_params(seq: int, upto: int) -> dict[str, int]:
    return {LO: seq, HI: upto}


@dataclass(frozen=True)
class ScanParts:
    """A rule's query as one filter over its table. ``source`` and ``projection`` are their SQL
    text (printed in sqlglot's own dialect) only as keys: rules whose keys agree can share one
    scan."""

    source: str  # FROM "<table>" AS <alias>
    projection: tuple[str, ...]  # the SELECT list, hidden outputs included
    select: exp.Select = field(compare=False)  # the query, its WHERE the rule's own filter

    @property
    def condition(self) -> exp.Expression:
        """The rule's own filter (no time, domain or window bounds)."""
        where = self.select.args.get("where")
        return where.this if where is not None else exp.true()


class StepKind(Enum):
    EVENTS = "events"
    PERIODS = "periods"


class RowForm(Enum):
    ROWS = "rows"  # every result row
    COUNTS = "counts"  # count per key (several), or in all (low)
    LAST_SEEN = "last_seen"  # latest event time per key (inactivity)


@dataclass(frozen=True)
class Program:
    definition: AlertDefinition
    plan: Plan
    steps: StepKind
    period_ms: int  # step length (PERIODS); 0 for EVENTS
    shape: Shape
    form: RowForm
    aligned: bool  # the main range must be whole buckets of the query's grouping
    hidden: bool  # the plan carries the hidden eventdate and sequence outputs
    engine: str  # whose compiler builds its queries

    @property
    def kind(self) -> TriggerKind:
        return self.definition.spec.trigger.kind

    # -- ranges ----------------------------------------------------------------------------------

    def first_end(self, now_ms: int) -> int:
        """The end of the first period to evaluate when evaluation starts at ``now_ms``: the
        period that holds ``now_ms``."""
        return (now_ms // self.period_ms + 1) * self.period_ms

    def main_range(self, end_ms: int) -> tuple[int, int]:
        trigger = self.definition.spec.trigger
        offset = trigger.external_offset or 0
        length = trigger.back_period if self.kind is TriggerKind.ROLLING else self.period_ms
        high = end_ms - offset
        if self.aligned:
            high = high // self.period_ms * self.period_ms
        return high - (length or self.period_ms), high

    def sub_range(self, end_ms: int) -> tuple[int, int] | None:
        trigger = self.definition.spec.trigger
        if trigger.internal_period is None:
            return None
        high = end_ms - (trigger.internal_offset or 0)
        return high - trigger.internal_period, high

    # -- SQL --------------------------------------------------------------------------------------

    def period_select(self, end_ms: int) -> tuple[Step, exp.Select]:
        low, high = self.main_range(end_ms)
        bounds = Bounds(low, high, self.definition.domain, sub_range=self.sub_range(end_ms))
        return Step(low, high, ()), self._select(bounds, end_ms)

    def range_select(self, low: int, high: int) -> exp.Select:
        """Every event dated in ``[low, high)`` (event steps, over history)."""
        return self._select(Bounds(low, high, self.definition.domain), high)

    def events_select(self, now_ms: int) -> exp.Select:
        """The rows of the events stored in a window of the append sequence, the window bound
        as parameters ``lo < seq <= hi`` (``window_params``). Built once when the query does
        not use ``now()`` (event steps run many times a second; the engine pushes the filter
        down to the scan)."""
        fixed = self._events_select_fixed
        return fixed if fixed is not None else self._events_select(now_ms)

    @property
    def fixed_window(self) -> bool:
        """Whether ``events_select`` is the same query at every pass (no ``now()``)."""
        return self._events_select_fixed is not None

    @functools.cached_property
    def _events_select_fixed(self) -> exp.Select | None:
        select = self._events_select(0)
        return select if self._events_select(1) == select else None

    def _events_select(self, now_ms: int) -> exp.Select:
        # The window's rows are put in (eventdate, sequence) order after decoding: sorting in
        # each rule's query costs more than the rule's filter (they run many to a pass).
        select = self._select(Bounds(client=self.definition.domain), now_ms, ordered=False)
        inner = exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("e")))
        window = exp.and_(
            exp.GT(this=exp.column("seq"), expression=exp.Placeholder(this=LO)),
            exp.LTE(this=exp.column("seq"), expression=exp.Placeholder(this=HI)),
        )
        return exp.Select().select(exp.Star()).from_(inner).where(window)

    @functools.cached_property
    def scan_parts(self) -> ScanParts | None:
        """The query as one filter over its table (a table, a projection, a condition), for
        rules that can share one scan of a window; None for anything else (several stages,
        window functions, ``now()``, ``limit``)."""
        if self.steps is not StepKind.EVENTS or self._events_select_fixed is None:
            return None
        select = compile_plan(self.plan, now_ms=0, bounds=Bounds(), engine=self.engine)
        source = select.args.get("from_")
        if set(select.args) - {"from_", "expressions", "where", "order"} or source is None:
            return None
        if not isinstance(source.this, exp.Table) or source.this.name != self.plan.table:
            return None
        if any(select.find_all(exp.Window, exp.Subquery)):
            return None
        projection = tuple(e.sql() for e in select.expressions)
        return ScanParts(source.sql(), projection, select)

    def decode(self, result: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Event rows, in (eventdate, sequence) order."""
        return list(self._decode(sorted(result, key=lambda r: (r[1], r[2]))))

    def _select(self, bounds: Bounds, now_ms: int, *, ordered: bool = True) -> exp.Select:
        inner = compile_plan(self.plan, now_ms=now_ms, bounds=bounds, engine=self.engine)
        aggregated = self.form is not RowForm.ROWS
        if (
            (aggregated or not ordered)
            and not inner.args.get("limit")
            and not inner.args.get("offset")
        ):
            inner.set("order", None)  # counted or re-sorted: the query's order is not needed
        columns = list(self.plan.columns)
        if self.form is RowForm.ROWS:
            line = line_expression(Mode.JSON_SIMPLE, columns, _OPTIONS, engine=self.engine)
            hidden = hidden_columns(self.engine) if self.hidden else ()
            return line_select(inner, line, *hidden)
        keys = [c for c in columns if c.name in self.shape.keys]
        keys.sort(key=lambda c: self.shape.keys.index(c.name))
        line = (
            line_expression(Mode.JSON_SIMPLE, keys, _OPTIONS, engine=self.engine)
            if keys
            else exp.Literal.string("{}")
        )
        measure: exp.Expression = (
            exp.Count(this=exp.Star())
            if self.form is RowForm.COUNTS
            else exp.Max(this=_epoch(HIDDEN_TS, self.engine))
        )
        select = line_select(inner, line, exp.alias_(measure, "measure"))
        if keys:
            select = select.group_by(*(exp.column(c.name, quoted=True) for c in keys))
        return select

    def rows(self, store: EventStore, query: exp.Select | Statement) -> list[dict[str, Any]]:
        """A step's rows as the evaluators take them. Counted rows come in the order of their
        keys: a grouping hands them back in whatever order its hash table holds them, which
        differs between engines and runs, and firings must not (live must equal backtest)."""
        result = store.fetch(query)
        if self.form is not RowForm.ROWS:
            result.sort(key=lambda record: str(record[0]))
        return list(self._decode(result))

    def _decode(self, result: list[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
        for record in result:
            row: dict[str, Any] = json.loads(record[0])
            if self.form is RowForm.COUNTS:
                row["count"] = int(record[1])
            elif self.form is RowForm.LAST_SEEN:
                row["lastSeen"] = int(record[1])
            elif self.hidden:
                row.setdefault(EVENTDATE, int(record[1]))
                row[SEQ] = int(record[2])
            yield row


def _epoch(name: str, engine: str) -> exp.Expression:
    return line_dialect(engine).epoch_ms(exp.column(name, quoted=True))


def _grouping_keys(plan: Plan) -> tuple[int | None, tuple[str, ...]]:
    """(period of the first temporal grouping or None, names of its keys)."""
    for stage in stages(plan):
        if stage.grouping is not None and stage.grouping.period_ms is not None:
            return stage.grouping.period_ms, tuple(k.name for k in stage.grouping.keys)
    for stage in stages(plan):
        if stage.grouping is not None:
            return None, tuple(k.name for k in stage.grouping.keys)
    return None, ()


def compile_program(
    definition: AlertDefinition, schemas: SchemaLookup, *, now_ms: int, engine: str
) -> Program:
    """Raises ``LinqError`` when the query no longer compiles (a table it reads is gone)."""
    spec = definition.spec
    trigger = spec.trigger
    # Only the kinds whose alerts show the query's rows show more of them.
    select_all = spec.with_select_all and trigger.kind in (TriggerKind.EACH, TriggerKind.ROLLING)
    plan = compile_linq(
        spec.query, schemas, now_ms=now_ms, engine=engine, select_all=select_all
    ).plan
    grouped = any(s.grouping is not None for s in stages(plan))
    period, group_keys = _grouping_keys(plan)
    has_sub = bool(subplans(plan))
    kind = trigger.kind
    aggregate = trigger.aggregation_column[0] if trigger.aggregation_column else None
    if kind in (TriggerKind.SEVERAL, TriggerKind.LOW, TriggerKind.INACTIVITY):
        form = RowForm.LAST_SEEN if kind is TriggerKind.INACTIVITY else RowForm.COUNTS
        keys = trigger.keys or ()
        return Program(
            definition,
            with_hidden(plan),
            StepKind.PERIODS,
            trigger.period or MINUTE,
            Shape(keys=keys),
            form,
            aligned=False,
            hidden=True,
            engine=engine,
        )
    if kind is TriggerKind.ROLLING:
        shape = Shape(keys=group_keys)
        hidden = not grouped
        program_plan = with_hidden(plan) if hidden else plan
        return Program(
            definition,
            program_plan,
            StepKind.PERIODS,
            trigger.period or MINUTE,
            shape,
            RowForm.ROWS,
            aligned=False,
            hidden=hidden,
            engine=engine,
        )
    if period is not None:  # each, deviation, gradient over their own buckets
        return Program(
            definition,
            plan,
            StepKind.PERIODS,
            period,
            Shape(keys=group_keys, aggregate=aggregate),
            RowForm.ROWS,
            aligned=True,
            hidden=False,
            engine=engine,
        )
    # each without a temporal grouping
    if not grouped and not has_sub:
        return Program(
            definition,
            with_hidden(plan),
            StepKind.EVENTS,
            0,
            Shape(),
            RowForm.ROWS,
            aligned=False,
            hidden=True,
            engine=engine,
        )
    return Program(
        definition,
        plan if grouped else with_hidden(plan),
        StepKind.PERIODS,
        plan.client_period_ms or MINUTE,
        Shape(keys=group_keys),
        RowForm.ROWS,
        aligned=False,
        hidden=not grouped,
        engine=engine,
    )


def shared_scan_select(programs: list[Program], domain: str) -> exp.Select:
    """One scan of a window for rules that filter one table with one projection (their
    ``scan_parts`` agree but for the condition): the rows any of them matches, each with the
    list of the rules (positions in ``programs``) that match it. Parameters: ``lo < seq <=
    hi``. Result columns: line, ts, seq, rules."""
    parts = [p.scan_parts for p in programs]
    assert all(part is not None for part in parts)
    first = parts[0]
    assert first is not None
    conditions = [exp.Paren(this=part.condition.copy()) for part in parts if part is not None]
    flags = [exp.alias_(c, f"__linqd_m{i}") for i, c in enumerate(conditions)]
    seq = exp.column(SEQ_COLUMN, quoted=True)
    bounds = exp.and_(
        exp.EQ(this=exp.column(CLIENT_COLUMN, quoted=True), expression=exp.Literal.string(domain)),
        exp.GT(this=seq, expression=exp.Placeholder(this=LO)),
        exp.LTE(this=seq.copy(), expression=exp.Placeholder(this=HI)),
    )
    any_match = exp.Paren(this=exp.or_(*(c.copy() for c in conditions)))
    inner = (
        exp.Select()
        .select(*(e.copy() for e in first.select.expressions), *flags)
        .from_(first.select.args["from_"].this.copy())
        .where(exp.and_(bounds, any_match))
    )
    matched = exp.Array(
        expressions=[
            exp.Case().when(exp.column(f"__linqd_m{i}"), exp.Literal.number(i))
            for i in range(len(conditions))
        ]
    )
    engine = programs[0].engine
    rules = line_dialect(engine).drop_nulls(matched)
    line = line_expression(Mode.JSON_SIMPLE, programs[0].plan.columns, _OPTIONS, engine=engine)
    return line_select(inner, line, *hidden_columns(engine), exp.alias_(rules, "rules"))


def union_select(programs: list[Program], now_ms: int) -> exp.Select | exp.Union:
    """The event rows of several rules in one query, each row led by its rule's position in
    ``programs`` (column ``rule``). Parameters as ``events_select``."""
    parts = [
        exp.Select()
        .select(exp.alias_(exp.Literal.number(index), "rule"), exp.Star())
        .from_(exp.Subquery(this=program.events_select(now_ms), alias=f"r{index}"))
        for index, program in enumerate(programs)
    ]
    union: exp.Select | exp.Union = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    return union
