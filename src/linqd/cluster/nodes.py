"""The live nodes and each node's share of the definitions and jobs.

Every node writes a heartbeat row every third of the lease term; a node is live while its row
has not run out. The preferred owner of a resource is chosen by rendezvous hashing over the
live nodes (the node whose hash with the resource is highest), so every node computes the same
answer from the same rows without talking to the others, and a node that joins or leaves moves
only its own share (about 1/N of the resources). ``Coordinator.tick`` turns the preference into
leases: it renews what this node holds, releases what another node is now preferred for, and
takes what it is preferred for once the previous holder's lease is released or has run out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from ..clock import Clock
from ..meta import MetaStore, upsert
from ..meta.schema import cluster_nodes
from .leases import Lease, LeaseTable


@dataclass(frozen=True)
class Node:
    node_id: str
    address: str
    started_ms: int
    heartbeat_ms: int
    expires_ms: int


def preferred(resource: str, node_ids: Sequence[str]) -> str:
    """The rendezvous (highest random weight) choice of ``resource``'s owner."""

    def weight(node_id: str) -> bytes:
        return hashlib.blake2b(f"{node_id}\0{resource}".encode(), digest_size=8).digest()

    return max(node_ids, key=weight)


class NodeRegistry:
    def __init__(self, meta: MetaStore, node_id: str, address: str, term_ms: int) -> None:
        self.meta = meta
        self.node_id = node_id
        self.address = address
        self.term_ms = term_ms

    def heartbeat(self, now: int) -> None:
        with self.meta.transaction() as conn:
            conn.execute(
                upsert(
                    conn,
                    cluster_nodes,
                    ["node_id"],
                    address=self.address,
                    heartbeat_ms=now,
                    expires_ms=now + self.term_ms,
                ).values(
                    node_id=self.node_id,
                    address=self.address,
                    started_ms=now,
                    heartbeat_ms=now,
                    expires_ms=now + self.term_ms,
                )
            )

    def leave(self) -> None:
        """A clean stop: the others stop counting this node at once."""
        with self.meta.transaction() as conn:
            conn.execute(delete(cluster_nodes).where(cluster_nodes.c.node_id == self.node_id))


def live_nodes(meta: MetaStore, now: int) -> list[Node]:
    with meta.transaction() as conn:
        rows = conn.execute(
            select(
                cluster_nodes.c.node_id,
                cluster_nodes.c.address,
                cluster_nodes.c.started_ms,
                cluster_nodes.c.heartbeat_ms,
                cluster_nodes.c.expires_ms,
            )
            .where(cluster_nodes.c.expires_ms > now)
            .order_by(cluster_nodes.c.node_id)
        ).all()
    return [
        Node(r.node_id, r.address, int(r.started_ms), int(r.heartbeat_ms), int(r.expires_ms))
        for r in rows
    ]


class Coordinator:
    """One node's side of the ownership protocol; ``tick`` runs every third of the term."""

    def __init__(self, registry: NodeRegistry, leases: LeaseTable, clock: Clock) -> None:
        self.registry = registry
        self.leases = leases
        self.clock = clock
        self.held: dict[str, Lease] = {}

    @property
    def node_id(self) -> str:
        return self.registry.node_id

    @property
    def tick_ms(self) -> int:
        return max(1, self.leases.term_ms // 3)

    def tick(self, resources: Iterable[str]) -> dict[str, Lease]:
        """Heartbeat, then hold exactly the resources this node is preferred for (those whose
        lease is still another node's come at a later tick). Returns what it holds."""
        now = self.clock.now_ms()
        self.registry.heartbeat(now)
        live = [node.node_id for node in live_nodes(self.registry.meta, now)]
        if self.node_id not in live:
            live.append(self.node_id)
        wanted = {resource for resource in resources if preferred(resource, live) == self.node_id}
        held = self.leases.renew(now)
        for resource in sorted(set(held) - wanted):
            self.leases.release(held.pop(resource))
        for resource in sorted(wanted - set(held)):
            lease = self.leases.acquire(resource, now)
            if lease is not None:
                held[resource] = lease
        self.held = held
        return dict(held)

    def leave(self) -> None:
        for lease in self.held.values():
            self.leases.release(lease)
        self.held = {}
        self.registry.leave()


def shares(meta: MetaStore, now: int) -> list[tuple[Node, dict[str, int]]]:
    """The live nodes, each with how many leases of each kind (``alert``, ``job``) it holds."""
    held: dict[str, dict[str, int]] = {}
    for lease in LeaseTable(meta, "").holders():
        if lease.expires_ms > now:
            kind = lease.resource.split(":", 1)[0]
            counts = held.setdefault(lease.owner, {})
            counts[kind] = counts.get(kind, 0) + 1
    return [(node, held.get(node.node_id, {})) for node in live_nodes(meta, now)]
