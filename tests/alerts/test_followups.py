"""The engine's follow-ups of stored firings, tracked per definition, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linqd.alerts.followups import FollowUps
from linqd.alerts.model import TriggeredAlert
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.clock import SimulatedClock
from linqd.meta import MetaStore

from .test_triggered_repo import NOW, firing


@pytest.fixture
def repo(meta_target: str) -> Iterator[TriggeredAlertRepository]:
    meta = MetaStore(meta_target)
    yield TriggeredAlertRepository(meta, SimulatedClock(NOW))
    meta.close()


def store(
    repo: TriggeredAlertRepository, follow: FollowUps, *fired: tuple[str, str]
) -> list[TriggeredAlert]:
    """Store firings (digest, definition id) as the engine does: opened in the same
    transaction."""
    with repo.meta.transaction() as conn:
        new = repo.insert_many_in(
            conn, [firing(digest, NOW, definition_id=d) for digest, d in fired]
        )
        follow.open_in(conn, new)
    return new


def test_firings_are_unfinished_until_done_per_definition(
    repo: TriggeredAlertRepository,
) -> None:
    follow = FollowUps(repo.meta)
    a1, b1, a2 = store(repo, follow, ("a1", "1"), ("b1", "2"), ("a2", "1"))
    assert follow.unfinished() == [a1, b1, a2]
    assert follow.unfinished({"2"}) == [b1]
    follow.done([a1, a2])
    assert follow.unfinished() == [b1]
    (a3,) = store(repo, follow, ("a3", "1"))
    assert follow.unfinished() == [b1, a3]
    assert follow.unfinished({"1", "3"}) == [a3]
    follow.done([b1, a3])
    assert follow.unfinished() == []


def test_done_never_moves_back(repo: TriggeredAlertRepository) -> None:
    # A node resuming from a pause reports a batch its successor already went past.
    follow = FollowUps(repo.meta)
    old, new = store(repo, follow, ("old", "1"), ("new", "1"))
    follow.done([old, new])
    follow.done([old])
    assert follow.unfinished() == []


def test_firings_stored_outside_the_engine_are_not_followed(
    repo: TriggeredAlertRepository,
) -> None:
    follow = FollowUps(repo.meta)
    assert repo.insert(firing("elsewhere", NOW)) is not None
    assert follow.unfinished() == []
    follow.done([])
