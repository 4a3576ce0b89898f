"""The job status log on SQLite and PostgreSQL: order, the newest kept, forgetting, and two
nodes adding to one job at once."""

from __future__ import annotations

from sqlalchemy import Connection

from linqd.jobs.statuses import JobStatusLog, StatusEntry
from linqd.meta import MetaStore
from linqd.meta.schema import job_statuses
from pgrace import race

NOW = 1_800_000_000_000


def test_statuses_are_kept_in_order_and_the_oldest_dropped(meta: MetaStore) -> None:
    log = JobStatusLog(meta, kept=3)
    for i in range(5):
        log.add("a", f"step.{i}", f"message {i}", NOW + i)
    log.add("b", "create.start", "Lookup creation started.", NOW)
    assert log.entries("a") == [
        StatusEntry(f"step.{i}", f"message {i}", NOW + i) for i in (2, 3, 4)
    ]
    assert log.entries("b") == [StatusEntry("create.start", "Lookup creation started.", NOW)]
    assert log.entries("missing") == []
    log.forget(["a", "missing"])
    log.forget([])
    assert log.entries("a") == []
    log.add("a", "again", "numbered after nothing", NOW + 9)
    assert log.entries("a") == [StatusEntry("again", "numbered after nothing", NOW + 9)]
    assert len(log.entries("b")) == 1


def test_a_status_another_node_adds_meanwhile_is_numbered_before_ours(pg_meta: MetaStore) -> None:
    """Both nodes read no status of the job and take number 1: the other commits first, the
    key refuses ours, which is numbered again (2) in the same transaction."""
    log = JobStatusLog(pg_meta)

    def other_node(conn: Connection) -> None:
        conn.execute(
            job_statuses.insert().values(job_id="a", n=1, code="theirs", msg="", at_ms=NOW)
        )

    assert race(pg_meta, other_node, lambda: log.add("a", "ours", "", NOW + 1)) is None
    assert [entry.code for entry in log.entries("a")] == ["theirs", "ours"]
