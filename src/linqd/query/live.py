"""A query running in a worker thread, handing out its results through a small bounded queue.

The bounded queue is the back-pressure: a slow client slows the query instead of letting rows
pile up in memory, so a 10 M-row result streams in flat memory. It is bounded in bytes as well
as items (``handoff.py``): batches wider than ``piece_bytes`` are sliced, and with ``encode``
each piece becomes the bytes to send right here, off the event loop, so what a connection
queues is exactly what it will write and the Arrow batch behind it is freed at once. A
continuous query (no ``to``) first reads what is stored, then waits for appends and reads each
new window of the store's append sequence, until its limit is reached or it is cancelled.

The consumer either blocks (``next``) or, from an event loop, takes items with ``next_nowait``
after the ``on_ready`` callback given to ``start`` says one is there: an idle stream then holds
no thread but its own query thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pyarrow as pa
from sqlglot import exp

from ..errors import LinqdError, LinqLimitError, QueryLimitError
from ..linq import TOO_DEEP, Bounds, CompiledQuery, compile_plan
from ..store.base import AppendResult, Cursor, EventStore
from .handoff import Handoff
from .run import BATCH_ROWS, with_paging

log = logging.getLogger("linqd.query")
Projection = Callable[[exp.Select], exp.Select]
Encoder = Callable[[pa.RecordBatch], bytes]
# What one queued piece of a wide batch holds at most (about: rows are not cut).
PIECE_BYTES = 1 << 20


@dataclass(frozen=True)
class _End:
    pass


@dataclass(frozen=True)
class _Failed:
    error: LinqdError


class BatchStream:
    def __init__(
        self,
        store: EventStore,
        compiled: CompiledQuery,
        *,
        bounds: Bounds,
        now_ms: int,
        project: Projection | None = None,
        limit: int | None = None,
        offset: int | None = None,
        continuous: bool = False,
        timeout_s: float | None = None,
        max_queued: int = 4,
        max_queued_bytes: int | None = None,
        piece_bytes: int = PIECE_BYTES,
        encode: Encoder | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self._store = store
        self._compiled = compiled
        self._bounds = bounds
        self._now_ms = now_ms
        self._project = project
        self._limit = limit
        self._offset = offset or 0
        self._continuous = continuous
        self._timeout_s = timeout_s
        self._piece_bytes = piece_bytes
        self._encode = encode
        self._batch_rows = batch_rows
        self._queue: Handoff[pa.RecordBatch | bytes | _End | _Failed] = Handoff(
            max_queued, max_queued_bytes
        )
        self._cancelled = threading.Event()
        self._appended = threading.Condition()
        self._cursor: Cursor | None = None
        self._thread = threading.Thread(target=self._run, name="query", daemon=True)
        self.rows_sent = 0

    # -- consumer side ---------------------------------------------------------------------------

    def start(self, on_ready: Callable[[], None] | None = None) -> BatchStream:
        """Start the query; ``on_ready`` is called (from the query's thread) after each item."""
        self._queue.on_put = on_ready
        if self._continuous:
            self._store.subscribe(self._on_append)
        self._thread.start()
        return self

    def next(self, timeout: float | None = None) -> pa.RecordBatch | bytes | None:
        """The next batch (bytes with ``encode``); None at the end. Raises ``queue.Empty`` after
        ``timeout`` seconds without one (the caller sends a keep-alive), and the query's error
        if it failed."""
        return self._unwrap(self._queue.get(timeout))

    def next_nowait(self) -> pa.RecordBatch | bytes | None:
        """As ``next``, without waiting: raises ``queue.Empty`` when nothing is queued."""
        return self._unwrap(self._queue.get_nowait())

    @staticmethod
    def _unwrap(item: pa.RecordBatch | bytes | _End | _Failed) -> pa.RecordBatch | bytes | None:
        if isinstance(item, _End):
            return None
        if isinstance(item, _Failed):
            raise item.error
        return item

    @property
    def queued_bytes(self) -> int:
        return self._queue.queued_bytes

    def cancel(self) -> None:
        """Stop the query (client gone, or done); safe to call more than once."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        self._store.unsubscribe(self._on_append)
        if self._thread.is_alive():
            # An interrupt that lands between two statements is lost, so keep interrupting
            # until the worker has noticed (bounded, in a helper thread: never blocks callers).
            threading.Thread(
                target=self._interrupt_until_done, name="query-interrupt", daemon=True
            ).start()
        with self._appended:
            self._appended.notify_all()
        self._queue.close()  # drops what is queued and unblocks a producer waiting for room

    def _interrupt_until_done(self) -> None:
        for _ in range(600):
            cursor = self._cursor
            if cursor is not None:
                cursor.cancel()
            self._thread.join(0.05)
            if not self._thread.is_alive():
                return

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to finish; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- producer side ---------------------------------------------------------------------------

    def _on_append(self, result: AppendResult) -> None:
        with self._appended:
            self._appended.notify_all()

    def _put(self, item: pa.RecordBatch | bytes | _End | _Failed, size: int = 0) -> bool:
        return not self._cancelled.is_set() and self._queue.put(item, size)

    def _put_batch(self, batch: pa.RecordBatch) -> bool:
        """Queue a batch in pieces of about ``piece_bytes``, encoded when there is an encoder."""
        for piece in _pieces(batch, self._piece_bytes):
            if self._encode is None:
                queued = self._put(piece, piece.nbytes)
            else:
                data = self._encode(piece)
                queued = self._put(data, len(data))
            if not queued:
                return False
        return True

    def _run(self) -> None:
        try:
            if self._continuous:
                self._run_continuous()
            else:
                select = with_paging(self._compiled.expression, self._limit, self._offset)
                self._execute(select, skip=0, remaining=None)
            self._put(_End())
        except LinqdError as error:
            if not self._cancelled.is_set():
                self._put(_Failed(error))
        except RecursionError:  # the compile budget should make this unreachable
            if not self._cancelled.is_set():
                self._put(_Failed(LinqLimitError(TOO_DEEP)))
        except Exception as error:
            # Pieces are encoded here now: whatever fails, the consumer must hear of it rather
            # than wait for a piece that never comes.
            log.exception("query thread failed")
            if not self._cancelled.is_set():
                self._put(_Failed(LinqdError(f"Query failed: {type(error).__name__}")))

    def _run_continuous(self) -> None:
        # The LINQ text's own limit/offset bound the whole live result, not each window of it.
        plan = self._compiled.plan
        stage = plan.stage
        skip = self._offset + (stage.offset or 0)
        remaining = self._limit
        if stage.limit is not None:
            own = max(stage.limit - self._offset, 0)
            remaining = own if remaining is None else min(remaining, own)
        plan = replace(plan, stage=replace(stage, limit=None, offset=None))
        if remaining == 0:
            return
        cursor = 0
        while not self._cancelled.is_set():
            upto = self._store.last_seq
            if upto > cursor:
                bounds = Bounds(
                    self._bounds.from_ms, self._bounds.to_ms, self._bounds.client, cursor, upto
                )
                select = compile_plan(
                    plan, now_ms=self._now_ms, bounds=bounds, engine=self._store.engine
                )
                skip, remaining = self._execute(select, skip, remaining)
                cursor = upto
                if remaining == 0:
                    return
            with self._appended:
                if self._store.last_seq <= cursor and not self._cancelled.is_set():
                    self._appended.wait(timeout=1.0)

    def _execute(
        self, select: exp.Select, skip: int, remaining: int | None
    ) -> tuple[int, int | None]:
        """Run one SELECT, queueing its batches; returns the offset and limit still to apply."""
        if self._project is not None:
            select = self._project(select)
        if self._cancelled.is_set():
            return skip, remaining
        cursor = self._store.stream(select, batch_rows=self._batch_rows)
        self._cursor = cursor
        timer = None
        timed_out = threading.Event()
        if self._timeout_s is not None:

            def expire() -> None:
                timed_out.set()
                cursor.cancel()

            timer = threading.Timer(self._timeout_s, expire)
            timer.daemon = True
            timer.start()
        try:
            for batch in cursor:
                if skip:
                    dropped = min(skip, batch.num_rows)
                    batch = batch.slice(dropped)
                    skip -= dropped
                if remaining is not None:
                    batch = batch.slice(0, remaining)
                    remaining -= batch.num_rows
                if batch.num_rows:
                    self.rows_sent += batch.num_rows
                    if not self._put_batch(batch):
                        return skip, remaining
                if remaining == 0:
                    break
        except LinqdError:
            if timed_out.is_set():
                raise QueryLimitError(
                    f"Query cancelled: it ran longer than {self._timeout_s:g} s"
                ) from None
            if self._cancelled.is_set():
                return skip, remaining
            raise
        finally:
            if timer is not None:
                timer.cancel()
            self._cursor = None
        return skip, remaining


def _pieces(batch: pa.RecordBatch, piece_bytes: int) -> Iterator[pa.RecordBatch]:
    """``batch`` cut into slices of about ``piece_bytes`` each (by its average row width)."""
    size = batch.nbytes
    if size <= piece_bytes or batch.num_rows <= 1:
        yield batch
        return
    rows = max(1, batch.num_rows * piece_bytes // size)
    for start in range(0, batch.num_rows, rows):
        yield batch.slice(start, rows)
