"""Reference data the engines join with: facts that are not events, such as which network a
country holds or which suffixes the Public Suffix List names.

A LINQ function that needs such facts (``mm2country(ip)``, ``publicsuffix(host)``) compiles to
SQL over a reference table, ``reference_table(name)``, as it would over any table. The store
loads a reference table the first time a query names it, from the ``ReferenceSource`` registered
under that name, and replaces what an earlier process left there: reference data follows the
sources this process was started with (``serve --geoip-dir``), never stale copies.

Reference tables are not LINQ tables: ``from`` cannot name them, ingestion cannot create them
(their names start with ``ref$``, which no tag can), and they belong to no domain. Shared by the
catalogue, the compilers and the stores; it imports neither.

A reference whose rows carry a ``TRIE_KEY`` column is also an IP-trie where the engine has one:
the ClickHouse store builds an ``ip_trie`` dictionary over it (``trie_name``) when it loads the
table, before the read-only query that uses it runs; that query names the dictionary in a
string, which ``referenced`` finds as the first argument of ``dictGet`` and its kin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pyarrow as pa
from sqlglot import exp

from . import public_suffixes

PREFIX = "ref$"
# A reference table with a column of this name (CIDR text, e.g. ``10.0.0.0/8``) is also an
# IP-trie: engines that have such a structure (ClickHouse's ``ip_trie`` dictionaries) build one
# over it, named ``trie_name(name)``, when they load the table.
TRIE_KEY = "network"
TRIE_SUFFIX = "$trie"
# The engine functions that take a dictionary's name as their first argument.
DICTIONARY_FUNCTIONS = ("dictget", "dictgetornull", "dictgetordefault", "dicthas")


@dataclass(frozen=True)
class ReferenceSource:
    """One reference table: its name, where its rows come from, and what they are (for the
    error a query gets when the source cannot be read)."""

    name: str
    load: Callable[[], pa.Table]
    description: str


class References(Mapping[str, ReferenceSource]):
    """The reference sources a store may load, by name."""

    def __init__(self, sources: Iterable[ReferenceSource] = ()) -> None:
        table: dict[str, ReferenceSource] = {}
        for source in sources:
            if source.name in table:
                raise ValueError(f"reference {source.name!r} registered twice")
            table[source.name] = source
        self._sources: Mapping[str, ReferenceSource] = MappingProxyType(table)

    def __getitem__(self, name: str) -> ReferenceSource:
        return self._sources[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def replacing(self, sources: Iterable[ReferenceSource]) -> References:
        """These references with ``sources`` added, or put in place of those of their names."""
        merged = dict(self._sources)
        merged.update((source.name, source) for source in sources)
        return References(merged.values())


def builtin_references() -> References:
    """The references every store can load without configuration: the data kept packages ship
    (what ``make run`` answers offline with)."""
    from .geoip import packaged_sources

    suffixes = ReferenceSource(
        public_suffixes.NAME, public_suffixes.load, public_suffixes.DESCRIPTION
    )
    return References([*packaged_sources(), suffixes])


def reference_table(name: str) -> exp.Table:
    """The table expression of reference ``name`` in compiled SQL (both engines)."""
    return exp.Table(this=exp.to_identifier(PREFIX + name, quoted=True))


def trie_name(name: str) -> str:
    """The name of reference ``name``'s IP-trie (see ``TRIE_KEY``), a string in the SQL that
    reads it: ``referenced`` finds it there as the first argument of a dictionary function."""
    return PREFIX + name + TRIE_SUFFIX


def is_reference_table(table: str) -> bool:
    """Whether a stored table's name is a reference table's (never a LINQ table)."""
    return table.startswith(PREFIX)


def referenced(query: exp.Expression) -> list[str]:
    """The reference names ``query`` reads, each once, in the order they appear."""
    names: dict[str, None] = {}
    for node in query.find_all(exp.Table, exp.Anonymous):
        if isinstance(node, exp.Table):
            if not node.args.get("db") and is_reference_table(node.name):
                names.setdefault(node.name[len(PREFIX) :], None)
        elif str(node.this).lower() in DICTIONARY_FUNCTIONS and node.expressions:
            first = node.expressions[0]
            text = first.this if isinstance(first, exp.Literal) and first.is_string else ""
            if is_reference_table(text) and text.endswith(TRIE_SUFFIX):
                names.setdefault(text[len(PREFIX) : -len(TRIE_SUFFIX)], None)
    return list(names)
