"""Tables with a fixed schema that hold no storage yet, read as empty relations.

A table of a fixed-schema family (``catalog.fixed_schema``) may be named by a query before its
first event, when the engine has no table of that name; a ``test.drop.*`` table never has one
(an old data directory may, from before those events were dropped: it is not read). Just before
a store renders a query, each such table is replaced by a subquery that gives the table's
columns (``eventdate``, ``client``, the sequence and its own, in the engine's storage types,
under the same alias) and no row, so the compiled query runs unchanged and answers nothing.

Nothing is created on the read path: a query may name any number of such tables, and naming one
writes nothing. The names replaced travel with a prepared statement (``Statement.stand_ins``);
once one of them is stored, the store renders the statement again, so a prepared query made
before the first event (an alert's) reads the events that follow.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from . import catalog
from .catalog import TableSchema

EmptyRows = Callable[[TableSchema], exp.Select]


def standing_in(query: exp.Expression, stored: Callable[[str], bool]) -> dict[str, TableSchema]:
    """The tables ``query`` reads that must be stood in for: fixed-schema tables that are not
    ``stored``, and dropped tables."""
    found: dict[str, TableSchema] = {}
    for table in query.find_all(exp.Table):
        name = table.name
        if table.args.get("db") is not None or name in found:
            continue
        schema = catalog.fixed_schema(name)
        if schema is not None and (catalog.dropped(name) or not stored(name)):
            found[name] = schema
    return found


def stand_in(
    query: exp.Expression, tables: dict[str, TableSchema], empty_rows: EmptyRows
) -> exp.Expression:
    """``query`` with each of ``tables`` replaced by ``empty_rows`` of its schema."""
    if not tables:
        return query

    def replace(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Table) or node.args.get("db") is not None:
            return node
        schema = tables.get(node.name)
        if schema is None:
            return node
        # Column references qualified by the table's own name keep working under its alias.
        alias = node.args.get("alias") or exp.TableAlias(
            this=exp.to_identifier(node.name, quoted=True)
        )
        return exp.Subquery(this=empty_rows(schema), alias=alias.copy())

    return query.transform(replace)
