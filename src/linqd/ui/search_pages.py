"""The search page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .app import Shell
from .services import ConsoleServices
from .sessions import Session


class SearchPages:
    def __init__(self, shell: Shell, services: ConsoleServices) -> None:
        self.shell = shell
        self.services = services

    async def page(self, request: Request, session: Session) -> Response:
        return self.shell.render(request, "search.html", session, active="Search")

    def routes(self) -> list[BaseRoute]:
        return [Route("/search", self.shell.page(self.page), methods=["GET"])]
