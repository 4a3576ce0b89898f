"""Devo's query job endpoints (Devo's query jobs page): ``/search/job/{id}``,
``/search/jobs[/{type}[/{name}]]``, ``/search/job/stop|start|remove/{id}``, signed like every Query
API call; and the creation of a job from a query with a ``destination``."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..clock import Clock
from ..domains import DomainStore
from ..errors import NotFound, TaskError, ValidationError
from ..jobs.model import Job, JobStatus, job_object
from ..jobs.repo import JobRepository
from ..jobs.runner import JobRunner
from ..sinks import validate_destination
from ..sinks.base import DEFAULT_RULES, DestinationRules
from .errors import request_cid
from .gate import Gate

TASK_NOT_FOUND = 100
STATUS_CANNOT_CHANGE = 101
STOP_NOT_RUNNING = 108
_ALPHABET = string.ascii_letters + string.digits


def default_friendly_name(kind: str) -> str:
    return f"{kind}_{''.join(secrets.choice(_ALPHABET) for _ in range(10))}"


class JobsAPI:
    def __init__(
        self,
        repo: JobRepository,
        runner: JobRunner,
        domains: DomainStore,
        clock: Clock,
        gate: Gate,
        rules: DestinationRules = DEFAULT_RULES,
    ) -> None:
        self.repo = repo
        self.runner = runner
        self.domains = domains
        self.clock = clock
        self.gate = gate
        self.rules = rules  # what destinations may reach (the runner's sinks use the same)

    # -- creation, from POST /search/query -------------------------------------------------------

    def launch(
        self,
        destination: Mapping[str, Any],
        *,
        domain: str,
        query: str,
        from_ms: int,
        to_ms: int | None,
        cid: str,
    ) -> dict[str, Any]:
        kind = destination.get("type")
        params = destination.get("params") or {}
        if not isinstance(kind, str) or not isinstance(params, dict):
            raise ValidationError("destination needs a type and params object", "destination")
        validate_destination(kind, params, self.rules)
        name = params.get("friendlyName") or default_friendly_name(kind)
        if not isinstance(name, str) or len(name) > 200:
            raise ValidationError("friendlyName must be a string", field="friendlyName")
        job = Job(
            id=str(uuid.uuid4()),
            domain=domain,
            type=kind,
            friendly_name=name,
            query=query,
            from_ms=from_ms,
            to_ms=to_ms,
            params=dict(params),
            status=JobStatus.CREATED,
            cid=cid,
            created_ms=self.clock.now_ms(),
        )
        self.repo.create(job)
        self.runner.run(job)
        return {"msg": "", "status": 0, "object": {"id": job.id}}

    # -- endpoints -------------------------------------------------------------------------------

    def _answer(self, payload: object, cid: str, now: int) -> Response:
        return JSONResponse({"status": 0, "cid": cid, "timestamp": now, "object": payload})

    async def _guarded(self, request: Request, action: str) -> Response:
        cid, now = request_cid(request), self.clock.now_ms()
        principal, _ = await self.gate.query(request)
        domain = principal.domain
        params = request.path_params
        if action == "list":
            jobs = self.repo.list_jobs(
                domain, type_=params.get("type"), friendly_name=params.get("name")
            )
            return self._answer([job_object(j) for j in jobs], cid, now)
        if action == "get":
            return self._answer(job_object(self._get(domain, params["id"])), cid, now)
        # Stopping waits for the job's worker to finish its batch: off the event loop.
        job = await anyio.to_thread.run_sync(self.change, domain, params["id"], action)
        return self._answer(job_object(job), cid, now)

    def change(self, domain: str, job_id: str, action: str) -> Job:
        """Stop, start or remove one of ``domain``'s jobs: the endpoints' code, and the
        console's. Blocks while a stopping job's worker finishes its batch."""
        job = self._get(domain, job_id)
        change = {"stop": self._stop, "start": self._start, "remove": self._remove}[action]
        return change(job)

    def _get(self, domain: str, job_id: str) -> Job:
        try:
            job = self.repo.get(domain, job_id)
        except NotFound:
            raise TaskError("Task not found", TASK_NOT_FOUND, 404) from None
        if job.status is JobStatus.REMOVED:
            raise TaskError("Task not found", TASK_NOT_FOUND, 404)
        return job

    def _stop(self, job: Job) -> Job:
        if job.status is JobStatus.COMPLETED:
            return job  # nothing to stop; devo-sdk accepts COMPLETED after a stop
        if job.status not in (JobStatus.RUNNING, JobStatus.CREATED):
            raise TaskError("Cannot stop task a non running task", STOP_NOT_RUNNING, 400)
        self.runner.halt(job.id)
        current = self.repo.find(job.id) or job
        if current.status is JobStatus.COMPLETED:
            return current
        stopped = current.with_status(JobStatus.STOPPED)
        self.repo.save(stopped)
        return stopped

    def _start(self, job: Job) -> Job:
        if job.status is JobStatus.COMPLETED:
            return job
        if job.status is not JobStatus.STOPPED:
            raise TaskError("Task status cannot change", STATUS_CANNOT_CHANGE, 400)
        running = job.with_status(JobStatus.RUNNING, error=())
        self.repo.save(running)
        self.runner.run(running)
        return running

    def _remove(self, job: Job) -> Job:
        self.runner.halt(job.id)
        current = self.repo.find(job.id) or job
        removed = current.with_status(JobStatus.REMOVED)
        self.repo.save(removed)
        return removed

    async def get(self, request: Request) -> Response:
        return await self._guarded(request, "get")

    async def list(self, request: Request) -> Response:
        return await self._guarded(request, "list")

    async def stop(self, request: Request) -> Response:
        return await self._guarded(request, "stop")

    async def start(self, request: Request) -> Response:
        return await self._guarded(request, "start")

    async def remove(self, request: Request) -> Response:
        return await self._guarded(request, "remove")
