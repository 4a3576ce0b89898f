"""The console at ``/ui``: server-rendered pages and htmx fragments over the same services as the
APIs (query runner, alert repository, backtest, jobs), never over the HTTP APIs.

Every handler is wrapped by what it is (``page``, ``fragment`` or ``action``): a page without a
session goes to the sign-in form, a fragment answers 401 with ``HX-Redirect``, and an action (a
state-changing request) also needs the session's CSRF token and, when it changes alerts or jobs, a
role that may change them. Pages carry a strict Content-Security-Policy: scripts and styles come
from ``/ui/static`` only, so event content can never run as code even if it escaped the
templates' autoescaping.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast
from urllib.parse import parse_qsl, quote

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api.body import read_body
from ..api.errors import alerts_error_body
from ..audit.connections import ConnectionLog
from ..audit.notes import Identity, note_error, note_identity, note_session, origin_of
from ..clock import Clock
from ..errors import ForbiddenError, LinqdError, ValidationError
from .sessions import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    PRE_COOKIE,
    SESSION_TTL_MS,
    Session,
    Sessions,
    SignInThrottle,
)
from .users import ConsoleUsers, User

PREFIX = "/ui"
PASSWORD = "password"  # the console's credential kind, in the audit tables
MAX_FORM_BYTES = 1_048_576
MAX_FIELDS = 1_000
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

VENDORED_CACHE = b"public, max-age=31536000, immutable"
_VERSIONED = re.compile(r"-\d+\.\d+\.\d+\.")

Handler = Callable[[Request, Session], Awaitable[Response]]


@dataclass(frozen=True)
class Nav:
    label: str
    path: str


NAV = (
    Nav("Search", f"{PREFIX}/search"),
    Nav("Alerts", f"{PREFIX}/alerts"),
    Nav("Triggered alerts", f"{PREFIX}/triggered"),
    Nav("Jobs", f"{PREFIX}/jobs"),
)


class Shell:
    """What every console module shares: templates, the session checks and the wrappers."""

    def __init__(
        self,
        users: ConsoleUsers,
        sessions: Sessions,
        clock: Clock,
        connections: ConnectionLog | None = None,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.clock = clock
        self.connections = connections
        self.throttle = SignInThrottle(clock)
        folder = resources.files("linqd.ui") / "templates"
        self.templates = Environment(
            loader=FileSystemLoader(str(folder)),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- rendering -------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        session: Session | None = None,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        page = self.templates.get_template(template).render(
            request=request,
            session=session,
            user=session.user if session else None,
            csrf=session.csrf if session else "",
            nav=NAV,
            prefix=PREFIX,
            **context,
        )
        return HTMLResponse(page, status_code=status_code, headers=headers)

    def error(self, request: Request, session: Session | None, error: LinqdError) -> HTMLResponse:
        """A fragment showing ``error`` (a LINQ error with its caret under the reported place)."""
        note_error(request.scope, error.message)
        return self.render(
            request,
            "fragments/error.html",
            session,
            status_code=alerts_error_body(error, cid="", now_ms=0)[0],
            error=error,
        )

    # -- who is asking ---------------------------------------------------------------------------

    async def session_of(self, request: Request) -> Session | None:
        session = await anyio.to_thread.run_sync(self.sessions.find, request.cookies.get(COOKIE))
        if session is not None:
            note_identity(request.scope, _identity(session.user))
            note_session(request.scope, session.audit_id)
        return session

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await self.session_of(request)
            if session is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(
                    f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303
                )
            return await self._guarded(handler, request, session)

        return endpoint

    def fragment(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            session = await self.session_of(request)
            if session is None:
                return _signed_out()
            return await self._guarded(handler, request, session)

        return endpoint

    def action(
        self, handler: Handler, *, changes: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """A state-changing request: a session, its CSRF token and (``changes``) a role that may
        change alerts and jobs."""

        async def endpoint(request: Request) -> Response:
            session = await self.session_of(request)
            if session is None:
                return _signed_out()
            if not await self.csrf_ok(request, session.csrf):
                return HTMLResponse("Missing or wrong CSRF token", status_code=403)
            if changes and not session.user.role.may_change:
                return self.error(
                    request,
                    session,
                    ForbiddenError(f"The role {session.user.role.value} cannot change this"),
                )
            return await self._guarded(handler, request, session)

        return endpoint

    async def csrf_ok(self, request: Request, expected: str) -> bool:
        given = request.headers.get(CSRF_HEADER)
        if given is None:
            given = (await form_of(request)).get(CSRF_FIELD)
        return given is not None and hmac.compare_digest(given, expected)

    async def _guarded(self, handler: Handler, request: Request, session: Session) -> Response:
        try:
            return await handler(request, session)
        except LinqdError as error:
            return self.error(request, session, error)

    # -- sign-in -----------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        cookie, token = self.sessions.pre_session()
        response = self.render(
            request, "login.html", signin_token=token, next=_safe_next(request), message=""
        )
        self._set_cookie(request, response, PRE_COOKIE, cookie, max_age=3_600)
        return response

    async def login(self, request: Request) -> Response:
        form = await form_of(request)
        name = form.get("user", "")[:64]
        password = form.get("password", "")
        address = request.client.host if request.client else ""
        expected = self.sessions.pre_session_token(request.cookies.get(PRE_COOKIE))
        given = form.get(CSRF_FIELD, "")
        if expected is None or not hmac.compare_digest(given, expected):
            return HTMLResponse("Missing or wrong CSRF token", status_code=403)

        def again(message: str, status: int) -> Response:
            note_error(request.scope, message)
            return self.render(
                request,
                "login.html",
                status_code=status,
                signin_token=expected,
                next=_safe_next(request, form.get("next")),
                message=message,
                user_name=name,
            )

        wait = self.throttle.wait_ms(name, address)
        if wait > 0:
            seconds = -(-wait // 1000)
            await self._sign_in_refused(request, name, "too many failed sign-ins", "THROTTLED")
            return again(f"Too many failed sign-ins: try again in {seconds} s", 429)
        user = await anyio.to_thread.run_sync(self.users.verify, name, password)
        if user is None:
            self.throttle.failed(name, address)
            await self._sign_in_refused(request, name, "wrong password", "DENIED")
            return again("Wrong user or password", 401)
        self.throttle.succeeded(name, address)
        note_identity(request.scope, _identity(user))
        if self.connections is not None:
            self.connections.signed_in(origin_of(request.scope), _identity(user), PASSWORD)
        cookie = await anyio.to_thread.run_sync(self.sessions.start, user)
        response = RedirectResponse(_safe_next(request, form.get("next")), status_code=303)
        self._set_cookie(request, response, COOKIE, cookie, max_age=SESSION_TTL_MS // 1000)
        response.delete_cookie(PRE_COOKIE, path=PREFIX)
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        await anyio.to_thread.run_sync(self.sessions.end, request.cookies.get(COOKIE))
        if self.connections is not None:
            self.connections.signed_out(origin_of(request.scope), _identity(session.user), PASSWORD)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.headers["HX-Redirect"] = f"{PREFIX}/login"
        response.delete_cookie(COOKIE, path="/")
        return response

    async def _sign_in_refused(self, request: Request, name: str, reason: str, result: str) -> None:
        """Audit a refused sign-in. A name that is no user's is not written (it may be a
        password typed into the wrong field): the row goes to the default domain without it."""
        if self.connections is None:
            return
        user = await anyio.to_thread.run_sync(self.users.get, name)
        if user is not None:
            note_identity(request.scope, _identity(user))
        elif result == "DENIED":
            reason = "unknown user"
        self.connections.refused(
            origin_of(request.scope),
            PASSWORD,
            reason,
            domain=user.domain if user else None,
            userid=user.name if user else "",
            username=user.name if user else "",
            result=result,
        )

    @staticmethod
    def _set_cookie(
        request: Request, response: Response, name: str, value: str, *, max_age: int
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/" if name == COOKIE else PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.action(self.logout, changes=False), methods=["POST"]),
        ]


def console_mount(shell: Shell, routes: list[BaseRoute]) -> BaseRoute:
    """``routes`` and the static files under ``/ui``, gzip on, with the console's headers."""
    static = StaticFiles(directory=str(resources.files("linqd.ui") / "static"))

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/search", status_code=303)

    inner: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Mount("/static", app=static, name="static"),
        *shell.routes(),
        *routes,
    ]
    return Mount(
        PREFIX,
        routes=inner,
        middleware=[Middleware(GZipMiddleware, minimum_size=500), Middleware(ConsoleHeaders)],
    )


class ConsoleHeaders:
    """The console's pages may run only the console's own scripts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        static = f"{PREFIX}/static/" in path
        # Vendored files carry their version in their name and never change; the console's own
        # are revalidated (304 by ETag) so an upgrade is seen at once. Pages are never stored.
        cache = VENDORED_CACHE if static and _VERSIONED.search(path) else b"no-cache"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if static:
                    headers.append((b"cache-control", cache))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def form_of(request: Request) -> dict[str, str]:
    """An URL-encoded form body (what htmx and plain forms send), within ``MAX_FORM_BYTES``;
    a field given several times keeps its last value (``form_values`` has them all)."""
    return {name: values[-1] for name, values in (await _fields(request)).items()}


async def form_values(request: Request, name: str) -> list[str]:
    """Every value of a field given several times (checkboxes)."""
    return list((await _fields(request)).get(name, []))


async def _fields(request: Request) -> dict[str, list[str]]:
    cached = request.scope.get("linqd.form")
    if cached is not None:
        return cast(dict[str, list[str]], cached)
    fields: dict[str, list[str]] = {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body = await read_body(request, MAX_FORM_BYTES)
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise ValidationError("The form is not valid URL-encoded UTF-8", field="body") from None
        for name, value in pairs:
            fields.setdefault(name, []).append(value)
    request.scope["linqd.form"] = fields
    return fields


def _identity(user: User) -> Identity:
    return Identity(user.domain, user.name, user.name)


def _signed_out() -> Response:
    return HTMLResponse("Signed out", status_code=401, headers={"HX-Redirect": f"{PREFIX}/login"})


def _safe_next(request: Request, value: object = None) -> str:
    """Where to go after sign-in: a console path only, never another site."""
    target = value if isinstance(value, str) else request.query_params.get("next", "")
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PREFIX}/search"
