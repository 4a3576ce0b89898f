"""``ast.Query`` → LINQ text. Every compound expression is parenthesised, so parsing the output
gives back an equal tree (the property test relies on it)."""

from __future__ import annotations

import json
import re

from . import ast
from .lexer import DURATION_UNITS_MS
from .tokens import KEYWORDS

_SIMPLE_NAME = re.compile(r"^[A-Za-z_$@][A-Za-z0-9_$@]*$")
_UNITS = sorted(DURATION_UNITS_MS.items(), key=lambda item: -item[1])


def format_duration(ms: int) -> str:
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS:
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_name(name: str) -> str:
    if _SIMPLE_NAME.fullmatch(name) and name not in KEYWORDS:
        return name
    return f"`{name}`"


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def format_expr(node: ast.Expr) -> str:
    match node:
        case ast.Literal(kind=ast.LitKind.STR, value=value):
            return _string(str(value))
        case ast.Literal(kind=ast.LitKind.BOOL, value=value):
            return "true" if value else "false"
        case ast.Literal(kind=ast.LitKind.NULL):
            return "null"
        case ast.Literal(kind=ast.LitKind.DURATION, value=value):
            return format_duration(int(value))  # type: ignore[call-overload]
        case ast.Literal(kind=ast.LitKind.FLOAT, value=value):
            return repr(float(value))  # type: ignore[arg-type]
        case ast.Literal(value=value):
            return str(value)
        case ast.Name(name=name):
            return format_name(name)
        case ast.Call(name=name, args=args):
            return f"{format_name(name)}({', '.join(format_expr(a) for a in args)})"
        case ast.Unary(op="not", operand=operand):
            return f"(not {format_expr(operand)})"
        case ast.Unary(op=op, operand=operand):
            return f"({op}{format_expr(operand)})"
        case ast.Binary():
            return _format_chain(node)
        case ast.Chain(ops=ops, operands=operands):
            text = format_expr(operands[0])
            for op, operand in zip(ops, operands[1:], strict=True):
                text += f" {op} {format_expr(operand)}"
            return f"({text})"
        case ast.Index(target=target, index=index):
            return f"{format_expr(target)}[{format_expr(index)}]"
        case ast.Collection(kind=kind, items=items):
            inner = ", ".join(format_expr(i) for i in items)
            return {"set": f"{{{inner}}}", "array": f"[{inner}]", "tuple": f"({inner})"}[kind]
        case ast.MapLiteral(items=items):
            return "{" + ", ".join(f"{format_expr(k)}: {format_expr(v)}" for k, v in items) + "}"
        case ast.Subquery(query=query):
            return f"({format_query(query)})"
    raise TypeError(f"not an expression: {node!r}")


def _format_chain(node: ast.Binary) -> str:
    """A left-nested run of binary operators, iteratively: a run of ``or`` may be thousands
    long (the parser builds it as a loop), far deeper than Python's stack."""
    rights: list[tuple[str, ast.Expr]] = []
    current: ast.Expr = node
    while isinstance(current, ast.Binary):
        rights.append((current.op, current.right))
        current = current.left
    parts = ["(" * len(rights), format_expr(current)]
    parts += [f" {op} {format_expr(right)})" for op, right in reversed(rights)]
    return "".join(parts)


def _period(ms: int | None) -> str:
    return "-" if ms is None else format_duration(ms)


def format_clause(clause: ast.Clause) -> str:
    match clause:
        case ast.Where(conditions=conditions):
            return "where " + ", ".join(format_expr(c) for c in conditions)
        case ast.Select(items=items):
            parts = []
            for item in items:
                if isinstance(item.expr, ast.Star):
                    parts.append("*")
                    continue
                text = format_expr(item.expr)
                parts.append(text if item.alias is None else f"{text} as {format_name(item.alias)}")
            return "select " + ", ".join(parts)
        case ast.Group(every_ms=every, every_dash=dash, keys=keys):
            text = "group"
            if every is not None or dash:
                text += f" every {_period(every)}"
            if keys:
                text += " by " + ", ".join(format_expr(k) for k in keys)
            return text
        case ast.Every(period_ms=period):
            return f"every {_period(period)}"
        case ast.Limit(count=count):
            return f"limit {count}"
        case ast.Offset(count=count):
            return f"offset {count}"
        case ast.OrderBy(items=items):
            return "order by " + ", ".join(
                format_expr(i.expr) + (" desc" if i.descending else " asc") for i in items
            )
    raise TypeError(f"not a clause: {clause!r}")


def format_query(query: ast.Query) -> str:
    table = ".".join(format_name(part) for part in query.table.split("."))
    parts = [f"from {table}"]
    parts += [format_clause(c) for c in query.clauses]
    parts += [
        f"pragma {'.'.join(format_name(k) for k in p.key.split('.'))}:{format_expr(p.value)}"
        for p in query.pragmas
    ]
    return " ".join(parts)
