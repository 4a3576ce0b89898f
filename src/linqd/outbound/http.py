"""httpx clients whose every connection passes the outbound policy (webhooks, WebHDFS, S3).

httpx resolves and connects inside httpcore's network backend, so that is where the check
sits: ``connect_tcp`` resolves the name, judges every address (``OutboundPolicy.resolve``) and
connects to a checked address literal. There is no second lookup between check and connect,
and every connection is checked, so a redirect (WebHDFS's 307 to a datanode) is judged like
the first request. TLS still verifies the certificate against the host *name*: httpcore takes
the SNI name and the name to verify from the request's origin, not from ``connect_tcp``.

The clients never take proxies or ``.netrc`` from the environment (a proxy would be judged in
place of the real destination) and never follow redirects on their own.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpcore
import httpx

from .policy import OutboundPolicy

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's


class _ViewStream(httpcore.NetworkStream):
    """httpcore's stream, written from a memoryview. httpcore's own ``write`` re-slices the
    bytes it has left after every partial ``send``: a copy of the rest of the body each time,
    quadratic in a large body (an S3 object of 20 MB spent 0.5 s there). Slices of a
    memoryview copy nothing."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(memoryview(buffer), timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _ViewStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's own backend, handed only addresses that the policy allows."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            targets = self.policy.resolve(host, port)
        except OSError as exc:  # as httpcore reports a failed lookup
            raise httpcore.ConnectError(str(exc)) from exc
        options = list(socket_options or ())
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for target in targets:
            try:
                # An address literal: the resolver is not asked again.
                stream = super().connect_tcp(target.literal, port, timeout, local_address, options)
                return _ViewStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() returns at least one target
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not outbound connections")


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` with its connection pool built over ``GuardedBackend``, the way
    ``HTTPTransport.__init__`` builds it (httpx offers no parameter for the backend)."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=context, trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


def guarded_client(
    policy: OutboundPolicy,
    *,
    timeout: httpx.Timeout | float = 10.0,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    """A client for request-named destinations: checked connections, no proxies from the
    environment, redirects left to the caller."""
    return httpx.Client(
        transport=GuardedTransport(policy, verify=verify),
        trust_env=False,
        follow_redirects=False,
        timeout=timeout,
    )
