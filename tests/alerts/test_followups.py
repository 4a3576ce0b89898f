"""The engine's follow-up flags of stored firings, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linqd.alerts.followups import FollowUps
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.clock import SimulatedClock
from linqd.meta import MetaStore

from .test_triggered_repo import NOW, firing, stored


@pytest.fixture
def repo(meta_target: str) -> Iterator[TriggeredAlertRepository]:
    meta = MetaStore(meta_target)
    yield TriggeredAlertRepository(meta, SimulatedClock(NOW))
    meta.close()


def test_unfinished_follow_ups_until_marked(repo: TriggeredAlertRepository) -> None:
    follow = FollowUps(repo)
    one, two, three = (stored(repo, firing(d, NOW)) for d in ("a", "b", "c"))
    assert follow.unfinished() == ([one, two, three], [one, two, three])
    follow.mark([three.id, one.id], "in_table")
    follow.mark([], "dispatched")
    assert follow.unfinished() == ([two], [one, two, three])
    follow.mark([one.id, two.id, three.id], "dispatched")
    follow.mark([two.id], "in_table")
    assert follow.unfinished() == ([], [])
    with pytest.raises(ValueError):
        follow.mark([one.id], "status")
