"""The one place where linqd's errors become Devo's HTTP error bodies.

Shapes follow Devo's error bodies (docs/devo-compatibility.md), and what devo-sdk can parse:
``error`` is either an object (``{"code", "message"}``) or a string free of the words ``code`` and
``message``; every element of ``object`` is a string; in-band messages carry no double quotes.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import JSONResponse

from ..errors import (
    AuthError,
    Conflict,
    ForbiddenError,
    LinqdError,
    LinqError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    QueryLimitError,
    TooManyQueries,
    ValidationError,
)

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


def alerts_error_response(error: LinqdError, *, cid: str, now_ms: int) -> JSONResponse:
    status, body = alerts_error_body(error, cid=cid, now_ms=now_ms)
    return JSONResponse(body, status_code=status)


def in_band(error: BaseException) -> tuple[int, str]:
    """(code, message) of an error that happens after the 200 status line was sent."""
    if isinstance(error, LinqdError):
        return error.devo_code or 500, clean(error.message)
    return 500, clean(f"Error Processing Query: {type(error).__name__}")
