"""The whole app in process with the audit on: a DuckDB data directory, a simulated clock, the
domains ``self`` and ``other`` (console users on demand: hashing their passwords is slow), the
ingestion pipeline counting for the collector table and a job runner whose sinks send nowhere."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import anystore
from linqd.api.app import create_app
from linqd.api.auth import hmac_signature
from linqd.audit.service import Audit
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore
from linqd.ingest.pipeline import IngestPipeline
from linqd.ingest.syslog import ParsedBatch
from linqd.jobs.model import Job
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.sinks.base import RowFormat, Sink, SinkBatch, SinkSpec
from linqd.ui.users import ConsoleUsers, Role

NOW = 1_800_000_000_000  # a minute's start
PASSWORD = "correct horse battery"
NODE = "node-7"
ACTIVITY = "siem.logtrust.web.activity"
CONNECTION = "siem.logtrust.web.connection"
COUNTER = "siem.logtrust.collector.counter"
SIGNED = itertools.count()


class DiscardingSink(Sink):
    """A job destination that keeps nothing and reaches nobody."""

    spec = SinkSpec(RowFormat.JSON, batch_rows=100)

    def send(self, batch: SinkBatch) -> None:
        del batch


@dataclass
class Env:
    client: httpx.AsyncClient
    app: Any
    data: DataDir
    domains: DomainStore
    audit: Audit
    pipeline: IngestPipeline
    clock: SimulatedClock
    creds: Credentials
    other: Credentials

    def add_users(self) -> None:
        """The console users ana (analyst of self) and otto (admin of other), with PASSWORD."""
        users = ConsoleUsers(self.data.meta, self.clock)
        users.create("ana", "self", Role.ANALYST, PASSWORD)
        users.create("otto", "other", Role.ADMIN, PASSWORD)

    def signed(self, body: bytes = b"", creds: Credentials | None = None) -> dict[str, str]:
        creds = creds or self.creds
        ts = str(self.clock.now - next(SIGNED))
        return {
            "Content-Type": "application/json",
            "x-logtrust-apikey": creds.api_key,
            "x-logtrust-timestamp": ts,
            "x-logtrust-sign": hmac_signature(creds.api_key, creds.api_secret, body, ts),
        }

    async def query(self, linq: str, **headers: str) -> httpx.Response:
        body = {"query": linq, "from": (NOW - 3_600_000) // 1000, "to": NOW // 1000 + 3600}
        raw = json.dumps({**body, "mode": {"type": "json/simple"}}).encode()
        sent = headers or {"Authorization": f"Bearer {self.creds.token}"}
        return await self.client.post("/search/query", content=raw, headers=sent)

    def committed(self) -> None:
        empty = ParsedBatch([], [], [], [], [])
        assert self.pipeline.wait_committed(self.pipeline.submit(empty, client="self"), 10)

    def rows(self, table: str, domain: str | None = None) -> list[dict[str, Any]]:
        """Every row of ``table`` (of ``domain``) written so far, oldest first."""
        self.audit.flush()
        schema = self.data.store.schema(table)
        assert schema is not None
        names = ["eventdate", "client", *schema.column_names]
        columns = ", ".join(f'"{name}"' for name in names)
        where = " WHERE client = ?" if domain else ""
        sql = f'SELECT {columns} FROM "{table}"{where} ORDER BY _seq'
        found = anystore.rows(self.data.store, sql, [domain] if domain else [])
        return [dict(zip(names, row, strict=True)) for row in found]


def jobs_runner(data: DataDir, clock: SimulatedClock) -> JobRunner:
    def factory(job: Job) -> Sink:
        return DiscardingSink()

    return JobRunner(data.store, JobRepository(data.meta), clock, factory, idle_wait_s=0.05)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store="duckdb")
    yield data
    data.close()


@pytest.fixture
async def env(data: DataDir) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain("self")
    other = domains.create_domain("other")
    # An hour between the writer's own passes: the tests decide when rows are written.
    audit = Audit.start(data.store, clock, default_domain="self", node=NODE, flush_interval_s=3600)
    pipeline = IngestPipeline(data.store, clock, flush_interval_s=0.005, counts=audit.counts)
    runner = jobs_runner(data, clock)
    settings = Settings(data_dir=data.path)
    app = create_app(settings, data.store, domains, clock, pipeline, runner, audit=audit)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50123))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            yield Env(client, app, data, domains, audit, pipeline, clock, creds, other)
    finally:
        runner.close()
        pipeline.close()
        audit.close()
