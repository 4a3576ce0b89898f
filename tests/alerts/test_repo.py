"""Alert definitions in the metadata store, on SQLite and on PostgreSQL: ids, categories, names
unique regardless of case, changes, listing, and domains kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from linqd.alerts.model import DefinitionInput
from linqd.alerts.repo import AlertRepository, Page
from linqd.alerts.validate import read_definition
from linqd.clock import SimulatedClock
from linqd.errors import NotFound, ValidationError
from linqd.meta import MetaStore

NOW = 1_800_000_000_000


def spec(name: str, subcategory: str = "Security") -> DefinitionInput:
    return read_definition(
        {
            "name": name,
            "subcategory": subcategory,
            "alertCorrelationContext": {
                "querySourceCode": "from my.app.web",
                "priority": 5,
                "correlationTrigger": {"kind": "each"},
            },
        }
    )


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
def repo(meta_target: str, clock: SimulatedClock) -> Iterator[AlertRepository]:
    meta = MetaStore(meta_target)
    yield AlertRepository(meta, clock)
    meta.close()


def test_create_assigns_ids_categories_and_dates(
    repo: AlertRepository, clock: SimulatedClock
) -> None:
    changed: list[str] = []
    repo.on_change(changed.append)
    first = repo.create("self", spec("Login failures"), "ops@example.com")
    clock.advance(5)
    second = repo.create("self", spec("Port scan"), "ops@example.com")
    other = repo.create("self", spec("Exfiltration", "Network"), "ops@example.com")
    elsewhere = repo.create("other", spec("Login failures"), "ops@example.com")
    assert int(first.id) < int(second.id) < int(other.id) < int(elsewhere.id)
    assert first.creation_ms == first.updated_ms == NOW and second.creation_ms == NOW + 5
    # One category per domain, one subcategory per domain and name.
    assert first.category_id == second.category_id == other.category_id
    assert elsewhere.category_id != first.category_id
    assert first.subcategory_id == second.subcategory_id != other.subcategory_id
    assert elsewhere.subcategory_id not in (first.subcategory_id, other.subcategory_id)
    assert repo.get("self", first.id) == first
    assert changed == ["self", "self", "self", "other"]


def test_names_are_unique_per_domain_regardless_of_case(repo: AlertRepository) -> None:
    repo.create("self", spec("Login failures"), "ops@example.com")
    with pytest.raises(ValidationError) as raised:
        repo.create("self", spec("LOGIN-FAILURES"), "ops@example.com")
    assert raised.value.field == "name"
    repo.create("other", spec("login failures"), "ops@example.com")


def test_a_name_taken_after_the_check_is_refused_alike(
    repo: AlertRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another node may insert the name between the check and the insert: the unique key
    refuses it with the same error, and the store goes on."""
    repo.create("self", spec("Login failures"), "ops@example.com")
    monkeypatch.setattr(repo, "_check_unique", lambda *args: None)
    with pytest.raises(ValidationError) as raised:
        repo.create("self", spec("login failures"), "ops@example.com")
    assert raised.value.field == "name"
    assert [d.name for d in repo.listing("self")] == ["Login failures"]
    repo.create("self", spec("Port scan"), "ops@example.com")


def test_update_set_active_and_delete_stay_in_their_domain(
    repo: AlertRepository, clock: SimulatedClock
) -> None:
    mine = repo.create("self", spec("Login failures"), "ops@example.com")
    theirs = repo.create("other", spec("Port scan"), "ops@example.com")
    clock.advance(10)
    edited = repo.update("self", mine.id, replace(mine.spec, priority=9))
    assert edited.updated_ms == NOW + 10 and repo.get("self", mine.id).spec.priority == 9
    with pytest.raises(NotFound):
        repo.update("self", theirs.id, theirs.spec)
    clock.advance(10)
    assert repo.set_active("self", [mine.id, theirs.id, "x"], False) == {
        mine.id: True,
        theirs.id: False,
        "x": False,
    }
    assert repo.active() == [repo.get("other", theirs.id)]
    assert repo.get("self", mine.id).updated_ms == NOW + 20
    assert [d.id for d in repo.every()] == [mine.id, theirs.id]
    assert repo.delete("self", [theirs.id, mine.id, "¹", "99999999999999999999"]) == {
        theirs.id: False,
        mine.id: True,
        "¹": False,
        "99999999999999999999": False,
    }
    assert repo.find("self", mine.id) is None
    assert repo.find("other", theirs.id) is not None


def test_listing_filters_then_pages_in_creation_order(repo: AlertRepository) -> None:
    made = [repo.create("self", spec(f"Rule {i}"), "ops@example.com") for i in range(5)]
    repo.create("other", spec("Rule 9"), "ops@example.com")
    assert [d.id for d in repo.listing("self")] == [d.id for d in made]
    assert [d.id for d in repo.listing("self", page=Page(1, 2))] == [made[2].id, made[3].id]
    assert [d.id for d in repo.listing("self", name_filter="rule 3")] == [made[3].id]
    assert [d.id for d in repo.listing("self", id_filter=made[1].id)] == [made[1].id]
    assert repo.listing("self", name_filter="nothing") == []
