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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pyarrow as pa
from sqlglot import exp

from . import public_suffixes

PREFIX = "ref$"


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
    return References(
        [ReferenceSource(public_suffixes.NAME, public_suffixes.load, public_suffixes.DESCRIPTION)]
    )


def reference_table(name: str) -> exp.Table:
    """The table expression of reference ``name`` in compiled SQL (both engines)."""
    return exp.Table(this=exp.to_identifier(PREFIX + name, quoted=True))


def is_reference_table(table: str) -> bool:
    """Whether a stored table's name is a reference table's (never a LINQ table)."""
    return table.startswith(PREFIX)


def referenced(query: exp.Expression) -> list[str]:
    """The reference names ``query`` reads, each once, in the order they appear."""
    names: dict[str, None] = {}
    for table in query.find_all(exp.Table):
        if not table.args.get("db") and is_reference_table(table.name):
            names.setdefault(table.name[len(PREFIX) :], None)
    return list(names)
