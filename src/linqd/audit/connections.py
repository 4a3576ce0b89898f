"""``siem.logtrust.web.connection``: every credential check, as Devo's connection table.

One row per sign-in, sign-out and refusal: the Query API's HMAC keys, tokens and JWTs, the
Alerts and delivery methods APIs' ``standAloneToken``, HTTP ingestion tokens, the console's
passwords and sign-outs, and the syslog TLS collector's client certificates.

Columns (decisions where Devo documents only ``action``):

- ``action``: ``login`` (a credential was accepted), ``logout`` (a console sign-out) or
  ``failed`` (refused); ``result`` ``OK``, ``DENIED`` or, for a console sign-in refused because
  of earlier failures, ``THROTTLED``; ``level`` INFO, or WARN for refusals.
- ``method``: the credential's kind: ``hmac``, ``token`` (Bearer, ``standAloneToken`` and
  ingestion tokens alike), ``jwt``, ``password`` (the console), ``certificate`` (syslog TLS).
  ``service`` says which API was asked (query, jobs, alerts, delco, ingest, metrics, console,
  syslog).
- ``userid`` names the credential without revealing it: the API key (public, as Devo's), the
  fingerprint of a token or JWT (16 hex digits of its SHA-256), the console user, the
  certificate's CN; ``username`` is the token's name, the API key, the user, the CN.
- ``reason`` says why a credential was refused, more precisely than the client is told ("unknown
  API key", "replayed request", "wrong password"...), and never with a secret in it.
- ``domain``: the credential's domain. A refused credential's row goes to the domain it names
  when that is known (an existing API key, an existing user, a token of another kind, a JWT
  naming an existing domain), else to the server's default domain: a domain's owners see the
  attacks on their credentials, the operator those on nobody's. A user name that does not exist
  is not written at all: it may be a password typed into the wrong field.

What is written: refusals always; console sign-ins and sign-outs always; every other accepted
credential once per minute per (credential, source address). API clients send their credential
with every request (there are no sessions), so a row per request would repeat the activity
table row for row and bury the sign-ins; once a minute still answers who used which credential
from where and when, a new address shows at once, and a refusal is never left out (Splunk's
``_audit`` and Grafana keep failed attempts whole, too). A request carrying no credential at all
is not a credential check: its activity row (401) is the record.
"""

from __future__ import annotations

import socket
import threading
from enum import StrEnum

from ..clock import Clock
from .notes import Identity, Origin
from .writer import AuditRow, AuditWriter

TABLE = "siem.logtrust.web.connection"
# Accepted credentials are written once per this period and (credential, address).
REPEAT_MS = 60_000
# Bound on the (credential, address) pairs remembered within one period; past it the memory is
# cleared, which at worst writes a pair twice in a minute.
MAX_REMEMBERED = 100_000


class Action(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    FAILED = "failed"


class ConnectionLog:
    def __init__(
        self,
        writer: AuditWriter,
        clock: Clock,
        *,
        default_domain: str,
        node: str | None = None,
        repeat_ms: int = REPEAT_MS,
    ) -> None:
        self._writer = writer
        self._clock = clock
        self.default_domain = default_domain
        self.node = node or socket.gethostname()
        self._repeat_ms = repeat_ms
        self._lock = threading.Lock()
        self._period = -1
        self._seen: set[tuple[str, str, str, str]] = set()

    def accepted(
        self, origin: Origin, identity: Identity, method: str, *, reason: str = ""
    ) -> None:
        """A credential was accepted: written at its first use in each minute from each address."""
        now = self._clock.now_ms()
        key = (identity.domain, method, identity.userid, origin.src_host)
        with self._lock:
            period = now // self._repeat_ms
            if period != self._period or len(self._seen) >= MAX_REMEMBERED:
                self._period = period
                self._seen.clear()
            if key in self._seen:
                return
            self._seen.add(key)
        self._write(now, origin, identity, method, Action.LOGIN, "OK", reason)

    def signed_in(self, origin: Origin, identity: Identity, method: str) -> None:
        """A sign-in that starts a session (the console): always written."""
        self._write(self._clock.now_ms(), origin, identity, method, Action.LOGIN, "OK", "")

    def signed_out(self, origin: Origin, identity: Identity, method: str) -> None:
        self._write(self._clock.now_ms(), origin, identity, method, Action.LOGOUT, "OK", "")

    def refused(
        self,
        origin: Origin,
        method: str,
        reason: str,
        *,
        domain: str | None,
        userid: str = "",
        username: str = "",
        result: str = "DENIED",
    ) -> None:
        """A credential was refused; ``domain`` None when it names no known domain."""
        who = Identity(domain or self.default_domain, userid, username)
        self._write(self._clock.now_ms(), origin, who, method, Action.FAILED, result, reason)

    def _write(
        self,
        now: int,
        origin: Origin,
        identity: Identity,
        method: str,
        action: Action,
        result: str,
        reason: str,
    ) -> None:
        values = {
            "level": "WARN" if action is Action.FAILED else "INFO",
            "domain": identity.domain,
            "userid": identity.userid,
            "username": identity.username,
            "srcHost": origin.src_host,
            "srcPort": origin.src_port,
            "serverHost": self.node,
            "serverPort": origin.server_port,
            "service": origin.service,
            "method": method,
            "action": action.value,
            "result": result,
            "reason": reason,
            "userAgent": origin.user_agent,
            "correlationid": origin.correlationid,
        }
        self._writer.add(AuditRow(TABLE, identity.domain, now, values))
