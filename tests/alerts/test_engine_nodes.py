"""Three nodes' engines on one PostgreSQL and one store, definitions shared by leases: every
firing a backtest of the whole stream reports is stored exactly once, also when the node that
held some definitions dies mid-stream, or is paused past its lease and comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from linqd.alerts.engine import AlertEngine
from linqd.alerts.repo import AlertRepository
from linqd.alerts.triggered import TriggeredAlertRepository
from linqd.cluster.service import ClusterService, alert_resource, join_cluster
from linqd.meta import MetaStore
from pgserver import PostgresServer

from .conftest import T0, TABLE, Scenario
from .test_live_equals_backtest import ACTIVITY, DEFINITIONS, SPAN

S = 1_000
TERM = 9 * S


class _Node:
    """One node: its own connections to the metadata, its membership and its engine."""

    def __init__(self, sc: Scenario, name: str, url: str) -> None:
        self.name = name
        self.meta = MetaStore(url)
        definitions = AlertRepository(self.meta, sc.clock)
        self.cluster: ClusterService = join_cluster(
            self.meta,
            name,
            f"{name}:8080",
            TERM,
            sc.clock,
            lambda: [alert_resource(d.id) for d in definitions.active()],
        )
        self.engine = AlertEngine(
            sc.data.store,
            definitions,
            TriggeredAlertRepository(self.meta, sc.clock),
            sc.clock,
            lateness_ms=sc.lateness_ms,
            ownership=self.cluster,
        )
        self.cluster.subscribe(self.engine.reconcile)
        self.next_tick = sc.clock.now_ms()

    def held(self) -> set[str]:
        return set(self.cluster.held())

    def run(self, now: int) -> None:
        """What the node's threads do by ``now``: its tick every third of a term, a pass."""
        if now >= self.next_tick:
            self.cluster.tick()
            self.next_tick = now + TERM // 3
        self.engine.step()


@pytest.fixture
def url(postgres: PostgresServer) -> str:
    return postgres.fresh_url()


@pytest.fixture
def scenario_on_postgres(tmp_path: Path, url: str) -> Iterator[Scenario]:
    sc = Scenario(tmp_path / "data", meta_target=url)
    yield sc
    sc.close()


class _Cluster:
    """Nodes run second by second as their threads would, while a stream is stored live: 12
    minutes of events from four hosts, one every 7 s, errors now and then."""

    def __init__(self, sc: Scenario, url: str, names: list[str]) -> None:
        self.sc = sc
        self.definitions = [
            sc.define(f"rule {n}", query, trigger) for n, (query, trigger) in enumerate(DEFINITIONS)
        ]
        self.nodes = {name: _Node(sc, name, url) for name in names}
        self.events = [
            (t, "abcd"[(t // (7 * S)) % 4], "error" if (t // S) % 5 == 0 else "ok")
            for t in range(0, SPAN, 7 * S)
        ]

    def run_until(self, offset: int) -> None:
        sc = self.sc
        while sc.clock.now_ms() < T0 + offset:
            sc.clock.advance(S)
            now = sc.clock.now_ms() - T0
            due = [e for e in self.events if e[0] < now]
            self.events = self.events[len(due) :]
            if due:
                at = [t for t, _, _ in due]
                sc.store(TABLE, [{"hostname": h, "message": m} for _, h, m in due], at=at)
                sc.store(ACTIVITY, [{"username": h} for _, h, _ in due], at=at)
            for node in list(self.nodes.values()):
                node.run(sc.clock.now_ms())

    def holders(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        for node in self.nodes.values():
            for resource in node.held():
                assert resource not in owners, f"{resource} held twice"
                owners[resource] = node.name
        return owners

    def check_against_backtest(self) -> None:
        live = self.sc.seen()
        for definition in self.definitions:
            mine = [s for s in live if s.name == definition.name]
            assert self.sc.backtest(definition, 0, SPAN) == mine, definition.name

    def close(self) -> None:
        for node in self.nodes.values():
            node.meta.close()


def test_a_dead_nodes_definitions_move_within_two_terms_with_no_gap_or_repeat(
    scenario_on_postgres: Scenario, url: str
) -> None:
    sc = scenario_on_postgres
    cluster = _Cluster(sc, url, ["n1", "n2", "n3"])
    try:
        cluster.run_until(4 * 60 * S)
        owners = cluster.holders()
        assert len(owners) == len(DEFINITIONS)
        victim = max(cluster.nodes, key=lambda n: sum(o == n for o in owners.values()))
        orphaned = {r for r, o in owners.items() if o == victim}
        assert orphaned
        del cluster.nodes[victim]  # SIGKILL: no goodbye, its leases run out
        killed_at = sc.clock.now_ms()
        for _ in range(3 * TERM // S):
            if orphaned <= set(cluster.holders()):
                break
            cluster.run_until(sc.clock.now_ms() - T0 + S)
        assert orphaned <= set(cluster.holders())
        assert sc.clock.now_ms() - killed_at <= 2 * TERM
        cluster.run_until(SPAN + sc.lateness_ms + 2 * TERM)
        cluster.check_against_backtest()
    finally:
        cluster.close()


def test_a_node_paused_past_its_lease_stores_nothing_when_it_wakes(
    scenario_on_postgres: Scenario, url: str
) -> None:
    """SIGSTOP in a test: the paused node neither ticks nor evaluates; when it resumes, its
    first pass still believes it holds its definitions and evaluates the events that arrived
    meanwhile, and its commit is fenced: the progress its successor stored stays."""
    sc = scenario_on_postgres
    cluster = _Cluster(sc, url, ["n1", "n2"])
    try:
        cluster.run_until(3 * 60 * S)
        paused = cluster.nodes.pop("n1")
        stale = {r for r in paused.held() if r.startswith("alert:")}
        assert stale
        cluster.run_until(3 * 60 * S + 2 * TERM)
        assert stale <= cluster.nodes["n2"].held()
        before = paused.engine.states.load()
        assert paused.engine.step() == 0
        assert paused.engine.states.load() == before
        cluster.nodes["n1"] = paused
        cluster.run_until(SPAN + sc.lateness_ms + 2 * TERM)
        cluster.check_against_backtest()
    finally:
        cluster.close()
