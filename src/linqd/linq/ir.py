"""The analyzed query: typed expressions and the stages of the pipeline.

The analyzer turns the syntax tree into these; each engine's compiler turns them into sqlglot
expressions. A ``Stage`` is one SELECT: a source (a table or the previous stage), filters, an
optional grouping, the output columns, ordering and paging. A second ``group`` starts a new stage
over the previous one's output.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Span
from . import types as t
from .functions.base import FunctionDef
from .types import LType


@dataclass(frozen=True)
class TColumn:
    """A column of the stage's source (a table column or an output of the previous stage)."""

    name: str
    type: LType


@dataclass(frozen=True)
class TLiteral:
    """A constant. Timestamps and durations are epoch/length milliseconds, ip4 an unsigned int,
    net4 a (network, prefix length) pair."""

    value: object
    type: LType


@dataclass(frozen=True)
class TCall:
    fn: FunctionDef
    args: tuple[TExpr, ...]
    type: LType
    span: Span | None = None


@dataclass(frozen=True)
class TBucket:
    """The start of the ``group every`` bucket an event falls in."""

    period_ms: int
    type: LType = t.TIMESTAMP


@dataclass(frozen=True)
class TCollection:
    kind: str  # "set", "array", "tuple", "map" (items: key, value, key, value ...)
    items: tuple[TExpr, ...]
    type: LType


@dataclass(frozen=True)
class TParam:
    """The element ``_`` inside the expression of a higher-order function (``map``, ``filter``);
    ``name`` is its SQL name, one per nesting level."""

    name: str
    type: LType


@dataclass(frozen=True)
class TLambda:
    """``_ * 2`` of ``map(arr, '_ * 2')``: a function of one element; ``type`` is the body's."""

    param: TParam
    body: TExpr
    type: LType


@dataclass(frozen=True)
class TInSubquery:
    """``value in (from ...)``: membership in the last column(s) of a subquery."""

    values: tuple[TExpr, ...]
    plan: Plan
    type: LType = t.BOOL


@dataclass(frozen=True)
class TLookup:
    """``(from T group by k, v)[x]``: the value column of the row whose key columns equal ``x``."""

    keys: tuple[TExpr, ...]
    plan: Plan
    type: LType


TExpr = (
    TColumn | TLiteral | TCall | TBucket | TCollection | TInSubquery | TLookup | TParam | TLambda
)


def is_aggregate(expr: TExpr) -> bool:
    if isinstance(expr, TCall):
        return expr.fn.aggregate or any(is_aggregate(a) for a in expr.args)
    if isinstance(expr, TCollection):
        return any(is_aggregate(i) for i in expr.items)
    if isinstance(expr, TInSubquery):
        return any(is_aggregate(v) for v in expr.values)
    if isinstance(expr, TLookup):
        return any(is_aggregate(k) for k in expr.keys)
    if isinstance(expr, TLambda):
        return is_aggregate(expr.body)
    return False


def uses_bucket(expr: TExpr) -> bool:
    if isinstance(expr, TBucket):
        return True
    if isinstance(expr, TCall):
        return any(uses_bucket(a) for a in expr.args)
    if isinstance(expr, TLambda):
        return uses_bucket(expr.body)
    return False


def mentions_column(expr: TExpr, name: str) -> bool:
    match expr:
        case TColumn():
            return expr.name == name
        case TCall():
            return any(mentions_column(a, name) for a in expr.args)
        case TCollection():
            return any(mentions_column(i, name) for i in expr.items)
        case TInSubquery():
            return any(mentions_column(v, name) for v in expr.values)
        case TLookup():
            return any(mentions_column(k, name) for k in expr.keys)
        case TLambda():
            return mentions_column(expr.body, name)
    return False


def mentions_param(expr: TExpr, own: frozenset[str] = frozenset()) -> bool:
    """Whether ``expr`` reads the parameter of a lambda around it (the item of ``map`` or
    ``filter``); the parameters of lambdas inside it (``own``) do not count."""
    match expr:
        case TParam():
            return expr.name not in own
        case TCall():
            return any(mentions_param(a, own) for a in expr.args)
        case TCollection():
            return any(mentions_param(i, own) for i in expr.items)
        case TInSubquery():
            return any(mentions_param(v, own) for v in expr.values)
        case TLookup():
            return any(mentions_param(k, own) for k in expr.keys)
        case TLambda():
            return mentions_param(expr.body, own | {expr.param.name})
    return False


@dataclass(frozen=True)
class Output:
    name: str
    expr: TExpr


@dataclass(frozen=True)
class Grouping:
    period_ms: int | None  # None: not temporal (group by, group every -, bare group)
    keys: tuple[Output, ...]


@dataclass(frozen=True)
class OrderKey:
    expr: TExpr | int  # an int is a 1-based position in the outputs
    descending: bool = False


@dataclass(frozen=True)
class UnionTable:
    """One table of a union source (``all.data``) and where its common columns come from."""

    name: str
    hostname: str | None  # its column of the sending host, if it has one
    text: tuple[str, ...]  # the text columns its message is made of (one: the raw text)


@dataclass(frozen=True)
class Stage:
    source: str | Stage
    where: tuple[TExpr, ...]
    grouping: Grouping | None
    having: tuple[TExpr, ...]
    outputs: tuple[Output, ...]
    order: tuple[OrderKey, ...]
    limit: int | None = None
    offset: int | None = None
    # The tables a source that stands for several (``all.data``) reads, as one union; None for
    # a source that is one table.
    union: tuple[UnionTable, ...] | None = None


@dataclass(frozen=True)
class ResultColumn:
    name: str
    type: LType


@dataclass(frozen=True)
class Plan:
    table: str
    stage: Stage
    columns: tuple[ResultColumn, ...]
    pragmas: tuple[tuple[str, object], ...] = ()
    client_period_ms: int | None = None
    # True when the query filters eventdate itself; a subquery then keeps its own range.
    own_range: bool = False


def stages(plan: Plan) -> list[Stage]:
    """The plan's stages, innermost (the one reading the table) first."""
    chain = [plan.stage]
    while isinstance(chain[-1].source, Stage):
        chain.append(chain[-1].source)
    return chain[::-1]


def subplans(plan: Plan) -> list[Plan]:
    """The plans of the subqueries this plan uses directly (not those nested inside them)."""
    found: list[Plan] = []

    def visit_expr(expr: TExpr) -> None:
        match expr:
            case TInSubquery() | TLookup():
                found.append(expr.plan)
                for inner in expr.values if isinstance(expr, TInSubquery) else expr.keys:
                    visit_expr(inner)
            case TCall():
                for arg in expr.args:
                    visit_expr(arg)
            case TCollection():
                for item in expr.items:
                    visit_expr(item)
            case TLambda():
                visit_expr(expr.body)

    for stage in stages(plan):
        for expr in (*stage.where, *stage.having, *(o.expr for o in stage.outputs)):
            visit_expr(expr)
        if stage.grouping is not None:
            for key in stage.grouping.keys:
                visit_expr(key.expr)
    return found


def tables_read(plan: Plan) -> set[str]:
    """Every table a plan reads: its own (those of its union, for ``all.data``) and those of its
    subqueries (scope checks need all)."""
    source = stages(plan)[0]
    found = {plan.table} if source.union is None else {u.name for u in source.union}
    for sub in subplans(plan):
        found |= tables_read(sub)
    return found
