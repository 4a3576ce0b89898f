"""The console's routes, assembled from its page modules."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from .alert_pages import AlertPages
from .app import PREFIX, Shell, console_mount
from .job_pages import JobPages
from .search_pages import SearchPages
from .services import ConsoleServices
from .sessions import Sessions
from .triggered_pages import TriggeredPages
from .users import ConsoleUsers


def console_routes(services: ConsoleServices) -> list[BaseRoute]:
    """``/ui`` and ``GET /`` (which leads there; ``POST /`` stays the Query API)."""
    users = ConsoleUsers(services.domains.meta, services.clock)
    sessions = Sessions(services.domains.meta, users, services.clock)
    audit = services.audit
    shell = Shell(users, sessions, services.clock, audit.connections if audit else None)
    pages: list[BaseRoute] = [*SearchPages(shell, services).routes()]
    pages += AlertPages(shell, services).routes()
    pages += TriggeredPages(shell, services).routes()
    pages += JobPages(shell, services).routes()

    async def root(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    return [Route("/", root, methods=["GET"]), console_mount(shell, pages)]
