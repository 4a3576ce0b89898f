"""The Lookups API's operations on a domain's lookups: list, describe, deploy (CSV or query),
delete, and the jobs and statuses of each.

- A CSV deployment is read, checked and written inside its request: a refused CSV answers 400
  and leaves nothing behind; an accepted one's job is done (``create.start``, ``create.ok``)
  when the reply leaves, so the lookup is usable in LINQ at once.
- A query deployment is checked at once (LINQ errors, the key column, column types, the
  caller's table scope) and then runs as a clock-driven job (``jobs.py``): the reply names the
  job, whose statuses say when the lookup is ready.
- A deletion is a job too, done inside its request (``delete.start``, ``delete.ok``); the jobs
  of a deleted lookup can still be read until newer ones of the same name push them out.
- Deployments and deletions of one lookup are serialised; readers see the old rows until a
  write commits (one store transaction), never a half-written lookup.
- Each lookup keeps its last ``JOBS_KEPT`` jobs; each job its last 50 statuses.
- A lookup uploaded over syslog is the same table: the API adopts it when it first meets it
  (kind ``syslog``, its first column as key, as devo-sdk sends the key first).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from sqlglot import exp

from ..clock import Clock
from ..errors import Conflict, LinqdError, NotFound, ValidationError
from ..jobs.model import Job, JobStatus
from ..jobs.runner import JobRunner
from ..jobs.statuses import JobStatusLog, StatusEntry
from ..linq.analyzer import SchemaLookup
from ..lookup_tables import LOOKUP_PREFIX, is_lookup_storage, lookup_storage
from ..meta import MetaStore
from ..store.base import EventStore
from . import query
from .bodies import lookup_name
from .csv_reader import read_csv
from .jobs import LIVE, LOOKUP_JOB, LookupJobs, new_job
from .limits import DEFAULT_LIMITS, LookupLimits
from .recipe import ColumnDef, LookupKind, Recipe
from .registry import LookupRecord, LookupRegistry, LookupState
from .statuses import Action, Step, record
from .writes import storage_name, write_rows

JOBS_KEPT = 10


@dataclass(frozen=True)
class Deployed:
    job_id: str
    record: LookupRecord
    recipe: Recipe  # what this deployment asked for (an append keeps the lookup's own)


class LookupService:
    def __init__(
        self,
        store: EventStore,
        meta: MetaStore,
        runner: JobRunner,
        clock: Clock,
        limits: LookupLimits = DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.runner = runner
        self.repo = runner.repo
        self.clock = clock
        self.limits = limits
        self.registry = LookupRegistry(meta)
        self.statuses = JobStatusLog(meta)
        self.jobs = LookupJobs(store, self.registry, self.statuses, limits)
        if not runner.registered(LOOKUP_JOB):
            runner.register(LOOKUP_JOB, self.jobs)
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @contextmanager
    def _serialised(self, domain: str, name: str) -> Iterator[None]:
        key = (domain, name.lower())
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

    # -- reading ---------------------------------------------------------------------------------

    def known(self, domain: str, name: str) -> LookupRecord | None:
        """The lookup ``name`` of ``domain``, adopting one uploaded over syslog."""
        found = self.registry.get(domain, name)
        if found is not None:
            return found
        schema = self.store.schema(storage_name(domain, name))
        if schema is None or not schema.columns:
            return None
        return self._adopt(domain, name, schema.columns[0].name)

    def _adopt(self, domain: str, name: str, key: str) -> LookupRecord | None:
        now = self.clock.now_ms()
        adopted = LookupRecord(
            domain,
            name,
            LookupKind.SYSLOG,
            LookupState.AVAILABLE,
            Recipe(kind=LookupKind.SYSLOG, key_column=key),
            None,
            now,
            now,
        )
        try:
            return self.registry.insert(adopted)
        except Conflict:
            return self.registry.get(domain, name)

    def get(self, domain: str, name: str) -> LookupRecord:
        found = self.known(domain, name)
        if found is None:
            raise NotFound(f"Lookup `{name}` not found")
        return found

    def page(
        self, domain: str, *, max_length: int, page_token: int, visible: Callable[[str], bool]
    ) -> tuple[list[LookupRecord], int | None]:
        """Up to ``max_length`` lookups after ``page_token``, oldest first, and the token of
        the next page (None on the last)."""
        for schema in self.store.tables():
            linq_name = schema.name.rpartition("#")[0]
            if is_lookup_storage(schema.name) and lookup_storage(linq_name, domain) == schema.name:
                self.known(domain, linq_name[len(LOOKUP_PREFIX) :])
        records = self.registry.page(domain, page_token, max_length)
        following = records[-1].order if len(records) == max_length else None
        if following is not None and not self.registry.page(domain, following, 1):
            following = None
        return [r for r in records if visible(LOOKUP_PREFIX + r.name)], following

    def columns(self, found: LookupRecord) -> tuple[ColumnDef, ...]:
        schema = self.store.schema(storage_name(found.domain, found.name))
        if schema is None:
            return found.recipe.columns
        return tuple(ColumnDef(c.name, c.type) for c in schema.columns)

    def row_count(self, found: LookupRecord) -> int:
        storage = storage_name(found.domain, found.name)
        if self.store.schema(storage) is None:
            return 0
        table = exp.Table(this=exp.to_identifier(storage, quoted=True))
        rows = self.store.fetch(exp.select(exp.func("count", exp.Star())).from_(table))
        return int(rows[0][0]) if rows else 0

    def job_ids(self, domain: str, name: str) -> list[str]:
        jobs = self._jobs_of(domain, name)
        if not jobs and self.known(domain, name) is None:
            raise NotFound(f"Lookup `{name}` not found")
        return [job.id for job in jobs[-JOBS_KEPT:]]

    def job_statuses(self, domain: str, name: str, job_id: str) -> tuple[Job, list[StatusEntry]]:
        job = self.repo.find(job_id)
        if (
            job is None
            or job.domain != domain
            or job.type != LOOKUP_JOB
            or (job.params.get("lookup") != name)
        ):
            raise NotFound(f"Job `{job_id}` of lookup `{name}` not found")
        return job, self.statuses.entries(job_id)

    def _jobs_of(self, domain: str, name: str) -> list[Job]:
        return self.repo.list_of(domain, LOOKUP_JOB, "lookup", name)

    # -- deploying -------------------------------------------------------------------------------

    def _presence(self, domain: str, name: str, *, create: bool) -> LookupRecord | None:
        lookup_name(name, self.limits)
        existing = self.known(domain, name)
        if create:
            if existing is not None:
                raise Conflict(f"A lookup named `{name}` already exists; update it with PUT")
            clash = self.registry.clash(domain, name)
            if clash is not None:
                raise Conflict(f"Lookup `{name}` differs from the lookup `{clash}` only in case")
            if self.registry.count(domain) >= self.limits.max_lookups_per_domain:
                raise ValidationError(
                    f"A domain may hold at most {self.limits.max_lookups_per_domain} lookups; "
                    "delete one first",
                    field="name",
                )
            return None
        if existing is None:
            raise NotFound(f"Lookup `{name}` not found; create it with POST")
        return existing

    def deploy_csv(
        self,
        domain: str,
        name: str,
        recipe: Recipe,
        source: Path | bytes,
        *,
        create: bool,
        cid: str,
    ) -> Deployed:
        assert recipe.csv is not None
        with self._serialised(domain, name):
            existing = self._presence(domain, name, create=create)
            table = read_csv(source, recipe.columns, recipe.csv, self.limits)
            lookup_key = None
            if existing is not None:
                lookup_key = existing.recipe.key_column or _first(self.columns(existing))
            # A replace ends the schedule of a query lookup; an append feeds it.
            superseded = [] if recipe.append else self._live_jobs(domain, name)
            for job in superseded:
                self.runner.halt(job.id)
            try:
                written = write_rows(
                    self.store,
                    domain,
                    name,
                    recipe,
                    table,
                    recipe.columns,
                    lookup_key=lookup_key,
                    strict=True,
                )
            except LinqdError:
                for job in superseded:
                    self.runner.run(job)
                raise
            now = self.clock.now_ms()
            action = Action.CREATE if create else Action.UPDATE
            job = new_job(domain, name, action, recipe, cid=cid, now=now)
            if existing is None:
                fresh = LookupRecord(
                    domain, name, LookupKind.CSV, LookupState.AVAILABLE, recipe, job.id, now, now
                )
                try:
                    saved = self.registry.insert(
                        fresh, max_per_domain=self.limits.max_lookups_per_domain
                    )
                except LinqdError:
                    self.store.drop_lookup(storage_name(domain, name))
                    raise
            else:
                saved = replace(
                    existing, state=LookupState.AVAILABLE, job_id=job.id, updated_ms=now
                )
                if not recipe.append:
                    saved = replace(saved, kind=LookupKind.CSV, recipe=recipe)
                self.registry.save(saved)
            self._stop(superseded, job.id, now)
            self.repo.create(job)
            record(self.statuses, job.id, action, Step.START, now)
            detail = f"{written.stored} rows stored, {written.deleted} keys deleted."
            record(self.statuses, job.id, action, Step.OK, now, detail)
            self.repo.save(job.with_status(JobStatus.COMPLETED))
            self._prune(domain, name)
            return Deployed(job.id, saved, recipe)

    def deploy_query(
        self,
        domain: str,
        name: str,
        recipe: Recipe,
        schemas: SchemaLookup,
        *,
        create: bool,
        cid: str,
    ) -> Deployed:
        with self._serialised(domain, name):
            existing = self._presence(domain, name, create=create)
            now = self.clock.now_ms()
            _, found = query.check(self.store, schemas, recipe, domain, now)
            if recipe.kind.scheduled and recipe.refresh_ms is None:
                recipe = replace(recipe, refresh_ms=found.refresh_ms)
            action = Action.CREATE if create else Action.UPDATE
            job = new_job(domain, name, action, recipe, cid=cid, now=now)
            superseded = self._live_jobs(domain, name)
            for previous in superseded:
                self.runner.halt(previous.id)
            if existing is None:
                saved = self.registry.insert(
                    LookupRecord(
                        domain, name, recipe.kind, LookupState.CREATING, recipe, job.id, now, now
                    ),
                    max_per_domain=self.limits.max_lookups_per_domain,
                )
            else:
                saved = replace(
                    existing,
                    kind=recipe.kind,
                    state=LookupState.UPDATING,
                    recipe=recipe,
                    job_id=job.id,
                    updated_ms=now,
                )
                self.registry.save(saved)
            self._stop(superseded, job.id, now)
            self.repo.create(job)
            record(self.statuses, job.id, action, Step.START, now)
            self.runner.run(job)
            self._prune(domain, name)
            return Deployed(job.id, saved, recipe)

    def delete(self, domain: str, name: str, *, cid: str) -> Deployed:
        with self._serialised(domain, name):
            existing = self.get(domain, name)
            now = self.clock.now_ms()
            job = new_job(domain, name, Action.DELETE, existing.recipe, cid=cid, now=now)
            superseded = self._live_jobs(domain, name)
            for previous in superseded:
                self.runner.halt(previous.id)
            self.registry.save(replace(existing, state=LookupState.DELETING, job_id=job.id))
            self._stop(superseded, job.id, now)
            self.repo.create(job)
            record(self.statuses, job.id, Action.DELETE, Step.START, now)
            try:
                self.store.drop_lookup(storage_name(domain, name))
            except LinqdError as error:
                record(self.statuses, job.id, Action.DELETE, Step.ERR, now, error.message)
                self.repo.save(job.with_status(JobStatus.STOPPED, error=(error.message,)))
                self.registry.save(existing)
                raise
            self.registry.remove(domain, name)
            record(self.statuses, job.id, Action.DELETE, Step.OK, now)
            self.repo.save(job.with_status(JobStatus.COMPLETED))
            self._prune(domain, name)
            return Deployed(job.id, existing, existing.recipe)

    # -- jobs ------------------------------------------------------------------------------------

    def _live_jobs(self, domain: str, name: str) -> list[Job]:
        return [job for job in self._jobs_of(domain, name) if job.status in LIVE]

    def _stop(self, jobs: list[Job], by: str, now: int) -> None:
        """End jobs a newer one (``by``) takes over from (their workers are halted)."""
        for job in jobs:
            current = self.repo.find(job.id) or job
            done = bool(current.extra.get("done"))
            action = Action.REFRESH if done else Action(current.params["action"])
            record(self.statuses, job.id, action, Step.STOP, now, f"Superseded by job {by}.")
            self.repo.save(current.with_status(JobStatus.STOPPED))

    def _prune(self, domain: str, name: str) -> None:
        jobs = self._jobs_of(domain, name)
        old = [job.id for job in jobs[:-JOBS_KEPT] if job.status not in LIVE]
        if old:
            self.repo.delete(old)
            self.statuses.forget(old)


def _first(columns: tuple[ColumnDef, ...]) -> str | None:
    return columns[0].name if columns else None
