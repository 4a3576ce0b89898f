"""Devo's Query API: ``POST /search/query`` (also ``POST /``) and ``GET /search/table/{table}``.

Errors found before the first byte (credentials, body, dates, LINQ) answer with an HTTP error in
Devo's shape; errors while rows stream travel in-band, in the form devo-sdk detects for the mode.
"""

from __future__ import annotations

import queue
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from sqlglot import exp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..clock import Clock
from ..config import Settings
from ..domains import DomainStore
from ..errors import Conflict, ForbiddenError, LinqdError, ValidationError
from ..linq import Bounds, CompiledQuery, compile_linq
from ..linq.ir import tables_read
from ..query import modes
from ..query.dates import parse_timezone, resolve_range
from ..query.encode import rows_of
from ..query.live import BatchStream
from ..store.duckdb import EventStore
from .auth import Principal
from .body import json_body
from .errors import error_response, in_band, new_cid
from .gate import Gate
from .jobs import JobsAPI, duplicate_body

BODY_FIELDS_INT = ("limit", "offset", "skip")


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
        compiled = compile_linq(req.query, schemas, now_ms=now, bounds=bounds)
        for table in sorted(tables_read(compiled.plan)):
            if not principal.may_read(table):
                raise ForbiddenError(f"Access not allowed for table '{table}'")
        # Only the line modes can deliver rows as they arrive; a whole document (json,
        # json/compact, msgpack, xls) without `to` ends at the query's start, as devo-sdk's
        # own "to = now" for those modes does.
        return compiled, bounds, time_range.to_ms is None and req.mode.streamed

    # -- endpoints -------------------------------------------------------------------------------

    async def query(self, request: Request) -> Response:
        cid = new_cid()
        now = self.clock.now_ms()
        try:
            principal, body = await self.gate.query(request)
            req = self._parse(body, principal)
            compiled, bounds, continuous = self._compile(req, principal, now)
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
                return JSONResponse(launched)
        except Conflict as error:
            return JSONResponse(duplicate_body(error, cid, now), status_code=409)
        except LinqdError as error:
            return error_response(error, cid=cid, now_ms=now)
        if req.mode in (modes.Mode.MSGPACK, modes.Mode.XLS):
            return await self._whole(req, compiled, bounds, cid=cid, now=now)
        framing = modes.Framing(req.mode, compiled.columns, req.options, cid=cid, timestamp_ms=now)
        line = modes.line_expression(req.mode, compiled.columns, req.options, framed=True)

        def project(select: exp.Select) -> exp.Select:
            inner = exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier("q")))
            return exp.Select().select(exp.alias_(line, "line")).from_(inner)

        stream = BatchStream(
            self.store,
            compiled,
            bounds=bounds,
            now_ms=now,
            project=project,
            limit=req.limit,
            offset=req.offset,
            continuous=continuous,
            timeout_s=self.settings.query_timeout_s,
        )
        return StreamingResponse(self._emit(stream, framing), media_type=req.mode.content_type)

    async def _emit(self, stream: BatchStream, framing: modes.Framing) -> AsyncIterator[bytes]:
        interval = self.settings.keepalive_interval_s
        stream.start()
        written = False
        try:
            yield framing.head()
            while True:
                try:
                    batch = await anyio.to_thread.run_sync(
                        stream.next, interval, abandon_on_cancel=True
                    )
                except queue.Empty:
                    yield framing.keep_alive()
                    continue
                except LinqdError as error:
                    code, message = in_band(error)
                    yield framing.error(code, message, written)
                    return
                if batch is None:
                    break
                # Each line carries its own separator (framed): the Arrow text goes out whole.
                yield framing.rows(batch.column(0), not written)
                written = True
            yield framing.tail()
        finally:
            stream.cancel()

    async def _whole(
        self, req: QueryRequest, compiled: CompiledQuery, bounds: Bounds, *, cid: str, now: int
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
        )

        def collect() -> list[tuple[Any, ...]]:
            stream.start()
            batches = []
            while (batch := stream.next()) is not None:
                batches.append(batch)
            return list(rows_of(batches))

        try:
            rows = await anyio.to_thread.run_sync(collect)
        except LinqdError as error:
            return error_response(error, cid=cid, now_ms=now)
        finally:
            stream.cancel()
        if req.mode is modes.Mode.MSGPACK:
            content = modes.encode_msgpack(
                compiled.columns, rows, req.options, cid=cid, timestamp_ms=now
            )
        else:
            content = modes.encode_xls(compiled.columns, rows, req.options)
        return Response(content, media_type=req.mode.content_type)

    async def table(self, request: Request) -> Response:
        cid = new_cid()
        now = self.clock.now_ms()
        name = request.path_params["table"]
        try:
            principal, _ = await self.gate.query(request)
            # Devo answers a missing table like a forbidden one, so names do not leak; another
            # domain's table is a missing one, and the scope is checked before the name.
            schema = principal.scoped(self.store.schemas_for(principal.domain))(name)
            if schema is None:
                raise ForbiddenError(f"Access not allowed for table '{name}'")
        except LinqdError as error:
            return error_response(error, cid=cid, now_ms=now)
        columns = [{"fieldName": c.name, "type": c.type.name} for c in schema.all_columns()]
        return JSONResponse(
            {"cid": cid, "msg": "", "object": columns, "status": 0, "timestamp": now}
        )
