"""What one request tells its audit rows: who asked, from where, and what went wrong.

``ActivityLog`` (the middleware) puts a ``RequestNotes`` in the request's scope before any
handler runs; the credential checks (``api/gate.py``, the console's sign-in and sessions) and the
error boundaries (``api/errors.py``, the console's error fragments) write into it, and the
middleware reads it when the answer ends. With the audit off there are no notes, and writing
them does nothing.

``Origin`` is the rest of what a row says of a request or connection, read from the ASGI scope
(or given by the syslog collector): the peer's address, the server's port, the user agent, the
request's ``cid`` and the service (the API family) it addressed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOTES = "linqd.audit"
# Bounds on what a client's headers put into a row.
MAX_TEXT = 1_024
MAX_URL = 2_048

# Path prefixes → the service (API family) they belong to, first match wins.
_SERVICES = (
    ("/search/job", "jobs"),
    ("/search/", "query"),
    ("/alerts/", "alerts"),
    ("/delco/", "delco"),
    ("/lookup-api/", "lookups"),
    ("/event/", "ingest"),
    ("/stream/", "ingest"),
    ("/metrics", "metrics"),
    ("/health", "health"),
    ("/ui", "console"),
)


@dataclass(frozen=True)
class Identity:
    """Who a row is about: the domain it lands in and the credential's public names."""

    domain: str
    userid: str = ""
    username: str = ""


@dataclass
class RequestNotes:
    """Filled in by a request's handlers (a mutable record of one request, not a definition)."""

    # Who the request acts as, or whom a refused credential named.
    identity: Identity | None = None
    # A console session's audit id (a hash, never the cookie).
    sessionid: str = ""
    # The message of the error the client was answered with.
    error: str = ""


@dataclass(frozen=True)
class Origin:
    """Where a request or connection came from and where it arrived."""

    src_host: str = ""
    src_port: int | None = None
    server_port: int | None = None
    user_agent: str = ""
    correlationid: str = ""
    service: str = ""


def clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit]


def notes_of(scope: Any) -> RequestNotes | None:
    state = scope.get("state")
    notes = state.get(NOTES) if isinstance(state, dict) else None
    return notes if isinstance(notes, RequestNotes) else None


def note_identity(scope: Any, identity: Identity) -> None:
    notes = notes_of(scope)
    if notes is not None:
        notes.identity = identity


def note_session(scope: Any, sessionid: str) -> None:
    notes = notes_of(scope)
    if notes is not None:
        notes.sessionid = sessionid


def note_error(scope: Any, message: str) -> None:
    notes = notes_of(scope)
    if notes is not None:
        notes.error = clip(message)


def header(scope: Any, name: bytes) -> str:
    """A request header's value (the first one), decoded as Latin-1 as HTTP allows."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def service_of(path: str, method: str = "GET") -> str:
    if path == "/":
        # devo-sdk posts queries to "/"; a browser's GET is sent to the console.
        return "query" if method == "POST" else "console"
    for prefix, service in _SERVICES:
        if path.startswith(prefix):
            return service
    return "other"


def origin_of(scope: Any) -> Origin:
    client = scope.get("client") or ("", None)
    server = scope.get("server") or ("", None)
    state = scope.get("state")
    cid = state.get("cid", "") if isinstance(state, dict) else ""
    return Origin(
        src_host=str(client[0] or ""),
        src_port=client[1],
        server_port=server[1],
        user_agent=clip(header(scope, b"user-agent")),
        correlationid=str(cid),
        service=service_of(str(scope.get("path", "")), str(scope.get("method", "GET"))),
    )
