"""The way into the Query API's endpoints: credentials judged from the headers, then a bounded
body.

Nothing of a body is read before the headers have proved who is asking. Tokens and JWTs are
settled by the headers alone; for Devo's HMAC scheme the headers must name a known key, carry a
fresh timestamp and a well-formed signature, and only then is the body read (within its limit)
and the signature checked over it. A signed request is not accepted again later: the same (key,
timestamp, signature) past ``ReplayGuard.REUSE_MS`` after its first use is a replay, refused like
a bad signature.
"""

from __future__ import annotations

from functools import partial

import anyio
from starlette.requests import Request

from ..clock import Clock
from ..domains import DomainStore
from ..errors import INVALID_SIGNATURE, InvalidSignature
from .auth import (
    DEFAULT_JWT_MAX_TTL_S,
    Principal,
    ReplayGuard,
    authenticate_stand_alone,
    query_credentials,
)
from .body import read_body


class Gate:
    def __init__(
        self,
        domains: DomainStore,
        clock: Clock,
        *,
        window_ms: int = 300_000,
        jwt_max_ttl_s: int = DEFAULT_JWT_MAX_TTL_S,
        max_body_bytes: int = 1_048_576,
    ) -> None:
        self.domains = domains
        self.clock = clock
        self.window_ms = window_ms
        self.jwt_max_ttl_s = jwt_max_ttl_s
        self.max_body_bytes = max_body_bytes
        self.replays = ReplayGuard(window_ms)

    async def query(self, request: Request, limit: int | None = None) -> tuple[Principal, bytes]:
        """The principal of a Query API request (HMAC, token or JWT) and its body."""
        now = self.clock.now_ms()
        # Credential look-ups wait on SQLite's lock: off the event loop.
        found = await anyio.to_thread.run_sync(
            partial(
                query_credentials,
                request.headers,
                store=self.domains,
                now_ms=now,
                window_ms=self.window_ms,
                jwt_max_ttl_s=self.jwt_max_ttl_s,
            )
        )
        body = await read_body(request, self.max_body_bytes if limit is None else limit)
        if isinstance(found, Principal):
            return found, body
        principal = found.verify(body)
        self.replays.first_use(found, now)
        return principal, body

    async def token(self, request: Request) -> Principal:
        """The principal of a request whose body is too large to hold for a signature check
        (the Lookups API's file uploads): a token or a JWT, judged from the headers alone. An
        API key signature covers the body, so it is refused here (401) rather than trusted
        before the body is read."""
        found = await anyio.to_thread.run_sync(
            partial(
                query_credentials,
                request.headers,
                store=self.domains,
                now_ms=self.clock.now_ms(),
                window_ms=self.window_ms,
                jwt_max_ttl_s=self.jwt_max_ttl_s,
            )
        )
        if not isinstance(found, Principal):
            raise InvalidSignature(f"{INVALID_SIGNATURE}: file uploads take a token")
        return found

    async def stand_alone(self, request: Request) -> Principal:
        """The principal of an Alerts API or delivery methods API request (no body is read)."""
        return await anyio.to_thread.run_sync(
            partial(
                authenticate_stand_alone,
                request.headers,
                store=self.domains,
                now_ms=self.clock.now_ms(),
            )
        )
