"""The status messages of a job (``create.start``, ``create.ok`` ...), as Devo's Lookups API
shows them: an ordered log per job, of which the newest ``KEPT`` are kept.

A status is numbered in the statement that inserts it (the job's highest number plus one).
Two nodes adding to one job at once may pick the same number on PostgreSQL, which reads
committed rows only: the key refuses the second, which numbers again after the first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, exc, func, literal, select

from ..meta import MetaStore
from ..meta.schema import job_statuses

KEPT = 50
# Each failed attempt means another status of the job was committed meanwhile.
ATTEMPTS = 8


@dataclass(frozen=True)
class StatusEntry:
    code: str
    msg: str
    at_ms: int


class JobStatusLog:
    def __init__(self, meta: MetaStore, *, kept: int = KEPT) -> None:
        self._meta = meta
        self._kept = kept

    def add(self, job_id: str, code: str, msg: str, at_ms: int) -> None:
        table = job_statuses
        numbered = select(
            literal(job_id, table.c.job_id.type),
            func.coalesce(func.max(table.c.n), 0) + 1,
            literal(code, table.c.code.type),
            literal(msg, table.c.msg.type),
            literal(at_ms, table.c.at_ms.type),
        ).where(table.c.job_id == job_id)
        statement = (
            table.insert()
            .from_select(["job_id", "n", "code", "msg", "at_ms"], numbered)
            .returning(table.c.n)
        )
        with self._meta.transaction() as conn:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    with conn.begin_nested():
                        n = int(conn.execute(statement).scalar_one())
                    break
                except exc.IntegrityError:
                    if attempt == ATTEMPTS:
                        raise
            conn.execute(delete(table).where(table.c.job_id == job_id, table.c.n <= n - self._kept))

    def entries(self, job_id: str) -> list[StatusEntry]:
        """Oldest first."""
        table = job_statuses
        with self._meta.transaction() as conn:
            rows = conn.execute(
                select(table.c.code, table.c.msg, table.c.at_ms)
                .where(table.c.job_id == job_id)
                .order_by(table.c.n)
            ).all()
        return [StatusEntry(str(row.code), str(row.msg), int(row.at_ms)) for row in rows]

    def forget(self, job_ids: Sequence[str]) -> None:
        if not job_ids:
            return
        with self._meta.transaction() as conn:
            conn.execute(delete(job_statuses).where(job_statuses.c.job_id.in_(list(job_ids))))
