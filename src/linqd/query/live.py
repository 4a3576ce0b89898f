"""A query running in a worker thread, handing out Arrow batches through a small bounded queue.

The bounded queue is the back-pressure: a slow client slows the query instead of letting rows
pile up in memory, so a 10 M-row result streams in flat memory. A continuous query (no ``to``)
first reads what is stored, then waits for appends and reads each new window of the store's
append sequence, until its limit is reached or it is cancelled.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import duckdb
import pyarrow as pa
from sqlglot import exp

from ..errors import LinqdError, QueryLimitError
from ..linq import Bounds, CompiledQuery, compile_plan
from ..store.duckdb import AppendResult, EventStore
from .run import BATCH_ROWS, engine_error, with_paging

Projection = Callable[[exp.Select], exp.Select]


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
        self._queue: queue.Queue[pa.RecordBatch | _End | _Failed] = queue.Queue(max_queued)
        self._cancelled = threading.Event()
        self._appended = threading.Condition()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._thread = threading.Thread(target=self._run, name="query", daemon=True)
        self.rows_sent = 0

    # -- consumer side ---------------------------------------------------------------------------

    def start(self) -> BatchStream:
        if self._continuous:
            self._store.subscribe(self._on_append)
        self._thread.start()
        return self

    def next(self, timeout: float | None = None) -> pa.RecordBatch | None:
        """The next batch; None at the end. Raises ``queue.Empty`` after ``timeout`` seconds
        without a batch (the caller sends a keep-alive), and the query's error if it failed."""
        item = self._queue.get(timeout=timeout)
        if isinstance(item, _End):
            return None
        if isinstance(item, _Failed):
            raise item.error
        return item

    def cancel(self) -> None:
        """Stop the query (client gone, or done); safe to call more than once."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        self._store.unsubscribe(self._on_append)
        if self._thread.is_alive():
            # An interrupt that lands between two statements is lost, so keep interrupting
            # until the worker has noticed (bounded, in a helper thread: never blocks callers).
            threading.Thread(target=self._interrupt_until_done, daemon=True).start()
        with self._appended:
            self._appended.notify_all()
        while True:  # unblock a producer waiting for queue space
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def _interrupt_until_done(self) -> None:
        for _ in range(600):
            conn = self._conn
            if conn is not None:
                conn.interrupt()
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

    def _put(self, item: pa.RecordBatch | _End | _Failed) -> bool:
        while not self._cancelled.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

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
        except duckdb.Error as error:
            if not self._cancelled.is_set():
                self._put(_Failed(engine_error(error)))

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
                select = compile_plan(plan, now_ms=self._now_ms, bounds=bounds)
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
        conn = self._store.reader()
        self._conn = conn
        timer = None
        timed_out = threading.Event()
        if self._timeout_s is not None:

            def expire() -> None:
                timed_out.set()
                conn.interrupt()

            timer = threading.Timer(self._timeout_s, expire)
            timer.daemon = True
            timer.start()
        try:
            reader = conn.sql(select.sql(dialect="duckdb")).to_arrow_reader(BATCH_ROWS)
            for batch in reader:
                if skip:
                    dropped = min(skip, batch.num_rows)
                    batch = batch.slice(dropped)
                    skip -= dropped
                if remaining is not None:
                    batch = batch.slice(0, remaining)
                    remaining -= batch.num_rows
                if batch.num_rows:
                    self.rows_sent += batch.num_rows
                    if not self._put(batch):
                        return skip, remaining
                if remaining == 0:
                    break
        except duckdb.Error:
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
            self._conn = None
        return skip, remaining
