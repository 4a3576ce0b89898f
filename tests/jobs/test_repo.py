"""The job repository on SQLite and PostgreSQL: what a job stores, names, listing order and
filters, and two nodes creating one name at once."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Connection

from linqd.errors import Conflict, NotFound
from linqd.jobs.model import Checkpoint, Job, JobStatus
from linqd.jobs.repo import JobRepository
from linqd.meta import MetaStore
from linqd.meta.schema import jobs
from pgrace import race

NOW = 1_800_000_000_000  # beyond 32 bits, as every millisecond is


def job(id_: str, *, name: str | None = None, created_ms: int = NOW, **changes: object) -> Job:
    made = Job(
        id=id_,
        domain="self",
        type="donothing",
        friendly_name=name or f"job-{id_}",
        query="from my.app.jobs select message",
        from_ms=NOW - 3_600_000,
        to_ms=None,
        params={"lookup": "colors", "n": 12},
        status=JobStatus.CREATED,
        cid="cid-1",
        created_ms=created_ms,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def test_a_job_comes_back_as_it_was_stored_and_saved(meta: MetaStore) -> None:
    repo = JobRepository(meta)
    created = job("a", to_ms=NOW, extra={"note": "é"})
    repo.create(created)
    assert repo.find("a") == created
    assert repo.find("missing") is None
    moved = created.with_status(
        JobStatus.RUNNING,
        events_generated=2**40,
        events_sent=7,
        last_datetime=NOW + 1,
        checkpoint=Checkpoint(window_lo=3, window_hi=9, after=(NOW, 4), offset=2, index=5),
        error=("receiver down",),
        extra={"nextMs": NOW + 60_000},
    )
    repo.save(moved)
    assert repo.get("self", "a") == moved
    with pytest.raises(NotFound):
        repo.get("other", "a")  # another domain's job is not found, not refused


def test_a_name_is_taken_until_its_job_is_removed(meta: MetaStore) -> None:
    repo = JobRepository(meta)
    repo.create(job("a", name="nightly"))
    with pytest.raises(Conflict, match="Task Key Duplicate: nightly"):
        repo.create(job("b", name="nightly"))
    repo.create(job("c", name="nightly", domain="other"))  # names are per domain
    repo.save(job("a", name="nightly").with_status(JobStatus.REMOVED))
    repo.create(job("d", name="nightly"))
    assert repo.find("a") is None  # the removed job gave its name back
    assert [j.id for j in repo.list_jobs("self", friendly_name="nightly")] == ["d"]


def test_jobs_are_listed_oldest_first_with_their_filters(meta: MetaStore) -> None:
    repo = JobRepository(meta)
    # Inserted out of order; ids of one millisecond sort by id.
    repo.create(job("z", created_ms=NOW + 2))
    repo.create(job("y", created_ms=NOW, type="email"))
    repo.create(job("x", created_ms=NOW + 1, type="lookup"))
    repo.create(job("w", created_ms=NOW + 1))
    repo.create(job("v", created_ms=NOW, domain="other"))
    repo.create(job("u", created_ms=NOW + 3, status=JobStatus.REMOVED))
    assert [j.id for j in repo.list_jobs("self")] == ["y", "w", "x", "z"]
    assert [j.id for j in repo.list_jobs("self", type_="donothing")] == ["w", "z"]
    assert [j.id for j in repo.list_jobs("self", type_="email", friendly_name="job-y")] == ["y"]
    assert repo.list_jobs("self", friendly_name="job-v") == []
    repo.hide("lookup")
    assert [j.id for j in repo.list_jobs("self")] == ["y", "w", "z"]
    with pytest.raises(NotFound):
        repo.get("self", "x")
    assert repo.find("x") is not None  # hidden from the Query API, not from its own kind
    assert [j.id for j in repo.running()] == ["v", "y", "w", "x", "z"]
    repo.save(job("z", created_ms=NOW + 2).with_status(JobStatus.STOPPED))
    repo.save(job("y", created_ms=NOW).with_status(JobStatus.RUNNING))
    assert [j.id for j in repo.running()] == ["v", "y", "w", "x"]


def test_the_jobs_of_one_parameter_value(meta: MetaStore) -> None:
    repo = JobRepository(meta)
    lookup = "lookup"
    repo.create(job("b", type=lookup, created_ms=NOW + 1, params={"lookup": "colors"}))
    repo.create(job("a", type=lookup, params={"lookup": "colors", "recipe": {"a": [1]}}))
    repo.create(job("c", type=lookup, params={"lookup": "Colors"}))
    repo.create(job("d", type=lookup, params={"lookup": "colors"}, domain="other"))
    repo.create(job("e", type="donothing", params={"lookup": "colors"}))
    repo.create(job("f", type=lookup, params={"other": "colors"}))
    repo.create(job("g", type=lookup, params={"lookup": 'it\'s "colors"'}))
    assert [j.id for j in repo.list_of("self", lookup, "lookup", "colors")] == ["a", "b"]
    assert [j.id for j in repo.list_of("self", lookup, "lookup", "Colors")] == ["c"]
    assert [j.id for j in repo.list_of("self", lookup, "lookup", 'it\'s "colors"')] == ["g"]
    assert repo.list_of("self", lookup, "lookup", "col%") == []
    repo.delete(["a", "c", "missing"])
    repo.delete([])
    assert [j.id for j in repo.list_of("self", lookup, "lookup", "colors")] == ["b"]
    assert repo.find("c") is None


def test_a_name_taken_by_another_node_meanwhile_is_a_conflict(pg_meta: MetaStore) -> None:
    """The other node's job is not committed when this one checks the name: the unique key
    refuses the insert, and the conflict is the same as the check's."""
    repo = JobRepository(pg_meta)

    def other_node(conn: Connection) -> None:
        conn.execute(
            jobs.insert().values(
                id="theirs",
                domain="self",
                type="donothing",
                friendly_name="nightly",
                query="from my.app.jobs",
                from_ms=NOW,
                params="{}",
                status=JobStatus.CREATED.value,
                cid="cid-2",
                created_ms=NOW,
            )
        )

    raised = race(pg_meta, other_node, lambda: repo.create(job("ours", name="nightly")))
    assert isinstance(raised, Conflict)
    assert "Task Key Duplicate: nightly" in raised.message
    assert [j.id for j in repo.list_jobs("self")] == ["theirs"]
    repo.create(job("later", name="weekly", created_ms=NOW + 1))  # the store goes on
    assert [j.id for j in repo.list_jobs("self")] == ["theirs", "later"]
