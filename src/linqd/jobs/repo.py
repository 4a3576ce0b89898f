"""Jobs in the metadata database. Every change is one SQLite transaction, so a checkpoint and
the counters it goes with never disagree, also after ``kill -9``."""

from __future__ import annotations

import json
from typing import Any

from ..errors import Conflict, NotFound
from ..meta import MetaStore
from .model import Checkpoint, Job, JobStatus

_COLUMNS = (
    "id, domain, type, friendly_name, query, from_ms, to_ms, params, status, cid, created_ms, "
    "events_generated, events_sent, last_datetime, checkpoint, error, extra"
)


def _row_to_job(row: tuple[Any, ...]) -> Job:
    (
        id_,
        domain,
        type_,
        name,
        query,
        from_ms,
        to_ms,
        params,
        status,
        cid,
        created,
        generated,
        sent,
        last,
        checkpoint,
        error,
        extra,
    ) = row
    return Job(
        id=id_,
        domain=domain,
        type=type_,
        friendly_name=name,
        query=query,
        from_ms=from_ms,
        to_ms=to_ms,
        params=json.loads(params),
        status=JobStatus(status),
        cid=cid,
        created_ms=created,
        events_generated=generated,
        events_sent=sent,
        last_datetime=last,
        checkpoint=Checkpoint.from_json(checkpoint),
        error=tuple(json.loads(error)),
        extra=json.loads(extra),
    )


class JobRepository:
    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta
        # Types of jobs that are not query jobs (lookup jobs): the Query API's job endpoints
        # and the console neither list nor find them.
        self._hidden: set[str] = set()

    def hide(self, type_: str) -> None:
        self._hidden.add(type_)

    def create(self, job: Job) -> None:
        with self._meta.transaction() as conn:
            clash = conn.execute(
                "SELECT 1 FROM jobs WHERE domain = ? AND friendly_name = ? AND status != ?",
                (job.domain, job.friendly_name, JobStatus.REMOVED.value),
            ).fetchone()
            if clash:
                raise Conflict(f"Unable to Start Task: Task Key Duplicate: {job.friendly_name}")
            # A removed job gives its name back.
            conn.execute(
                "DELETE FROM jobs WHERE domain = ? AND friendly_name = ?",
                (job.domain, job.friendly_name),
            )
            conn.execute(
                f"INSERT INTO jobs ({_COLUMNS}) VALUES ({', '.join('?' * 17)})",
                (
                    job.id,
                    job.domain,
                    job.type,
                    job.friendly_name,
                    job.query,
                    job.from_ms,
                    job.to_ms,
                    json.dumps(job.params),
                    job.status.value,
                    job.cid,
                    job.created_ms,
                    job.events_generated,
                    job.events_sent,
                    job.last_datetime,
                    job.checkpoint.to_json(),
                    json.dumps(list(job.error)),
                    json.dumps(job.extra),
                ),
            )

    def save(self, job: Job) -> None:
        """Store status, counters, checkpoint, error and extra together."""
        with self._meta.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, events_generated = ?, events_sent = ?, "
                "last_datetime = ?, checkpoint = ?, error = ?, extra = ? WHERE id = ?",
                (
                    job.status.value,
                    job.events_generated,
                    job.events_sent,
                    job.last_datetime,
                    job.checkpoint.to_json(),
                    json.dumps(list(job.error)),
                    json.dumps(job.extra),
                    job.id,
                ),
            )

    def get(self, domain: str, job_id: str) -> Job:
        job = self.find(job_id)
        if job is None or job.domain != domain or job.type in self._hidden:
            raise NotFound("Task not found")
        return job

    def find(self, job_id: str) -> Job | None:
        with self._meta.transaction() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def list_jobs(
        self, domain: str, *, type_: str | None = None, friendly_name: str | None = None
    ) -> list[Job]:
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE domain = ? AND status != ?"
        args: list[Any] = [domain, JobStatus.REMOVED.value]
        if type_ is not None:
            sql += " AND type = ?"
            args.append(type_)
        if friendly_name is not None:
            sql += " AND friendly_name = ?"
            args.append(friendly_name)
        with self._meta.transaction() as conn:
            rows = conn.execute(sql + " ORDER BY created_ms, id", args).fetchall()
        return [_row_to_job(row) for row in rows if row[2] not in self._hidden]

    def list_of(self, domain: str, type_: str, param: str, value: str) -> list[Job]:
        """``domain``'s jobs of ``type_`` whose ``params[param]`` is ``value``, oldest first
        (the jobs of one lookup)."""
        with self._meta.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE domain = ? AND type = ? "
                "AND json_extract(params, ?) = ? ORDER BY created_ms, rowid",
                (domain, type_, f"$.{param}", value),
            ).fetchall()
        return [_row_to_job(row) for row in rows]

    def delete(self, job_ids: list[str]) -> None:
        with self._meta.transaction() as conn:
            conn.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in job_ids])

    def running(self) -> list[Job]:
        with self._meta.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE status IN (?, ?) ORDER BY created_ms",
                (JobStatus.RUNNING.value, JobStatus.CREATED.value),
            ).fetchall()
        return [_row_to_job(row) for row in rows]
