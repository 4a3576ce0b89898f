"""devo-sdk's test tables and the fixed-schema families through the APIs, in-process: the SDK's
seeding and IP queries on test.keep.types, test.drop.* accepted by /event and /stream, counted in
/metrics and never stored, the table endpoint, and alert definitions naming a table before its
first event. (On DuckDB: the engines' own SQL is tested in tests/store/test_fixed_tables.py.)"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore
from linqd.ingest.pipeline import IngestPipeline
from linqd.ingest.syslog import ParsedBatch

NOW = 1_800_000_000_000
LIMIT = 10.0
BOUNDED = {"from": (NOW - 3_600_000) // 1000, "to": NOW // 1000}
SDK_QUERY = "from test.keep.types select ip4 limit 1"

pytestmark = pytest.mark.anyio


@dataclass
class Env:
    client: httpx.AsyncClient
    data: DataDir
    pipeline: IngestPipeline
    creds: Credentials

    def committed(self) -> None:
        empty = ParsedBatch([], [], [], [], [])
        assert self.pipeline.wait_committed(self.pipeline.submit(empty, client="self"), LIMIT)

    def ingest_url(self, kind: str, tag: str) -> str:
        return f"/{kind}/self/token!{self.creds.ingest_token}/python-sdk-test-hostname/{tag}"

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.creds.token}"}

    async def query(self, query: str, mode: str = "json", **more: Any) -> httpx.Response:
        body = {**BOUNDED, "query": query, "mode": {"type": mode}, **more}
        return await self.client.post("/search/query", json=body, headers=self.bearer)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    data = open_data_dir(tmp_path, clock, store="duckdb")
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain("self")
    pipeline = IngestPipeline(data.store, clock, flush_interval_s=0.005)
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock, pipeline)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            yield Env(client, data, pipeline, creds)
    finally:
        pipeline.close()
        data.close()


async def test_devo_sdks_ip_queries_on_test_keep_types(env: Env) -> None:
    # Before the SDK seeds it the table exists, empty.
    empty = await env.query(SDK_QUERY)
    assert empty.status_code == 200 and empty.json()["object"] == []
    # The SDK's seeding message, as its sender would send it.
    seeded = await env.client.get(env.ingest_url("event", "test.keep.types") + "?ip4=127.0.0.1")
    assert seeded.status_code == 204
    env.committed()

    as_int = (await env.query(SDK_QUERY)).json()["object"]
    assert as_int == [{"ip4": 2130706433}]
    as_text = (await env.query(SDK_QUERY, ipAsString=True)).json()["object"]
    assert as_text == [{"ip4": "127.0.0.1"}]
    # The CLI's form: the column's type in the metadata, the value in the data.
    lines = (await env.query(SDK_QUERY, "json/simple/compact")).text.splitlines()
    meta = json.loads(lines[0])["m"]
    assert meta["ip4"]["type"] == "ip4"
    assert json.loads(lines[1])["d"] == [2130706433]
    with_date = await env.query("from test.keep.types select eventdate, ip4 limit 1")
    assert with_date.json()["object"] == [{"eventdate": NOW, "ip4": 2130706433}]


def metric(text: str, name: str, table: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == {"table": table}:
                return sample.value
    return None


async def test_test_drop_events_are_accepted_counted_and_not_stored(env: Env) -> None:
    event = await env.client.get(env.ingest_url("event", "test.drop.ltsender") + "?David")
    assert event.status_code == 204
    stream = await env.client.post(env.ingest_url("stream", "test.drop.free"), content=b"a\nb\n")
    assert stream.status_code == 200
    env.committed()

    text = (await env.client.get("/metrics", headers=env.bearer)).text
    assert metric(text, "linqd_ingest_events_received_total", "test.drop.ltsender") == 1
    assert metric(text, "linqd_ingest_events_dropped_total", "test.drop.ltsender") == 1
    assert metric(text, "linqd_ingest_events_dropped_total", "test.drop.free") == 2
    assert metric(text, "linqd_ingest_events_stored_total", "test.drop.free") == 0
    assert metric(text, "linqd_ingest_events_rejected_total", "test.drop.free") == 0
    assert env.data.store.schema("test.drop.free") is None

    answer = await env.query("from test.drop.free", "json/compact")
    assert answer.status_code == 200
    body = answer.json()["object"]
    assert list(body["m"]) == ["eventdate", "hostname", "message"] and body["d"] == []


async def test_the_table_endpoint_describes_fixed_tables(env: Env) -> None:
    async def fields(table: str) -> tuple[int, Any]:
        response = await env.client.get(f"/search/table/{table}", headers=env.bearer)
        body = response.json()
        return response.status_code, body.get("object") or body["msg"]

    raw = [
        {"fieldName": "eventdate", "type": "timestamp"},
        {"fieldName": "hostname", "type": "str"},
        {"fieldName": "message", "type": "str"},
    ]
    assert await fields("my.app.never.sent") == (200, raw)
    assert await fields("test.drop.x") == (200, raw)
    status, typed = await fields("test.keep.types")
    assert status == 200
    assert [(f["fieldName"], f["type"]) for f in typed[3:]] == [
        ("str", "str"),
        ("int4", "int4"),
        ("int8", "int8"),
        ("float", "float8"),
        ("bool", "bool"),
        ("ip4", "ip4"),
        ("ip6", "ip6"),
        ("mac", "mac"),
        ("timestamp", "timestamp"),
    ]
    assert await fields("web.app.never") == (403, "Access not allowed for table 'web.app.never'")


async def test_an_alert_can_name_a_table_before_its_first_event(env: Env) -> None:
    headers = {"standAloneToken": env.creds.stand_alone_token}

    async def define(name: str, query: str) -> httpx.Response:
        body = {
            "name": name,
            "subcategory": "tests",
            "alertCorrelationContext": {
                "querySourceCode": query,
                "priority": 5,
                "correlationTrigger": {"kind": "each"},
            },
        }
        return await env.client.post("/alerts/v1/alertDefinitions", json=body, headers=headers)

    created = await define("fresh", 'from my.app.fresh where message -> "error"')
    assert created.status_code == 200, created.text
    assert (await define("typed", "from test.keep.types where isnotnull(ip4)")).status_code == 200
    unknown = await define("nowhere", "from web.app.nowhere")
    assert unknown.status_code == 400
    assert "Unknown table `web.app.nowhere`" in unknown.text
