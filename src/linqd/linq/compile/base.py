"""Typed plan → sqlglot expressions. One ``<node>_sql`` method per IR node and ``stage_sql`` per
pipeline stage; an engine subclass overrides what differs (time buckets, the subquery cap) and
names the translation key of the function catalogue it uses.

Translators may use an argument's SQL more than once (``%%`` uses its divisor three times), so
nesting them makes SQL that grows exponentially with the LINQ text. Every compiled expression is
measured as it is built, from the measures of its arguments (linear work), and refused past the
budget's SQL size and depth (``limits.py``) before the next level can multiply it again."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from ...columns import CLIENT_COLUMN, EVENTDATE, SEQ_COLUMN
from ...errors import LinqError, LinqTypeError, Span
from ...lookup_tables import is_lookup, lookup_storage
from .. import alldata
from ..addresses import net6_text
from ..functions import lists
from ..functions.addresses import ip6_literal, mac_literal, result_text, text_in_results
from ..functions.base import NOT_CONSTANT, Arg, cast, lit
from ..functions.helpers import SQL_TYPES, sql_type
from ..ir import (
    Plan,
    Stage,
    TBucket,
    TCall,
    TCollection,
    TColumn,
    TExpr,
    TInSubquery,
    TLambda,
    TLiteral,
    TLookup,
    TParam,
    UnionTable,
)
from ..limits import Meter, refuse
from ..types import Kind, LType, ip4_dotted
from .lookup_joins import LookupJoins

SUBQUERY_ROW_CAP = 32_000


@dataclass(frozen=True)
class Bounds:
    """What the runner adds to every table scan: the time range and the caller's domain."""

    from_ms: int | None = None
    to_ms: int | None = None
    client: str | None = None
    # A window of the store's append sequence: how a continuous query reads only what is new.
    seq_after: int | None = None
    seq_upto: int | None = None
    # Keyset position of a job: only rows after (eventdate ms, _seq) in that order.
    after: tuple[int, int] | None = None
    # A range of its own for subqueries (an alert's internal period and offset); without it
    # subqueries inherit the outer range.
    sub_range: tuple[int, int] | None = None

    def without_seq(self) -> Bounds:
        return Bounds(self.from_ms, self.to_ms, self.client)


class Compiler(ABC):
    engine = "base"  # the key of the function catalogue's translations
    dialect: str  # sqlglot's dialect of the SQL it builds

    def __init__(
        self, now_ms: int, bounds: Bounds | None = None, meter: Meter | None = None
    ) -> None:
        self.now_ms = now_ms
        self.bounds = bounds or Bounds()
        self.meter = meter or Meter()
        self._time: exp.Expression | None = None
        self._source: str | None = None
        self._aliases = 0
        # id(expression) → (expression, nodes as printed, depth); holding the expression keeps
        # its id from being reused while the compilation runs.
        self._measured: dict[int, tuple[exp.Expression, int, int]] = {}
        self._result: Stage | None = None  # the stage whose rows are the query's result
        # Where `lu()` may join its lookup to the stage's rows: while the stage's row-level
        # expressions compile (filters, grouping keys, ungrouped outputs), not after grouping.
        self._joins: LookupJoins | None = None

    # -- Context protocol for translators --------------------------------------------------------

    def error(self, message: str) -> Exception:
        return LinqTypeError(message)

    def time_column(self) -> exp.Expression | None:
        return self._time

    def source_alias(self) -> str | None:
        return self._source

    # -- plans and stages ------------------------------------------------------------------------

    def compile(self, plan: Plan) -> exp.Select:
        # The builders below work in place (copy=False): sqlglot's default copies the whole
        # SELECT at every call, which for a 20,000-term filter is millions of short-lived nodes
        # (and garbage-collector pauses that stop every thread). One copy at the end makes the
        # result a tree of its own: translators share argument nodes, and module constants
        # (EPOCH) must never become part of a caller's tree.
        self._result = plan.stage
        return self.plan_sql(plan, self.bounds).copy()

    def plan_sql(self, plan: Plan, bounds: Bounds) -> exp.Select:
        return self.stage_sql(plan.stage, bounds)

    def _alias(self) -> str:
        self._aliases += 1
        return f"_s{self._aliases}"

    def stage_sql(self, stage: Stage, bounds: Bounds) -> exp.Select:
        saved = self._time, self._source, self._joins
        alias = self._alias()
        table = stage.source if isinstance(stage.source, str) else None
        if table is not None and is_lookup(table):
            # Lookups are reference data, not a time series: no time range applies to them.
            # Each domain's is a table of its own.
            bounds = Bounds(client=bounds.client)
            if bounds.client is not None:
                table = lookup_storage(table, bounds.client)
        if stage.union is not None:
            source: exp.Expression = exp.Subquery(
                this=self.union_sql(stage.union, bounds),
                alias=exp.TableAlias(this=exp.to_identifier(alias)),
            )
            filters = []  # each table of the union is read within the bounds
            self._time = exp.column(EVENTDATE, quoted=True)
        elif table is not None:
            source = exp.Table(
                this=exp.to_identifier(table, quoted=True),
                alias=exp.TableAlias(this=exp.to_identifier(alias)),
            )
            filters = self.bounds_sql(bounds)
            self._time = exp.column(EVENTDATE, quoted=True)
        else:
            assert isinstance(stage.source, Stage)
            inner = self.stage_sql(stage.source, bounds)
            source = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))
            filters = []
            self._time = None
        self._source = alias
        joins = self._joins = LookupJoins(alias)
        try:
            select = exp.Select()
            conditions = filters + [self.expr_sql(w) for w in stage.where]
            grouping = stage.grouping
            group_by: list[exp.Expression] = []
            if grouping is not None:
                if grouping.period_ms is not None:
                    group_by.append(self.time_bucket_sql(grouping.period_ms))
                group_by += [self.expr_sql(k.expr) for k in grouping.keys]
                joins.open = False
            output = self.result_sql if stage is self._result else self.output_sql
            outputs = [
                exp.alias_(output(o.expr), exp.to_identifier(o.name, quoted=True))
                for o in stage.outputs
            ]
            self._joins = None
            source = joins.source(source)
            hoisted = _subquery_keys(group_by)
            source_alias = alias
            if conditions and (hoisted or any(_correlated(o) for o in outputs)):
                # ClickHouse decorrelates a subquery in the SELECT list only when that SELECT
                # has no WHERE of its own: filter the rows below it.
                rows = exp.Select().select(exp.Star(), copy=False).from_(source, copy=False)
                rows = rows.where(
                    _qualify_rows(_and_all(conditions), source_alias, alias), copy=False
                )
                source_alias = self._alias()
                source = exp.Subquery(
                    this=rows, alias=exp.TableAlias(this=exp.to_identifier(source_alias))
                )
                conditions = []
            if hoisted:
                # A key holding a subquery (a user agent's browser) is computed row by row
                # below the grouping: neither engine matches a subquery in the SELECT with
                # the same one in GROUP BY, and ClickHouse refuses correlated ones there.
                keys = (
                    exp.alias_(key.copy(), name, quoted=True, copy=False) for key, name in hoisted
                )
                rows = exp.Select().select(
                    exp.Star(), *(_qualify_rows(k, source_alias, alias) for k in keys), copy=False
                )
                rows = rows.from_(source, copy=False)
                source_alias = self._alias()
                source = exp.Subquery(
                    this=rows, alias=exp.TableAlias(this=exp.to_identifier(source_alias))
                )
                group_by = [_replace_keys(key, hoisted) for key in group_by]
            if grouping is not None and not outputs:
                outputs = [exp.alias_(exp.Count(this=exp.Star()), "count")]
            select = select.select(*outputs, copy=False)
            if conditions:
                select = select.where(_and_all(conditions), copy=False)
            if group_by:
                select = select.group_by(*group_by, copy=False)
            if stage.having:
                having = _and_all([self.expr_sql(h) for h in stage.having])
                select = select.having(having, copy=False)
            order = []
            for key in stage.order:
                if isinstance(key.expr, int):
                    target: exp.Expression = exp.Literal.number(key.expr)
                else:
                    target = self.expr_sql(key.expr)
                order.append(exp.Ordered(this=target, desc=key.descending, nulls_first=False))
            if order:
                select = select.order_by(*order, copy=False)
            if stage.limit is not None:
                select = select.limit(stage.limit, copy=False)
            if stage.offset is not None:
                select = select.offset(stage.offset, copy=False)
            if hoisted:
                replaced = _replace_keys(select, hoisted)
                assert isinstance(replaced, exp.Select)
                select = replaced
            _qualify_rows(select, source_alias, alias)
            return select.from_(source, copy=False)
        finally:
            self._time, self._source, self._joins = saved

    def bounds_sql(self, bounds: Bounds) -> list[exp.Expression]:
        column = exp.column(EVENTDATE, quoted=True)
        out: list[exp.Expression] = []
        if bounds.from_ms is not None:
            out.append(exp.GTE(this=column, expression=self.timestamp_sql(bounds.from_ms)))
        if bounds.to_ms is not None:
            out.append(exp.LT(this=column, expression=self.timestamp_sql(bounds.to_ms)))
        if bounds.client is not None:
            out.append(
                exp.EQ(this=exp.column(CLIENT_COLUMN, quoted=True), expression=lit(bounds.client))
            )
        seq = exp.column(SEQ_COLUMN, quoted=True)
        if bounds.seq_after is not None:
            out.append(exp.GT(this=seq, expression=lit(bounds.seq_after)))
        if bounds.seq_upto is not None:
            out.append(exp.LTE(this=seq, expression=lit(bounds.seq_upto)))
        if bounds.after is not None:
            stamp = self.timestamp_sql(bounds.after[0])
            later = exp.GT(this=column, expression=stamp)
            tie = exp.And(
                this=exp.EQ(this=column.copy(), expression=stamp.copy()),
                expression=exp.GT(this=seq.copy(), expression=lit(bounds.after[1])),
            )
            out.append(exp.Paren(this=exp.Or(this=later, expression=exp.Paren(this=tie))))
        return out

    def union_sql(self, tables: Sequence[UnionTable], bounds: Bounds) -> exp.Expression:
        """``all.data`` (``alldata.py``): one SELECT per table giving the common columns, each
        within ``bounds``, as one UNION ALL; a union of no table is no row."""
        branches = [self._union_branch(table, bounds) for table in tables]
        if not branches:
            empty = self._union_columns(
                self.timestamp_sql(0), lit(""), lit(0), "", exp.Null(), exp.Null()
            )
            return exp.Select().select(*empty, copy=False).where(exp.false(), copy=False)
        result: exp.Expression = branches[0]
        for branch in branches[1:]:
            result = exp.Union(this=result, expression=branch, distinct=False)
        return result

    def _union_branch(self, table: UnionTable, bounds: Bounds) -> exp.Select:
        if table.hostname is None:
            host: exp.Expression = exp.Null()
        else:
            host = exp.column(table.hostname, quoted=True)
        texts: list[exp.Expression] = [exp.column(name, quoted=True) for name in table.text]
        message: exp.Expression
        if len(texts) == 1:
            message = texts[0]
        else:
            message = self.joined_text_sql(texts) if texts else exp.Null()
        columns = self._union_columns(
            exp.column(EVENTDATE, quoted=True),
            exp.column(CLIENT_COLUMN, quoted=True),
            exp.column(SEQ_COLUMN, quoted=True),
            table.name,
            host,
            message,
        )
        select = (
            exp.Select()
            .select(*columns, copy=False)
            .from_(exp.Table(this=exp.to_identifier(table.name, quoted=True)), copy=False)
        )
        filters = self.bounds_sql(bounds)
        return select.where(_and_all(filters), copy=False) if filters else select

    def _union_columns(
        self,
        eventdate: exp.Expression,
        client: exp.Expression,
        seq: exp.Expression,
        name: str,
        host: exp.Expression,
        message: exp.Expression,
    ) -> list[exp.Expression]:
        values = (
            (EVENTDATE, eventdate),
            (CLIENT_COLUMN, client),
            (SEQ_COLUMN, seq),
            (alldata.TABLE_COLUMN, self.text_sql(lit(name))),
            (alldata.TABLES_COLUMN, exp.Array(expressions=[self.text_sql(lit(name))])),
            (alldata.HOSTNAME_COLUMN, self.text_sql(host)),
            (alldata.MESSAGE_COLUMN, self.text_sql(message)),
        )
        return [
            exp.Alias(this=value, alias=exp.to_identifier(n, quoted=True)) for n, value in values
        ]

    @abstractmethod
    def text_sql(self, sql: exp.Expression) -> exp.Expression:
        """``sql`` as the engine's nullable text type (every table's branch of a union alike)."""

    @abstractmethod
    def joined_text_sql(self, texts: list[exp.Expression]) -> exp.Expression:
        """The texts joined by single spaces, nulls left out ('' when all are null)."""

    # -- expressions -----------------------------------------------------------------------------

    def expr_sql(self, expr: TExpr) -> exp.Expression:
        span = expr.span if isinstance(expr, TCall) else None
        self.meter.tick(span)
        method = getattr(self, f"{type(expr).__name__[1:].lower()}_sql")
        result: exp.Expression = method(expr)
        self._measure(result, span)
        return result

    def _measure(self, root: exp.Expression, span: Span | None) -> None:
        """Count what ``root`` adds over the expressions already measured (its arguments,
        however many times it uses them) and refuse it past the budget."""
        if id(root) in self._measured:
            return
        nodes = depth = 0
        stack: list[tuple[exp.Expression, int]] = [(root, 1)]
        while stack:
            node, level = stack.pop()
            known = self._measured.get(id(node)) if node is not root else None
            if known is not None:
                nodes += known[1]
                depth = max(depth, level - 1 + known[2])
                continue
            nodes += 1
            depth = max(depth, level)
            stack.extend((child, level + 1) for child in node.iter_expressions())
        budget = self.meter.budget
        if nodes > budget.max_sql_nodes:
            raise refuse(f"The query compiles to more than {budget.max_sql_nodes} SQL nodes", span)
        if depth > budget.max_sql_depth:
            raise refuse(
                f"Expression too deep: it compiles to more than {budget.max_sql_depth} levels "
                "of SQL",
                span,
            )
        self._measured[id(root)] = (root, nodes, depth)

    def output_sql(self, expr: TExpr) -> exp.Expression:
        """An output column of a stage (an engine may pin its storage type here)."""
        return self.expr_sql(expr)

    def result_sql(self, expr: TExpr) -> exp.Expression:
        """An output column of the query's result (the outer stage): as any stage's, but with
        the values Arrow cannot carry as text (``result_text``). Inner stages and subqueries
        keep the SQL values, which comparisons and ranges work on."""
        if not text_in_results(expr.type):
            return self.output_sql(expr)
        return result_text(self, self.expr_sql(expr), expr.type)

    def column_sql(self, expr: TColumn) -> exp.Expression:
        return exp.column(expr.name, quoted=True)

    def literal_sql(self, expr: TLiteral) -> exp.Expression:
        kind = expr.type.kind
        if expr.value is None:
            return self.null_sql(expr.type)
        if kind is Kind.TIMESTAMP:
            return self.timestamp_sql(int(expr.value))  # type: ignore[call-overload]
        if kind is Kind.FLOAT8 and isinstance(expr.value, float):
            # DuckDB reads a bare 2.5 as DECIMAL; LINQ's float literals are doubles.
            return cast(lit(expr.value), "DOUBLE")
        if kind is Kind.NET4:
            assert isinstance(expr.value, tuple)
            network, prefix = expr.value
            return lit(f"{ip4_dotted(int(network))}/{prefix}")
        if kind is Kind.NET6:
            assert isinstance(expr.value, tuple)
            return lit(net6_text(int(expr.value[0]), int(expr.value[1])))
        if kind is Kind.IP6:
            return ip6_literal(int(expr.value))  # type: ignore[call-overload]
        if kind is Kind.MAC:
            return mac_literal(int(expr.value))  # type: ignore[call-overload]
        return lit(expr.value)

    def null_sql(self, ltype: LType) -> exp.Expression:
        """A null of ``ltype``'s SQL type where it has one (a typed null argument)."""
        if ltype.kind in (Kind.NULL, Kind.ANY) or ltype.kind not in dict(SQL_TYPES):
            return exp.Null()
        return cast(exp.Null(), sql_type(ltype))

    def timestamp_sql(self, ms: int) -> exp.Expression:
        return exp.Anonymous(this="epoch_ms", expressions=[lit(ms)])

    def call_sql(self, expr: TCall) -> exp.Expression:
        args = [Arg(_operand(self.expr_sql(a)), a.type, _const(a)) for a in expr.args]
        return self.translate_call(expr, args)

    def translate_call(self, expr: TCall, args: list[Arg]) -> exp.Expression:
        """The SQL of ``expr``'s function over ``args`` (its arguments' SQL)."""
        translate = expr.fn.translate.get(self.engine)
        if translate is None:
            raise LinqTypeError(f"Function `{expr.fn.name}' is not available on {self.engine}")
        try:
            return translate(self, args, expr.type)
        except LinqError as error:
            # A translator's refusal (a constant it needs, types it cannot mix) points at the call.
            if error.span is None:
                error.span = expr.span
            raise

    def bucket_sql(self, expr: TBucket) -> exp.Expression:
        return self.time_bucket_sql(expr.period_ms)

    @abstractmethod
    def time_bucket_sql(self, period_ms: int) -> exp.Expression:
        """The start of the UTC-epoch-aligned bucket of ``period_ms`` holding the event."""

    def collection_sql(self, expr: TCollection) -> exp.Expression:
        if expr.kind == "map":
            return self._map_sql(expr)
        if expr.kind == "set" and all(isinstance(i, TLiteral) for i in expr.items):
            # A constant set is folded here as the engines would make it (``lists.as_set``):
            # `x in {404, 500}` keeps its literal list.
            literals = _distinct_sorted([i for i in expr.items if isinstance(i, TLiteral)])
            return exp.Array(expressions=[self.expr_sql(i) for i in literals])
        items = [self.expr_sql(i) for i in expr.items]
        if expr.kind == "tuple":
            return exp.Tuple(expressions=items)
        if expr.kind == "set":
            return lists.as_set(self, exp.Array(expressions=items))
        return exp.Array(expressions=items)

    def _map_sql(self, expr: TCollection) -> exp.Expression:
        keys, values = list(expr.items[0::2]), list(expr.items[1::2])
        if all(isinstance(k, TLiteral) for k in keys):
            # Constant keys are made unique here: the last value of a key, at its first place.
            entries: dict[object, TExpr] = {}
            for key, value in zip(keys, values, strict=True):
                assert isinstance(key, TLiteral)
                entries[key.value] = value
            literal_keys = [TLiteral(k, expr.type.key or keys[0].type) for k in entries]
            return lists.make_map(
                self,
                exp.Array(expressions=[self.expr_sql(k) for k in literal_keys]),
                exp.Array(expressions=[self.expr_sql(v) for v in entries.values()]),
            )
        return lists.unique_map(
            self,
            exp.Array(expressions=[self.expr_sql(k) for k in keys]),
            exp.Array(expressions=[self.expr_sql(v) for v in values]),
        )

    def param_sql(self, expr: TParam) -> exp.Expression:
        return exp.column(expr.name)

    def lambda_sql(self, expr: TLambda) -> exp.Expression:
        joins, self._joins = self._joins, None  # a lookup's key may read the lambda's parameter
        try:
            return lists.lam(self.expr_sql(expr.body), expr.param.name)
        finally:
            self._joins = joins

    def subquery_bounds(self, plan: Plan) -> Bounds:
        """Subqueries inherit the outer range unless they filter eventdate themselves."""
        if plan.own_range:
            return Bounds(client=self.bounds.client)
        if self.bounds.sub_range is not None:
            low, high = self.bounds.sub_range
            return Bounds(low, high, self.bounds.client)
        return self.bounds.without_seq()

    def insubquery_sql(self, expr: TInSubquery) -> exp.Expression:
        inner = self.capped_subquery(expr.plan, len(expr.values))
        values = [self.expr_sql(v) for v in expr.values]
        left = values[0] if len(values) == 1 else exp.Tuple(expressions=values)
        return exp.In(this=left, query=exp.Subquery(this=inner))

    def lookup_sql(self, expr: TLookup) -> exp.Expression:
        outer = self._source
        joins = self._joins
        keys = [self.expr_sql(key) for key in expr.keys]
        if outer is not None:
            # The lookup's own columns shadow the outer query's: name the outer ones fully.
            keys = [_qualify(key, outer) for key in keys]
        alias = self._alias()
        names = [c.name for c in expr.plan.columns]
        inner = self.capped_subquery(expr.plan, len(names))
        if (
            joins is not None
            and outer is not None
            and len(keys) == 1
            and _plain_lookup(expr.plan)
            and not _correlated(keys[0])
        ):
            identity = (expr.plan.stage.source, tuple(names))
            joined = joins.column(inner, identity, (names[0], names[-1]), keys[0], alias)
            if joined is not None:
                return joined
        conditions = [
            exp.EQ(this=exp.column(name, table=alias, quoted=True), expression=key)
            for name, key in zip(names, keys, strict=False)
        ]
        value = exp.column(names[-1], table=alias, quoted=True)
        select = (
            exp.Select()
            .select(self.pick_sql(value), copy=False)
            .from_(
                exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                copy=False,
            )
            .where(_and_all(conditions), copy=False)
        )
        return exp.Subquery(this=select)

    def pick_sql(self, value: exp.Expression) -> exp.Expression:
        """The aggregate a lookup takes its value with: any one of the matching rows."""
        return exp.Anonymous(this="first", expressions=[value])

    def subquery_select(self, plan: Plan) -> exp.Select:
        """A subquery's SELECT: its own bounds, no ordering (sets need none)."""
        select = self.plan_sql(plan, self.subquery_bounds(plan))
        if select.args.get("limit") is None:
            select.set("order", None)
        return select

    def capped_subquery(self, plan: Plan, width: int) -> exp.Select:
        """The last ``width`` columns of a subquery, failing past the 32,000-row cap. Each row
        carries the subquery's row count (one window count over the small result, not a
        second execution); the engine's ``cap_check`` makes the query fail past the cap.

        A plain read of a lookup (``lu``, ``in my.lookuplist.<name>``) has no cap: a lookup is
        reference data that may hold millions of rows, not a subquery's result."""
        inner = self.subquery_select(plan)
        alias = self._alias()
        names = [c.name for c in plan.columns][-width:]
        if _plain_lookup(plan):
            return (
                exp.Select()
                .select(*(exp.column(n, quoted=True) for n in names), copy=False)
                .from_(
                    exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                    copy=False,
                )
            )
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
        columns: list[exp.Expression] = [exp.column(n, table=alias, quoted=True) for n in names]
        values, where = self.cap_check(columns, size)
        select = (
            exp.Select()
            .select(
                *(
                    exp.alias_(value, exp.to_identifier(name, quoted=True))
                    for name, value in zip(names, values, strict=True)
                ),
                copy=False,
            )
            .from_(
                exp.Subquery(this=counted, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                copy=False,
            )
        )
        return select if where is None else select.where(where, copy=False)

    @abstractmethod
    def cap_check(
        self, columns: list[exp.Expression], size: exp.Expression
    ) -> tuple[list[exp.Expression], exp.Expression | None]:
        """The subquery's columns as selected, and a filter, such that reading them fails once
        ``size`` (the row count) is past ``SUBQUERY_ROW_CAP`` with ``CAP_MESSAGE`` and the
        count."""


def _plain_lookup(plan: Plan) -> bool:
    """A subquery that reads a lookup's columns as they are: no grouping, no limit."""
    stage = plan.stage
    return (
        isinstance(stage.source, str)
        and is_lookup(stage.source)
        and stage.grouping is None
        and stage.limit is None
        and stage.offset is None
    )


# Nodes sqlglot prints without parentheses whose precedence is lower than a function argument's
# place may need: `isnull(not true)` printed as `NOT TRUE IS NULL` reads as `NOT (TRUE IS NULL)`.
_LOOSE = (exp.Not, exp.Is, exp.Binary, exp.Between, exp.In, exp.Neg, exp.Case, exp.If)


def _operand(sql: exp.Expression) -> exp.Expression:
    """An argument's SQL made safe to place inside any translation: operators parenthesized, so
    a translator building `arg IS NULL` or `-arg` never regroups its argument."""
    return exp.Paren(this=sql) if isinstance(sql, _LOOSE) else sql


def _correlated(expression: exp.Expr) -> bool:
    """Whether ``expression`` holds a scalar subquery over a row of the outer query's values
    (``(SELECT ... FROM (SELECT "userAgent" AS ua))``, see ``functions/useragent.py``): a
    SELECT without a FROM of its own inside a subquery."""
    return any(
        select.args.get("from_") is None and select.find_ancestor(exp.Subquery) is not None
        for select in expression.find_all(exp.Select)
    )


def _qualify_rows(expression: exp.Expr, table: str, former: str | None = None) -> exp.Expr:
    """``expression`` (changed in place) with the outer columns its correlated rows read named
    by ``table``: DuckDB would otherwise bind a name to an output alias of the same name
    (``userAgent AS userAgent``) and refuse it as not grouped. Columns a translator named by
    the stage's ``former`` source (``Context.source_alias``) follow the rows to ``table``."""
    for select in list(expression.find_all(exp.Select)):
        if select.args.get("from_") is None and select.find_ancestor(exp.Subquery) is not None:
            select.set("expressions", [_qualify(e, table, former) for e in select.expressions])
    return expression


def _subquery_keys(keys: Sequence[exp.Expression]) -> list[tuple[exp.Expression, str]]:
    """The grouping keys holding a correlated subquery, each with the name of its hoisted
    column."""
    found: list[tuple[exp.Expression, str]] = []
    for key in keys:
        if _correlated(key) and all(key != k for k, _ in found):
            found.append((key, f"_key{len(found) + 1}"))
    return found


def _replace_keys(
    expression: exp.Expression, hoisted: Sequence[tuple[exp.Expression, str]]
) -> exp.Expression:
    """``expression`` reading each hoisted key from its column instead of computing it."""

    # Compared as text: sqlglot's == compares cached hashes, which a node changed in place
    # after it was first hashed no longer matches.
    texts = {key.sql(): name for key, name in hoisted}
    kinds = tuple({type(key) for key, _ in hoisted})

    def replace(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, kinds):
            return node
        # An output's alias sits on the subquery itself (`(SELECT ...) AS "c"`).
        alias = node.args.get("alias") if isinstance(node, exp.Subquery) else None
        bare = node
        if alias is not None:
            bare = node.copy()
            bare.set("alias", None)
        name = texts.get(bare.sql())
        if name is None:
            return node
        column = exp.column(name, quoted=True)
        if alias is None:
            return column
        return exp.Alias(this=column, alias=exp.to_identifier(alias.name, quoted=True))

    return expression.transform(replace, copy=False)


def _qualify(expression: exp.Expression, table: str, former: str | None = None) -> exp.Expression:
    qualified = expression.copy()
    for column in list(qualified.find_all(exp.Column)):
        if (column.table and column.table != former) or _lambda_parameter(column):
            continue
        named = exp.column(column.name, table=table, quoted=True)
        if column is qualified:
            return named
        column.replace(named)
    return qualified


def _lambda_parameter(column: exp.Column) -> bool:
    """Whether ``column`` is the parameter of a lambda around it (a translator's ``_x ->``)."""
    if column.table:
        return False
    lam = column.find_ancestor(exp.Lambda)
    while lam is not None:
        if any(p.name == column.name for p in lam.expressions):
            return True
        lam = lam.find_ancestor(exp.Lambda)
    return False


def _const(expr: TExpr) -> object:
    if isinstance(expr, TLiteral):
        return expr.value
    if isinstance(expr, TCollection) and all(isinstance(i, TLiteral) for i in expr.items):
        return [i.value for i in expr.items]  # type: ignore[union-attr]
    return NOT_CONSTANT


def _distinct_sorted(items: list[TLiteral]) -> list[TLiteral]:
    """A constant set's items as the engines make a set (``lists.as_set``): distinct, sorted,
    without null. Values are compared only with values of their own type."""
    distinct = {
        (i.type.kind.value, type(i.value).__name__, i.value): i
        for i in items
        if i.value is not None
    }
    return [distinct[key] for key in sorted(distinct)]


def _and_all(conditions: Sequence[exp.Expression]) -> exp.Expression:
    result = conditions[0]
    for condition in conditions[1:]:
        result = exp.And(this=result, expression=condition)
    return result
