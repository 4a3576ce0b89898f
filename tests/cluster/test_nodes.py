"""Rendezvous shares and the coordinator's hand-overs, on a simulated clock."""

from __future__ import annotations

from collections import Counter

import pytest

from linqd.clock import SimulatedClock
from linqd.cluster.leases import LeaseTable
from linqd.cluster.nodes import Coordinator, NodeRegistry, live_nodes, preferred
from linqd.meta import MetaStore

TERM = 9_000
RESOURCES = [f"alert:self:{n}" for n in range(60)] + [f"job:j{n}" for n in range(30)]


def test_rendezvous_spreads_evenly_and_moves_only_the_leavers_share() -> None:
    names = [f"r{n}" for n in range(3_000)]
    three = {name: preferred(name, ["a", "b", "c"]) for name in names}
    shares = Counter(three.values())
    assert all(900 <= share <= 1_100 for share in shares.values()), shares
    two = {name: preferred(name, ["a", "c"]) for name in names}
    moved = {name for name in names if two[name] != three[name]}
    assert moved == {name for name in names if three[name] == "b"}
    assert preferred("r1", ["c", "a", "b"]) == three["r1"]


class _Cluster:
    def __init__(self, meta: MetaStore, clock: SimulatedClock) -> None:
        self.meta = meta
        self.clock = clock
        self.nodes: dict[str, Coordinator] = {}

    def join(self, node_id: str) -> Coordinator:
        coordinator = Coordinator(
            NodeRegistry(self.meta, node_id, f"{node_id}:8080", TERM),
            LeaseTable(self.meta, node_id, TERM),
            self.clock,
        )
        self.nodes[node_id] = coordinator
        return coordinator

    def round(self) -> None:
        """A third of a term passes; every running node ticks once."""
        self.clock.advance(TERM // 3)
        for coordinator in self.nodes.values():
            coordinator.tick(RESOURCES)

    def owners(self) -> Counter[str]:
        """How many nodes believe they hold each resource, and that no resource has two."""
        holders: Counter[str] = Counter()
        for coordinator in self.nodes.values():
            holders.update(list(coordinator.held))
        assert max(holders.values(), default=1) == 1
        return holders


@pytest.fixture
def cluster(meta_target: str) -> _Cluster:
    meta = MetaStore(meta_target)
    yield _Cluster(meta, SimulatedClock(1_000_000))  # type: ignore[misc]
    meta.close()


def test_every_resource_has_one_holder_and_a_dead_nodes_share_moves_within_two_terms(
    cluster: _Cluster,
) -> None:
    for node_id in ("n1", "n2", "n3"):
        cluster.join(node_id)
    cluster.round()
    cluster.round()
    assert set(cluster.owners()) == set(RESOURCES)
    dead = cluster.nodes.pop("n2")
    orphaned = set(dead.held)
    assert orphaned
    rounds = 0
    while set(cluster.owners()) != set(RESOURCES):
        cluster.round()
        rounds += 1
    # The dead node's heartbeat and leases run out after a term; the next tick takes them.
    assert rounds * (TERM // 3) <= 2 * TERM
    for coordinator in cluster.nodes.values():
        for resource, lease in coordinator.held.items():
            if resource in orphaned:
                assert lease.epoch == dead.held[resource].epoch + 1
    assert [n.node_id for n in live_nodes(cluster.meta, cluster.clock.now_ms())] == ["n1", "n3"]


def test_a_node_that_joins_gets_its_share_within_two_terms_and_nothing_is_held_twice(
    cluster: _Cluster,
) -> None:
    for node_id in ("n1", "n2"):
        cluster.join(node_id)
    cluster.round()
    newcomer = cluster.join("n3")
    share = {r for r in RESOURCES if preferred(r, ["n1", "n2", "n3"]) == "n3"}
    for _ in range(2):
        cluster.round()
        cluster.owners()
    assert set(newcomer.held) == share
    assert set(cluster.owners()) == set(RESOURCES)


def test_a_clean_leave_hands_over_at_the_next_tick(cluster: _Cluster) -> None:
    for node_id in ("n1", "n2"):
        cluster.join(node_id)
    cluster.round()
    cluster.nodes.pop("n1").leave()
    cluster.round()
    assert set(cluster.nodes["n2"].held) == set(RESOURCES)
