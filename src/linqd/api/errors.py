"""The one place where linqd's errors become Devo's HTTP error bodies.

Endpoints raise; nothing else builds an error body. ``exception_handlers`` gives Starlette one
handler for every ``LinqdError`` raised under a request (and for unknown paths, methods and
bugs), which picks Devo's shape by the endpoint's family (``Family``); ``RequestIds`` gives each
request its ``cid`` first. Errors after a streamed answer has begun travel in-band (``in_band``).

Shapes follow Devo's error bodies (docs/devo-compatibility.md), and what devo-sdk can parse:
``error`` is either an object (``{"code", "message"}``) or a string free of the words ``code`` and
``message``; every element of ``object`` is a string; in-band messages carry no double quotes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from enum import Enum
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..audit.notes import note_error
from ..clock import Clock
from ..errors import (
    AlertsNotUpdated,
    AuthError,
    Conflict,
    ForbiddenError,
    LinqdError,
    LinqError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    QueryLimitError,
    TaskError,
    TooManyQueries,
    ValidationError,
)
from .headers import security_headers

LAUNCH_ERROR = "Error Launching Query"
QUERY_ERROR_STATUS = 400


def new_cid() -> str:
    """A request id in Devo's form (12 hex digits)."""
    return secrets.token_hex(6)


def clean(message: str) -> str:
    """Messages that travel inside quoted JSON strings of in-band errors: no double quotes."""
    return message.replace('"', "'").replace("\r", " ").replace("\n", " ")


def error_body(error: LinqdError, *, cid: str, now_ms: int) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for an error raised before any result was sent."""
    if isinstance(error, ForbiddenError):
        return 403, {"msg": error.message, "status": 403, "timestamp": now_ms, "cid": cid}
    if isinstance(error, AuthError):
        code = error.devo_code or 401
        return 401, {"error": {"code": code, "message": error.message}}
    if isinstance(error, LinqError):
        text = error.message
        return QUERY_ERROR_STATUS, {
            "msg": LAUNCH_ERROR,
            "status": QUERY_ERROR_STATUS,
            "code": error.devo_code,
            "timestamp": now_ms,
            "cid": cid,
            "object": [LAUNCH_ERROR, text],
            "context": {"message": text, "code": str(error.devo_code), "kind": error.code},
        }
    if isinstance(error, PayloadTooLarge):
        return 413, {
            "error": "Payload too large",
            "msg": error.message,
            "status": 413,
            "cid": cid,
            "timestamp": now_ms,
        }
    if isinstance(error, ValidationError):
        detail = f"{error.devo_code} : {error.message}" if error.devo_code else error.message
        return 400, {
            "error": "Bad parameters",
            "status": 400,
            "timestamp": now_ms,
            "cid": cid,
            "object": [detail],
        }
    if isinstance(error, QueryLimitError):
        return 400, {
            "msg": LAUNCH_ERROR,
            "status": 400,
            "timestamp": now_ms,
            "cid": cid,
            "object": [LAUNCH_ERROR, error.message],
        }
    status = _plain_status(error)
    return status, {"msg": error.message, "status": status, "timestamp": now_ms, "cid": cid}


def _plain_status(error: LinqdError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, MethodNotAllowed):
        return 405
    if isinstance(error, Conflict):
        return 409
    if isinstance(error, TooManyQueries):
        return 429  # Devo documents none; see query/admission.py
    return 500


def error_response(error: LinqdError, *, cid: str, now_ms: int) -> JSONResponse:
    status, body = error_body(error, cid=cid, now_ms=now_ms)
    return JSONResponse(body, status_code=status)


def alerts_error_body(error: LinqdError, *, cid: str, now_ms: int) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for the Alerts API and the delivery methods API.

    Devo documents no error body for the alert endpoints; this is the shape of its delivery
    methods API (see docs/devo-compatibility.md), plus ``status`` and ``timestamp`` as in the query
    API. ``context.field`` names the offending request field when there is one.
    """
    if isinstance(error, ForbiddenError):
        status = 403
    elif isinstance(error, PayloadTooLarge):
        status = 413
    elif isinstance(error, AuthError):
        status = 401
    elif isinstance(error, ValidationError | LinqError | QueryLimitError):
        status = 400
    else:
        status = _plain_status(error)
    context: dict[str, Any] = {}
    field = getattr(error, "field", None)
    if isinstance(field, str):
        context["field"] = field
    if isinstance(error, LinqError):
        if error.span is not None:
            context["line"] = error.span.line
            context["column"] = error.span.column
        context["linqCode"] = error.devo_code
    message = error.message
    if isinstance(error, LinqError) and error.position and error.position not in message:
        message = f"{message} ({error.position})"
    return status, {
        "code": error.devo_code or status,
        "msg": message,
        "status": status,
        "timestamp": now_ms,
        "cid": cid,
        "context": context,
        "messageKey": error.code,
        "language": "en",
    }


def lookups_error_body(error: LinqdError, *, cid: str, now_ms: int) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for the Lookups API (``/lookup-api``).

    Devo shows one reply of this API, the creation envelope (``type``, ``cid``, ``code`` = the
    HTTP status, ``context``, ``id``, ``msg``), and its client reads ``msg``, ``code``, ``cid``
    and ``timestamp`` from an error (docs/devo-compatibility.md, "Lookups API"): errors take
    that envelope's shape, with ``status`` and ``timestamp`` as in the Query API.
    ``context.field`` names the offending member or part when there is one."""
    status, body = alerts_error_body(error, cid=cid, now_ms=now_ms)
    context = body["context"]
    return status, {
        "type": "LookupErrorResponse",
        "cid": cid,
        "code": status,
        "context": context or None,
        "msg": body["msg"],
        "status": status,
        "timestamp": now_ms,
    }


def alerts_error_response(error: LinqdError, *, cid: str, now_ms: int) -> JSONResponse:
    status, body = alerts_error_body(error, cid=cid, now_ms=now_ms)
    return JSONResponse(body, status_code=status)


def in_band(error: BaseException) -> tuple[int, str]:
    """(code, message) of an error that happens after the 200 status line was sent."""
    if isinstance(error, LinqdError):
        return error.devo_code or 500, clean(error.message)
    return 500, clean(f"Error Processing Query: {type(error).__name__}")


# -- the boundary ---------------------------------------------------------------------------------


class Family(Enum):
    """The endpoint families, each with Devo's error shape of its own."""

    QUERY = "query"  # /search/query, /, /search/table
    JOBS = "jobs"  # /search/job..., /search/jobs...
    ALERTS = "alerts"  # /alerts/..., /delco/...
    INGEST = "ingest"  # /event, /stream, /metrics
    LOOKUPS = "lookups"  # /lookup-api/...


def family_of(path: str) -> Family:
    if path.startswith(("/alerts/", "/delco/")):
        return Family.ALERTS
    if path.startswith("/lookup-api/"):
        return Family.LOOKUPS
    if path.startswith("/search/job"):
        return Family.JOBS
    if path.startswith(("/event/", "/stream/", "/metrics")):
        return Family.INGEST
    return Family.QUERY


def render(error: LinqdError, family: Family, *, cid: str, now_ms: int) -> JSONResponse:
    """The HTTP answer for ``error`` raised under an endpoint of ``family``."""
    if family is Family.ALERTS:
        status, body = alerts_error_body(error, cid=cid, now_ms=now_ms)
        if isinstance(error, AlertsNotUpdated):
            body["context"].update(updated=error.updated, notUpdated=error.not_updated)
        return JSONResponse(body, status_code=status)
    if family is Family.LOOKUPS:
        status, body = lookups_error_body(error, cid=cid, now_ms=now_ms)
        return JSONResponse(body, status_code=status)
    if isinstance(error, TaskError):
        task = {"msg": error.message, "status": error.task_code, "cid": cid, "timestamp": now_ms}
        return JSONResponse(task, status_code=error.http_status)
    if family is Family.QUERY and isinstance(error, Conflict):
        # A job whose friendlyName is taken: Devo's "Task Key Duplicate" (HTTP 409, code 500).
        duplicate = {"msg": error.message, "code": 500, "status": 500, "cid": cid}
        return JSONResponse({**duplicate, "timestamp": now_ms}, status_code=409)
    return error_response(error, cid=cid, now_ms=now_ms)


def request_cid(request: Request) -> str:
    """The request's id, given by ``RequestIds``."""
    cid: str = request.scope["state"]["cid"]
    return cid


class RequestIds:
    """Gives every request its id (``cid``) before any endpoint runs, so that the answer, its
    error and the logs of one request share it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["cid"] = new_cid()
        await self.app(scope, receive, send)


def exception_handlers(clock: Clock) -> dict[Any, Callable[[Request, Exception], Any]]:
    """Starlette's handlers: every ``LinqdError`` under a request, unknown paths and methods,
    and anything unexpected reach the client in the shape of the endpoint's family."""
    log = logging.getLogger("linqd.api")

    def answer(request: Request, error: LinqdError) -> Response:
        note_error(request.scope, error.message)
        family = family_of(request.url.path)
        return render(error, family, cid=request_cid(request), now_ms=clock.now_ms())

    async def linqd_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LinqdError)
        return answer(request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        error: LinqdError = (
            MethodNotAllowed("Method not allowed")
            if status == 405
            else NotFound("Not found")
            if status == 404
            else LinqdError("Server error")
        )
        return answer(request, error)

    async def unexpected(request: Request, exc: Exception) -> Response:
        # A bug: the client learns nothing of it but the request id the log carries.
        log.exception("request %s failed", request.scope.get("state", {}).get("cid"))
        response = answer(request, LinqdError("Server error"))
        # Starlette sends this answer from outside every middleware: add their headers here.
        for name, value in security_headers(request.scope):
            response.headers[name.decode()] = value.decode()
        return response

    return {LinqdError: linqd_error, HTTPException: http_error, Exception: unexpected}
