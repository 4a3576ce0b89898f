"""The LINQ syntax tree: frozen dataclasses. Spans never take part in equality, so a query
parsed from its own formatted text equals the original tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from ..errors import Span

NO_SPAN = Span(0, 0, 1, 1)


def _span() -> Span:
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    return span


class LitKind(Enum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    NULL = "null"
    DURATION = "duration"
    IP4 = "ip4"
    NET4 = "net4"


@dataclass(frozen=True)
class Literal:
    kind: LitKind
    value: object
    span: Span = _span()


@dataclass(frozen=True)
class Name:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "not", "~"
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Chain:
    """``a <= x < b``: comparisons sharing their middle operands."""

    ops: tuple[str, ...]
    operands: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Index:
    target: Expr
    index: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Collection:
    kind: str  # "set", "array", "tuple"
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class MapLiteral:
    items: tuple[tuple[Expr, Expr], ...]
    span: Span = _span()


@dataclass(frozen=True)
class Subquery:
    query: Query
    span: Span = _span()


Expr = Literal | Name | Call | Unary | Binary | Chain | Index | Collection | MapLiteral | Subquery


@dataclass(frozen=True)
class Star:
    span: Span = _span()


@dataclass(frozen=True)
class SelectItem:
    expr: Expr | Star
    alias: str | None = None
    span: Span = _span()


@dataclass(frozen=True)
class Where:
    conditions: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Select:
    items: tuple[SelectItem, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Group:
    """``group [every P|-] [by k, ...]``; ``every_ms`` None and ``every_dash`` False: bare group."""

    every_ms: int | None
    every_dash: bool
    keys: tuple[Expr, ...]
    span: Span = _span()

    @property
    def temporal(self) -> bool:
        return self.every_ms is not None and self.every_ms > 0


@dataclass(frozen=True)
class Every:
    """The client ("browser") period after a grouping; ``None`` for ``every -`` or ``every 0``."""

    period_ms: int | None
    span: Span = _span()


@dataclass(frozen=True)
class Limit:
    count: int
    span: Span = _span()


@dataclass(frozen=True)
class Offset:
    count: int
    span: Span = _span()


@dataclass(frozen=True)
class OrderItem:
    expr: Expr
    descending: bool = False


@dataclass(frozen=True)
class OrderBy:
    items: tuple[OrderItem, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Pragma:
    key: str
    value: Expr
    span: Span = _span()


Clause = Where | Select | Group | Every | Limit | Offset | OrderBy


@dataclass(frozen=True)
class Query:
    table: str
    clauses: tuple[Clause, ...]
    pragmas: tuple[Pragma, ...] = ()
    span: Span = _span()
    table_span: Span = _span()
