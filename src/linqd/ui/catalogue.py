"""What the query editor completes: the user's domain's tables, the columns of one of them, and
the functions of the server's catalogue with their signatures.

Tables are the ones the domain's queries may read (``store.schemas_for(domain)``): another
domain's tables are unknown here exactly as they are to the compiler. The list holds the
built-in tables and those the domain has written (``DomainTables.listed``); a table with a fixed
schema that it never wrote (``my.app.*``, ``test.keep.*``: endless names) is not listed, yet
its columns are described, as for a query that names it.
"""

from __future__ import annotations

from typing import Any

from ..errors import NotFound
from ..linq.functions import unique_functions
from ..linq.tokens import CLAUSE_KEYWORDS, KEYWORDS
from ..store.base import EventStore


def functions() -> list[dict[str, str]]:
    """Every function name (aliases too), its signatures and what it does."""
    listed = []
    for fn in unique_functions():
        signatures = " | ".join(s.text() for s in fn.signatures)
        for name in fn.names:
            if name.isidentifier():  # operators' symbols are not typed as names
                listed.append({"name": name, "signature": signatures, "doc": fn.doc})
    return sorted(listed, key=lambda f: f["name"])


# The catalogue does not change while the server runs.
FUNCTIONS = functions()


def tables(store: EventStore, domain: str) -> list[str]:
    visible = store.schemas_for(domain)
    return [schema.name for schema in store.tables() if visible.listed(schema.name)]


def catalogue(store: EventStore, domain: str) -> dict[str, Any]:
    return {
        "tables": tables(store, domain),
        "functions": FUNCTIONS,
        "keywords": sorted(set(KEYWORDS) | set(CLAUSE_KEYWORDS)),
    }


def columns(store: EventStore, domain: str, table: str) -> dict[str, Any]:
    schema = store.schemas_for(domain)(table)
    if schema is None:
        raise NotFound(f"Unknown table `{table}`")
    return {
        "table": table,
        "columns": [{"name": c.name, "type": c.type.name} for c in schema.all_columns()],
    }
