"""Jobs the clock drives: a kind of job that runs at due times (a lookup refreshed from a query
every ten minutes) rather than following the store's appends as query jobs do.

Such jobs live in the same ``jobs`` table, are resumed by ``JobRunner.resume_all`` like every
job, and are run by the runner's clock (``JobRunner.run_due``): one run at a time, in the
caller's thread, so that tests drive them with a simulated clock and no sleeps.
"""

from __future__ import annotations

from typing import Protocol

from .model import Job


class ScheduledKind(Protocol):
    def due_ms(self, job: Job) -> int | None:
        """When ``job`` runs next (epoch ms); None once it has nothing left to do."""

    def run(self, job: Job, now_ms: int) -> Job:
        """One due run of ``job``; returns the job as it is to be saved. Failures of the
        work itself are the kind's to record (the job goes on or ends, as the kind decides);
        an exception escaping here is a bug, logged by the runner."""
