"""The function catalogue: every LINQ function, as data (``FunctionDef`` entries).

``docs/linq-functions.md`` is generated from it (``linqd docs functions``) and a test fails when
the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import (
    addresses,
    aggregates,
    collections,
    conversion,
    domains,
    encodings,
    geo,
    introspection,
    json,
    logic,
    measures,
    network,
    numberformat,
    numbers,
    operators,
    sketches,
    strings,
    substitutions,
    time,
    useragent,
    web,
)
from .base import FunctionDef
from .refused import REFUSED

MODULES = (
    operators,
    aggregates,
    conversion,
    addresses,
    strings,
    logic,
    numbers,
    time,
    json,
    network,
    geo,
    domains,
    web,
    useragent,
    measures,
    encodings,
    substitutions,
    sketches,
    numberformat,
    introspection,
    collections,
)


def _build() -> Mapping[str, FunctionDef]:
    table: dict[str, FunctionDef] = {}
    for module in MODULES:
        for fn in module.FUNCTIONS:
            for name in fn.names:
                if name in table:
                    raise RuntimeError(f"function {name!r} defined twice")
                table[name] = fn
    both = sorted(set(table) & set(REFUSED))
    if both:
        raise RuntimeError(f"functions {both} are both defined and refused")
    return MappingProxyType(table)


CATALOGUE: Mapping[str, FunctionDef] = _build()


def unique_functions() -> list[FunctionDef]:
    seen: dict[int, FunctionDef] = {}
    for fn in CATALOGUE.values():
        seen.setdefault(id(fn), fn)
    return sorted(seen.values(), key=lambda f: (f.category, f.name))
