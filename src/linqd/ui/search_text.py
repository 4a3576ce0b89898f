"""The LINQ the search page writes for the user: a filter on a clicked value, and the query
behind a column's top values in the field panel.

A filter goes where it keeps the query valid and means "these rows of the result": after every
clause that shapes the result (``select``, ``group``, its ``where``s), before the trailing
``order by``, ``limit`` and ``offset`` that only pick rows from it. A column the table shows is a
column of the result, so it exists there, whether the table's own or made by ``select`` or
``group``. The place is found by the parser, not by looking for words in the text, so comments
and strings holding ``limit`` cannot mislead it.
"""

from __future__ import annotations

import re

from ..errors import ValidationError
from ..linq import ast
from ..linq.parser import parse
from ..linq.tokens import KEYWORDS

TOP_VALUES = 10
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What a double-quoted LINQ string must escape (the lexer's escapes, backwards).
_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\0": "\\0",
    "\b": "\\b",
    "\f": "\\f",
}
_PICKING = (ast.OrderBy, ast.Limit, ast.Offset)


def identifier(name: str) -> str:
    """``name`` as a LINQ column reference: bare when it can be, else in backquotes."""
    if _IDENTIFIER.fullmatch(name) and name not in KEYWORDS:
        return name
    if "`" in name or not name:
        raise ValidationError(f"The column {name!r} cannot be named in LINQ", field="column")
    return f"`{name}`"


def string_literal(value: str) -> str:
    return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'


def with_filter(text: str, column: str, value: str) -> str:
    """``text`` with ``where column = "value"`` on its result; raises the query's LinqError."""
    query = parse(text)
    clause = f"where {identifier(column)} = {string_literal(value)}"
    at = _filter_place(query)
    head, tail = text[:at].rstrip(), text[at:].lstrip(" \t")
    return f"{head}\n{clause}" + (f"\n{tail}" if tail.strip() else "")


def _picking(query: ast.Query) -> tuple[ast.Clause, ...]:
    """The trailing clauses that only pick rows of the result (order, limit, offset)."""
    clauses = query.clauses
    first = len(clauses)
    while first > 0 and isinstance(clauses[first - 1], _PICKING):
        first -= 1
    return clauses[first:]


def _filter_place(query: ast.Query) -> int:
    """Where a filter on the result goes: before the trailing clauses that pick rows, else after
    the last clause."""
    picking = _picking(query)
    if picking:
        return picking[0].span.start
    clauses = query.clauses
    spans = [query.table_span, *(c.span for c in clauses), *(p.span for p in query.pragmas)]
    return max(span.end for span in spans)


def top_values_query(text: str, column: str) -> str:
    """The ``TOP_VALUES`` most frequent values of ``column`` among the rows ``text`` selects,
    with counts (in a column ``count``, or ``n`` when the column itself is called ``count``).
    The query's trailing ``order by``, ``limit`` and ``offset`` are left out: they would pick
    rows before the counting, or fight with its own order and limit."""
    name = identifier(column)
    alias = "n" if column == "count" else "count"
    query = parse(text)
    base = text
    for clause in reversed(_picking(query)):
        base = f"{base[: clause.span.start].rstrip()} {base[clause.span.end :].lstrip()}"
    base = base.rstrip().rstrip(";")
    return (
        f"{base}\ngroup by {name} select count() as {alias}\n"
        f"order by {alias} desc limit {TOP_VALUES}"
    )
