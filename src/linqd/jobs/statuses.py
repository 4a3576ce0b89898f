"""The status messages of a job (``create.start``, ``create.ok`` ...), as Devo's Lookups API
shows them: an ordered log per job, of which the newest ``KEPT`` are kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..meta import MetaStore

KEPT = 50


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
        with self._meta.transaction() as conn:
            row = conn.execute(
                "SELECT COALESCE(MAX(n), 0) FROM job_statuses WHERE job_id = ?", (job_id,)
            ).fetchone()
            n = int(row[0]) + 1
            conn.execute(
                "INSERT INTO job_statuses (job_id, n, code, msg, at_ms) VALUES (?, ?, ?, ?, ?)",
                (job_id, n, code, msg, at_ms),
            )
            conn.execute(
                "DELETE FROM job_statuses WHERE job_id = ? AND n <= ?", (job_id, n - self._kept)
            )

    def entries(self, job_id: str) -> list[StatusEntry]:
        """Oldest first."""
        with self._meta.transaction() as conn:
            rows = conn.execute(
                "SELECT code, msg, at_ms FROM job_statuses WHERE job_id = ? ORDER BY n",
                (job_id,),
            ).fetchall()
        return [StatusEntry(str(code), str(msg), int(at)) for code, msg, at in rows]

    def forget(self, job_ids: Sequence[str]) -> None:
        with self._meta.transaction() as conn:
            conn.executemany("DELETE FROM job_statuses WHERE job_id = ?", [(i,) for i in job_ids])
