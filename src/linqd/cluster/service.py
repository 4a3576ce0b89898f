"""A node's membership, run by one thread: heartbeat and leases every third of the term, and
the engine and job runner told what they now own.

Resources are named ``alert:<definition id>`` and ``job:<job id>``. The engine and the runner
ask ``claim`` before they run something and call ``fence`` in the transaction that stores its
progress; listeners hear the node's share after every tick, changed or not: a definition edited
or a job stopped through another node's API changes what they run without changing the share.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping

from sqlalchemy import Connection

from ..clock import Clock
from ..meta import MetaStore
from .leases import Lease, LeaseTable
from .nodes import Coordinator, NodeRegistry, live_nodes, preferred

log = logging.getLogger("linqd.cluster")

Listener = Callable[[Mapping[str, Lease]], None]


def alert_resource(definition_id: str) -> str:
    return f"alert:{definition_id}"


def job_resource(job_id: str) -> str:
    return f"job:{job_id}"


class ClusterService:
    def __init__(
        self,
        coordinator: Coordinator,
        resources: Callable[[], Collection[str]],
        *,
        reap: Callable[[list[str]], object] | None = None,
    ) -> None:
        """``resources``: every definition and job that should run somewhere, read at each
        tick; ``reap``: settles the writes of nodes no longer live (``SharedWatermark.reap``)."""
        self.coordinator = coordinator
        self._resources = resources
        self._reap = reap
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._held: dict[str, Lease] = {}
        self._stop = threading.Event()
        self._poke = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def node_id(self) -> str:
        return self.coordinator.node_id

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def lease_of(self, resource: str) -> Lease | None:
        with self._lock:
            return self._held.get(resource)

    def held(self) -> dict[str, Lease]:
        with self._lock:
            return dict(self._held)

    def claim(self, resource: str) -> Lease | None:
        held = self.lease_of(resource)
        if held is not None:
            return held
        coordinator = self.coordinator
        now = coordinator.clock.now_ms()
        live = [node.node_id for node in live_nodes(coordinator.registry.meta, now)]
        if self.node_id not in live:
            live.append(self.node_id)
        if preferred(resource, live) != self.node_id:
            return None
        lease = coordinator.leases.acquire(resource, now)
        if lease is not None:
            with self._lock:
                self._held[resource] = lease
            coordinator.held[resource] = lease
        return lease

    def revoke(self, resource: str) -> None:
        self.coordinator.leases.revoke(resource)
        with self._lock:
            self._held.pop(resource, None)
        self.coordinator.held.pop(resource, None)

    def fence(self, conn: Connection, resource: str, epoch: int) -> None:
        self.coordinator.leases.fence(conn, resource, epoch)

    def lost(self, conn: Connection, epochs: Mapping[str, int]) -> set[str]:
        return self.coordinator.leases.lost(conn, epochs)

    def holders(self) -> dict[str, Lease]:
        now = self.coordinator.clock.now_ms()
        return {
            lease.resource: lease
            for lease in self.coordinator.leases.holders()
            if lease.expires_ms > now
        }

    def tick(self) -> dict[str, Lease]:
        """One round of the protocol, then the listeners."""
        held = self.coordinator.tick(self._resources())
        with self._lock:
            self._held = held
        if self._reap is not None:
            now = self.coordinator.clock.now_ms()
            live = [node.node_id for node in live_nodes(self.coordinator.registry.meta, now)]
            self._reap(live)
        for listener in self._listeners:
            listener(held)
        return held

    def poke(self) -> None:
        """Tick soon (a definition or job was just created: its owner need not wait)."""
        self._poke.set()

    def start(self) -> ClusterService:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception:
                    # PostgreSQL unreachable for a moment: the leases run out if it lasts,
                    # and the fencing keeps the others safe; try again at the next tick.
                    log.exception("cluster tick failed")
                self._poke.wait(self.coordinator.tick_ms / 1000)
                self._poke.clear()

        self._thread = threading.Thread(target=loop, name="cluster", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """No more ticks (the node is stopping its engine and runner)."""
        self._stop.set()
        self._poke.set()
        if self._thread is not None:
            self._thread.join()

    def leave(self) -> None:
        """Hand every lease back and leave the live nodes: a clean stop moves the share at
        the others' next tick instead of after a lease term."""
        self.stop()
        self.coordinator.leave()
        with self._lock:
            self._held = {}


def join_cluster(
    meta: MetaStore,
    node_id: str,
    address: str,
    term_ms: int,
    clock: Clock,
    resources: Callable[[], Collection[str]],
    *,
    reap: Callable[[list[str]], object] | None = None,
) -> ClusterService:
    """This node's membership, its first tick done (so it holds its share before it runs
    anything); ``start`` it once the engine and runner listen."""
    coordinator = Coordinator(
        NodeRegistry(meta, node_id, address, term_ms), LeaseTable(meta, node_id, term_ms), clock
    )
    service = ClusterService(coordinator, resources, reap=reap)
    service.tick()
    return service
