"""Syntax tree → typed plan: resolves tables, names and functions, checks types, and shapes the
pipeline into stages (see ``ir.py``).

Names follow LINQ's pipeline rules: an alias from ``select ... as`` is visible to every later
clause; after ``group`` only the bucket (``eventdate``), the keys and what the following ``select``
computes exist, and aggregation arguments are read from the rows before the grouping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..columns import CLIENT_COLUMN, EVENTDATE
from ..errors import (
    DuplicateIdentifierError,
    LinqError,
    LinqNameError,
    LinqTypeError,
    Span,
    UnavailableFunctionError,
    UnknownFunctionError,
    UnknownTableError,
)
from ..lookup_tables import LOOKUP_PREFIX
from . import alldata, ast
from . import types as t
from .alldata import ALL_DATA, TableCatalog, with_union
from .coercion import coerce_literal, parse_ip4, parse_net4
from .collection_analysis import CONSTRUCTORS, HIGHER_ORDER, NO_NULL_KINDS, CollectionAnalysis
from .format import format_expr
from .functions import CATALOGUE
from .functions.base import FunctionDef, resolve
from .functions.refused import REFUSED
from .ir import (
    Grouping,
    OrderKey,
    Output,
    Plan,
    ResultColumn,
    Stage,
    TBucket,
    TCall,
    TCollection,
    TColumn,
    TExpr,
    TInSubquery,
    TLiteral,
    TLookup,
    UnionTable,
    is_aggregate,
    mentions_column,
    mentions_param,
    uses_bucket,
)
from .limits import Meter
from .types import Kind, LType

if TYPE_CHECKING:
    from ..store.catalog import TableSchema

SchemaLookup = Callable[[str], "TableSchema | None"]

OPERATOR_FUNCTIONS = {
    "=": "eq", "!=": "ne", "/=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
    "and": "and", "or": "or", "->": "has", "->>": "weakhas", "~": "matches",
    "+": "add", "-": "sub", "*": "mul", "/": "rdiv", "\\": "div", "%": "rem", "%%": "mod",
    "?:": "nvl", "&": "band", "|": "bor", "^": "bxor", "<<": "lshift", ">>": "rshift",
    ">>>": "urshift",
}  # fmt: skip
UNARY_FUNCTIONS = {"-": "neg", "not": "not", "~": "bnot"}
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge"})
# The constructors of the network types, which the analyzer folds into constants.
NETWORKS = {"net4": t.NET4, "net6": t.NET6}


@dataclass
class _Phase:
    """The names visible at one point of the pipeline and what the current stage has gathered."""

    source: str | Stage
    scope: dict[str, TExpr]
    columns: list[Output]  # what `select *` / no select shows at this point
    pre_scope: dict[str, TExpr] | None = None  # the rows before `group`, for aggregation arguments
    grouping: Grouping | None = None
    where: list[TExpr] = field(default_factory=list)
    having: list[TExpr] = field(default_factory=list)
    selected: list[Output] = field(default_factory=list)
    star: bool = False
    order: list[OrderKey] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


class Analyzer(CollectionAnalysis):
    def __init__(
        self,
        schemas: SchemaLookup,
        source: str,
        functions: Mapping[str, FunctionDef] = CATALOGUE,
        meter: Meter | None = None,
    ) -> None:
        self.schemas = schemas
        self.source = source
        self.functions = functions
        self.meter = meter or Meter()

    def error(self, cls: type[LinqError], message: str, span: Span | None) -> LinqError:
        if span is not None and span.line:
            message = f"{message} at line {span.line}, column {span.column}"
        return cls(message, span, self.source)

    # -- query -----------------------------------------------------------------------------------

    def analyze(self, query: ast.Query) -> Plan:
        scope: dict[str, TExpr] = {EVENTDATE: TColumn(EVENTDATE, t.TIMESTAMP)}
        for name, ltype in self._table_columns(query):
            scope[name] = TColumn(name, ltype)
        visible = [Output(name, expr) for name, expr in scope.items()]
        scope[CLIENT_COLUMN] = TColumn(CLIENT_COLUMN, t.STR)
        phase = _Phase(query.table, scope, visible)
        client_period: int | None = None
        own_range = False
        for clause in query.clauses:
            match clause:
                case ast.Where():
                    for condition in clause.conditions:
                        expr = self._condition(condition, phase)
                        if phase.grouping is None:
                            own_range = own_range or mentions_column(expr, EVENTDATE)
                        if phase.grouping is not None and (
                            is_aggregate(expr) or uses_bucket(expr) or phase.selected
                        ):
                            phase.having.append(expr)
                        else:
                            phase.where.append(expr)
                case ast.Select():
                    self._select(clause, phase)
                case ast.Group():
                    phase = self._group(clause, phase)
                case ast.Every():
                    client_period = clause.period_ms
                case ast.Limit():
                    phase.limit = clause.count
                case ast.Offset():
                    phase.offset = clause.count
                case ast.OrderBy():
                    phase.order = [self._order_key(item, phase) for item in clause.items]
        stage = self._finish(phase)
        if query.table == ALL_DATA:
            stage = with_union(stage, lambda source: self._union(source, query))
        pragmas = tuple(
            (p.key, p.value.value if isinstance(p.value, ast.Literal) else format_expr(p.value))
            for p in query.pragmas
            if not p.key.startswith("comment.")
        )
        columns = tuple(ResultColumn(o.name, o.expr.type) for o in stage.outputs)
        return Plan(query.table, stage, columns, pragmas, client_period, own_range)

    def _table_columns(self, query: ast.Query) -> list[tuple[str, LType]]:
        if query.table == ALL_DATA and isinstance(self.schemas, TableCatalog):
            return alldata.schema_columns()[1:]
        schema = self.schemas(query.table)
        if schema is None:
            raise self.error(UnknownTableError, f"Unknown table `{query.table}`", query.table_span)
        return [(column.name, column.type) for column in schema.columns]

    def _union(self, source: Stage, query: ast.Query) -> tuple[UnionTable, ...]:
        """The tables ``all.data`` reads: the domain's, less those the constant globs of its
        ``anymatches`` filters leave out; refused past ``MAX_TABLES``."""
        assert isinstance(self.schemas, TableCatalog)
        globs = alldata.restricting_globs(source.where)
        tables = alldata.select_tables(self.schemas.table_names(), globs)
        if len(tables) > alldata.MAX_TABLES:
            raise self.error(
                LinqError,
                f"`{ALL_DATA}` would read {len(tables)} tables, more than "
                f"{alldata.MAX_TABLES}: choose some with "
                f'`where anymatches(tables, nameglob("..."))`',
                query.table_span,
            )
        found = [(name, self.schemas(name)) for name in tables]
        return tuple(alldata.union_table(schema) for _, schema in found if schema is not None)

    def _condition(self, node: ast.Expr, phase: _Phase) -> TExpr:
        expr = self.expr(node, phase)
        if expr.type.kind not in (Kind.BOOL, Kind.NULL, Kind.ANY):
            raise self.error(
                LinqTypeError, f"Filter must be a bool expression, not {expr.type}", node.span
            )
        return expr

    def _select(self, clause: ast.Select, phase: _Phase) -> None:
        for item in clause.items:
            if isinstance(item.expr, ast.Star):
                phase.star = True
                continue
            expr = self.expr(item.expr, phase)
            if phase.grouping is None and is_aggregate(expr):
                raise self.error(
                    LinqTypeError, "Aggregation functions can only be used after group", item.span
                )
            name = item.alias or _default_name(item.expr)
            if item.alias is not None and item.alias in phase.scope:
                existing = phase.scope[item.alias]
                if existing != expr or item.alias in (EVENTDATE, CLIENT_COLUMN):
                    raise self.error(
                        DuplicateIdentifierError,
                        f"Identifier `{item.alias}` is used more than once",
                        item.span,
                    )
            if item.alias is None and isinstance(item.expr, ast.Name):
                name = item.expr.name
            else:
                phase.scope[name] = expr
                phase.columns.append(Output(name, expr))
            phase.selected = [o for o in phase.selected if o.name != name]
            phase.selected.append(Output(name, expr))

    def _group(self, clause: ast.Group, phase: _Phase) -> _Phase:
        if phase.grouping is not None:
            inner = self._finish(phase)
            scope: dict[str, TExpr] = {o.name: TColumn(o.name, o.expr.type) for o in inner.outputs}
            phase = _Phase(inner, scope, [Output(n, e) for n, e in scope.items()])
        keys: list[Output] = []
        for key in clause.keys:
            expr = self.expr(key, phase)
            if is_aggregate(expr):
                raise self.error(LinqTypeError, "Cannot group by an aggregation", key.span)
            name = key.name if isinstance(key, ast.Name) else _default_name(key)
            keys.append(Output(name, expr))
        period = clause.every_ms if clause.temporal else None
        if period is not None and EVENTDATE not in phase.scope:
            raise self.error(
                LinqTypeError,
                "Time grouping needs eventdate, which the previous grouping did not keep",
                clause.span,
            )
        grouping = Grouping(period, tuple(keys))
        scope = {}
        columns: list[Output] = []
        if period is not None:
            bucket = Output(EVENTDATE, TBucket(period))
            scope[EVENTDATE] = bucket.expr
            columns.append(bucket)
        for output in keys:
            scope[output.name] = output.expr
            columns.append(output)
        return _Phase(
            phase.source,
            scope,
            columns,
            pre_scope=phase.scope,
            grouping=grouping,
            where=phase.where,
            order=[],
        )

    def _finish(self, phase: _Phase) -> Stage:
        if phase.grouping is not None:
            outputs = list(phase.columns) if phase.star or not phase.selected else None
            if outputs is None:
                base = [o for o in phase.columns if o.name == EVENTDATE]
                base += list(phase.grouping.keys)
                outputs = base + [o for o in phase.selected if o.name not in {b.name for b in base}]
            if not outputs:
                # A bare `group` with nothing selected still yields its one row: the count.
                outputs = [Output("count", TCall(self.functions["count"], (), t.INT8))]
        elif phase.star or not phase.selected:
            outputs = list(phase.columns)
        else:
            outputs = list(phase.selected)
        order = list(phase.order)
        if order and phase.grouping is None and isinstance(phase.source, str):
            # Ties of an explicit order keep Devo's natural order: time, then arrival.
            order += [OrderKey(TColumn(EVENTDATE, t.TIMESTAMP)), OrderKey(TColumn("_seq", t.INT8))]
        if not order:
            if phase.grouping is not None:
                order = [
                    OrderKey(i + 1)
                    for i, o in enumerate(outputs)
                    if o.name == EVENTDATE or o in phase.grouping.keys
                ]
            elif isinstance(phase.source, str):
                order = [
                    OrderKey(TColumn(EVENTDATE, t.TIMESTAMP)),
                    OrderKey(TColumn("_seq", t.INT8)),
                ]
        return Stage(
            phase.source,
            tuple(phase.where),
            phase.grouping,
            tuple(phase.having),
            tuple(outputs),
            tuple(order),
            phase.limit,
            phase.offset,
        )

    def _order_key(self, item: ast.OrderItem, phase: _Phase) -> OrderKey:
        if isinstance(item.expr, ast.Literal):
            raise self.error(
                LinqTypeError, "order by needs a column or an expression", item.expr.span
            )
        return OrderKey(self.expr(item.expr, phase), item.descending)

    # -- expressions -----------------------------------------------------------------------------

    def expr(self, node: ast.Expr, phase: _Phase, aggregate_args: bool = False) -> TExpr:
        self.meter.tick(node.span)
        match node:
            case ast.Literal():
                return self._literal(node)
            case ast.Name(name=name):
                found = phase.scope.get(name)
                if found is None:
                    raise self.error(LinqNameError, f"Unknown identifier `{name}'", node.span)
                return found
            case ast.Call(name=name, args=args):
                return self._call(name, args, node.span, phase)
            case ast.Unary(op=op, operand=operand):
                return self._call(UNARY_FUNCTIONS[op], (operand,), node.span, phase)
            case ast.Binary(op="and" | "or" as op):
                return self._logical_chain(op, node, phase)
            case ast.Binary(op="in" | "<-", left=left, right=right):
                return self._membership(left, right, node.span, phase)
            case ast.Binary(op="->", left=ast.Subquery() as left, right=right):
                # `(from T ... select v) -> x` is `x in (from T ...)`, arguments reversed.
                return self._membership(right, left, node.span, phase)
            case ast.Binary(op=op, left=left, right=right):
                return self._call(OPERATOR_FUNCTIONS[op], (left, right), node.span, phase)
            case ast.Chain(ops=ops, operands=operands):
                parts = [
                    self._call(OPERATOR_FUNCTIONS[op], (a, b), node.span, phase)
                    for op, a, b in zip(ops, operands, operands[1:], strict=False)
                ]
                result = parts[0]
                for part in parts[1:]:
                    result = TCall(self.functions["and"], (result, part), t.BOOL)
                return result
            case ast.Index(target=ast.Subquery(query=query), index=index):
                plan = self._subquery(query)
                keys = self._tuple_items(index, phase)
                if len(plan.columns) != len(keys) + 1:
                    raise self.error(
                        LinqTypeError,
                        f"A lookup subquery needs {len(keys)} key column(s) and a value column",
                        node.span,
                    )
                return self._lookup(keys, plan, node.span)
            case ast.Index(target=target, index=index):
                return self._call("at", (target, index), node.span, phase)
            case ast.Collection(kind="tuple", items=items):
                # A tuple's items keep their own types: `(1.33, "text", true)`.
                typed = [self.expr(i, phase) for i in items]
                self._refuse_bytes("tuple", typed, items)
                return TCollection("tuple", tuple(typed), t.tuple_of(tuple(i.type for i in typed)))
            case ast.Collection(kind=kind, items=items):
                return self._collection(kind, items, phase)
            case ast.MapLiteral(items=pairs):
                return self._map(pairs, phase)
            case ast.Subquery():
                raise self.error(
                    LinqTypeError, "A subquery must follow `in` or be indexed", node.span
                )
        raise TypeError(node)

    def _logical_chain(self, op: str, node: ast.Binary, phase: _Phase) -> TExpr:
        """A run of `and`s (or `or`s) as a balanced tree: long generated filters (hundreds of
        alternatives) must not nest as deep as they are long."""
        operands: list[ast.Expr] = []
        pending: list[ast.Expr] = [node]
        while pending:
            current = pending.pop()
            if isinstance(current, ast.Binary) and current.op == op:
                pending += [current.right, current.left]
            else:
                operands.append(current)
        fn = self.functions[op]
        items = [self.expr(o, phase) for o in operands]
        for item, operand in zip(items, operands, strict=True):
            if item.type.kind not in (Kind.BOOL, Kind.NULL, Kind.ANY):
                raise self.error(
                    LinqTypeError, f"`{op}` needs bool operands, not {item.type}", operand.span
                )
        while len(items) > 1:
            paired = [
                TCall(fn, (items[i], items[i + 1]), t.BOOL) for i in range(0, len(items) - 1, 2)
            ]
            items = paired + ([items[-1]] if len(items) % 2 else [])
        return items[0]

    def _literal(self, node: ast.Literal) -> TLiteral:
        kind = node.kind
        if kind is ast.LitKind.IP4:
            return TLiteral(parse_ip4(str(node.value)), t.IP4)
        if kind is ast.LitKind.NET4:
            return TLiteral(parse_net4(str(node.value)), t.NET4)
        ltype = {
            ast.LitKind.STR: t.STR,
            ast.LitKind.INT: t.INT8,
            ast.LitKind.FLOAT: t.FLOAT8,
            ast.LitKind.BOOL: t.BOOL,
            ast.LitKind.NULL: t.NULL,
            ast.LitKind.DURATION: t.DURATION,
        }[kind]
        return TLiteral(node.value, ltype)

    def _collection(
        self, kind: str, nodes: tuple[ast.Expr, ...], phase: _Phase, membership: bool = False
    ) -> TCollection:
        """An array or set literal: one element type for all its items, or a type error at the
        first item that does not fit. Engines type a literal array by its items, so letting
        `["One", 77]` through would make them fail while the rows stream (an HTTP 200 with no
        rows) or, worse, read `true` as 1.

        The element type is that of the items that are not null and not string literals;
        numbers widen to the widest (`[1, 2.5]` is `array(float8)`), and string literals are
        read as that type the way `=` reads them (`{10.0.0.1, "10.0.0.2"}` is `set(ip4)`). A
        set after `in` is read as the tested value's type instead (``_membership_container``),
        so there its items are only typed one by one (``membership``)."""
        items = [self.expr(node, phase) for node in nodes]
        if membership:
            return TCollection(kind, tuple(items), _collection_type(kind, t.ANY))
        return self._typed_collection(kind, items, nodes)

    def _typed_collection(
        self, kind: str, items: list[TExpr], nodes: Sequence[ast.Expr]
    ) -> TCollection:
        element: LType | None = None
        for item, node in zip(items, nodes, strict=True):
            itype = item.type
            if itype.kind is Kind.NULL or (isinstance(item, TLiteral) and itype == t.STR):
                continue
            if element is None or element == itype:
                element = itype
            elif element.is_numeric and itype.is_numeric:
                element = t.common_numeric(element, itype)
            else:
                raise self._element_error(kind, element, item, node)
        if element is None:
            strings = any(i.type == t.STR for i in items)
            element = t.STR if strings else t.ANY
        typed: list[TExpr] = []
        for item, node in zip(items, nodes, strict=True):
            if item.type.kind is Kind.NULL and element.kind in NO_NULL_KINDS:
                # The engines cannot mix null with arrays or maps (ClickHouse has no null array).
                raise self._element_error(kind, element, item, node)
            if isinstance(item, TLiteral) and item.value is not None and item.type != element:
                converted = _widen_literal(item, element)
                if converted is None:
                    raise self._element_error(kind, element, item, node)
                item = converted
            typed.append(item)
        self._refuse_bytes(kind, typed, nodes)
        return TCollection(kind, tuple(typed), _collection_type(kind, element))

    def _refuse_bytes(self, kind: str, items: Sequence[TExpr], nodes: Sequence[ast.Expr]) -> None:
        """ClickHouse hands strings inside a collection over as UTF-8 text: bytes there could
        not be read back."""
        for item, node in zip(items, nodes, strict=True):
            if item.type.is_binary:
                raise self.error(
                    LinqTypeError, f"A {kind} cannot hold bytes: use to16 or to64", node.span
                )

    def _unify(
        self,
        name: str,
        args: list[TExpr],
        nodes: Sequence[ast.Expr | None],
        group: Sequence[int],
        span: Span,
        against: TExpr | None = None,
    ) -> LType | None:
        """Arguments at ``group`` read as one type, in place: numbers widen, null and string
        literals take the others' type; another mix is a type error at the argument. With
        ``against`` (decode's value) the group is read as its type. The
        engines refuse a CASE or COALESCE of mixed types, or cast one side silently (ClickHouse
        gives `ifthenelse(false, "abc", -3)` as "-3"); either way not the one LINQ value."""
        element: LType | None = None
        if against is not None and against.type.kind not in (Kind.NULL, Kind.ANY):
            element = against.type
        for index in group:
            arg = args[index]
            itype = arg.type
            if itype.kind in (Kind.NULL, Kind.ANY) or (
                isinstance(arg, TLiteral) and itype == t.STR
            ):
                continue
            if element is None or element == itype:
                element = itype
            elif element.is_numeric and itype.is_numeric:
                element = t.common_numeric(element, itype)
            elif not (_comparable(element, itype) and not itype.is_numeric):
                # str and json mix (json prints as its text); nothing else does.
                raise self._argument_error(name, element, arg, nodes[index], span)
        if element is None:
            strings = any(args[i].type == t.STR for i in group)
            return t.STR if strings else None
        for index in group:
            arg = args[index]
            if (
                isinstance(arg, TLiteral)
                and arg.value is not None
                and arg.type != element
                and not (arg.type == t.STR and element.kind in (Kind.STR, Kind.JSON))
            ):
                converted = _widen_literal(arg, element)
                if converted is None:
                    raise self._argument_error(name, element, arg, nodes[index], span)
                args[index] = converted
        return element

    def _argument_error(
        self, name: str, element: LType, arg: TExpr, node: ast.Expr | None, span: Span
    ) -> LinqError:
        text = f"`{format_expr(node)}` is {arg.type}" if node is not None else f"{arg.type}"
        return self.error(
            LinqTypeError,
            f"The values `{name}' compares or chooses from must share one type: {text}, not "
            f"{element}",
            node.span if node is not None else span,
        )

    def _element_error(self, kind: str, element: LType, item: TExpr, node: ast.Expr) -> LinqError:
        article = "an" if kind == "array" else "a"
        return self.error(
            LinqTypeError,
            f"The items of {article} {kind} literal must share one type: "
            f"`{format_expr(node)}` is {item.type}, not {element}",
            node.span,
        )

    def _tuple_items(self, node: ast.Expr, phase: _Phase) -> tuple[TExpr, ...]:
        if isinstance(node, ast.Collection) and node.kind == "tuple":
            return tuple(self.expr(i, phase) for i in node.items)
        return (self.expr(node, phase),)

    def _subquery(self, query: ast.Query) -> Plan:
        return Analyzer(self.schemas, self.source, self.functions, self.meter).analyze(query)

    def _lookup_keys(self, query: ast.Query) -> ast.Query:
        """``in my.lookuplist.<name>`` tests the lookup's keys: its first column."""
        if query.clauses or not query.table.startswith(LOOKUP_PREFIX):
            return query
        schema = self.schemas(query.table)
        if schema is None or not schema.columns:
            raise self.error(UnknownTableError, f"Unknown table `{query.table}`", query.span)
        key = ast.SelectItem(ast.Name(schema.columns[0].name))
        return replace(query, clauses=(ast.Select((key,)),))

    def _membership(self, left: ast.Expr, right: ast.Expr, span: Span, phase: _Phase) -> TExpr:
        if isinstance(right, ast.Subquery):
            plan = self._subquery(self._lookup_keys(right.query))
            values = self._tuple_items(left, phase)
            if len(values) == 1 and isinstance(values[0], TCollection):
                values = values[0].items
            if len(plan.columns) < len(values):
                raise self.error(
                    LinqTypeError, "The subquery has fewer columns than the tuple", span
                )
            return TInSubquery(values, plan)
        return self._call("in", (left, right), span, phase)

    def _call(self, name: str, arg_nodes: tuple[ast.Expr, ...], span: Span, phase: _Phase) -> TExpr:
        if name == "lu":
            return self._lookup_function(arg_nodes, span, phase)
        if name in CONSTRUCTORS or name == "mkmap":
            return self._constructor(name, arg_nodes, span, phase)
        fn = self.functions.get(name)
        if fn is None:
            refusal = REFUSED.get(name)
            if refusal is not None:
                raise self.error(UnavailableFunctionError, refusal.message(name), span)
            raise self.error(UnknownFunctionError, f"No function named `{name}'", span)
        if fn.name in HIGHER_ORDER:
            return self._higher_order(fn, arg_nodes, span, phase)
        if fn.aggregate:
            if phase.pre_scope is None:
                raise self.error(
                    LinqTypeError,
                    f"Aggregation function `{name}' can only be used after group",
                    span,
                )
            inner = _Phase(phase.source, phase.pre_scope, [])
            args = [self.expr(a, inner) for a in arg_nodes]
        elif (
            fn.name == "in"
            and isinstance(last := arg_nodes[-1], ast.Collection)
            and (last.kind != "tuple")
        ):
            # The set is read as the tested value's type (`_membership_container`), not typed
            # on its own: `statusCode in {404, "500"}`.
            args = [self.expr(a, phase) for a in arg_nodes[:-1]]
            untyped = args[0].type.kind in (Kind.ANY, Kind.NULL)
            args.append(self._collection(last.kind, last.items, phase, membership=not untyped))
        else:
            args = [self.expr(a, phase) for a in arg_nodes]
        if fn.name == "bag" and not (len(args) == 1 and args[0].type.is_collection):
            # bag(1, 2, 2) is the bag of [1, 2, 2]: the arguments typed as an array literal's.
            args = [self._typed_collection("array", args, arg_nodes)]
        if fn.name in NETWORKS and len(args) == 1 and isinstance(args[0], TLiteral):
            # A constant network folds into a literal, so `ip in net4("10.0.0.0/8")` is a range.
            folded = coerce_literal(args[0].value, NETWORKS[fn.name])
            if folded is None:
                raise self.error(LinqTypeError, f"Cannot read {args[0].value!r} as {fn.name}", span)
            return folded
        if fn.name == "in" and len(args) >= 2:
            args = [*args[:-1], self._membership_container(args[0], args[-1], span)]
            self._check_network_membership(args[:-1], args[-1], span)
        if fn.name in COMPARISONS:
            compared = self._compare(fn, args)
            if compared is not None:
                return compared
        shared = SHARED_TYPE.get(fn.name)
        common: LType | None = None
        if shared is not None:
            nodes = arg_nodes if len(arg_nodes) == len(args) else (None,) * len(args)
            for position, group in enumerate(shared(len(args))):
                against = args[0] if fn.name == "decode" and position == 0 else None
                element = self._unify(fn.name, args, nodes, group, span, against)
                if position == len(shared(len(args))) - 1:
                    common = element
        literals = [isinstance(a, TLiteral) for a in args]
        resolved = resolve(fn, [a.type for a in args], literals)
        if resolved is None:
            wanted = " or ".join(s.text() for s in fn.signatures)
            got = ", ".join(str(a.type) for a in args)
            raise self.error(LinqTypeError, f"Function `{name}' takes {wanted}, not ({got})", span)
        signature, result = resolved
        self._check_map_keys(result, span)
        if fn.name == "at" and args[0].type.kind is Kind.MAP and isinstance(args[1], TLiteral):
            # `m["10.0.0.1"]` on a map of ip4 keys reads the key as one, as `=` would.
            key_type = args[0].type.key or t.ANY
            converted = coerce_literal(args[1].value, key_type)
            if converted is not None and args[1].type != key_type:
                args[1] = converted
        if common is not None:
            # `ifthenelse(c, null, "x")` is a str and `nvl(int, 2.5)` a float8: the shared type.
            result = common
        final: list[TExpr] = []
        for i, arg in enumerate(args):
            pattern = signature.param(i)
            if isinstance(arg, TLiteral) and arg.type == t.STR and pattern not in ("any", "str"):
                target = t.parse_type(pattern) if pattern not in ("num", "int", "coll") else None
                if target is not None and target.kind is not Kind.JSON:
                    converted = coerce_literal(arg.value, target)
                    if converted is None:
                        raise self.error(
                            LinqTypeError, f"Cannot read {arg.value!r} as {target}", span
                        )
                    arg = converted
            elif isinstance(arg, TLiteral) and arg.type.kind is Kind.NULL:
                arg = _typed_null(pattern, arg)
            final.append(arg)
        return TCall(fn, tuple(final), result, span)

    def _lookup_function(self, arg_nodes: tuple[ast.Expr, ...], span: Span, phase: _Phase) -> TExpr:
        """``lu("name", "field", key)``: the field of lookup ``name`` for ``key`` (null when the
        key is absent). A lookup table's key is its first column."""
        if len(arg_nodes) != 3 or not all(
            isinstance(a, ast.Literal) and a.kind is ast.LitKind.STR for a in arg_nodes[:2]
        ):
            raise self.error(
                LinqTypeError, 'lu takes ("lookup name", "field", key expression)', span
            )
        name, field = (str(a.value) for a in arg_nodes[:2])  # type: ignore[union-attr]
        table = f"{LOOKUP_PREFIX}{name}"
        schema = self.schemas(table)
        if schema is None or not schema.columns:
            raise self.error(UnknownTableError, f"Unknown table `{table}`", span)
        if schema.column(field) is None:
            raise self.error(LinqNameError, f"Unknown identifier `{field}'", span)
        key_column = schema.columns[0]
        key = self.expr(arg_nodes[2], phase)
        if key.type != key_column.type:
            converted = (
                coerce_literal(key.value, key_column.type) if isinstance(key, TLiteral) else None
            )
            if converted is None:
                raise self.error(
                    LinqTypeError,
                    f"Lookup key of {name} is {key_column.type}, not {key.type}",
                    arg_nodes[2].span,
                )
            key = converted
        query = ast.Query(
            table,
            (
                ast.Select(
                    (ast.SelectItem(ast.Name(key_column.name)), ast.SelectItem(ast.Name(field)))
                ),
            ),
        )
        plan = self._subquery(query)
        return self._lookup((key,), plan, span)

    def _lookup(self, keys: tuple[TExpr, ...], plan: Plan, span: Span) -> TLookup:
        # Neither engine reads a table for each item of a list: a lookup runs per row.
        if any(mentions_param(k) for k in keys):
            raise self.error(
                LinqTypeError, "A lookup's key cannot be the item of map or filter", span
            )
        return TLookup(keys, plan, plan.columns[-1].type)

    def _membership_container(self, value: TExpr, container: TExpr, span: Span) -> TExpr:
        """String literals in a set (or a quoted CIDR) read as the value's type, as `=` does."""
        if value.type.kind in (Kind.IP4, Kind.IP6) and isinstance(container, TLiteral):
            text = str(container.value)
            nets = (t.NET4, t.NET6) if value.type.kind is Kind.IP4 else (t.NET6, t.NET4)
            for net in nets:
                as_net = coerce_literal(container.value, net)
                if as_net is not None and "/" in text:
                    return as_net
        if not isinstance(container, TCollection) or container.kind in ("tuple", "map"):
            return container
        if value.type.kind in (Kind.ANY, Kind.NULL):
            return container  # typed on its own (`_call`)
        items: list[TExpr] = []
        for item in container.items:
            if isinstance(item, TLiteral) and item.type != value.type:
                converted = coerce_literal(item.value, value.type)
                if converted is None:
                    continue  # a value of another type can never be a member: drop it
                item = converted
            elif not _comparable(item.type, value.type):
                # A computed item of another type would make the engine fail as rows stream.
                raise self.error(
                    LinqTypeError,
                    f"`in` tests a {value.type} value, and a set item is {item.type}",
                    span,
                )
            items.append(item)
        element = value.type if items else t.ANY
        ctype = t.array_of(element) if container.kind == "array" else t.set_of(element)
        return TCollection(container.kind, tuple(items), ctype)

    def _check_network_membership(
        self, values: Sequence[TExpr], container: TExpr, span: Span
    ) -> None:
        """`x <- net` tests addresses against a constant network; anything else would fail on
        the engine as the rows stream (a number or text against a range, an address against a
        text that is no CIDR)."""
        kinds = {v.type.kind for v in values} - {Kind.NULL, Kind.ANY}
        if container.type.kind in (Kind.NET4, Kind.NET6):
            if not isinstance(container, TLiteral):
                raise self.error(
                    LinqTypeError, f"`in` needs a constant {container.type} (a literal)", span
                )
            wrong = kinds - {Kind.IP4, Kind.IP6}
            if wrong:
                found = ", ".join(sorted(k.value for k in wrong))
                raise self.error(
                    LinqTypeError, f"`in` tests an ip4 or ip6 against a network, not {found}", span
                )
        elif isinstance(container, TLiteral) and container.type == t.STR:
            addresses = kinds & {Kind.IP4, Kind.IP6, Kind.MAC}
            if addresses:
                found = ", ".join(sorted(k.value for k in addresses))
                raise self.error(
                    LinqTypeError,
                    f"Cannot read {container.value!r} as a network for `in` on {found}",
                    span,
                )

    def _compare(self, fn: FunctionDef, args: list[TExpr]) -> TExpr | None:
        """Comparisons accept mismatched types the way Devo does: a literal is read as the other
        side's type, and a comparison that still cannot hold is simply false (no rows)."""
        if len(args) != 2:
            return None
        a, b = args
        if _comparable(a.type, b.type):
            return TCall(fn, (a, b), t.BOOL)
        for literal, other, first in ((b, a, False), (a, b, True)):
            if isinstance(literal, TLiteral):
                converted = coerce_literal(literal.value, other.type)
                if converted is not None:
                    pair = (converted, other) if first else (other, converted)
                    return TCall(fn, pair, t.BOOL)
        return TLiteral(False, t.BOOL)


def _decode_groups(count: int) -> list[list[int]]:
    """decode(value, key1, result1, key2, result2, ..., [otherwise]): keys, then results."""
    keys = list(range(1, count - 1, 2))
    results = list(range(2, count, 2)) + ([count - 1] if count % 2 == 0 else [])
    return [keys, results]


# Functions whose arguments at these positions (given the argument count) must share one type:
# the values a conditional chooses from, and the last group is the result's.
SHARED_TYPE: dict[str, Callable[[int], list[list[int]]]] = {
    "ifthenelse": lambda count: [[1, 2]],
    "nvl": lambda count: [[0, 1]],
    "decode": _decode_groups,
}


def _typed_null(pattern: str, null: TLiteral) -> TLiteral:
    """A null argument typed as its parameter when the parameter names one type: DuckDB cannot
    choose among a function's overloads for an untyped NULL (`hour(null)`)."""
    if pattern in ("any", "num", "int", "coll") or pattern.startswith("$"):
        return null
    target = t.parse_type(pattern)
    if target.is_collection or target.kind in (Kind.ANY, Kind.NULL):
        return null
    return TLiteral(None, target)


def _widen_literal(item: TLiteral, element: LType) -> TLiteral | None:
    """A literal item read as its collection's element type: a string as `=` reads it, a
    number as a wider number; nothing else converts (`[1, true]` is not `[1, 1]`)."""
    if item.type == t.STR:
        return coerce_literal(item.value, element)
    if item.type.is_numeric and element.is_numeric:
        value = float(item.value) if element == t.FLOAT8 else item.value  # type: ignore[arg-type]
        return TLiteral(value, element)
    return None


def _collection_type(kind: str, element: LType) -> LType:
    return t.set_of(element) if kind == "set" else t.array_of(element)


def _comparable(a: LType, b: LType) -> bool:
    if Kind.NULL in (a.kind, b.kind) or Kind.ANY in (a.kind, b.kind):
        return True
    if a.is_numeric and b.is_numeric:
        return True
    if {a.kind, b.kind} == {Kind.STR, Kind.JSON}:
        return True
    if {a.kind, b.kind} <= {Kind.TIMESTAMP} or {a.kind, b.kind} <= {Kind.DURATION}:
        return True
    if a.kind == b.kind and a.is_collection and a.element is not None and b.element is not None:
        # `[1, 2.5] = ["a"]` can never hold; the engines would refuse comparing the arrays.
        return _comparable(a.element, b.element)
    return a.kind == b.kind


def _default_name(node: ast.Expr | ast.Star) -> str:
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Call):
        return node.name
    if isinstance(node, ast.Star):
        return "*"
    return format_expr(node)


def analyze(
    query: ast.Query, schemas: SchemaLookup, source: str = "", meter: Meter | None = None
) -> Plan:
    return Analyzer(schemas, source, meter=meter).analyze(query)
