"""The search page's live tail: the query as a continuous one, its rows sent as server-sent
events while they arrive.

It is a continuous query of the Query API in all but its framing: a slot and a continuous slot
of the domain's admission (so the console and the API share one fair share), a ``BatchStream``
over ``[from, None)`` that reads what is stored and then each new window of appends, waited for
on the event loop and never in a worker thread. Rows are turned into SSE messages in the query's
own thread. The slot and the query end however the response ends: the last row, an error, or
the browser gone (``StreamedAnswer`` runs the finish).

Messages (``event:`` name, ``data:`` JSON):

- ``columns``: ``[{"name", "kind"}]`` of the result, first;
- (no name): one row, ``[text or null, ...]``, dates in the page's time zone;
- ``end``: ``{"rows", "limit"}`` after ``LIVE_MAX_ROWS`` rows (the tail stops there);
- ``failed``: ``{"message"}``, the query's error (its caret rendered), then the stream ends.

A comment line keeps an idle connection alive, and lets a server notice a browser gone.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

import anyio
import pyarrow as pa
from starlette.responses import Response

from ..api.search import STREAM_BATCH_ROWS, StreamedAnswer, next_piece, start_stream
from ..errors import LinqdError, LinqError
from ..linq import Bounds, CompiledQuery
from ..linq.ir import ResultColumn
from ..query.dates import TimeRange
from ..query.live import BatchStream
from ..query.run import compile_for
from .display import table_rows
from .queries import check_text
from .services import ConsoleServices
from .sessions import Session

LIVE_MAX_ROWS = 10_000
MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def message(data: Any, event: str | None = None) -> bytes:
    """One server-sent event. JSON holds no raw line breaks, so ``data`` is one line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _row_messages(columns: Sequence[ResultColumn], zone: dt.tzinfo, batch: pa.RecordBatch) -> bytes:
    return b"".join(message(row) for row in table_rows([batch], columns, zone))


def _error_text(error: LinqdError) -> str:
    return error.render() if isinstance(error, LinqError) else error.message


class LiveTail:
    def __init__(self, services: ConsoleServices) -> None:
        self.services = services

    async def response(
        self, session: Session, text: str, from_ms: int, zone: dt.tzinfo
    ) -> Response:
        domain = session.user.domain
        now = self.services.clock.now_ms()
        try:
            check_text(text)
            ticket = self.services.search.admission.enter(domain)
        except LinqdError as error:
            return failed(error)
        try:
            compiled = await anyio.to_thread.run_sync(self._compile, text, from_ms, domain, now)
            ticket.continuous()
        except LinqdError as error:
            ticket.release()
            return failed(error)
        except BaseException:
            ticket.release()
            raise
        settings = self.services.settings
        stream = BatchStream(
            self.services.store,
            compiled,
            bounds=Bounds(from_ms, None, domain),
            now_ms=now,
            limit=LIVE_MAX_ROWS,
            continuous=True,
            timeout_s=settings.query_timeout_s,
            max_queued_bytes=settings.output_buffer_bytes,
            encode=partial(_row_messages, compiled.columns, zone),
            batch_rows=STREAM_BATCH_ROWS,
        )

        def finish() -> None:
            stream.cancel()
            ticket.release()

        events = self._events(stream, compiled.columns, LIVE_MAX_ROWS)
        answer = StreamedAnswer(events, media_type=MEDIA_TYPE, finish=finish)
        answer.headers.update(HEADERS)
        return answer

    def _compile(self, text: str, from_ms: int, domain: str, now: int) -> CompiledQuery:
        store = self.services.store
        return compile_for(
            store, text, time_range=TimeRange(from_ms, None), client=domain, now_ms=now
        )

    async def _events(
        self, stream: BatchStream, columns: Sequence[ResultColumn], limit: int
    ) -> AsyncIterator[bytes]:
        interval = self.services.settings.keepalive_interval_s
        ready = start_stream(stream)
        try:
            yield message([{"name": c.name, "kind": c.type.kind.value} for c in columns], "columns")
            while True:
                try:
                    piece = await next_piece(stream, ready, interval)
                except queue.Empty:
                    yield b": keep-alive\n\n"
                    continue
                except LinqdError as error:
                    yield message({"message": _error_text(error)}, "failed")
                    return
                if piece is None:
                    yield message({"rows": stream.rows_sent, "limit": limit}, "end")
                    return
                assert isinstance(piece, bytes)  # encoded by _row_messages
                yield piece
        finally:
            stream.cancel()


def failed(error: LinqdError) -> Response:
    """A stream that only says why the tail could not start (EventSource shows no body of an
    error status, so the reason travels as an event)."""
    return Response(
        message({"message": _error_text(error)}, "failed"), media_type=MEDIA_TYPE, headers=HEADERS
    )
