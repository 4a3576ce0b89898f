"""The syslog collector: plain TCP and TLS listeners, one framer per connection, in an event loop
of their own (a thread), so parsing never delays the HTTP APIs.

A connection's events are queryable before the collector closes its side: at EOF it flushes the
last partial line, waits until the pipeline has committed everything the connection sent, then
closes at once (devo-sdk waits for that close).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..audit.connections import ConnectionLog
from ..audit.counters import Collector
from ..audit.notes import Identity, Origin, clip
from ..clock import Clock
from ..errors import LinqdError
from .framing import SyslogFramer
from .pipeline import IngestPipeline
from .syslog import parse_messages

log = logging.getLogger("linqd.ingest")

# Largest single message; bigger ones are counted, logged and skipped.
MAX_MESSAGE_BYTES = 1 << 20


@dataclass(frozen=True)
class CollectorConfig:
    host: str = "127.0.0.1"
    port: int | None = 13000
    tls_port: int | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    default_domain: str = "self"


DomainOfCN = Callable[[str], str | None]


def tls_context(config: CollectorConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    assert config.tls_cert is not None and config.tls_key is not None
    # The certificate file holds the full chain (leaf, then CA), which devo-sdk's
    # verify_config needs to see.
    context.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    if config.tls_client_ca is not None:
        context.load_verify_locations(str(config.tls_client_ca))
        context.verify_mode = ssl.CERT_OPTIONAL  # clients without a certificate stay welcome
    return context


class SyslogCollector:
    def __init__(
        self,
        config: CollectorConfig,
        pipeline: IngestPipeline,
        clock: Clock,
        domain_of_cn: DomainOfCN | None = None,
        connections: ConnectionLog | None = None,
    ) -> None:
        self.config = config
        self.pipeline = pipeline
        self.clock = clock
        self.domain_of_cn = domain_of_cn
        self.connection_log = connections
        self.ports: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="syslog", daemon=True)
        self.connections = 0

    def start(self) -> SyslogCollector:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise LinqdError(f"Syslog collector did not start: {self._error}")
        return self

    def stop(self) -> None:
        """Stop listening and let open connections finish what they already sent."""
        if not self._thread.is_alive():
            return

        async def shutdown() -> None:
            for server in self._servers:
                server.close()
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._listen())
        except (OSError, ssl.SSLError, LinqdError) as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _listen(self) -> None:
        config = self.config
        if config.port is not None:
            server = await self._loop.create_server(
                lambda: _SyslogProtocol(self, tls=False), config.host, config.port
            )
            self._servers.append(server)
            self.ports["tcp"] = server.sockets[0].getsockname()[1]
        if config.tls_port is not None:
            context = tls_context(config)
            server = await self._loop.create_server(
                lambda: _SyslogProtocol(self, tls=True), config.host, config.tls_port, ssl=context
            )
            self._servers.append(server)
            self.ports["tls"] = server.sockets[0].getsockname()[1]

    def domain_for(self, transport: asyncio.BaseTransport) -> str:
        """The domain of a TLS connection: its client certificate's CN when that names a domain,
        else the default domain. A certificate is a credential: its use is audited (a
        certificate the CA does not sign fails the TLS handshake before linqd sees it)."""
        domain = self.config.default_domain
        peer = transport.get_extra_info("peercert")
        if not peer:
            return domain
        common_name = clip(_common_name(peer) or "")
        mapped = self.domain_of_cn(common_name) if common_name and self.domain_of_cn else None
        if mapped is not None:
            domain = mapped
        if self.connection_log is not None:
            reason = "" if mapped else "the certificate's CN names no domain: the default domain"
            self.connection_log.accepted(
                _origin(transport),
                Identity(domain, common_name, common_name),
                "certificate",
                reason=reason,
            )
        return domain


class _SyslogProtocol(asyncio.Protocol):
    """One connection. A protocol rather than a stream reader: a TLS peer that half-closes
    without close_notify makes a stream reader raise and drop what it had buffered, while
    ``data_received`` has already been handed every byte."""

    def __init__(self, collector: SyslogCollector, *, tls: bool) -> None:
        self.collector = collector
        self.pipeline = collector.pipeline
        self.tls = tls
        self.framer = SyslogFramer(max_message_bytes=MAX_MESSAGE_BYTES)
        self.transport: asyncio.Transport | None = None
        self.domain = collector.config.default_domain
        self.kind = Collector.SYSLOG_TLS if tls else Collector.SYSLOG_TCP
        # Bytes read since the last complete message (counted with the next one).
        self.unsent_bytes = 0
        self.ticket = 0
        self.finished = False
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.collector.connections += 1
        if self.tls:
            self.domain = self.collector.domain_for(transport)

    def data_received(self, data: bytes) -> None:
        self._submit(self.framer.feed(data), len(data))

    def eof_received(self) -> bool | None:
        self._finish(close=True)
        # Plain TCP: keep the transport until the events are stored, then close it ourselves.
        # TLS transports ignore this and close on return (hence the wait in _finish).
        return None if self.tls else True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished:
            self._finish(close=False)

    def _submit(self, messages: list[bytes], size: int) -> None:
        for error in self.framer.take_errors():
            self.pipeline.reject(f"framing: {error.kind}", error.detail)
        self.unsent_bytes += size
        if not messages:
            return
        parsed = parse_messages(messages, now_ms=self.collector.clock.now_ms())
        size, self.unsent_bytes = self.unsent_bytes, 0
        try:
            self.ticket = self.pipeline.submit(
                parsed, client=self.domain, raw_bytes=size, collector=self.kind
            )
        except LinqdError as error:
            log.error("syslog connection: %s", error)
            self._close()
            return
        if not self.pipeline.has_room() and not self.paused and self.transport is not None:
            # Stop reading until the writer catches up: TCP flow control slows the sender.
            self.paused = True
            self.transport.pause_reading()
            waiting = asyncio.get_running_loop().run_in_executor(None, self.pipeline.wait_room)
            waiting.add_done_callback(lambda _: self._resume())

    def _resume(self) -> None:
        self.paused = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _finish(self, *, close: bool) -> None:
        self.finished = True
        self._submit(self.framer.close(), 0)
        if not close:
            return
        if not self.ticket:
            self._close()
            return
        if self.tls:
            # asyncio closes a TLS transport as soon as eof_received returns, so the events
            # must be durable before that: wait here (the writer is woken up at once).
            self.pipeline.wait_committed(self.ticket)
            self._close()
            return
        committed = asyncio.get_running_loop().run_in_executor(
            None, self.pipeline.wait_committed, self.ticket
        )
        committed.add_done_callback(lambda _: self._close())

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def _origin(transport: asyncio.BaseTransport) -> Origin:
    peer = transport.get_extra_info("peername") or ("", None)
    local = transport.get_extra_info("sockname") or ("", None)
    return Origin(src_host=str(peer[0]), src_port=peer[1], server_port=local[1], service="syslog")


def _common_name(peercert: dict[str, object]) -> str | None:
    for rdn in peercert.get("subject", ()):  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
