"""``siem.logtrust.web.activity``: one row for every HTTP request to linqd, APIs and console.

``ActivityLog`` is an ASGI middleware inside ``RequestIds`` (so a row carries its request's
``cid``) and around every route, those added later included. It counts the bytes both ways and,
once the answer has ended (sent, failed, or its client gone), hands one row to the
``AuditWriter``: the request never waits for the store.

Decisions where Devo's documentation is silent:

- One row per request, when its answer ends, of ``type`` ``request``. Devo writes a request row
  and a response row (the demo's synthetic data has both); linqd's one row holds both halves
  (``result``, ``responseTime`` and ``responseLength`` included) and is typed ``request``, so
  that Devo's own examples (alert definitions filter ``eq(type, "request")``) find it.
- ``eventdate`` is the request's arrival, as web servers' access logs date a request.
  ``responseTime`` is the milliseconds from arrival to the answer's last byte: for a streamed
  answer (a continuous query, a long download) how long the stream lasted, and its row appears
  when the stream ends.
- ``level`` INFO below 400, WARN for 4xx, ERROR for 5xx (and for a failure after a streamed
  answer began). ``result`` ``OK`` below 400, else status and reason (``401 Unauthorized``), so
  ``result != "OK"`` finds every failure and the code stays readable. A request that ends before
  any answer (its client left, the server stopped) is 499, nginx's "client closed request".
- ``errorInfo``: the message the client was given; for a bug, ``Server error (<type>)`` (the
  client sees only the first two words; the exception's text may hold anything).
- ``domain``: the principal's. A request refused for its credential goes to the domain the
  credential names when that is known; requests without one (``/health``, the console's
  sign-in form, an unknown credential) go to the server's default domain.
- ``userid`` and ``username`` as in the connection table; ``sessionid`` the console session's
  audit id (a hash with a purpose of its own: neither the cookie nor what ``meta.sqlite``
  keeps); API requests have none.
- ``url``: path and query without secrets (``logs.redact_url``), ``referer`` likewise, at most
  2,048 characters. ``headers`` and ``params`` stay empty: they are where credentials and bodies
  travel. ``resourceInfo`` is the service (query, jobs, alerts, delco, ingest, metrics, health,
  console...), ``serverHost`` the node's host name, ``serverPort`` the port the request came to,
  ``srcHost``/``srcPort`` the peer (as uvicorn reports it, behind a trusted proxy the forwarded
  client), ``locale`` the first language of ``Accept-Language``, ``contentLength`` the declared
  request length, else the bytes read. The geolocation columns stay empty: looking up every
  request would cost more than its row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..logs import redact_link, redact_url
from .notes import MAX_URL, NOTES, RequestNotes, clip, origin_of
from .service import Audit
from .writer import AuditRow

TABLE = "siem.logtrust.web.activity"
CLIENT_CLOSED = 499
INT4_MAX = 2**31 - 1
_WANTED = (b"referer", b"accept-language", b"content-length")


@dataclass
class _Exchange:
    """What one request and its answer have moved so far."""

    status: int = 0
    read: int = 0
    sent: int = 0
    failed: bool = False


class ActivityLog:
    def __init__(self, app: ASGIApp, audit: Audit) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        notes = RequestNotes()
        scope.setdefault("state", {})[NOTES] = notes
        arrived = self.audit.clock.now_ms()
        started = time.perf_counter()
        url = redact_url(
            str(scope.get("path", "")), scope.get("query_string", b"").decode("latin-1")
        )
        exchange = _Exchange()

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.read += len(message.get("body", b""))
            return message

        async def counted_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
            elif message["type"] == "http.response.body":
                exchange.sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counted_receive, counted_send)
        except Exception as error:
            # The error boundary outside every middleware answers 500; the row says so.
            exchange.status = exchange.status or 500
            exchange.failed = True
            notes.error = f"Server error ({type(error).__name__})"
            raise
        finally:
            elapsed_ms = int((time.perf_counter() - started) * 1000)
            row = self._row(scope, notes, exchange, url, elapsed_ms)
            self.audit.writer.add(AuditRow(TABLE, str(row["domain"]), arrived, row))

    def _row(
        self, scope: Scope, notes: RequestNotes, exchange: _Exchange, url: str, elapsed_ms: int
    ) -> dict[str, Any]:
        status = exchange.status or CLIENT_CLOSED
        wanted = dict.fromkeys(_WANTED, "")
        for name, value in scope.get("headers", ()):
            if name in wanted and not wanted[name]:
                wanted[name] = value.decode("latin-1")
        declared = wanted[b"content-length"].strip()
        origin = origin_of(scope)
        identity = notes.identity
        ok = status < 400 and not exchange.failed
        return {
            "level": "ERROR" if status >= 500 or exchange.failed else "INFO" if ok else "WARN",
            "domain": identity.domain if identity else self.audit.default_domain,
            "userid": identity.userid if identity else "",
            "username": identity.username if identity else "",
            "sessionid": notes.sessionid,
            "correlationid": origin.correlationid,
            "srcHost": origin.src_host,
            "srcPort": origin.src_port,
            "serverHost": self.audit.node,
            "serverPort": origin.server_port,
            "type": "request",
            "method": str(scope.get("method", "")),
            "url": clip(url, MAX_URL),
            "referer": clip(redact_link(wanted[b"referer"]), MAX_URL) if wanted[b"referer"] else "",
            "userAgent": origin.user_agent,
            "locale": _locale(wanted[b"accept-language"]),
            "contentLength": min(INT4_MAX, int(declared) if declared.isdigit() else exchange.read),
            "responseLength": min(INT4_MAX, exchange.sent),
            "responseTime": min(INT4_MAX, elapsed_ms),
            "result": "OK" if ok else f"{status} {_phrase(status)}".rstrip(),
            "resourceInfo": origin.service,
            "errorInfo": notes.error or ("" if ok else _phrase(status)),
        }


def _phrase(status: int) -> str:
    if status == CLIENT_CLOSED:
        return "Client Closed Request"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _locale(accept_language: str) -> str:
    """``en-US,en;q=0.9`` → ``en_US`` (Devo's spelling)."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip()
    return clip(first.replace("-", "_"), 35)
