"""Fair share in a real ``linqd serve`` process, where uvicorn's event loop and anyio's worker
threads are what is under test: 200 idle continuous queries of one token do not slow another
token's query, and a 20,000-term LINQ compile does not slow /health."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from anystore import STORES
from linqd.clock import SystemClock
from linqd.datadir import open_data_dir
from linqd.domains import DomainStore

from .conftest import seed, start_server, stop_server

IDLE_STREAMS = 200
QUERY = "from demo.ecommerce.data select eventdate, method, statusCode"


@dataclass(frozen=True)
class Server:
    url: str
    mine: str  # the token of the domain holding the idle streams
    theirs: str  # another domain's token
    seeded_at_ms: int

    def bounded(self, query: str = QUERY) -> dict[str, Any]:
        return {
            "query": query,
            "from": (self.seeded_at_ms - 3_600_000) // 1000,
            "to": self.seeded_at_ms // 1000 + 60,
            "mode": {"type": "json"},
        }


@pytest.fixture(scope="module", params=list(STORES))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    store = STORES[request.param]
    data_dir = tmp_path_factory.mktemp("fair-share")
    seeded = seed(data_dir, store)
    data = open_data_dir(data_dir, SystemClock(), store=store)
    try:
        other = DomainStore(data.meta, SystemClock()).create_domain("other")
    finally:
        data.close()
    limits = ["--max-queries-per-domain", str(IDLE_STREAMS + 50)]
    limits += ["--max-continuous-queries-per-domain", str(IDLE_STREAMS)]
    # Idle means idle: no keep-alive for 15 s, as with devo-sdk's defaults.
    process, url, _ = start_server(
        data_dir, None, [*limits, "--keepalive-interval", "15"], store=store
    )
    try:
        mine = json.loads((data_dir / "credentials.json").read_text())["token"]
        yield Server(url, mine, other.token, seeded)
    finally:
        stop_server(process)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.anyio
async def test_200_idle_continuous_queries_do_not_slow_another_token(server: Server) -> None:
    continuous = {"query": QUERY, "from": "1h", "mode": {"type": "json/simple/compact"}}
    limits = httpx.Limits(max_connections=IDLE_STREAMS + 10, max_keepalive_connections=0)
    async with (
        httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client,
        contextlib.AsyncExitStack() as streams,
    ):
        readers: list[AsyncIterator[bytes]] = []  # held: dropping one closes its response

        async def open_stream() -> None:
            response = await streams.enter_async_context(
                client.stream("POST", "/search/query", json=continuous, headers=bearer(server.mine))
            )
            assert response.status_code == 200
            readers.append(response.aiter_raw())
            head = await anext(readers[-1])  # the metadata line: the query runs
            assert head.startswith(b'{"m":')

        await asyncio.gather(*(open_stream() for _ in range(IDLE_STREAMS)))
        for token in (server.theirs, server.mine):
            started = time.perf_counter()
            answer = await client.post(
                "/search/query", json=server.bounded(), headers=bearer(token)
            )
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            assert elapsed <= 1.0, f"{elapsed:.2f} s with {IDLE_STREAMS} idle streams open"
        # the domain's continuous slots are all taken: the next one is refused at once
        refused = await client.post("/search/query", json=continuous, headers=bearer(server.mine))
        assert refused.status_code == 429
        assert set(refused.json()) == {"msg", "status", "timestamp", "cid"}


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """This process's garbage collector off while it times the server: a full collection over
    the whole suite's heap stops this client for 200 ms, and that pause was timed as the
    server's."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# Timed from this process: before chdb's threads from the ClickHouse tests share its CPU.
@pytest.mark.early
def test_health_answers_during_a_20000_term_compile(server: Server) -> None:
    terms = " or ".join(f"statusCode = {i}" for i in range(20_000))
    body = server.bounded(f"from demo.ecommerce.data where {terms}")
    outcome: dict[str, Any] = {}

    def big_query() -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            started = time.perf_counter()
            answer = client.post("/search/query", json=body, headers=bearer(server.mine))
            outcome["seconds"] = time.perf_counter() - started
            outcome["status"] = answer.status_code

    latencies: list[float] = []
    with httpx.Client(base_url=server.url, timeout=30) as client, _collector_paused():
        client.get("/health")  # a connection ready before the compile starts
        worker = threading.Thread(target=big_query)
        worker.start()
        while worker.is_alive():
            started = time.perf_counter()
            assert client.get("/health").status_code == 200
            latencies.append(time.perf_counter() - started)
        worker.join()
    assert outcome["status"] == 200
    # the probes covered the compile, which takes seconds
    assert outcome["seconds"] > 0.5 and len(latencies) >= 10
    worst = max(latencies)
    assert worst <= 0.1, f"/health took {worst * 1000:.0f} ms during the compile"
