"""A query job, its statuses and its checkpoint, and the object the API shows for it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class JobStatus(Enum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    REMOVED = "REMOVED"


@dataclass(frozen=True)
class Checkpoint:
    """Where a job resumes. The job reads the store in windows of its append sequence
    ``(window_lo, window_hi]``; inside a window rows come in (eventdate, _seq) order for plain
    queries (``after`` is the last row sent) or in the query's own order for grouped ones
    (``offset`` rows of the window already sent). ``index`` numbers the sink batches."""

    window_lo: int = 0
    window_hi: int | None = None
    after: tuple[int, int] | None = None
    offset: int = 0
    index: int = 0
    # When the window's upper bound was taken: a bounded job completes after the first
    # window captured once its `to` (plus the allowed lateness) had passed.
    captured_ms: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "window_lo": self.window_lo,
                "window_hi": self.window_hi,
                "after": list(self.after) if self.after else None,
                "offset": self.offset,
                "index": self.index,
                "captured_ms": self.captured_ms,
            }
        )

    @staticmethod
    def from_json(text: str) -> Checkpoint:
        data = json.loads(text or "{}")
        after = data.get("after")
        return Checkpoint(
            window_lo=int(data.get("window_lo", 0)),
            window_hi=data.get("window_hi"),
            after=(int(after[0]), int(after[1])) if after else None,
            offset=int(data.get("offset", 0)),
            index=int(data.get("index", 0)),
            captured_ms=int(data.get("captured_ms", 0)),
        )


@dataclass(frozen=True)
class Job:
    id: str
    domain: str
    type: str
    friendly_name: str
    query: str
    from_ms: int
    to_ms: int | None
    params: dict[str, Any] = field(repr=False)  # may hold secrets: never shown as they are
    status: JobStatus
    cid: str
    created_ms: int
    events_generated: int = 0
    events_sent: int = 0
    last_datetime: int = 0
    checkpoint: Checkpoint = Checkpoint()
    error: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def with_status(self, status: JobStatus, **changes: Any) -> Job:
        return replace(self, status=status, **changes)


def job_object(job: Job) -> dict[str, Any]:
    """The job as Devo's API shows it (see docs/devo-compatibility.md); params and secrets never."""
    return {
        "status": job.status.value,
        "id": job.id,
        "eventGenerated": job.events_generated,
        "eventsSent": job.events_sent,
        "lastDatetime": job.last_datetime,
        "type": job.type,
        "friendlyName": job.friendly_name,
        "query": job.query,
        "error": list(job.error),
        "extra": job.extra,
        "cid": job.cid,
        "domain": job.domain,
    }
