"""Jobs in the metadata database. Every change is one transaction, so a checkpoint and the
counters it goes with never disagree, also after ``kill -9``.

Jobs come back oldest first: by ``created_ms``, then by id. Ids are random (UUIDs), so jobs
created in one millisecond have an order that is stable but not their creation order (SQLite's
rowid gave that, PostgreSQL has no such column)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from sqlalchemy import JSON, Connection, Row, Select, Text, cast, delete, exc, select, update

from ..errors import Conflict, NotFound
from ..meta import MetaStore
from ..meta.schema import jobs
from .model import Checkpoint, Job, JobStatus

# Each field of a job is the column of its name.
_COLUMNS = tuple(jobs.c[field.name] for field in fields(Job))
_OLDEST_FIRST = (jobs.c.created_ms, jobs.c.id)
# ``params`` is JSON kept as text. PostgreSQL reads a member of the json type only; SQLite has
# no such type (CAST AS JSON would make the text a number) and reads members of text.
_PARAMS = cast(jobs.c.params, JSON().with_variant(Text(), "sqlite"))


def _select() -> Select[Any]:
    return select(*_COLUMNS)


def _row_to_job(row: Row[Any]) -> Job:
    return Job(
        **{
            **row._asdict(),
            "params": json.loads(row.params),
            "status": JobStatus(row.status),
            "checkpoint": Checkpoint.from_json(row.checkpoint),
            "error": tuple(json.loads(row.error)),
            "extra": json.loads(row.extra),
        }
    )


def _progress(job: Job) -> dict[str, Any]:
    """What a running job changes: its status, counters, checkpoint, error and extra."""
    return {
        "status": job.status.value,
        "events_generated": job.events_generated,
        "events_sent": job.events_sent,
        "last_datetime": job.last_datetime,
        "checkpoint": job.checkpoint.to_json(),
        "error": json.dumps(list(job.error)),
        "extra": json.dumps(job.extra),
    }


def _stored(job: Job) -> dict[str, Any]:
    fixed = {column.name: getattr(job, column.name) for column in _COLUMNS}
    return {**fixed, "params": json.dumps(job.params), **_progress(job)}


class JobRepository:
    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta
        # Types of jobs that are not query jobs (lookup jobs): the Query API's job endpoints
        # and the console neither list nor find them.
        self._hidden: set[str] = set()

    def hide(self, type_: str) -> None:
        self._hidden.add(type_)

    def create(self, job: Job) -> None:
        duplicate = Conflict(f"Unable to Start Task: Task Key Duplicate: {job.friendly_name}")
        named = (jobs.c.domain == job.domain) & (jobs.c.friendly_name == job.friendly_name)
        with self._meta.transaction() as conn:
            clash = conn.execute(
                select(jobs.c.id).where(named, jobs.c.status != JobStatus.REMOVED.value)
            ).first()
            if clash is not None:
                raise duplicate
            # A removed job gives its name back.
            conn.execute(delete(jobs).where(named))
            try:
                # Another node may take the name between the check and here: the unique key
                # refuses it, and the savepoint keeps PostgreSQL's transaction usable.
                with conn.begin_nested():
                    conn.execute(jobs.insert().values(_stored(job)))
            except exc.IntegrityError as error:
                raise duplicate from error

    def save(self, job: Job, *, fence: Callable[[Connection], None] | None = None) -> None:
        """Store status, counters, checkpoint, error and extra together; ``fence`` runs first
        in the same transaction (a node's lease on the job, ``cluster/leases.py``)."""
        with self._meta.transaction() as conn:
            if fence is not None:
                fence(conn)
            conn.execute(update(jobs).where(jobs.c.id == job.id).values(_progress(job)))

    def get(self, domain: str, job_id: str) -> Job:
        job = self.find(job_id)
        if job is None or job.domain != domain or job.type in self._hidden:
            raise NotFound("Task not found")
        return job

    def find(self, job_id: str) -> Job | None:
        with self._meta.transaction() as conn:
            row = conn.execute(_select().where(jobs.c.id == job_id)).first()
        return _row_to_job(row) if row is not None else None

    def list_jobs(
        self, domain: str, *, type_: str | None = None, friendly_name: str | None = None
    ) -> list[Job]:
        query = _select().where(jobs.c.domain == domain, jobs.c.status != JobStatus.REMOVED.value)
        if type_ is not None:
            query = query.where(jobs.c.type == type_)
        if friendly_name is not None:
            query = query.where(jobs.c.friendly_name == friendly_name)
        if self._hidden:
            query = query.where(jobs.c.type.not_in(sorted(self._hidden)))
        with self._meta.transaction() as conn:
            rows = conn.execute(query.order_by(*_OLDEST_FIRST)).all()
        return [_row_to_job(row) for row in rows]

    def list_of(self, domain: str, type_: str, param: str, value: str) -> list[Job]:
        """``domain``'s jobs of ``type_`` whose ``params[param]`` is ``value``, oldest first
        (the jobs of one lookup)."""
        query = _select().where(
            jobs.c.domain == domain,
            jobs.c.type == type_,
            _PARAMS[param].as_string() == value,
        )
        with self._meta.transaction() as conn:
            rows = conn.execute(query.order_by(*_OLDEST_FIRST)).all()
        return [_row_to_job(row) for row in rows]

    def delete(self, job_ids: list[str]) -> None:
        if not job_ids:
            return
        with self._meta.transaction() as conn:
            conn.execute(delete(jobs).where(jobs.c.id.in_(job_ids)))

    def running(self) -> list[Job]:
        live = (JobStatus.RUNNING.value, JobStatus.CREATED.value)
        with self._meta.transaction() as conn:
            rows = conn.execute(
                _select().where(jobs.c.status.in_(live)).order_by(*_OLDEST_FIRST)
            ).all()
        return [_row_to_job(row) for row in rows]
