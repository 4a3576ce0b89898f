"""The analysis of maps, constructors and higher-order functions, a part of the analyzer
(``Analyzer`` inherits it): map literals and ``mkmap``, ``mkarray``/``mkset``/``mktuple`` typed as
the literals are, and ``map(arr, '_ * 2')``/``filter(arr, '_ > 2')``, whose string is LINQ parsed
on its own, placed in the query (so that its errors point into the string) and analyzed with
``_`` bound to the element; the compiler makes it a lambda of the engine (``TLambda``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import LinqError, LinqTypeError, Span
from . import ast
from . import types as t
from .functions.base import FunctionDef
from .ir import TCall, TCollection, TExpr, TLambda, TLiteral, TParam
from .limits import Meter
from .parser import parse_expression
from .types import Kind, LType

if TYPE_CHECKING:
    from .analyzer import _Phase

# Functions that build the literals' values: mkarray(1, 2) is [1, 2].
CONSTRUCTORS = {"mkarray": "array", "mkset": "set", "mktuple": "tuple"}
# Functions whose second argument is a LINQ expression of `_` in a string.
HIGHER_ORDER = frozenset({"map", "filter"})
# Item types an array, set or map literal cannot mix with null.
NO_NULL_KINDS = frozenset({Kind.ARRAY, Kind.SET, Kind.MAP, Kind.TUPLE})
MAP_KEY_KINDS = frozenset(
    {Kind.STR, Kind.INT4, Kind.INT8, Kind.FLOAT8, Kind.BOOL, Kind.TIMESTAMP, Kind.IP4,
     Kind.DURATION, Kind.ANY}
)  # fmt: skip
# The SQL names of `_`, one per nesting level of higher-order functions.
LAMBDA_PREFIX = "_elem"

Fail = Callable[[type[LinqError], str, Span | None], LinqError]


class CollectionAnalysis:
    """The analyzer's methods for maps, constructors and higher-order functions."""

    source: str
    meter: Meter

    if TYPE_CHECKING:

        def expr(self, node: ast.Expr, phase: _Phase, aggregate_args: bool = False) -> TExpr: ...

        def error(self, cls: type[LinqError], message: str, span: Span | None) -> LinqError: ...

        def _typed_collection(
            self, kind: str, items: list[TExpr], nodes: Sequence[ast.Expr]
        ) -> TCollection: ...

    def _map(self, pairs: Sequence[tuple[ast.Expr, ast.Expr]], phase: _Phase) -> TCollection:
        """A map literal ``{k: v, ...}`` (or ``mkmap(k, v, ...)``): keys of one scalar type,
        values of one type, as the items of array literals are typed."""
        key_nodes = [k for k, _ in pairs]
        value_nodes = [v for _, v in pairs]
        keys = self._typed_collection("map", [self.expr(k, phase) for k in key_nodes], key_nodes)
        values = self._typed_collection(
            "map", [self.expr(v, phase) for v in value_nodes], value_nodes
        )
        for key, node in zip(keys.items, key_nodes, strict=True):
            if isinstance(key, TLiteral) and key.value is None:
                raise self.error(LinqTypeError, "A map key cannot be null", node.span)
            if key.type.kind not in MAP_KEY_KINDS:
                raise self.error(
                    LinqTypeError, f"A map key must be a single value, not {key.type}", node.span
                )
        key_type = keys.type.element or t.ANY
        value_type = values.type.element or t.ANY
        items = tuple(x for pair in zip(keys.items, values.items, strict=True) for x in pair)
        result = t.map_of(key_type, value_type)
        self._check_map_keys(result, key_nodes[0].span)
        return TCollection("map", items, result)

    def _constructor(
        self, name: str, arg_nodes: tuple[ast.Expr, ...], span: Span, phase: _Phase
    ) -> TExpr:
        """``mkarray(...)``, ``mkset(...)``, ``mktuple(...)``, ``mkmap(k, v, ...)``: the literals'
        typing rules, with computed items."""
        if name == "mkmap":
            if len(arg_nodes) % 2:
                raise self.error(LinqTypeError, "mkmap takes keys and values in pairs", span)
            if not arg_nodes:
                # A map of no type at all: Arrow cannot carry DuckDB's MAP(NULL, NULL).
                raise self.error(LinqTypeError, "mkmap needs at least one key and value", span)
            return self._map(list(zip(arg_nodes[0::2], arg_nodes[1::2], strict=True)), phase)
        return self.expr(ast.Collection(CONSTRUCTORS[name], arg_nodes, span), phase)

    def _higher_order(
        self, fn: FunctionDef, arg_nodes: tuple[ast.Expr, ...], span: Span, phase: _Phase
    ) -> TExpr:
        """``map(arr, '_ * 2')``, ``filter(arr, '_ > 2')``: the string is a LINQ expression of the
        element ``_`` (the outer names stay visible), analyzed here; its errors point into it."""
        if len(arg_nodes) != 2:
            raise self.error(
                LinqTypeError, f"`{fn.name}' takes an array and an expression of `_'", span
            )
        items = self.expr(arg_nodes[0], phase)
        text = arg_nodes[1]
        if not (isinstance(text, ast.Literal) and text.kind is ast.LitKind.STR):
            raise self.error(
                LinqTypeError,
                f"The expression of `{fn.name}' must be a string literal, as '_ * 2'",
                text.span,
            )
        if items.type.kind not in (Kind.ARRAY, Kind.SET, Kind.NULL, Kind.ANY):
            raise self.error(
                LinqTypeError,
                f"`{fn.name}' applies to an array or a set, not {items.type}",
                arg_nodes[0].span,
            )
        depth = sum(1 for name in phase.scope if name.startswith(LAMBDA_PREFIX)) + 1
        param = TParam(f"{LAMBDA_PREFIX}{depth}", items.type.element or t.ANY)
        # The rows' names and `_`; no aggregation (that phase has no rows before a group).
        inner = dataclasses.replace(
            phase, scope={**phase.scope, "_": param, param.name: param}, pre_scope=None
        )
        source = lambda_body(self.source, str(text.value), text.span, self.meter, self.error)
        body = self.expr(source, inner)
        lam = TLambda(param, body, body.type)
        if fn.name == "filter":
            if body.type.kind not in (Kind.BOOL, Kind.NULL, Kind.ANY):
                raise self.error(
                    LinqTypeError,
                    f"The expression of `filter' must be a bool, not {body.type}",
                    text.span,
                )
            result = items.type if items.type.is_collection else t.array_of(t.ANY)
        else:
            result = t.array_of(body.type)
        return TCall(fn, (items, lam), result, span)

    def _check_map_keys(self, ltype: LType, span: Span) -> None:
        """A map must know its key type, a single value's: the engines give a map of untyped
        keys (`bag()`, `bag(null)`) a type Arrow cannot carry, and reading it aborts the
        process. No collection holds bytes: ClickHouse hands its strings over as UTF-8 text,
        so only a bytes column of its own is carried as bytes (its result hook)."""
        inner = [x for x in (ltype.element, ltype.key) if x is not None]
        if ltype.kind in (Kind.ARRAY, Kind.SET, Kind.MAP) and any(x.is_binary for x in inner):
            raise self.error(
                LinqTypeError, f"A {ltype.kind.value} cannot hold bytes: use to16 or to64", span
            )
        if ltype.kind is not Kind.MAP:
            return
        if ltype.key is None or ltype.key.kind in (Kind.ANY, Kind.NULL):
            raise self.error(
                LinqTypeError, "The keys of this map have no type: give it typed values", span
            )
        if ltype.key.kind not in MAP_KEY_KINDS:
            raise self.error(
                LinqTypeError, f"A map key must be a single value, not {ltype.key}", span
            )


def lambda_body(source: str, text: str, span: Span, meter: Meter, fail: Fail) -> ast.Expr:
    """The expression ``text`` of the string literal at ``span`` of the query ``source``. When
    the literal holds it verbatim (no escapes) its spans are its places in the query, so errors
    point into the string; otherwise they all point at the literal (``fail`` makes an error at a
    place of the query)."""
    if source[span.start + 1 : span.end - 1] == text:
        base = span.start + 1
        line = source.count("\n", 0, base) + 1
        column = base - (source.rfind("\n", 0, base) + 1) + 1

        def place(inner: Span) -> Span:
            at_column = inner.column + column - 1 if inner.line == 1 else inner.column
            return Span(base + inner.start, base + inner.end, line + inner.line - 1, at_column)

        try:
            parsed: ast.Expr = _moved(parse_expression(text, meter), place)
            return parsed
        except LinqError as error:
            if error.span is None:
                raise
            placed = place(error.span)
            message = error.message.replace(
                f"at line {error.span.line}, column {error.span.column}",
                f"at line {placed.line}, column {placed.column}",
            )
            raise type(error)(message, placed, source) from None
    try:
        moved: ast.Expr = _moved(parse_expression(text, meter), lambda _: span)
        return moved
    except LinqError as error:
        raise fail(type(error), f"In the expression {text!r}: {error.message}", span) from None


def _moved(node: Any, place: Callable[[Span], Span]) -> Any:
    """A syntax tree parsed on its own with every span placed in the query."""
    if isinstance(node, tuple):
        return tuple(_moved(item, place) for item in node)
    if isinstance(node, Span):
        return place(node)
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    changes = {f.name: _moved(getattr(node, f.name), place) for f in dataclasses.fields(node)}
    return dataclasses.replace(node, **changes)
