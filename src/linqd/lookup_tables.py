"""Lookup tables: ``my.lookuplist.<name>`` in LINQ, stored once per domain.

Each domain's lookup of a name is a table of its own (``my.lookuplist.<name>#<digest of the
domain>``), so one domain's upload, its columns and its rows never touch or block another
domain's lookup of the same name. LINQ text, scopes and error messages use the LINQ name; only
the store and the SQL the compiler writes use the storage name. Shared by the store, the
compiler and ingestion (it imports nothing of either).
"""

from __future__ import annotations

import hashlib

LOOKUP_PREFIX = "my.lookuplist."
_SEPARATOR = "#"


def is_lookup(table: str) -> bool:
    return table.startswith(LOOKUP_PREFIX)


def lookup_storage(table: str, client: str) -> str:
    """Where ``client``'s lookup ``table`` (a LINQ name) is stored."""
    digest = hashlib.sha256(client.encode()).hexdigest()[:16]
    return f"{table}{_SEPARATOR}{digest}"


def is_lookup_storage(name: str) -> bool:
    """Whether ``name`` is a stored (per-domain) lookup table rather than a LINQ name."""
    return is_lookup(name) and _SEPARATOR in name
