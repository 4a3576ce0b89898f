"""``all.data``: every event table of the caller's domain read as one table (spec §9.9), for
full-text search across tables (``from all.data where toktains(message, "x")``) and for picking
tables by name (``where anymatches(tables, nameglob("siem.**"))``).

Its columns are the ones every table can give:

- ``eventdate``: the event's time.
- ``table``: the name of the table the event is stored in.
- ``tables``: the same name as an array of one, the form Devo's ``anymatches(tables, ...)``
  reads (an event of Devo's may belong to several tables).
- ``hostname``: the sending host, from a table's ``hostname`` column (raw tables have one);
  null for a table without one.
- ``message``: a table's ``message`` text column, the raw event text (raw tables have one);
  for a typed table without one (its events were JSON, parsed into columns) its text columns,
  in schema order, joined by single spaces, nulls left out, so a full-text search finds the
  words of its values.

The tables are those of the domain that exist in the store (``TableCatalog.table_names``), minus
lookups (reference data, not events). An ``anymatches(tables, nameglob("<constant>"))`` filter
before the first ``group`` leaves out at compile time the tables its glob does not match, and at
most ``MAX_TABLES`` may remain: past that the query is refused at the ``from``, asking for a
glob. Each table is read with the query's own range and domain, so another domain's rows are
never read even from a table both domains have. The tables are chosen when the query is
compiled: a continuous query or a job does not take in a table created after it started.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..columns import EVENTDATE
from ..lookup_tables import is_lookup
from . import types as t
from .functions.introspection import glob_regex
from .ir import Stage, TCall, TColumn, TExpr, TLiteral, UnionTable

if TYPE_CHECKING:
    from ..store.catalog import TableSchema

ALL_DATA = "all.data"
TABLE_COLUMN = "table"
TABLES_COLUMN = "tables"
HOSTNAME_COLUMN = "hostname"
MESSAGE_COLUMN = "message"
# A union of more tables than this is refused: each table is one more scan of the query.
MAX_TABLES = 128

COLUMNS: tuple[tuple[str, t.LType], ...] = (
    (TABLE_COLUMN, t.STR),
    (TABLES_COLUMN, t.array_of(t.STR)),
    (HOSTNAME_COLUMN, t.STR),
    (MESSAGE_COLUMN, t.STR),
)


@runtime_checkable
class TableCatalog(Protocol):
    """A schema lookup that can also list the tables it knows: what ``all.data`` needs. A lookup
    that cannot list them (a plain function) has no ``all.data``."""

    def __call__(self, name: str) -> TableSchema | None: ...

    def table_names(self) -> Sequence[str]:
        """The names of the tables this lookup answers for, lookups excluded."""
        ...


def event_tables(names: Sequence[str]) -> list[str]:
    """The tables ``all.data`` may read among ``names``: events, not lookups, and not itself."""
    return sorted(n for n in names if not is_lookup(n) and n != ALL_DATA)


def restricting_globs(where: Sequence[TExpr]) -> list[str]:
    """The constant globs of ``anymatches(tables, nameglob("..."))`` filters among ``where``
    (the conditions of the stage reading ``all.data``, each of which must hold)."""
    globs = []
    for condition in where:
        if not (isinstance(condition, TCall) and condition.fn.name == "anymatches"):
            continue
        column, pattern = condition.args
        if column != TColumn(TABLES_COLUMN, t.array_of(t.STR)):
            continue
        if (
            isinstance(pattern, TCall)
            and pattern.fn.name == "nameglob"
            and isinstance(literal := pattern.args[0], TLiteral)
            and isinstance(literal.value, str)
        ):
            globs.append(literal.value)
    return globs


def select_tables(names: Sequence[str], globs: Sequence[str]) -> list[str]:
    compiled = [re.compile(glob_regex(g)) for g in globs]
    return [n for n in event_tables(names) if all(c.match(n) for c in compiled)]


def union_table(schema: TableSchema) -> UnionTable:
    """Where ``schema``'s rows take the columns of ``all.data`` from: a ``message`` text column
    is the raw text (raw tables, the rejected events); otherwise every text column makes it."""
    texts = tuple(c.name for c in schema.columns if c.type == t.STR)
    host = HOSTNAME_COLUMN if HOSTNAME_COLUMN in texts else None
    return UnionTable(schema.name, host, (MESSAGE_COLUMN,) if MESSAGE_COLUMN in texts else texts)


def with_union(stage: Stage, union: Callable[[Stage], tuple[UnionTable, ...]]) -> Stage:
    """``stage`` with its innermost stage (the one reading ``all.data``) given the tables it
    reads, computed from that stage by ``union``."""
    if isinstance(stage.source, Stage):
        return replace(stage, source=with_union(stage.source, union))
    return replace(stage, union=union(stage))


def schema_columns() -> list[tuple[str, t.LType]]:
    """The columns of ``all.data`` as the analyzer puts them in scope, ``eventdate`` first."""
    return [(EVENTDATE, t.TIMESTAMP), *COLUMNS]
