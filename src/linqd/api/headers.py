"""Headers every response of the API carries.

- ``X-Content-Type-Options: nosniff``: a browser must not read a JSON or CSV answer as HTML.
- ``Cache-Control: no-store``: answers hold a domain's data; no proxy or browser keeps them.
- ``Strict-Transport-Security`` when served over TLS: a browser that came once by HTTPS keeps
  to it.

A plain ASGI middleware, so streamed answers get them too without being buffered.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")


def security_headers(scope: Scope) -> tuple[tuple[bytes, bytes], ...]:
    return _ALWAYS + ((_HSTS,) if scope.get("scheme") == "https" else ())


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", ())}
                added = [(name, value) for name, value in extra if name not in names]
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
