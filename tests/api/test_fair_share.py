"""Fair share between clients, in-process: idle streams hold no worker thread, per-domain limits
on queries and continuous queries (HTTP 429), whole documents within their row and byte limits,
and LINQ past the compile budget answered as a 400 by every API that takes LINQ.

Streams are driven straight through the ASGI application (``Call``), so a test sees each piece
as it is sent and decides when the client goes away; httpx's in-process transport would wait
for the end of a continuous query, which never comes."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import msgpack
import openpyxl
import pytest
from starlette.applications import Starlette

from linqd.api.app import create_app
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000
ROWS = 40
TABLE = "demo.ecommerce.data"
Q = f"from {TABLE} select eventdate, method, statusCode"
CONTINUOUS = {"from": "1h", "query": Q, "mode": {"type": "json/simple/compact"}}
BOUNDED = {"from": (NOW - 3_600_000) // 1000, "to": NOW // 1000, "query": Q}


@dataclass
class Call:
    """One Query API request driven through the ASGI app, its pieces seen as they are sent."""

    app: Starlette
    body: dict[str, Any]
    token: str
    status: int | None = None
    chunks: list[bytes] = field(default_factory=list)
    started: anyio.Event = field(default_factory=anyio.Event)
    done: anyio.Event = field(default_factory=anyio.Event)
    gone: anyio.Event = field(default_factory=anyio.Event)
    arrived: anyio.Event = field(default_factory=anyio.Event)

    async def run(self) -> None:
        raw = json.dumps(self.body).encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/search/query",
            "raw_path": b"/search/query",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"authorization", f"Bearer {self.token}".encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("linqd", 80),
        }
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await self.gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                return
            self.chunks.append(message.get("body", b""))
            if self.chunks[-1] or not message.get("more_body"):
                self.started.set()
            self._arrive()

        try:
            await self.app(scope, receive, send)
        finally:
            self.started.set()
            self.done.set()
            self._arrive()

    def _arrive(self) -> None:
        arrived, self.arrived = self.arrived, anyio.Event()
        arrived.set()

    async def lines(self, count: int) -> None:
        """Wait until ``count`` lines were sent (failing if the answer ends before)."""
        while self.text.count("\r\n") < count:
            assert not self.done.is_set(), self.text
            await self.arrived.wait()

    @property
    def text(self) -> str:
        return b"".join(self.chunks).decode()

    async def leave(self) -> None:
        self.gone.set()
        await self.done.wait()


@dataclass
class Env:
    data: DataDir
    clock: SimulatedClock
    domains: DomainStore
    mine: Credentials
    other: Credentials

    def app(self, **settings: Any) -> Starlette:
        config = Settings(data_dir=self.data.path, keepalive_interval_s=30.0, **settings)
        return create_app(config, self.data.store, self.domains, self.clock)

    async def client(self, app: Starlette) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://linqd")


@pytest.fixture
def env(tmp_path: Path, store_spec: str) -> Iterator[Env]:
    clock = SimulatedClock(NOW)
    data = open_data_dir(tmp_path, clock, store=store_spec)
    domains = DomainStore(data.meta, clock)
    mine, other = domains.create_domain("self"), domains.create_domain("other")
    for credentials in (mine, other):
        data.store.append(
            TABLE,
            {
                "method": ["GET" if i % 2 else "POST" for i in range(ROWS)],
                "uri": [f"/item/{i}/" + "x" * 200 for i in range(ROWS)],
                "statusCode": [200 + i for i in range(ROWS)],
            },
            client=credentials.domain,
            eventdates=[NOW - 600_000 + i for i in range(ROWS)],
        )
    yield Env(data, clock, domains, mine, other)
    # A cancelled query's thread ends on its own, shortly after its answer: wait for it before
    # closing the store under it.
    for thread in threading.enumerate():
        if thread.name.startswith("query"):
            thread.join(10)
    data.close()


async def open_streams(
    tg: anyio.abc.TaskGroup, app: Starlette, token: str, count: int, body: dict[str, Any]
) -> list[Call]:
    calls = [Call(app, body, token) for _ in range(count)]
    for call in calls:
        tg.start_soon(call.run)
    for call in calls:
        await call.started.wait()
    return calls


async def answer(app: Starlette, token: str, body: dict[str, Any]) -> Call:
    call = Call(app, body, token)
    await call.run()
    return call


def plain_429(call: Call, words: str) -> None:
    assert call.status == 429, call.text
    body = json.loads(call.text)
    assert set(body) == {"msg", "status", "timestamp", "cid"}
    assert body["status"] == 429 and body["timestamp"] == NOW
    assert words in body["msg"]


# -- streams hold no worker thread -----------------------------------------------------------------


async def test_idle_continuous_queries_hold_no_worker_thread(env: Env) -> None:
    app = env.app()
    workers = anyio.to_thread.current_default_thread_limiter()
    async with anyio.create_task_group() as tg:
        calls = await open_streams(tg, app, env.mine.token, 16, CONTINUOUS)
        for call in calls:
            await call.lines(ROWS + 1)  # the metadata line, then every stored row
            assert call.status == 200
        # every stream has sent what is stored and now waits for appends: on the event loop
        assert workers.borrowed_tokens == 0
        other = await answer(app, env.other.token, {**BOUNDED, "mode": {"type": "json"}})
        assert len(json.loads(other.text)["object"]) == ROWS, other.text[:400]
        for call in calls:
            await call.leave()


# -- per-domain limits -----------------------------------------------------------------------------


async def test_continuous_queries_per_domain(env: Env) -> None:
    app = env.app(max_queries_per_domain=10, max_continuous_queries_per_domain=2)
    async with anyio.create_task_group() as tg:
        first, second = await open_streams(tg, app, env.mine.token, 2, CONTINUOUS)
        refused = await answer(app, env.mine.token, CONTINUOUS)
        plain_429(refused, "Too many continuous queries")
        # a query with an end is not continuous; another domain has slots of its own
        bounded = await answer(app, env.mine.token, {**BOUNDED, "mode": {"type": "json"}})
        assert bounded.status == 200
        (theirs,) = await open_streams(tg, app, env.other.token, 1, CONTINUOUS)
        assert theirs.status == 200
        # a client that goes away gives its slot back
        await first.leave()
        (again,) = await open_streams(tg, app, env.mine.token, 1, CONTINUOUS)
        assert again.status == 200
        for call in (second, theirs, again):
            await call.leave()


async def test_queries_per_domain(env: Env) -> None:
    app = env.app(max_queries_per_domain=2, max_continuous_queries_per_domain=5)
    async with anyio.create_task_group() as tg:
        calls = await open_streams(tg, app, env.mine.token, 2, CONTINUOUS)
        refused = await answer(app, env.mine.token, {**BOUNDED, "mode": {"type": "json"}})
        plain_429(refused, "Too many queries")
        theirs = await answer(app, env.other.token, {**BOUNDED, "mode": {"type": "json"}})
        assert theirs.status == 200
        await calls[0].leave()
        mine = await answer(app, env.mine.token, {**BOUNDED, "mode": {"type": "json"}})
        assert mine.status == 200
        # errors and finished answers hand their slot back too
        for _ in range(3):
            bad = await answer(app, env.mine.token, {**BOUNDED, "query": "from no.such.table"})
            assert bad.status == 400
        assert (await answer(app, env.mine.token, {**BOUNDED, "mode": "json"})).status == 200
        await calls[1].leave()


# -- whole documents -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["msgpack", "xls"])
async def test_whole_documents_are_refused_past_their_limits(env: Env, mode: str) -> None:
    # each row carries a 200-character uri: 40 rows pass 4,096 bytes
    wide = f"from {TABLE} select eventdate, method, uri, statusCode"
    body = {**BOUNDED, "query": wide, "mode": {"type": mode}}
    async with await env.client(env.app(max_document_rows=ROWS - 1)) as client:
        headers = {"Authorization": f"Bearer {env.mine.token}"}
        refused = await client.post("/search/query", json=body, headers=headers)
        assert refused.status_code == 400
        assert refused.json()["msg"] == "Error Launching Query"
        assert f"more than {ROWS - 1} rows" in refused.json()["object"][1]
        fits = await client.post("/search/query", json={**body, "limit": ROWS - 1}, headers=headers)
        assert fits.status_code == 200
    async with await env.client(env.app(max_document_bytes=4_096)) as client:
        refused = await client.post("/search/query", json=body, headers=headers)
        assert refused.status_code == 400
        assert "more than 4096 bytes" in refused.json()["object"][1]


async def test_whole_documents_within_their_limits(env: Env) -> None:
    async with await env.client(env.app()) as client:
        headers = {"Authorization": f"Bearer {env.mine.token}"}
        packed = await client.post(
            "/search/query", json={**BOUNDED, "mode": {"type": "msgpack"}}, headers=headers
        )
        document = msgpack.unpackb(packed.content)
        assert list(document) == ["msg", "timestamp", "cid", "object", "status"]
        assert [o["statusCode"] for o in document["object"]] == [200 + i for i in range(ROWS)]
        book = await client.post(
            "/search/query", json={**BOUNDED, "mode": {"type": "xls"}}, headers=headers
        )
        sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
        assert sheet is not None and sheet.max_row == ROWS + 1


# -- LINQ past the compile budget -----------------------------------------------------------------

DEEP = f"from {TABLE} select " + " + ".join(["statusCode"] * 1_000) + " as total"


def definition(query: str) -> dict[str, Any]:
    return {
        "name": "deep",
        "subcategory": "t",
        "message": "m",
        "description": "d",
        "alertCorrelationContext": {
            "querySourceCode": query,
            "priority": 5,
            "correlationTrigger": {"kind": "each"},
        },
    }


async def test_a_chain_of_1000_plus_is_a_400_everywhere(env: Env) -> None:
    async with await env.client(env.app()) as client:
        query = await client.post(
            "/search/query",
            json={**BOUNDED, "query": DEEP},
            headers={"Authorization": f"Bearer {env.mine.token}"},
        )
        assert query.status_code == 400
        body = query.json()
        assert body["context"]["kind"] == "linq.limit"
        assert "Expression too deep: more than 100 nested operators" in body["object"][1]
        assert "at line 1, column" in body["object"][1]
        headers = {"standAloneToken": env.mine.stand_alone_token}
        created = await client.post(
            "/alerts/v1/alertDefinitions", json=definition(DEEP), headers=headers
        )
        assert created.status_code == 400
        assert created.json()["messageKey"] == "linq.limit"
        backtest = await client.post(
            "/alerts/v1/alertDefinitions/backtest",
            params={"from": NOW - 3_600_000, "to": NOW},
            json=definition(DEEP),
            headers=headers,
        )
        assert backtest.status_code == 400
        assert "Expression too deep" in backtest.json()["msg"]


async def test_queries_at_the_depth_limit_run_everywhere(env: Env) -> None:
    at_limit = f"from {TABLE} select " + " + ".join(["statusCode"] * 101) + " as total"
    async with await env.client(env.app()) as client:
        query = await client.post(
            "/search/query",
            json={**BOUNDED, "query": at_limit, "mode": {"type": "json"}},
            headers={"Authorization": f"Bearer {env.mine.token}"},
        )
        assert query.status_code == 200, query.text
        assert json.loads(query.text)["object"][0]["total"] == 200 * 101
        backtest = await client.post(
            "/alerts/v1/alertDefinitions/backtest",
            params={"from": NOW - 3_600_000, "to": NOW},
            json=definition(at_limit),
            headers={"standAloneToken": env.mine.stand_alone_token},
        )
        assert backtest.status_code == 200, backtest.text
        assert len(backtest.json()) == ROWS
