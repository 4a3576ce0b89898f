"""The alert engine: every active definition evaluated continuously over the stored events.

Two scheduler threads, the only code of the engine that reads the clock: one follows the
store's appends for event-driven definitions (each without grouping), the other closes periods
for all others, so that a burst of period closes never delays an event's alert. A pass
evaluates what is due, then stores the firings and each definition's progress in one metadata
transaction (digests make the firing of a repeated step a no-op), then writes the new firings
to ``siem.logtrust.alert.info`` and hands them to delivery (``followups.py`` keeps track); a
restart, or the next pass after a failed one, finishes the follow-ups a crash cut short.

With several nodes (``ownership``), a node evaluates only the definitions it holds a lease on
(``alert:<id>``); the transaction that stores a definition's progress and firings first checks
that lease's epoch (``fence``), so a node that lost the definition stores nothing of it, and
its successor, which loads the progress after taking the lease, starts where the last commit
ended: no firing is missed or stored twice (``UNIQUE(domain, digest)`` stays the backstop).
The successor also finishes the follow-ups the previous holder left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Protocol

import pyarrow as pa
from sqlalchemy import Connection
from sqlglot import exp

from ..clock import Clock
from ..cluster.leases import Lease, Ownership
from ..cluster.service import alert_resource
from ..errors import LinqdError
from ..store.base import AppendResult, EventStore, Statement
from .firing import Firing
from .followups import FollowUps
from .kinds import EVALUATORS, Step
from .model import AlertDefinition, AlertStatus, TriggeredAlert
from .program import (
    Program,
    StepKind,
    compile_program,
    shared_scan_select,
    union_select,
    window_params,
)
from .repo import AlertRepository
from .state import Progress, StateRepository
from .triggered import TriggeredAlertRepository, extra_data_text

log = logging.getLogger("linqd.alerts")

ALERT_TABLE = "siem.logtrust.alert.info"
ALERT_HOST = "linqd"
MAX_STEPS_PER_PASS = 100  # periods closed per definition and pass; a backlog continues later


class DeliveryHandOff(Protocol):
    """Where the engine hands its firings to delivery (the dispatcher of alerts/delivery)."""

    def submit(self, alert: TriggeredAlert, definition: AlertDefinition) -> AlertStatus: ...


@dataclass
class _Entry:
    definition: AlertDefinition
    program: Program | None
    progress: Progress
    # The epoch of this node's lease on the definition (several nodes), None alone.
    epoch: int | None = None


@dataclass(frozen=True)
class _Outcome:
    entry: _Entry
    progress: Progress
    firings: tuple[Firing, ...]


class AlertEngine:
    def __init__(
        self,
        store: EventStore,
        definitions: AlertRepository,
        triggered: TriggeredAlertRepository,
        clock: Clock,
        *,
        dispatcher: DeliveryHandOff | None = None,
        lateness_ms: int = 2_000,
        tick_s: float = 0.2,
        ownership: Ownership | None = None,
    ) -> None:
        self.ownership = ownership
        self.store = store
        self.definitions = definitions
        self.triggered = triggered
        self.clock = clock
        self.dispatcher = dispatcher
        self.lateness_ms = lateness_ms
        self.tick_s = tick_s
        self.states = StateRepository(triggered.meta)
        self.followups = FollowUps(triggered.meta)
        # Follow-ups run one batch at a time, so a definition's progress in ``followups`` only
        # moves past a batch once it is done; those of a batch that failed are owed.
        self._following = threading.RLock()
        self._owed: set[str] = set()
        self._entries: dict[str, _Entry] = {}
        # The statement of each shared scan or union of rules, by its rules and their
        # versions: built once, run every pass (building it is costlier than the scan of a
        # small window).
        self._scans: dict[tuple[str, tuple[tuple[str, int], ...]], Statement] = {}
        self._lock = threading.Lock()
        self._dirty = True
        self._stop = threading.Event()
        self._appended = threading.Condition()
        self._threads: list[threading.Thread] = []
        definitions.on_change(self._on_change)
        store.subscribe(self._on_append)

    # -- notifications ----------------------------------------------------------------------------

    def _on_change(self, domain: str) -> None:
        with self._lock:
            self._dirty = True
        with self._appended:
            self._appended.notify_all()

    def _on_append(self, result: AppendResult) -> None:
        with self._appended:
            self._appended.notify_all()

    def reconcile(self, held: Mapping[str, Lease]) -> None:
        """The node's share changed (``ClusterService``): evaluate what it holds now, after
        finishing the follow-ups the previous holders of what it gained left."""
        with self._lock:
            had = {e.definition.id for e in self._entries.values()}
        gained = {
            resource.partition(":")[2] for resource in held if resource.startswith("alert:")
        } - had
        if gained:
            self.recover(gained)
        self._on_change("")

    # -- the scheduler ----------------------------------------------------------------------------

    def start(self) -> AlertEngine:
        self.recover()
        for name, work in (("events", self.evaluate_events), ("periods", self.evaluate_periods)):
            thread = threading.Thread(
                target=self._loop, args=(work,), name=f"alerts-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        return self

    def _loop(self, work: Callable[[], int]) -> None:
        while not self._stop.is_set():
            try:
                work()
            except (LinqdError, OSError) as error:
                log.error("alert engine pass failed: %s", error)
                with self._lock:
                    self._dirty = True  # reload progress: the pass may have half happened
            except Exception:
                # A bug must not stop evaluation for good: the next pass starts afresh.
                log.exception("alert engine pass failed")
                with self._lock:
                    self._dirty = True
            with self._appended:
                if not self._stop.is_set():
                    self._appended.wait(self.tick_s)

    def close(self) -> None:
        self._stop.set()
        with self._appended:
            self._appended.notify_all()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self.store.unsubscribe(self._on_append)

    # -- passes (the threads call these; tests call them with a simulated clock) ------------------

    def step(self) -> int:
        """One pass of each kind of work; the number of new firings."""
        return self.evaluate_events() + self.evaluate_periods()

    def evaluate_events(self) -> int:
        now = self.clock.now_ms()
        upto = self.store.last_seq
        groups: dict[tuple[str, int], list[_Entry]] = {}
        for entry in self._current(now, StepKind.EVENTS):
            seq = entry.progress.seq
            if entry.program is not None and seq is not None and seq < upto:
                groups.setdefault((entry.program.plan.table, seq), []).append(entry)
        outcomes = []
        for (_, seq), group in groups.items():
            outcomes.extend(self._events(group, seq, upto, now))
        return self._commit(outcomes, now)

    def evaluate_periods(self) -> int:
        now = self.clock.now_ms()
        outcomes = []
        for entry in self._current(now, StepKind.PERIODS):
            if entry.program is None or entry.progress.next_end is None:
                continue
            if entry.progress.next_end + self.lateness_ms <= now:
                outcomes.append(self._periods(entry, entry.program, now))
        return self._commit(outcomes, now)

    def _events(self, group: list[_Entry], seq: int, upto: int, now: int) -> list[_Outcome]:
        """The definitions reading one table from one position, in as few queries as can be:
        the cost of a query is mostly its own, not its rows', so a hundred rules in one query
        cost about one. Rules that are plain filters with one projection share one scan;
        the others run as one UNION ALL (or each alone, if that fails)."""
        outcomes, group = self._shared_scans(group, seq, upto, now)
        programs = [e.program for e in group if e.program is not None]
        window = window_params(seq, upto)
        if len(group) > 1:
            try:
                union = self._statement("union", group, lambda: union_select(programs, now))
                result = self.store.fetch(union, window)
            except LinqdError:
                result = None  # one of them fails: run each alone to tell which
            if result is not None:
                parts: list[list[tuple[Any, ...]]] = [[] for _ in group]
                for record in result:
                    parts[record[0]].append(record[1:])
                return outcomes + [
                    self._event_rows(entry, entry_part, upto, now)
                    for entry, entry_part in zip(group, parts, strict=True)
                ]
        for entry, program in zip(group, programs, strict=True):
            try:
                one = self._statement("one", [entry], partial(program.events_select, now))
                result = self.store.fetch(one, window)
            except LinqdError as error:
                outcomes.append(self._failed(entry, error))
                continue
            outcomes.append(self._event_rows(entry, result, upto, now))
        return outcomes

    def _statement(
        self, kind: str, entries: list[_Entry], build: Callable[[], exp.Expression]
    ) -> Statement:
        """The prepared query of ``entries`` (cached while their versions last, unless one of
        them reads the clock: its query changes with every pass)."""
        if any(e.program is None or not e.program.fixed_window for e in entries):
            return self.store.prepare(build())
        versions = tuple((e.definition.id, e.definition.updated_ms) for e in entries)
        key = (f"{kind}:{entries[0].definition.domain}", versions)
        statement = self._scans.get(key)
        if statement is None:
            statement = self._scans[key] = self.store.prepare(build())
        return statement

    def _shared_scans(
        self, group: list[_Entry], seq: int, upto: int, now: int
    ) -> tuple[list[_Outcome], list[_Entry]]:
        """(outcomes of the rules served by shared scans, the rules left over)."""
        kin: dict[tuple[str, tuple[str, ...], str], list[_Entry]] = {}
        rest: list[_Entry] = []
        for entry in group:
            parts = entry.program.scan_parts if entry.program is not None else None
            if parts is None:
                rest.append(entry)
            else:
                key = (parts.source, parts.projection, entry.definition.domain)
                kin.setdefault(key, []).append(entry)
        outcomes: list[_Outcome] = []
        for (_, _, domain), members in kin.items():
            programs = [m.program for m in members if m.program is not None]
            if len(members) < 2:
                rest.extend(members)
                continue
            try:
                build = partial(shared_scan_select, programs, domain)
                scan = self._statement("scan", members, build)
                result = self.store.fetch(scan, window_params(seq, upto))
            except LinqdError as error:
                log.debug("shared scan failed, rules run apart: %s", error)
                rest.extend(members)
                continue
            found: list[list[tuple[Any, ...]]] = [[] for _ in members]
            for line, ts, row_seq, rules in result:
                for rule in rules:
                    found[rule].append((line, ts, row_seq))
            outcomes.extend(
                self._event_rows(member, rows, upto, now)
                for member, rows in zip(members, found, strict=True)
            )
        return outcomes, rest

    def _event_rows(
        self, entry: _Entry, result: list[tuple[Any, ...]], upto: int, now: int
    ) -> _Outcome:
        program = entry.program
        assert program is not None
        rows = program.decode(result)
        times = [int(r.get("eventdate") or now) for r in rows] or [now]
        span = (min(times), max(times) + 1, rows)
        progress = entry.progress
        return self._evaluate(entry, program, progress, span, now, replace(progress, seq=upto))

    def _periods(self, entry: _Entry, program: Program, now: int) -> _Outcome:
        progress = entry.progress
        firings: list[Firing] = []
        for _ in range(MAX_STEPS_PER_PASS):
            end = progress.next_end
            if end is None or end + self.lateness_ms > now:
                break
            step, select = program.period_select(end)
            try:
                rows = program.rows(self.store, select)
            except LinqdError as error:
                return replace(self._failed(entry, error), firings=tuple(firings))
            outcome = self._evaluate(
                entry,
                program,
                progress,
                (step.start_ms, step.end_ms, rows),
                now,
                replace(progress, next_end=end + program.period_ms),
            )
            firings.extend(outcome.firings)
            progress = outcome.progress
        return _Outcome(entry, progress, tuple(firings))

    def _evaluate(
        self,
        entry: _Entry,
        program: Program,
        before: Progress,
        span: tuple[int, int, Sequence[dict[str, Any]]],
        now: int,
        after: Progress,
    ) -> _Outcome:
        evaluate = EVALUATORS[program.kind]
        trigger = entry.definition.spec.trigger
        findings, kind_state = evaluate(trigger, before.kind, Step(*span), program.shape)
        firings = tuple(Firing(entry.definition, f) for f in findings)
        progress = replace(
            after,
            kind=kind_state,
            firings=before.firings + len(firings),
            last_step_ms=now,
            error=None,
        )
        return _Outcome(entry, progress, firings)

    def _failed(self, entry: _Entry, failure: LinqdError) -> _Outcome:
        if entry.progress.error != str(failure):
            log.error("alert %s (%s): %s", entry.definition.id, entry.definition.name, failure)
        return _Outcome(entry, replace(entry.progress, error=str(failure)), ())

    # -- definitions ------------------------------------------------------------------------------

    def _current(self, now: int, kind: StepKind) -> list[_Entry]:
        with self._lock:
            if self._dirty:
                self._reload(now)
            return [
                e for e in self._entries.values() if e.program is None or e.program.steps is kind
            ]

    def _reload(self, now: int) -> None:
        """Active definitions (this node's, with several), with their saved progress when it
        belongs to this version."""
        self._dirty = False
        saved = self.states.load()
        entries: dict[str, _Entry] = {}
        active = self.definitions.active()
        for definition in active:
            epoch = self._epoch(definition.id)
            if epoch is False:
                continue
            current = self._entries.get(definition.id)
            if (
                current is not None
                and current.progress.version == definition.updated_ms
                and current.epoch == epoch
            ):
                # The same object: a pass of the other thread may be about to record progress
                # on it.
                current.definition = definition
                entries[definition.id] = current
                continue
            entry = self._entry(definition, saved.get(definition.id), now)
            entry.epoch = epoch
            entries[definition.id] = entry
        self._entries = entries
        # Scans of rules that all still exist in these versions stay built.
        versions = {(e.definition.id, e.definition.updated_ms) for e in entries.values()}
        self._scans = {k: v for k, v in self._scans.items() if versions.issuperset(k[1])}
        self.states.forget({definition.id for definition in active})

    def _epoch(self, definition_id: str) -> int | bool | None:
        """This node's lease epoch on the definition; None when alone; False when another
        node holds it."""
        if self.ownership is None:
            return None
        lease = self.ownership.claim(alert_resource(definition_id))
        return False if lease is None else lease.epoch

    def _entry(self, definition: AlertDefinition, saved: Progress | None, now: int) -> _Entry:
        try:
            schemas = self.store.schemas_for(definition.domain)
            program = compile_program(definition, schemas, now_ms=now, engine=self.store.engine)
        except LinqdError as error:
            log.error("alert %s (%s): %s", definition.id, definition.name, error)
            return _Entry(definition, None, Progress(definition.updated_ms, error=str(error)))
        if saved is not None and saved.version == definition.updated_ms:
            return _Entry(definition, program, saved)
        return _Entry(definition, program, self.fresh(program))

    def fresh(self, program: Program) -> Progress:
        """Where evaluation of a new (or edited, or re-enabled) definition starts: the period
        holding its activation time, or the first event stored after it."""
        since = program.definition.updated_ms
        version = program.definition.updated_ms
        if program.steps is StepKind.PERIODS:
            return Progress(version, next_end=program.first_end(since))
        return Progress(version, seq=self.store.seq_before(program.plan.table, since))

    # -- storing ----------------------------------------------------------------------------------

    def _commit(self, outcomes: list[_Outcome], now: int) -> int:
        changed = [o for o in outcomes if o.progress != o.entry.progress or o.firings]
        if not changed:
            self._follow_up([])
            return 0
        with self.triggered.meta.transaction() as conn:
            changed = self._still_held(conn, changed)
            firings = [(f.triggered(), f.definition) for o in changed for f in o.firings]
            new = self.triggered.insert_many_in(conn, [alert for alert, _ in firings])
            self.followups.open_in(conn, new)
            definitions = {(alert.domain, alert.digest): d for alert, d in firings}
            stored = [(alert, definitions[(alert.domain, alert.digest)]) for alert in new]
            progress = [
                (o.entry.definition.id, o.entry.definition.domain, o.progress) for o in changed
            ]
            self.states.save_many_in(conn, progress, now)
        with self._lock:
            for outcome in changed:
                outcome.entry.progress = outcome.progress
        self._follow_up(stored)
        return len(stored)

    def _still_held(self, conn: Connection, outcomes: list[_Outcome]) -> list[_Outcome]:
        """In the committing transaction: the outcomes of definitions this node still holds
        at the epoch it evaluated them under (one read under a share lock; dropping the others
        leaves the transaction usable for these)."""
        if self.ownership is None:
            return outcomes
        epochs = {
            alert_resource(o.entry.definition.id): o.entry.epoch
            for o in outcomes
            if o.entry.epoch is not None
        }
        lost = self.ownership.lost(conn, epochs)
        if not lost:
            return outcomes
        for resource in sorted(lost):
            log.warning("alert %s moved to another node", resource.partition(":")[2])
        with self._lock:
            self._dirty = True
        return [o for o in outcomes if alert_resource(o.entry.definition.id) not in lost]

    def _follow_up(self, stored: Sequence[tuple[TriggeredAlert, AlertDefinition]]) -> None:
        """Write the new firings to the alert table and hand them to delivery. After a failed
        batch, the next call finishes it the way a restart would (with its own batch: recovery
        checks the table, since an append may have happened before the failure)."""
        mine = {alert.definition_id for alert, _ in stored}
        with self._following:
            owed, self._owed = self._owed, set()
            try:
                if owed:
                    self.recover(owed | mine)
                elif stored:
                    self._write_rows([alert for alert, _ in stored])
                    self._submit(stored)
                    self.followups.done([alert for alert, _ in stored])
            except BaseException:
                self._owed = owed | mine
                raise

    def _submit(self, stored: Sequence[tuple[TriggeredAlert, AlertDefinition]]) -> None:
        if self.dispatcher is not None:
            for alert, definition in stored:
                self.dispatcher.submit(alert, definition)

    def _write_rows(self, alerts: Sequence[TriggeredAlert]) -> None:
        by_domain: dict[str, list[TriggeredAlert]] = {}
        for alert in alerts:
            by_domain.setdefault(alert.domain, []).append(alert)
        for domain, group in by_domain.items():
            columns: dict[str, Sequence[Any] | pa.Array] = {
                "alertHost": [ALERT_HOST] * len(group),
                "domain": [domain] * len(group),
                "priority": [a.priority for a in group],
                "context": [a.context for a in group],
                "category": [a.category for a in group],
                "alertId": [str(a.id) for a in group],
                "status": [0] * len(group),  # the live status is the Alerts API's
                "username": [a.username for a in group],
                "digest": [a.digest for a in group],
                "extraData": [extra_data_text(a.extra_data) for a in group],
            }
            self.store.append(
                ALERT_TABLE, columns, client=domain, eventdates=[a.create_date for a in group]
            )

    def recover(self, definition_ids: set[str] | None = None) -> None:
        """Finish what a crash left half done: rows missing from the alert table (checked by
        digest, since the append may have happened) and hand-overs to delivery. With several
        nodes: for the definitions this node just took (``definition_ids``), nothing at
        start."""
        if definition_ids is None and self.ownership is not None:
            return
        with self._following:
            unfinished = self.followups.unfinished(definition_ids)
            if not unfinished:
                return
            present: set[str] = set()
            for start in range(0, len(unfinished), 1_000):
                digests = [a.digest for a in unfinished[start : start + 1_000]]
                stored = (
                    exp.Select()
                    .select(exp.column("digest", quoted=True))
                    .from_(exp.Table(this=exp.to_identifier(ALERT_TABLE, quoted=True)))
                    .where(
                        exp.column("digest", quoted=True).isin(
                            *(exp.Literal.string(d) for d in digests)
                        )
                    )
                )
                present.update(row[0] for row in self.store.fetch(stored))
            missing = [a for a in unfinished if a.digest not in present]
            if missing:
                self._write_rows(missing)
            # A second hand-over of the same firing changes nothing; those of definitions
            # deleted since are not delivered.
            definitions = {d.id: d for d in self.definitions.every()}
            self._submit(
                [
                    (a, definitions[a.definition_id])
                    for a in unfinished
                    if a.definition_id in definitions
                ]
            )
            self.followups.done(unfinished)

    # -- what the API shows -----------------------------------------------------------------------

    def status(self, domain: str, *, here: bool = False) -> list[dict[str, Any]]:
        """Each active definition of ``domain`` with its progress and, with several nodes,
        the node that holds it (``owner``) at which lease ``epoch``; definitions another node
        holds show the progress it last stored. ``here``: only what this node evaluates,
        from memory (no read of the metadata store)."""
        with self._lock:
            entries = {
                e.definition.id: e for e in self._entries.values() if e.definition.domain == domain
            }
        holders: Mapping[str, Lease] = {}
        if self.ownership is not None and not here:
            holders = self.ownership.holders()
            saved = self.states.load()
            for definition in self.definitions.active():
                if definition.domain == domain and definition.id not in entries:
                    progress = saved.get(definition.id) or Progress(definition.updated_ms)
                    entries[definition.id] = _Entry(definition, None, progress)
        listed = []
        for e in sorted(entries.values(), key=lambda e: int(e.definition.id)):
            lease = holders.get(alert_resource(e.definition.id))
            listed.append(
                {
                    "id": e.definition.id,
                    "name": e.definition.name,
                    "kind": e.definition.spec.trigger.kind.value,
                    "steps": e.program.steps.value if e.program else None,
                    "periodMs": e.program.period_ms if e.program else None,
                    "nextPeriodEnd": e.progress.next_end,
                    "sequence": e.progress.seq,
                    "firings": e.progress.firings,
                    "cappedKeys": e.progress.kind.capped,
                    "lastEvaluation": e.progress.last_step_ms,
                    "error": e.progress.error,
                    "owner": lease.owner if lease else None,
                    "epoch": lease.epoch if lease else None,
                }
            )
        return listed
