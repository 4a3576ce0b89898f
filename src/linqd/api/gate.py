"""The way into the Query API's endpoints: credentials judged from the headers, then a bounded
body.

Nothing of a body is read before the headers have proved who is asking. Tokens and JWTs are
settled by the headers alone; for Devo's HMAC scheme the headers must name a known key, carry a
fresh timestamp and a well-formed signature, and only then is the body read (within its limit)
and the signature checked over it. A signed request is not accepted again later: the same (key,
timestamp, signature) past ``ReplayGuard.REUSE_MS`` after its first use is a replay, refused like
a bad signature.

Every judgement is audited here: the request's activity row learns who asked (or whom a refused
credential named), and the connection table gets its row (``audit/connections.py`` says which).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio
from starlette.requests import Request

from ..audit.connections import ConnectionLog
from ..audit.notes import Identity, note_identity, origin_of
from ..clock import Clock
from ..domains import DomainStore
from ..errors import INVALID_SIGNATURE, AuthError, InvalidSignature
from .auth import (
    DEFAULT_JWT_MAX_TTL_S,
    HmacClaim,
    Principal,
    ReplayGuard,
    authenticate_ingest,
    authenticate_stand_alone,
    query_credentials,
)
from .body import read_body

Found = TypeVar("Found")


class Gate:
    def __init__(
        self,
        domains: DomainStore,
        clock: Clock,
        *,
        window_ms: int = 300_000,
        jwt_max_ttl_s: int = DEFAULT_JWT_MAX_TTL_S,
        max_body_bytes: int = 1_048_576,
        connections: ConnectionLog | None = None,
    ) -> None:
        self.domains = domains
        self.connections = connections
        self.clock = clock
        self.window_ms = window_ms
        self.jwt_max_ttl_s = jwt_max_ttl_s
        self.max_body_bytes = max_body_bytes
        self.replays = ReplayGuard(window_ms)

    async def query(self, request: Request, limit: int | None = None) -> tuple[Principal, bytes]:
        """The principal of a Query API request (HMAC, token or JWT) and its body."""
        now = self.clock.now_ms()
        credentials = partial(
            query_credentials,
            request.headers,
            store=self.domains,
            now_ms=now,
            window_ms=self.window_ms,
            jwt_max_ttl_s=self.jwt_max_ttl_s,
        )
        # Credential look-ups wait on SQLite's lock: off the event loop.
        found = await anyio.to_thread.run_sync(self._checked, request, credentials)
        body = await read_body(request, self.max_body_bytes if limit is None else limit)
        if isinstance(found, Principal):
            return found, body
        return self._checked(request, partial(self._signed, found, body, now)), body

    async def token(self, request: Request) -> Principal:
        """The principal of a request whose body is too large to hold for a signature check
        (the Lookups API's file uploads): a token or a JWT, judged from the headers alone. An
        API key signature covers the body, so it is refused here (401) rather than trusted
        before the body is read."""
        credentials = partial(
            query_credentials,
            request.headers,
            store=self.domains,
            now_ms=self.clock.now_ms(),
            window_ms=self.window_ms,
            jwt_max_ttl_s=self.jwt_max_ttl_s,
        )
        found = await anyio.to_thread.run_sync(self._checked, request, credentials)
        if not isinstance(found, Principal):
            raise InvalidSignature(f"{INVALID_SIGNATURE}: file uploads take a token")
        return found

    async def stand_alone(self, request: Request) -> Principal:
        """The principal of an Alerts API or delivery methods API request (no body is read)."""
        check = partial(
            authenticate_stand_alone,
            request.headers,
            store=self.domains,
            now_ms=self.clock.now_ms(),
        )
        return await anyio.to_thread.run_sync(self._checked, request, check)

    def ingest(self, request: Request, token: str) -> Principal:
        """The principal of an HTTP ingestion request, whose token is in its path."""
        return self._checked(request, partial(authenticate_ingest, token, store=self.domains))

    def _signed(self, claim: HmacClaim, body: bytes, now: int) -> Principal:
        principal = claim.verify(body)
        self.replays.first_use(claim, now)
        return principal

    # -- the audit -------------------------------------------------------------------------------

    def _checked(self, request: Request, check: Callable[[], Found]) -> Found:
        """``check()``, audited: a refused credential on its way out, a principal as it comes."""
        try:
            found = check()
        except AuthError as error:
            self._refused(request, error)
            raise
        if isinstance(found, Principal):
            self._accepted(request, found)
        return found

    def _accepted(self, request: Request, principal: Principal) -> None:
        identity = Identity(principal.domain, principal.userid, principal.name or principal.userid)
        note_identity(request.scope, identity)
        if self.connections is not None:
            self.connections.accepted(origin_of(request.scope), identity, principal.method)

    def _refused(self, request: Request, error: AuthError) -> None:
        refusal = error.refusal
        if refusal is None:
            return  # no credential at all: the request's activity row is the record
        if refusal.domain is not None:
            identity = Identity(refusal.domain, refusal.userid, refusal.username)
            note_identity(request.scope, identity)
        if self.connections is not None:
            self.connections.refused(
                origin_of(request.scope),
                refusal.kind,
                refusal.reason,
                domain=refusal.domain,
                userid=refusal.userid,
                username=refusal.username,
            )
