"""The lookups' rows in the metadata database, on SQLite and PostgreSQL: names unique in any
case, creation order as the page token, the per-domain limit held by concurrent inserts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import partial

import pytest

from linqd.clock import SimulatedClock
from linqd.domains import DomainStore
from linqd.errors import Conflict, ValidationError
from linqd.lookups.recipe import LookupKind, Recipe
from linqd.lookups.registry import LookupRecord, LookupRegistry, LookupState
from linqd.meta import MetaStore
from together import together

T0 = 1_800_000_000_000


@pytest.fixture
def meta(meta_target: str) -> Iterator[MetaStore]:
    store = MetaStore(meta_target)
    domains = DomainStore(store, SimulatedClock(T0))
    domains.create_domain("self")
    domains.create_domain("other")
    yield store
    store.close()


def record(name: str, domain: str = "self") -> LookupRecord:
    return LookupRecord(
        domain,
        name,
        LookupKind.CSV,
        LookupState.CREATING,
        Recipe(kind=LookupKind.CSV, key_column="key"),
        "job-1",
        T0,
        T0,
    )


def test_names_orders_and_changes(meta: MetaStore) -> None:
    registry = LookupRegistry(meta)
    first = registry.insert(record("Colors"))
    second = registry.insert(record("sizes"))
    registry.insert(record("Colors", domain="other"))  # names are per domain
    assert 0 < first.order < second.order
    assert registry.get("self", "Colors") == first
    assert registry.get("self", "colors") is None  # exactly this name
    assert registry.clash("self", "COLORS") == "Colors"
    assert registry.clash("self", "Colors") is None and registry.clash("self", "x") is None
    with pytest.raises(Conflict):
        registry.insert(record("COLORS"))
    assert registry.count("self") == 2 and registry.count("other") == 1

    assert [r.name for r in registry.page("self", 0, 10)] == ["Colors", "sizes"]
    assert registry.page("self", first.order, 10) == [second]
    assert registry.page("self", 0, 1) == [first] and registry.page("self", second.order, 5) == []

    changed = replace(first, kind=LookupKind.SYSLOG, job_id=None, updated_ms=T0 + 5)
    registry.save(changed)
    registry.set_state("self", "Colors", LookupState.AVAILABLE, T0 + 9)
    assert registry.get("self", "Colors") == replace(
        changed, state=LookupState.AVAILABLE, updated_ms=T0 + 9
    )
    registry.remove("self", "Colors")
    assert registry.get("self", "Colors") is None and registry.count("self") == 1
    # The name is free again; the new lookup comes last, its id never reused.
    again = registry.insert(record("colors"))
    assert again.order > second.order
    found = registry.get("other", "Colors")
    assert found is not None and found.state is LookupState.CREATING


def add(meta: MetaStore, name: str) -> None:
    LookupRegistry(meta).insert(record(name), max_per_domain=2)


def test_the_last_place_goes_to_one_of_two_nodes(meta_target: str, meta: MetaStore) -> None:
    LookupRegistry(meta).insert(record("first"), max_per_domain=2)
    metas = [MetaStore(meta_target) for _ in range(2)]
    try:
        errors = together(*(partial(add, node, f"second{i}") for i, node in enumerate(metas)))
    finally:
        for node in metas:
            node.close()
    assert [type(error) for error in errors] == [ValidationError]
    assert LookupRegistry(meta).count("self") == 2
