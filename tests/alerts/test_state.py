"""Each definition's progress in the metadata store, on SQLite and on PostgreSQL: saved in the
caller's transaction, replaced on the next save, dropped with its definition."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linqd.alerts.kinds import KindState
from linqd.alerts.state import Progress, StateRepository
from linqd.meta import MetaStore


@pytest.fixture
def states(meta_target: str) -> Iterator[StateRepository]:
    meta = MetaStore(meta_target)
    yield StateRepository(meta)
    meta.close()


def save(states: StateRepository, definition_id: str, progress: Progress) -> None:
    with states.meta.transaction() as conn:
        states.save_in(conn, definition_id, "self", progress, 1_000)


def test_progress_is_saved_replaced_and_forgotten(states: StateRepository) -> None:
    assert states.load() == {}
    first = Progress(7, next_end=60_000, kind=KindState({"h1": [1, 2]}, 3), firings=2)
    save(states, "1", first)
    save(states, "2", Progress(8, seq=41, error="table gone"))
    later = Progress(9, seq=42, last_step_ms=5)
    save(states, "2", later)
    assert states.load() == {"1": first, "2": later}
    states.forget({"2", "3"})
    assert states.load() == {"2": later}
    states.forget(set())
    assert states.load() == {}
