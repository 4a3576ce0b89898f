"""Lookup jobs on the job machinery: every deployment and deletion is a ``Job`` of type
``lookup`` in the ``jobs`` table, with its statuses in the job status log. Lookups built from a
query run as clock-driven jobs (``jobs/kinds.py``): this module is their kind.

A job serves one lookup (``params.lookup``) as its current job (the registry's ``job_id``); a
newer deployment takes over and the older job ends (``<action>.stop``). A query job's first
successful run ends its ``create``/``update`` (``.ok``); later runs of a periodic or
sliding-window lookup are ``refresh`` statuses of the same job, which stays RUNNING until the
lookup is redeployed or deleted, across restarts (``JobRunner.resume_all``). A failed run is
recorded (``.err``, with the reason) and the schedule goes on: the next run may succeed. A
failed first run leaves a new lookup in the Error state (listed until deleted, as in Devo) and
an updated one with its previous rows.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from ..errors import LinqdError
from ..jobs.model import Job, JobStatus
from ..jobs.statuses import JobStatusLog
from ..store.base import EventStore
from . import query
from .limits import LookupLimits
from .recipe import Recipe
from .registry import LookupRegistry, LookupState
from .schedule import first_due, next_due, run_at
from .statuses import Action, Step, record
from .writes import write_rows

LOOKUP_JOB = "lookup"
LIVE = (JobStatus.CREATED, JobStatus.RUNNING)


def new_job(domain: str, name: str, action: Action, recipe: Recipe, *, cid: str, now: int) -> Job:
    job_id = str(uuid.uuid4())
    params: dict[str, Any] = {"lookup": name, "action": action.value, "recipe": recipe.to_json()}
    return Job(
        id=job_id,
        domain=domain,
        type=LOOKUP_JOB,
        friendly_name=f"lookup_{job_id}",
        query=recipe.query or "",
        from_ms=0,
        to_ms=None,
        params=params,
        status=JobStatus.CREATED,
        cid=cid,
        created_ms=now,
    )


def job_recipe(job: Job) -> Recipe:
    return Recipe.from_json(job.params["recipe"])


class LookupJobs:
    """The ``ScheduledKind`` of lookup jobs."""

    def __init__(
        self,
        store: EventStore,
        registry: LookupRegistry,
        statuses: JobStatusLog,
        limits: LookupLimits,
    ) -> None:
        self.store = store
        self.registry = registry
        self.statuses = statuses
        self.limits = limits

    def due_ms(self, job: Job) -> int | None:
        if job.status not in LIVE:
            return None
        following = job.extra.get("nextMs")
        if following is not None:
            return int(following)
        return first_due(job_recipe(job), job.created_ms)

    def run(self, job: Job, now_ms: int) -> Job:
        name = job.params["lookup"]
        action = Action(job.params["action"])
        recipe = job_recipe(job)
        current = self.registry.get(job.domain, name)
        if current is None or current.job_id != job.id:
            return job.with_status(JobStatus.STOPPED, error=("superseded",))
        if recipe.query is None:
            # An upload or a deletion runs inside its request; one found here was cut short
            # by a stop of the server.
            reason = "The server stopped before the request was carried out."
            record(self.statuses, job.id, action, Step.ERR, now_ms, reason)
            return job.with_status(JobStatus.STOPPED, error=(reason,))
        done = bool(job.extra.get("done"))
        step_action = Action.REFRESH if done else action
        if done:
            record(self.statuses, job.id, step_action, Step.START, now_ms)
        at = run_at(recipe, job.created_ms, now_ms, job.extra.get("lastSlot"))
        error: str | None = None
        try:
            table, columns, stamps = query.run(self.store, job.domain, recipe, at, self.limits)
            written = write_rows(
                self.store,
                job.domain,
                name,
                recipe,
                table,
                columns,
                lookup_key=None,
                strict=False,
                eventdates=stamps,
            )
        except LinqdError as failure:
            error = failure.message
            record(self.statuses, job.id, step_action, Step.ERR, now_ms, error)
            if not done:
                failed = LookupState.ERROR if action is Action.CREATE else LookupState.AVAILABLE
                self.registry.set_state(job.domain, name, failed, now_ms)
        else:
            detail = f"{written.stored} rows."
            record(self.statuses, job.id, step_action, Step.OK, now_ms, detail)
            self.registry.set_state(job.domain, name, LookupState.AVAILABLE, now_ms)
            done = True
        following = next_due(recipe, at.slot_ms)
        # A failed run leaves its range to the next one: no event of it is skipped.
        served = at.slot_ms if error is None else job.extra.get("lastSlot")
        extra = {**job.extra, "done": done, "lastSlot": served, "nextMs": following}
        runs = int(job.extra.get("runs", 0)) + 1
        extra["runs"] = runs
        errors = (error,) if error else ()
        if following is None:
            status = JobStatus.COMPLETED if error is None else JobStatus.STOPPED
            return replace(job, status=status, extra=extra, error=errors)
        return replace(job, status=JobStatus.RUNNING, extra=extra, error=errors)
