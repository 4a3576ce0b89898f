"""Devo's Query API: ``POST /search/query`` (also ``POST /``) and ``GET /search/table/{table}``.

Errors found before the first byte (credentials, body, dates, LINQ) answer with an HTTP error in
Devo's shape; errors while rows stream travel in-band, in the form devo-sdk detects for the mode.

Fair share between clients (one token must not starve the others):

- A query is admitted against its domain's limits (``query/admission.py``, HTTP 429 past them)
  before its LINQ is compiled, and holds its slot until its answer ends however it ends.
- The request body and its LINQ are parsed and compiled in a worker thread, behind a limiter of
  their own (``COMPILE_THREADS``), within the compile budget (``linq/limits.py``): a 20,000-term
  query never blocks the event loop, and a flood of them never takes every worker.
- A streamed answer waits for its next piece on the event loop (``BatchStream``'s ``on_ready``),
  never in a worker thread: idle continuous queries hold their own query thread and nothing of
  the shared pool. Pieces are encoded to bytes in the query's thread, and what a connection
  may hold queued is bounded in bytes (``Settings.output_buffer_bytes``).
- msgpack and xls are whole documents: rows are collected up to ``max_document_rows`` and
  ``max_document_bytes`` (then a clear 400, before anything is sent), and encoded in a worker
  thread behind ``DOCUMENT_THREADS``; msgpack is sent as it is packed.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import pyarrow as pa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ..clock import Clock
from ..config import Settings
from ..domains import DomainStore
from ..errors import ForbiddenError, LinqdError, QueryLimitError, ValidationError
from ..linq import Bounds, CompiledQuery, compile_linq
from ..linq.ir import tables_read
from ..query import modes
from ..query.admission import Admission, DomainLimits, Ticket
from ..query.dates import parse_timezone, resolve_range
from ..query.documents import encode_xls, msgpack_parts
from ..query.encode import rows_of
from ..query.framing import Framing, framed_bytes
from ..query.lines import line_expression, line_select
from ..query.live import BatchStream
from ..store.base import EventStore
from .auth import Principal
from .body import json_body
from .errors import in_band, request_cid
from .gate import Gate
from .jobs import JobsAPI

BODY_FIELDS_INT = ("limit", "offset", "skip")
# Worker threads for parsing and compiling LINQ at once, and for encoding msgpack/xls: pure
# Python work, so more threads than cores only add GIL contention.
COMPILE_THREADS = 4
DOCUMENT_THREADS = 2
# Rows per Arrow batch a streamed answer reads: what a blocked query holds besides its queue.
STREAM_BATCH_ROWS = 16_384


@dataclass(frozen=True)
class QueryRequest:
    """A validated ``POST /search/query`` body."""

    query: str
    from_value: object
    to_value: object
    mode: modes.Mode
    options: modes.EncodeOptions
    limit: int | None
    offset: int | None
    destination: Mapping[str, Any] | None


class StreamedAnswer(StreamingResponse):
    """A streamed answer that runs ``finish`` however the response ends (sent, failed, client
    gone, or never started): the query's slot and thread must not outlive it."""

    def __init__(
        self, content: AsyncIterator[bytes], *, media_type: str, finish: Callable[[], None]
    ) -> None:
        super().__init__(content, media_type=media_type)
        self._finish = finish

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._finish()


class SearchAPI:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        domains: DomainStore,
        clock: Clock,
        gate: Gate,
        jobs: JobsAPI | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.domains = domains
        self.clock = clock
        self.gate = gate
        self.jobs = jobs
        self.admission = Admission(
            DomainLimits(
                settings.max_queries_per_domain, settings.max_continuous_queries_per_domain
            )
        )
        self._compiles = anyio.CapacityLimiter(COMPILE_THREADS)
        self._documents = anyio.CapacityLimiter(DOCUMENT_THREADS)

    # -- shared steps ----------------------------------------------------------------------------

    def _parse(self, body: bytes, principal: Principal) -> QueryRequest:
        data = json_body(body)
        if not isinstance(data, dict):
            raise ValidationError("Body must be a JSON object", field="body")
        text = data.get("query")
        if text is None and data.get("queryId") is not None:
            query_id = str(data["queryId"])
            text = self.domains.saved_query(principal.domain, query_id)
            if text is None:
                raise ValidationError(f"Unknown queryId `{query_id}`", field="queryId")
        if not isinstance(text, str) or not text.strip():
            raise ValidationError("Missing query or queryId", field="query")
        if "from" not in data or data["from"] is None:
            raise ValidationError("Missing from", field="from", devo_code=405)
        numbers: dict[str, int | None] = {}
        for name in BODY_FIELDS_INT:
            value = data.get(name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ValidationError(f"`{name}` must be a non-negative integer", field=name)
            numbers[name] = value
        zone = data.get("timeZone")
        if zone is not None and not isinstance(zone, str):
            raise ValidationError("`timeZone` must be a string", field="timeZone")
        date_format = data.get("dateFormat") or "default"
        if date_format not in ("default", "sql", "iso"):
            raise ValidationError("`dateFormat` must be default, sql or iso", field="dateFormat")
        options = modes.EncodeOptions(
            ip_as_string=bool(data.get("ipAsString")),
            tz=parse_timezone(zone),
            date_format=str(date_format),
            keep_alive=modes.parse_keep_alive(data.get("keepAlive")),
        )
        destination = data.get("destination")
        if destination is not None and not isinstance(destination, dict):
            raise ValidationError("`destination` must be an object", field="destination")
        return QueryRequest(
            query=text,
            from_value=data["from"],
            to_value=data.get("to"),
            mode=modes.parse_mode(data.get("mode")),
            options=options,
            limit=numbers["limit"] or None,
            offset=numbers["offset"] or numbers["skip"] or None,
            destination=destination,
        )

    def _compile(
        self, req: QueryRequest, principal: Principal, now: int
    ) -> tuple[CompiledQuery, Bounds, bool]:
        time_range = resolve_range(req.from_value, req.to_value, now_ms=now, tz=req.options.tz)
        bounds = Bounds(time_range.from_ms, time_range.to_ms, principal.domain)
        schemas = principal.scoped(self.store.schemas_for(principal.domain))
        compiled = compile_linq(
            req.query, schemas, now_ms=now, bounds=bounds, engine=self.store.engine
        )
        for table in sorted(tables_read(compiled.plan)):
            if not principal.may_read(table):
                raise ForbiddenError(f"Access not allowed for table '{table}'")
        # Only the line modes can deliver rows as they arrive; a whole document (json,
        # json/compact, msgpack, xls) without `to` ends at the query's start, as devo-sdk's
        # own "to = now" for those modes does.
        return compiled, bounds, time_range.to_ms is None and req.mode.streamed

    # -- endpoints -------------------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        cid = request_cid(request)
        now = self.clock.now_ms()
        principal, body = await self.gate.query(request)
        return await self.answer(principal, body, cid=cid, now=now)

    async def answer(self, principal: Principal, body: bytes, *, cid: str, now: int) -> Response:
        """The answer to a query ``body`` of an authenticated ``principal``: what
        ``POST /search/query`` sends, and what the console downloads."""
        ticket: Ticket | None = None
        try:
            ticket = self.admission.enter(principal.domain)
            req, compiled, bounds, continuous = await anyio.to_thread.run_sync(
                self._prepare, body, principal, now, limiter=self._compiles
            )
            if continuous:
                ticket.continuous()
            if req.destination is not None:
                if self.jobs is None:
                    raise ValidationError("Query jobs are not enabled", field="destination")
                launched = self.jobs.launch(
                    req.destination,
                    domain=principal.domain,
                    query=req.query,
                    from_ms=bounds.from_ms or 0,
                    to_ms=bounds.to_ms,
                    cid=cid,
                )
                ticket.release()
                return JSONResponse(launched)
            if req.mode.whole:
                return await self._whole(req, compiled, bounds, ticket, cid=cid, now=now)
            return self._streamed(req, compiled, bounds, continuous, ticket, cid=cid, now=now)
        except BaseException:
            # The error itself reaches the client through api/errors.py; the slot is ours.
            if ticket is not None:
                ticket.release()
            raise

    def _prepare(
        self, body: bytes, principal: Principal, now: int
    ) -> tuple[QueryRequest, CompiledQuery, Bounds, bool]:
        """The body's JSON and its LINQ, parsed and compiled (in a worker thread)."""
        req = self._parse(body, principal)
        compiled, bounds, continuous = self._compile(req, principal, now)
        return req, compiled, bounds, continuous

    def _streamed(
        self,
        req: QueryRequest,
        compiled: CompiledQuery,
        bounds: Bounds,
        continuous: bool,
        ticket: Ticket,
        *,
        cid: str,
        now: int,
    ) -> Response:
        framing = Framing(req.mode, compiled.columns, req.options, cid=cid, timestamp_ms=now)
        line = line_expression(
            req.mode, compiled.columns, req.options, engine=self.store.engine, framed=True
        )

        stream = BatchStream(
            self.store,
            compiled,
            bounds=bounds,
            now_ms=now,
            project=lambda select: line_select(select, line),
            limit=req.limit,
            offset=req.offset,
            continuous=continuous,
            timeout_s=self.settings.query_timeout_s,
            max_queued_bytes=self.settings.output_buffer_bytes,
            encode=framed_bytes,
            batch_rows=STREAM_BATCH_ROWS,
        )

        def finish() -> None:
            stream.cancel()
            ticket.release()

        return StreamedAnswer(
            self._emit(stream, framing), media_type=req.mode.content_type, finish=finish
        )

    async def _emit(self, stream: BatchStream, framing: Framing) -> AsyncIterator[bytes]:
        interval = self.settings.keepalive_interval_s
        ready = start_stream(stream)
        try:
            yield framing.head()
            while True:
                try:
                    piece = await next_piece(stream, ready, interval)
                except queue.Empty:
                    yield framing.keep_alive()
                    continue
                except LinqdError as error:
                    code, message = in_band(error)
                    yield framing.error(code, message)
                    return
                if piece is None:
                    break
                assert isinstance(piece, bytes)  # encoded by framed_bytes
                yield framing.framed(piece)
            yield framing.tail()
        finally:
            stream.cancel()

    async def _whole(
        self,
        req: QueryRequest,
        compiled: CompiledQuery,
        bounds: Bounds,
        ticket: Ticket,
        *,
        cid: str,
        now: int,
    ) -> Response:
        """msgpack and xls: whole documents, never continuous (devo-sdk sends a `to`)."""
        stream = BatchStream(
            self.store,
            compiled,
            bounds=bounds,
            now_ms=now,
            limit=req.limit,
            offset=req.offset,
            timeout_s=self.settings.query_timeout_s,
            max_queued_bytes=self.settings.output_buffer_bytes,
        )
        try:
            batches = await self._collect(stream, req.mode)
        finally:
            stream.cancel()
        count = sum(b.num_rows for b in batches)
        if req.mode is modes.Mode.XLS:
            try:
                content = await anyio.to_thread.run_sync(
                    lambda: encode_xls(compiled.columns, rows_of(batches), req.options),
                    limiter=self._documents,
                )
            finally:
                ticket.release()
            return Response(content, media_type=req.mode.content_type)
        groups = (rows_of([batches.pop(0)]) for _ in range(len(batches)))
        parts = msgpack_parts(
            compiled.columns, groups, count, req.options, cid=cid, timestamp_ms=now
        )
        return StreamedAnswer(
            self._packed(parts), media_type=req.mode.content_type, finish=ticket.release
        )

    async def _collect(self, stream: BatchStream, mode: modes.Mode) -> list[pa.RecordBatch]:
        """Every batch of a whole-document answer, refused past the document limits before
        they are all in memory."""
        max_rows = self.settings.max_document_rows
        max_bytes = self.settings.max_document_bytes
        ready = start_stream(stream)
        batches: list[pa.RecordBatch] = []
        rows = size = 0
        while True:
            piece = await next_piece(stream, ready, None)  # no interval: no keep-alives
            if piece is None:
                return batches
            assert isinstance(piece, pa.RecordBatch)
            rows += piece.num_rows
            size += piece.nbytes
            if rows > max_rows or size > max_bytes:
                what = f"{max_rows} rows" if rows > max_rows else f"{max_bytes} bytes"
                raise QueryLimitError(
                    f"The {mode.value} answer would hold more than {what}; add a limit or a "
                    "shorter range, or use a streamed mode (json/simple/compact, csv)"
                )
            batches.append(piece)

    async def _packed(self, parts: Iterator[bytes]) -> AsyncIterator[bytes]:
        while True:
            part = await anyio.to_thread.run_sync(next, parts, None, limiter=self._documents)
            if part is None:
                return
            yield part

    async def table(self, request: Request) -> Response:
        cid = request_cid(request)
        now = self.clock.now_ms()
        name = request.path_params["table"]
        principal, _ = await self.gate.query(request)
        # Devo answers a missing table like a forbidden one, so names do not leak; another
        # domain's table is a missing one, and the scope is checked before the name.
        schema = principal.scoped(self.store.schemas_for(principal.domain))(name)
        if schema is None:
            raise ForbiddenError(f"Access not allowed for table '{name}'")
        columns = [{"fieldName": c.name, "type": c.type.name} for c in schema.all_columns()]
        return JSONResponse(
            {"cid": cid, "msg": "", "object": columns, "status": 0, "timestamp": now}
        )


def start_stream(stream: BatchStream) -> asyncio.Event:
    """Start ``stream``; the event is set (on this loop) whenever the stream queues a piece."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()

    def wake() -> None:
        # A closed loop has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(ready.set)

    stream.start(on_ready=wake)
    return ready


async def next_piece(
    stream: BatchStream, ready: asyncio.Event, interval: float | None
) -> pa.RecordBatch | bytes | None:
    """The stream's next piece (None at its end), waited for on the event loop; raises
    ``queue.Empty`` after ``interval`` seconds without one, and the query's error."""
    while True:
        try:
            return stream.next_nowait()
        except queue.Empty:
            pass
        # Cleared before looking again: a piece queued after this look sets the event anew
        # (its set() runs on this loop, so after this line).
        ready.clear()
        try:
            return stream.next_nowait()
        except queue.Empty:
            pass
        with anyio.move_on_after(interval if interval is not None else float("inf")) as waited:
            await ready.wait()
        if waited.cancelled_caught:
            raise queue.Empty
