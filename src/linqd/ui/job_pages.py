"""The query jobs page: the domain's jobs with their status and progress (events generated and
sent, the last event's date), stopped, started and removed by ``JobsAPI.change``, the code
behind ``/search/job/stop|start|remove``."""

from __future__ import annotations

from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..errors import NotFound, TaskError, ValidationError
from ..jobs.model import Job, JobStatus
from .app import Shell
from .display import LocalTime
from .queries import time_zone_of
from .services import ConsoleServices
from .sessions import Session

ACTIONS = {"stop": "Stopped", "start": "Started", "remove": "Removed"}
# While a job may still send events, the list refreshes itself this often.
REFRESH = "every 10s"


class JobPages:
    def __init__(self, shell: Shell, services: ConsoleServices) -> None:
        self.shell = shell
        self.services = services

    def routes(self) -> list[BaseRoute]:
        shell = self.shell
        return [
            Route("/jobs", shell.page(self.page), methods=["GET"]),
            Route("/jobs/list", shell.fragment(self.fragment), methods=["GET"]),
            Route("/jobs/{id}/{action}", shell.action(self.change), methods=["POST"]),
        ]

    async def page(self, request: Request, session: Session) -> Response:
        context = await self._listing(session)
        return self.shell.render(request, "jobs/list.html", session, active="Jobs", **context)

    async def fragment(self, request: Request, session: Session) -> Response:
        context = await self._listing(session)
        return self.shell.render(request, "jobs/_jobs.html", session, **context)

    async def change(self, request: Request, session: Session) -> Response:
        jobs = self.services.jobs
        action = request.path_params["action"]
        if jobs is None or action not in ACTIONS:
            raise NotFound("Not found")
        job_id = request.path_params["id"]
        try:
            job = await anyio.to_thread.run_sync(jobs.change, session.user.domain, job_id, action)
        except TaskError as error:
            # The Query API's task codes, told as the console tells any error.
            if error.http_status == 404:
                raise NotFound("Job not found") from None
            raise ValidationError(error.message) from None
        message = f"{ACTIONS[action]} the job {job.friendly_name}"
        context = await self._listing(session, message=message)
        return self.shell.render(request, "jobs/_jobs.html", session, **context)

    async def _listing(self, session: Session, *, message: str = "") -> dict[str, Any]:
        jobs = self.services.jobs
        listed: list[Job] = []
        if jobs is not None:
            listed = await anyio.to_thread.run_sync(jobs.repo.list_jobs, session.user.domain)
        active = {JobStatus.CREATED, JobStatus.RUNNING}
        return {
            "enabled": jobs is not None,
            "jobs": listed,
            "refresh": REFRESH if any(job.status in active for job in listed) else "",
            "local": LocalTime(time_zone_of(session)),
            "message": message,
            "may_change": session.user.role.may_change,
        }
