"""Running query jobs: one worker thread per running job, each reading the store from its
checkpoint and forwarding batches to its sink.

The checkpoint advances only after the sink has acknowledged a batch, in the same SQLite
transaction as the job's counters, so a stop, a restart or ``kill -9`` neither skips nor
repeats rows beyond what the sink itself de-duplicates: a retried batch keeps its index and its
rows, so S3 and HDFS rewrite the same object, and a job that ran before has its sink's
``resume`` called first (Kafka reads back which rows of the batch it already holds).

A job reads windows of the append sequence; a bounded job completes with the first window
captured after its ``to`` (plus the allowed lateness); a continuous one follows appends.

Jobs of a registered ``ScheduledKind`` (lookups built from queries) are driven by the clock
instead: the runner keeps each one's due time and ``run_due`` runs those that are due, one at a
time, in the calling thread; ``start_clock`` calls it from a thread of its own (the server).

With several nodes (``ownership``), a node runs only the jobs it holds a lease on
(``job:<id>``), and stores each checkpoint in a transaction fenced by that lease: a worker
whose job moved to another node stops at its next commit, without storing anything.
``reconcile`` starts and stops workers as the node's share changes; stopping a job through the
API on any node revokes its lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection
from sqlglot import exp

from ..clock import Clock
from ..cluster.leases import Lease, Ownership
from ..cluster.service import job_resource
from ..errors import Fenced, LinqdError, MetaUnavailable, SinkError
from ..hidden_outputs import hidden_columns, with_hidden
from ..linq import Bounds, compile_linq, compile_plan
from ..linq import types as t
from ..linq.ir import Plan, TColumn
from ..query import modes
from ..query.lines import line_expression, line_select
from ..sinks.base import RowFormat, Sink, SinkBatch
from ..store.base import AppendResult, EventStore
from .kinds import ScheduledKind
from .model import Checkpoint, Job, JobStatus
from .repo import JobRepository

log = logging.getLogger("linqd.jobs")

SinkFactory = Callable[[Job], Sink]


class JobRunner:
    def __init__(
        self,
        store: EventStore,
        repo: JobRepository,
        clock: Clock,
        sinks: SinkFactory,
        *,
        lateness_ms: int = 2_000,
        idle_wait_s: float = 1.0,
        ownership: Ownership | None = None,
    ) -> None:
        self.ownership = ownership
        self.store = store
        self.repo = repo
        self.clock = clock
        self.sinks = sinks
        self.lateness_ms = lateness_ms
        self.idle_wait_s = idle_wait_s
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._appended = threading.Condition()
        store.subscribe(self._on_append)
        # Clock-driven jobs: their kinds, each scheduled job's due time, and the lock that
        # makes their runs one at a time.
        self._kinds: dict[str, ScheduledKind] = {}
        self._due: dict[str, int] = {}
        self._schedule = threading.Condition()
        self._poked = False
        self._executing = threading.Lock()
        self._clock_stop = threading.Event()
        self._clock_thread: threading.Thread | None = None

    def _on_append(self, result: AppendResult) -> None:
        with self._appended:
            self._appended.notify_all()

    def resume_all(self) -> None:
        """After a restart: every job that was running runs again from its checkpoint (with
        several nodes: those this node holds; ``reconcile`` starts the others it takes)."""
        for job in self.repo.running():
            self.run(job)

    def lease(self, job_id: str) -> Lease | None:
        """This node's lease on the job (None: another node runs it). One node: no lease."""
        if self.ownership is None:
            return None
        return self.ownership.claim(job_resource(job_id))

    def _mine(self, job_id: str) -> bool:
        return self.ownership is None or self.lease(job_id) is not None

    def fence(self, job_id: str, lease: Lease | None) -> Callable[[Connection], None] | None:
        """What a checkpoint's transaction checks first: the lease it was taken under."""
        ownership = self.ownership
        if ownership is None or lease is None:
            return None
        return partial(ownership.fence, resource=job_resource(job_id), epoch=lease.epoch)

    def reconcile(self, held: Mapping[str, Lease]) -> None:
        """The node's share changed: run the running jobs it now holds, stop the others
        (their status stays; the node that took them runs them)."""
        for job in self.repo.running():
            if job_resource(job.id) in held:
                self.run(job)
        with self._lock:
            local = list(self._workers)
        with self._schedule:
            local += list(self._due)
        for job_id in local:
            if job_resource(job_id) not in held:
                self._halt_here(job_id)

    # -- clock-driven jobs -------------------------------------------------------------------------

    def register(self, type_: str, kind: ScheduledKind) -> None:
        """Jobs of ``type_`` are ``kind``'s, driven by the clock (register before
        ``resume_all``)."""
        self._kinds[type_] = kind
        self.repo.hide(type_)

    def registered(self, type_: str) -> bool:
        return type_ in self._kinds

    def _schedule_job(self, job: Job) -> None:
        due = self._kinds[job.type].due_ms(job)
        with self._schedule:
            if due is None:
                self._due.pop(job.id, None)
            else:
                self._due[job.id] = due
                self._poked = True
                self._schedule.notify_all()

    def due_ms(self, job_id: str) -> int | None:
        """When a clock-driven job runs next (None: not scheduled)."""
        with self._schedule:
            return self._due.get(job_id)

    def run_due(self) -> int:
        """Run, in this thread, every clock-driven job that is due by the clock now; returns
        how many ran. Each runs once: a job whose next run is due at once waits for the next
        call."""
        ran = 0
        with self._executing:
            now = self.clock.now_ms()
            with self._schedule:
                ready = sorted((due, job_id) for job_id, due in self._due.items() if due <= now)
            for due, job_id in ready:
                with self._schedule:
                    if self._due.get(job_id) != due:
                        continue  # halted or rescheduled meanwhile
                job = self.repo.find(job_id)
                lease = self.lease(job_id)
                if (
                    job is None
                    or job.status not in (JobStatus.CREATED, JobStatus.RUNNING)
                    or (self.ownership is not None and lease is None)
                ):
                    with self._schedule:
                        self._due.pop(job_id, None)
                    continue
                kind = self._kinds[job.type]
                job = kind.run(job, now)
                try:
                    self.repo.save(job, fence=self.fence(job_id, lease))
                except Fenced as moved:
                    log.warning("job %s moved to another node: %s", job_id, moved)
                    with self._schedule:
                        self._due.pop(job_id, None)
                    continue
                following = kind.due_ms(job)
                with self._schedule:
                    if job_id in self._due:
                        if following is None:
                            del self._due[job_id]
                        else:
                            self._due[job_id] = following
                ran += 1
        return ran

    def start_clock(self, interval_s: float = 1.0) -> None:
        """Run due clock-driven jobs from a thread of this runner: at once when one is
        scheduled, else every ``interval_s`` seconds."""

        def loop() -> None:
            while not self._clock_stop.is_set():
                try:
                    self.run_due()
                except Exception:
                    # A bug in one run must not stop every later one.
                    log.exception("clock-driven jobs failed")
                with self._schedule:
                    if not self._poked and not self._clock_stop.is_set():
                        self._schedule.wait(interval_s)
                    self._poked = False

        self._clock_thread = threading.Thread(target=loop, name="job-clock", daemon=True)
        self._clock_thread.start()

    # -- all jobs ----------------------------------------------------------------------------------

    def run(self, job: Job) -> None:
        """Run ``job`` here (with several nodes: if this node holds it or may take it)."""
        if not self._mine(job.id):
            return
        if job.type in self._kinds:
            self._schedule_job(job)
            return
        with self._lock:
            current = self._workers.get(job.id)
            if current is not None and current.alive:
                return
            worker = _Worker(self, job, self.lease(job.id))
            self._workers[job.id] = worker
        worker.start()

    def halt(self, job_id: str) -> None:
        """Stop a job's worker and wait for it (its status is the caller's business); with
        several nodes, wherever it runs."""
        if self.ownership is not None:
            self.ownership.revoke(job_resource(job_id))
        self._halt_here(job_id)

    def _halt_here(self, job_id: str) -> None:
        with self._schedule:
            scheduled = self._due.pop(job_id, None) is not None
        if scheduled:
            with self._executing:
                return  # a run under way has ended, and will not schedule the job again
        with self._lock:
            worker = self._workers.pop(job_id, None)
        if worker is not None:
            worker.stop()
            with self._appended:
                self._appended.notify_all()
            worker.join()

    def wait_for_append(self, stop: threading.Event, seen: int) -> None:
        with self._appended:
            if self.store.last_seq <= seen and not stop.is_set():
                self._appended.wait(self.idle_wait_s)

    def wait(self, job_id: str, timeout: float | None = None) -> bool:
        """Block until the job's worker has finished (tests, benchmarks)."""
        with self._lock:
            worker = self._workers.get(job_id)
        return worker is None or worker.join(timeout)

    def close(self) -> None:
        """Stop every worker; running jobs stay RUNNING and resume at the next start."""
        self._clock_stop.set()
        with self._schedule:
            self._schedule.notify_all()
        if self._clock_thread is not None:
            self._clock_thread.join()
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            worker.stop()
        with self._appended:
            self._appended.notify_all()
        for worker in workers:
            worker.join()
        self.store.unsubscribe(self._on_append)


class _Worker:
    def __init__(self, runner: JobRunner, job: Job, lease: Lease | None) -> None:
        self.runner = runner
        self.job = job
        self._fence = runner.fence(job.id, lease)
        self._moved = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"job-{job.id[:8]}", daemon=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        runner = self.runner
        # Anything but a fresh job may have left part of a batch at the destination.
        fresh = self.job.status is JobStatus.CREATED
        job = self.job.with_status(JobStatus.RUNNING, error=())
        self._save(job)
        sink: Sink | None = None
        try:
            sink = runner.sinks(job)
            if not fresh:
                sink.resume()
            self._loop(job, sink)
        except (Fenced, MetaUnavailable) as moved:
            # Another node holds the job now, or will once this node's lease runs out: it
            # resumes from the last stored checkpoint. Nothing more is stored from here.
            log.warning("job %s moved to another node: %s", job.id, moved)
            self._moved = True
        except LinqdError as failure:
            log.error("job %s stopped: %s", job.id, failure)
            # The last saved state: the loop's own copy may be ahead of what the sink holds.
            try:
                self._save(self.job.with_status(JobStatus.STOPPED, error=(str(failure),)))
            except (Fenced, MetaUnavailable) as moved:
                log.warning("job %s moved to another node: %s", job.id, moved)
                self._moved = True
        finally:
            if sink is not None:
                if not self._moved:
                    extra = _merge_extra(self.job.extra, sink.extra())
                    try:
                        self._save(replace(self.job, extra=extra))
                    except (Fenced, MetaUnavailable) as moved:
                        log.warning("job %s moved to another node: %s", job.id, moved)
                sink.close()

    def _save(self, job: Job) -> None:
        self.runner.repo.save(job, fence=self._fence)
        self.job = job

    def _check_lease(self) -> None:
        """Before a batch goes out: by this node's clock, its lease on the job still runs (a
        node paused past its term finds it ran out, and sends nothing another node may be
        sending). The fence at the next checkpoint covers what this check cannot."""
        ownership = self.runner.ownership
        if ownership is None:
            return
        lease = ownership.lease_of(job_resource(self.job.id))
        if lease is None or lease.expires_ms <= self.runner.clock.now_ms():
            raise Fenced(f"job {self.job.id}: this node's lease ran out")

    def _loop(self, job: Job, sink: Sink) -> Job:
        runner = self.runner
        schemas = runner.store.schemas_for(job.domain)
        engine = runner.store.engine
        compiled = compile_linq(job.query, schemas, now_ms=job.created_ms, engine=engine)
        plan = compiled.plan
        keyset = _keyset(plan)
        if keyset:
            plan = with_hidden(plan)
        options = modes.EncodeOptions()
        mode = modes.Mode.JSON_SIMPLE if sink.spec.row_format is RowFormat.JSON else modes.Mode.CSV
        line = line_expression(mode, compiled.columns, options, engine=engine)
        header = ",".join(c.name for c in compiled.columns)
        key_column = sink.spec.key_column
        if key_column is not None and key_column not in {c.name for c in compiled.columns}:
            raise SinkError(f"The key column `{key_column}` is not a column of the query")
        csv_header = header if mode is modes.Mode.CSV else None
        last = SinkBatch(job.id, 0, compiled.columns, [], csv_header, None, last=True)
        while not self._stop.is_set():
            cp = job.checkpoint
            if cp.window_hi is None:
                hi = runner.store.last_seq
                now = runner.clock.now_ms()
                if hi <= cp.window_lo:
                    if job.to_ms is not None and now >= job.to_ms + runner.lateness_ms:
                        # Nothing new since the last window, which was taken before `to`
                        # had passed: the job ends here.
                        return self._complete(job, sink, last)
                    sink.flush_if_due()
                    if sink.pending() == 0 and job != self.job:
                        self._save(job)
                    runner.wait_for_append(self._stop, cp.window_lo)
                    continue
                cp = replace(cp, window_hi=hi, after=None, offset=0, captured_ms=now)
                job = replace(job, checkpoint=cp)
                self._save(job)
            assert cp.window_hi is not None
            bounds = Bounds(
                job.from_ms, job.to_ms, job.domain, cp.window_lo, cp.window_hi, cp.after
            )
            select = compile_plan(plan, now_ms=job.created_ms, bounds=bounds, engine=engine)
            if not keyset and cp.offset:
                select = select.offset(cp.offset)
            # One ordered scan per window, cut into sink batches as it streams: re-querying
            # "after the last row" per batch would sort the rest of the window every time.
            for batch in self._stream(select, line, key_column, keyset, sink.spec.batch_rows):
                if self._stop.is_set():
                    return job
                lines = batch.column("line").to_pylist()
                keys = batch.column("key").to_pylist() if key_column else None
                self._check_lease()
                sink.send(SinkBatch(job.id, cp.index, compiled.columns, lines, csv_header, keys))
                count = batch.num_rows
                if keyset:
                    last_ts = int(batch.column("ts")[-1].as_py())
                    last_seq = int(batch.column("seq")[-1].as_py())
                    cp = replace(cp, after=(last_ts, last_seq), index=cp.index + 1)
                    newest = max(job.last_datetime, last_ts)
                else:
                    cp = replace(cp, offset=cp.offset + count, index=cp.index + 1)
                    newest = max(job.last_datetime, runner.clock.now_ms())
                job = replace(
                    job,
                    checkpoint=cp,
                    events_generated=job.events_generated + count,
                    events_sent=job.events_sent + count,
                    last_datetime=newest,
                )
                if sink.pending() == 0:
                    self._save(job)  # only now: the sink has delivered every row so far
            # The window is done.
            assert cp.window_hi is not None
            done = job.to_ms is not None and cp.captured_ms >= job.to_ms + runner.lateness_ms
            cp = Checkpoint(window_lo=cp.window_hi, index=cp.index)
            job = replace(job, checkpoint=cp)
            if done:
                return self._complete(job, sink, last)
            if sink.pending() == 0:
                self._save(job)
        return job

    def _complete(self, job: Job, sink: Sink, last: SinkBatch) -> Job:
        """End a bounded job: a batching sink (email) delivers what it still holds with the
        last batch; a failure there stops the job (``SinkError``), it never completes it."""
        cp = job.checkpoint
        sink.send(replace(last, index=cp.index))
        if sink.pending():
            raise SinkError(f"{sink.pending()} rows were not delivered")
        job = replace(job, checkpoint=replace(cp, index=cp.index + 1))
        job = job.with_status(JobStatus.COMPLETED)
        self._save(job)
        return job

    def _stream(
        self,
        select: exp.Select,
        line: exp.Expression,
        key: str | None,
        keyset: bool,
        batch_rows: int,
    ) -> Iterator[pa.RecordBatch]:
        items: list[exp.Expr] = []
        if key is not None:
            items.append(
                exp.alias_(exp.cast(exp.column(key, table="q", quoted=True), "VARCHAR"), "key")
            )
        if keyset:
            items.extend(hidden_columns(self.runner.store.engine, "q"))
        outer = line_select(select, line, *items)
        pending: list[pa.RecordBatch] = []
        size = 0
        for chunk in self.runner.store.stream(outer, batch_rows=min(batch_rows, 65_536)):
            pending.append(chunk)
            size += chunk.num_rows
            while size >= batch_rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, batch_rows).combine_chunks().to_batches()[0]
                rest = table.slice(batch_rows)
                pending = rest.to_batches()
                size = rest.num_rows
        if size:
            yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


def _merge_extra(saved: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, Any]:
    """A sink reports only what this run did: add counts and paths to the earlier runs'."""
    merged = dict(saved)
    for key, value in run.items():
        before = merged.get(key)
        if isinstance(value, list) and isinstance(before, list):
            merged[key] = before + [item for item in value if item not in before]
        elif isinstance(value, int) and isinstance(before, int):
            merged[key] = before + value
        else:
            merged[key] = value
    return merged


def _keyset(plan: Plan) -> bool:
    """Plain row queries page by (eventdate, _seq); grouped or re-ordered ones by offset."""
    stage = plan.stage
    return (
        isinstance(stage.source, str)
        and stage.grouping is None
        and stage.limit is None
        and stage.offset is None
        and [k.expr for k in stage.order[:2]]
        == [TColumn("eventdate", t.TIMESTAMP), TColumn("_seq", t.INT8)]
    )
