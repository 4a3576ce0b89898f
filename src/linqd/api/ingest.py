"""Devo's HTTP ingestion API and the ingestion metrics.

``GET|POST|PUT /event/{domain}/token!{token}/{host}/{tag}?<message>`` → 204 once queued (Devo
answers before the event is processed, too); ``POST /stream/...`` with one event per line,
optionally gzip-encoded → 200 only once every event is durable. ``GET /metrics`` gives the
counters (``ingest/metrics.py``) in Prometheus' text format 0.0.4, written by
``prometheus_client``, to the default domain's API tokens.
"""

from __future__ import annotations

import urllib.parse
import zlib
from collections.abc import Sequence

import anyio
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..audit.counters import Collector
from ..clock import Clock
from ..domains import DomainStore
from ..errors import ForbiddenError, PayloadTooLarge, ValidationError
from ..ingest.metrics import ingest_registry
from ..ingest.pipeline import IngestPipeline
from ..ingest.syslog import ParsedBatch
from ..store.catalog import table_name_for_tag
from .body import read_body
from .errors import request_cid
from .gate import Gate

MAX_STREAM_BYTES = 32 * 1024 * 1024
MAX_INFLATED_BYTES = 256 * 1024 * 1024
SUBMIT_LINES = 50_000
TOO_LARGE_STREAM = "Request body larger than 32 MB: split the events over several requests"


class IngestAPI:
    def __init__(
        self,
        pipeline: IngestPipeline,
        domains: DomainStore,
        clock: Clock,
        gate: Gate,
        *,
        admin_domain: str = "self",
    ) -> None:
        self.pipeline = pipeline
        self.domains = domains
        self.clock = clock
        self.gate = gate
        self.admin_domain = admin_domain
        self.registry = ingest_registry(pipeline.stats)

    def _target(self, request: Request) -> tuple[str, str, str]:
        """(domain, host, table) of an ingestion URL, after checking its token."""
        params = request.path_params
        token_part = str(params["token"])
        if not token_part.startswith("token!"):
            raise ValidationError("The path needs token!<token>", field="token")
        principal = self.gate.ingest(request, token_part[len("token!") :])
        domain = str(params["domain"])
        if principal.domain != domain:
            raise ForbiddenError(f"The token does not belong to domain {domain}")
        table = table_name_for_tag(str(params["tag"]))
        if not principal.may_read(table):
            raise ForbiddenError(f"Access not allowed for table '{table}'")
        refusal = self.pipeline.refusal(table)
        if refusal is not None:
            self.pipeline.reject(refusal, table)
            raise ValidationError(f"Events for `{table}` are refused: {refusal}", field="tag")
        host = str(params["host"])
        return domain, host, table

    def _submit(
        self, domain: str, host: str, table: str, lines: Sequence[str], collector: Collector
    ) -> int:
        batch = ParsedBatch(
            tables=[table] * len(lines),
            hosts=[host] * len(lines),
            messages=list(lines),
            eventdates=[None] * len(lines),
            rejected=[],
        )
        self.pipeline.wait_room()
        size = sum(len(line.encode("utf-8")) for line in lines)
        return self.pipeline.submit(batch, client=domain, raw_bytes=size, collector=collector)

    async def event(self, request: Request) -> Response:
        domain, host, table = self._target(request)
        query = request.url.query
        body = b""
        if request.method != "GET":
            body = await read_body(request, MAX_STREAM_BYTES, "Event larger than 32 MB")
        message = urllib.parse.unquote(query) if query else body.decode("utf-8", "replace")
        if not message.strip():
            raise ValidationError("Empty event: put it in the query string", field="message")
        await anyio.to_thread.run_sync(
            self._submit, domain, host, table, [message], Collector.HTTP_EVENT
        )
        return Response(status_code=204)

    async def stream(self, request: Request) -> Response:
        domain, host, table = self._target(request)
        body = await read_body(request, MAX_STREAM_BYTES, TOO_LARGE_STREAM)
        if request.headers.get("content-encoding", "").lower() == "gzip":
            body = _gunzip(body)
        text = body.decode("utf-8", "replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        # Blank lines are not events, as on the syslog collector.
        lines = [line.removesuffix("\r") for line in lines if line.strip()]
        ticket = 0
        for start in range(0, len(lines), SUBMIT_LINES):
            chunk = lines[start : start + SUBMIT_LINES]
            ticket = await anyio.to_thread.run_sync(
                self._submit, domain, host, table, chunk, Collector.HTTP_STREAM
            )
        if ticket:
            await anyio.to_thread.run_sync(self.pipeline.wait_committed, ticket)
        cid = request_cid(request)
        return JSONResponse({"status": 0, "msg": "", "cid": cid, "events": len(lines)})

    async def metrics(self, request: Request) -> Response:
        principal, _ = await self.gate.query(request)
        if principal.domain != self.admin_domain:
            raise ForbiddenError("Metrics are for the administrative domain")
        # The pipeline's lock is brief: reading the counters on the event loop is fine.
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def _gunzip(body: bytes) -> bytes:
    """Inflate every gzip member of the body (concatenated members are valid gzip)."""
    out: list[bytes] = []
    size = 0
    rest = body
    while rest:
        inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
        try:
            data = inflater.decompress(rest, MAX_INFLATED_BYTES - size + 1)
        except zlib.error as error:
            raise ValidationError(f"Body is not valid gzip: {error}", field="body") from None
        size += len(data)
        if size > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
            raise PayloadTooLarge("Inflated body larger than 256 MB", field="body")
        if not inflater.eof:
            raise ValidationError("Body is a truncated gzip stream", field="body")
        out.append(data)
        rest = inflater.unused_data
    return b"".join(out)
