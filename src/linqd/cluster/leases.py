"""Leases: which node runs a definition or a job, fenced by an epoch.

A lease is a row ``(resource, owner, epoch, expires_ms)``. A node takes a lease that is free or
has run out, and the epoch then grows by one; it renews its own at a third of the term; it
releases one by making it run out at once (the next taker still bumps the epoch).

Safety does not rest on clocks: a node that was paused, partitioned or slow may still believe
it owns a resource, but it stores progress (a definition's state and firings, a job's
checkpoint) only in a transaction that first calls ``fence``, which locks the lease row in share
mode and checks that the epoch the node was given is still the current one. A taker's UPDATE
waits for that lock, so either the stale node's commit lands before the epoch changes (and the
taker, which loads progress after taking the lease, sees it), or the stale node finds a newer
epoch and its transaction rolls back. Clocks only decide when a lease may be taken over, so a
node whose clock runs ahead can take a lease early, costing a repeat of uncommitted work, never a
double commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, and_, case, delete, or_, select, update

from ..errors import Fenced
from ..meta import MetaStore, insert
from ..meta.schema import leases

DEFAULT_TERM_MS = 10_000


@dataclass(frozen=True)
class Lease:
    resource: str
    owner: str
    epoch: int
    expires_ms: int


class Ownership(Protocol):
    """What the engine and the job runner ask of the cluster (``cluster.service``)."""

    def lease_of(self, resource: str) -> Lease | None:
        """This node's lease on ``resource``, if it holds one."""

    def claim(self, resource: str) -> Lease | None:
        """Take ``resource`` now if this node is its preferred owner (a new definition or
        job need not wait for the next tick); its lease if this node holds it."""

    def revoke(self, resource: str) -> None:
        """Take ``resource`` from whoever holds it (a job stopped through the API on any
        node): the holder's next commit is fenced."""

    def fence(self, conn: Connection, resource: str, epoch: int) -> None:
        """Raise ``Fenced`` unless this node still holds ``resource`` at ``epoch``."""

    def lost(self, conn: Connection, epochs: Mapping[str, int]) -> set[str]:
        """``fence`` for many resources in one statement: those no longer held at their
        epoch (the caller stores nothing of them)."""

    def holders(self) -> dict[str, Lease]:
        """Every lease held now, by resource (what ``engineStatus`` shows)."""


class LeaseTable:
    """The leases of one node (``node_id``) in the metadata store."""

    def __init__(self, meta: MetaStore, node_id: str, term_ms: int = DEFAULT_TERM_MS) -> None:
        self.meta = meta
        self.node_id = node_id
        self.term_ms = term_ms

    def acquire(self, resource: str, now: int) -> Lease | None:
        """Take ``resource`` if it is free, run out or already ours (then it is renewed with
        the same epoch); None when another node holds it."""
        expires = now + self.term_ms
        with self.meta.transaction() as conn:
            created = conn.execute(
                insert(conn, leases)
                .values(resource=resource, owner=self.node_id, epoch=1, expires_ms=expires)
                .on_conflict_do_nothing(index_elements=["resource"])
                .returning(leases.c.epoch)
            ).scalar_one_or_none()
            if created is not None:
                return Lease(resource, self.node_id, int(created), expires)
            mine = leases.c.owner == self.node_id
            epoch = conn.execute(
                update(leases)
                .where(leases.c.resource == resource)
                .where(or_(leases.c.expires_ms <= now, and_(mine, leases.c.expires_ms > 0)))
                .values(
                    owner=self.node_id,
                    # Ours and never released: nobody held it since, same epoch. Otherwise a
                    # new holder, a new epoch.
                    epoch=case(
                        (and_(mine, leases.c.expires_ms > 0), leases.c.epoch),
                        else_=leases.c.epoch + 1,
                    ),
                    expires_ms=expires,
                )
                .returning(leases.c.epoch)
            ).scalar_one_or_none()
        return None if epoch is None else Lease(resource, self.node_id, int(epoch), expires)

    def renew(self, now: int) -> dict[str, Lease]:
        """Extend every lease this node holds and has not released, in one statement; what
        comes back is what it still holds."""
        expires = now + self.term_ms
        with self.meta.transaction() as conn:
            rows = conn.execute(
                update(leases)
                .where(leases.c.owner == self.node_id)
                .where(leases.c.expires_ms > 0)
                .values(expires_ms=expires)
                .returning(leases.c.resource, leases.c.epoch)
            ).all()
        return {r.resource: Lease(r.resource, self.node_id, int(r.epoch), expires) for r in rows}

    def release(self, lease: Lease) -> None:
        """Hand ``lease`` back now (a node that joined is preferred for it, or this one stops):
        the next taker need not wait for the term to run out."""
        with self.meta.transaction() as conn:
            conn.execute(
                update(leases)
                .where(leases.c.resource == lease.resource)
                .where(leases.c.owner == self.node_id)
                .where(leases.c.epoch == lease.epoch)
                .values(expires_ms=0)
            )

    def revoke(self, resource: str) -> None:
        """Nobody holds ``resource`` now, and whoever held it is fenced (a new epoch)."""
        with self.meta.transaction() as conn:
            conn.execute(
                update(leases)
                .where(leases.c.resource == resource)
                .values(owner="", epoch=leases.c.epoch + 1, expires_ms=0)
            )

    def fence(self, conn: Connection, resource: str, epoch: int) -> None:
        """Inside the transaction that stores progress for ``resource``: raise ``Fenced``
        unless this node still holds it at ``epoch``. The share lock keeps a taker out until
        the transaction ends."""
        current = conn.execute(
            select(leases.c.owner, leases.c.epoch)
            .where(leases.c.resource == resource)
            .with_for_update(read=True)
        ).one_or_none()
        if current is None or current.owner != self.node_id or int(current.epoch) != epoch:
            holder = "nobody" if current is None else f"{current.owner} at epoch {current.epoch}"
            raise Fenced(
                f"{resource}: this node ({self.node_id}) held it at epoch {epoch}, now {holder}"
            )

    def lost(self, conn: Connection, epochs: Mapping[str, int]) -> set[str]:
        """Of ``epochs`` (resource: the epoch this node holds it at), the resources it no
        longer holds at that epoch, under the same share lock as ``fence``."""
        if not epochs:
            return set()
        rows = conn.execute(
            select(leases.c.resource, leases.c.owner, leases.c.epoch)
            .where(leases.c.resource.in_(sorted(epochs)))
            .order_by(leases.c.resource)
            .with_for_update(read=True)
        ).all()
        held = {
            r.resource for r in rows if r.owner == self.node_id and r.epoch == epochs[r.resource]
        }
        return set(epochs) - held

    def holders(self) -> list[Lease]:
        with self.meta.transaction() as conn:
            rows = conn.execute(
                select(
                    leases.c.resource, leases.c.owner, leases.c.epoch, leases.c.expires_ms
                ).order_by(leases.c.resource)
            ).all()
        return [Lease(r.resource, r.owner, int(r.epoch), int(r.expires_ms)) for r in rows]

    def forget(self, resources: Iterable[str]) -> None:
        """Drop the leases of resources that no longer exist (deleted definitions, ended jobs)."""
        names = list(resources)
        if not names:
            return
        with self.meta.transaction() as conn:
            conn.execute(delete(leases).where(leases.c.resource.in_(names)))
