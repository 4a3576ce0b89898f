"""Leases and fencing, on SQLite and on PostgreSQL; the blocking proof on PostgreSQL."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import select

from linqd.cluster.leases import LeaseTable
from linqd.errors import Fenced
from linqd.meta import MetaStore, schema
from pgserver import PostgresServer

TERM = 10_000


def test_a_free_lease_is_taken_at_epoch_1_and_held_against_others(meta: MetaStore) -> None:
    a, b = LeaseTable(meta, "a", TERM), LeaseTable(meta, "b", TERM)
    lease = a.acquire("alert:self:1", 1_000)
    assert lease is not None and (lease.owner, lease.epoch, lease.expires_ms) == ("a", 1, 11_000)
    assert b.acquire("alert:self:1", 10_999) is None
    again = a.acquire("alert:self:1", 5_000)
    assert again is not None and again.epoch == 1 and again.expires_ms == 15_000


def test_a_lease_that_ran_out_changes_hands_with_a_new_epoch(meta: MetaStore) -> None:
    a, b = LeaseTable(meta, "a", TERM), LeaseTable(meta, "b", TERM)
    assert a.acquire("job:j1", 0) is not None
    taken = b.acquire("job:j1", TERM)
    assert taken is not None and (taken.owner, taken.epoch) == ("b", 2)
    assert a.renew(TERM + 1) == {}
    assert set(b.renew(TERM + 1)) == {"job:j1"}


def test_a_stale_holder_cannot_commit(meta: MetaStore) -> None:
    """What a node stores after its lease was taken over rolls back whole."""
    a, b = LeaseTable(meta, "a", TERM), LeaseTable(meta, "b", TERM)
    stale = a.acquire("alert:self:7", 0)
    assert stale is not None
    assert b.acquire("alert:self:7", TERM) is not None
    with pytest.raises(Fenced, match="epoch 1, now b at epoch 2"), meta.transaction() as conn:
        conn.execute(schema.table_settings.insert().values(name="progress", retention_days=1))
        a.fence(conn, "alert:self:7", stale.epoch)
    assert meta.retention_days() == {}


def test_the_holder_commits_and_a_release_hands_over_at_once(meta: MetaStore) -> None:
    a, b = LeaseTable(meta, "a", TERM), LeaseTable(meta, "b", TERM)
    lease = a.acquire("alert:self:2", 0)
    assert lease is not None
    with meta.transaction() as conn:
        a.fence(conn, "alert:self:2", lease.epoch)
        conn.execute(schema.table_settings.insert().values(name="progress", retention_days=1))
    assert meta.retention_days() == {"progress": 1}
    a.release(lease)
    assert a.renew(1) == {}
    taken = b.acquire("alert:self:2", 1)
    assert taken is not None and taken.epoch == 2
    again = a.acquire("alert:self:2", TERM + 2)
    assert again is not None and again.epoch == 3


def test_leases_of_removed_resources_are_forgotten(meta: MetaStore) -> None:
    a = LeaseTable(meta, "a", TERM)
    for name in ("x", "y"):
        a.acquire(name, 0)
    a.forget(["x"])
    assert [lease.resource for lease in a.holders()] == ["y"]


def test_a_taker_waits_for_the_fenced_commit(postgres: PostgresServer) -> None:
    """On PostgreSQL the share lock of ``fence`` makes a concurrent take-over wait until the
    holder's transaction ends: the holder's last commit is in before the epoch changes."""
    url = postgres.fresh_url()
    node_a, node_b = MetaStore(url), MetaStore(url)
    try:
        a, b = LeaseTable(node_a, "a", TERM), LeaseTable(node_b, "b", TERM)
        lease = a.acquire("alert:self:3", 0)
        assert lease is not None
        taken: list[object] = []
        with node_a.transaction() as conn:
            a.fence(conn, "alert:self:3", lease.epoch)
            conn.execute(schema.table_settings.insert().values(name="last", retention_days=9))
            taker = threading.Thread(target=lambda: taken.append(b.acquire("alert:self:3", TERM)))
            taker.start()
            _wait_for_a_lock_wait(postgres)
            assert taken == []
        taker.join(timeout=30)
        assert len(taken) == 1 and getattr(taken[0], "epoch", None) == 2
        with node_b.transaction() as conn:
            assert conn.execute(select(schema.table_settings.c.name)).scalars().all() == ["last"]
    finally:
        node_a.close()
        node_b.close()


def _wait_for_a_lock_wait(postgres: PostgresServer) -> None:
    """Until a backend waits on a row lock (PostgreSQL's own view, not a timer guess)."""
    deadline = time.monotonic() + 30
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()
            if waiting is not None and waiting[0] > 0:
                return
            time.sleep(0.005)
    raise AssertionError("the taker never waited for the holder's lock")
