"""Every route judges the headers before it reads a body, refuses a declared length over its
limit at once, stops reading an undeclared one at the limit, and accepts a signed request once."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from linqd.alerts.service import AlertServices
from linqd.api.app import create_app
from linqd.api.auth import ReplayGuard, hmac_signature
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore
from linqd.ingest.pipeline import IngestPipeline
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.sinks import SinkContext, create_sink

NOW = 1_700_000_000_000
MB = 1 << 20
SIGNED = itertools.count()

pytestmark = pytest.mark.anyio


@dataclass
class Env:
    client: httpx.AsyncClient
    creds: Credentials

    def signed(self, body: bytes = b"", *, key: str | None = None) -> dict[str, str]:
        ts = str(NOW - next(SIGNED))
        key = key or self.creds.api_key
        return {
            "x-logtrust-apikey": key,
            "x-logtrust-timestamp": ts,
            "x-logtrust-sign": hmac_signature(key, self.creds.api_secret, body, ts),
        }


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW), store=store_spec)
    yield data
    data.close()


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW)


@pytest.fixture
async def env(data: DataDir, clock: SimulatedClock) -> AsyncIterator[Env]:
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain("self")
    pipeline = IngestPipeline(data.store, clock, flush_interval_s=0.005)
    context = SinkContext(clock=clock)
    runner = JobRunner(
        data.store,
        JobRepository(data.meta),
        clock,
        lambda job: create_sink(job.type, job.params, job_id=job.id, context=context),
    )
    app = create_app(
        Settings(data_dir=data.path),
        data.store,
        domains,
        clock,
        pipeline,
        runner,
        AlertServices.over(data.meta, clock),
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://linqd") as client:
            yield Env(client, creds)
    finally:
        runner.close()
        pipeline.close()


class Body:
    """A 200 MB body in 1 MB chunks that counts what the server pulled from it."""

    def __init__(self, megabytes: int = 200) -> None:
        self.megabytes = megabytes
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"x" * MB
        for _ in range(self.megabytes):
            self.read += 1
            yield chunk


ROUTES = [
    ("POST", "/search/query"),
    ("POST", "/"),
    ("GET", "/search/table/demo.ecommerce.data"),
    ("GET", "/search/job/x"),
    ("GET", "/search/jobs"),
    ("GET", "/search/job/stop/x"),
    ("DELETE", "/search/job/remove/x"),
    ("GET", "/metrics"),
    ("POST", "/alerts/v1/alertDefinitions"),
    ("PUT", "/alerts/v1/alerts/updateStatusList?status=1"),
    ("POST", "/delco/methods"),
    ("POST", "/alerts/v1/sendingPolicies"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_no_credentials_no_body_read(env: Env, method: str, path: str) -> None:
    body = Body()
    response = await env.client.request(method, path, content=body)
    assert response.status_code == 401
    assert body.read <= 1  # at most what the transport pulled before the app ran


@pytest.mark.parametrize(("method", "path"), ROUTES[:8])
async def test_an_unknown_api_key_reads_no_body(env: Env, method: str, path: str) -> None:
    body = Body()
    headers = env.signed(key="f" * 32)
    response = await env.client.request(method, path, content=body, headers=headers)
    assert response.status_code == 401
    assert body.read <= 1


@pytest.mark.parametrize(("method", "path"), ROUTES[:8])
async def test_a_declared_length_over_the_limit_is_refused_unread(
    env: Env, method: str, path: str
) -> None:
    body = Body()
    headers = {**env.signed(), "Content-Length": str(200 * MB)}
    response = await env.client.request(method, path, content=body, headers=headers)
    assert response.status_code == 413
    assert body.read <= 1


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_an_undeclared_length_stops_at_the_limit(env: Env, method: str, path: str) -> None:
    body = Body()
    headers = env.signed()
    headers["standAloneToken"] = env.creds.stand_alone_token
    response = await env.client.request(method, path, content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert body.read <= 2  # the limit is 1 MB


async def test_ingestion_reads_at_most_its_limit(env: Env) -> None:
    token = env.creds.ingest_token
    for kind in ("event", "stream"):
        body = Body()
        path = f"/{kind}/self/token!{token}/h/my.app.big"
        response = await env.client.post(path, content=body)
        assert response.status_code == 413
        assert body.read <= 33
        declared = Body()
        headers = {"Content-Length": str(200 * MB)}
        response = await env.client.post(path, content=declared, headers=headers)
        assert response.status_code == 413
        assert declared.read <= 1
        anonymous = Body()
        refused = await env.client.post(f"/{kind}/self/token!nope/h/my.app.big", content=anonymous)
        assert refused.status_code == 401
        assert anonymous.read <= 1


async def test_a_signed_request_is_not_accepted_again_later(
    env: Env, clock: SimulatedClock
) -> None:
    """Devo's signature covers neither method nor path (and devo-sdk stamps whole seconds):
    the same headers work again only within the reuse time of their first use."""
    headers = env.signed()
    assert (await env.client.get("/search/jobs", headers=headers)).status_code == 200
    clock.advance(ReplayGuard.REUSE_MS)
    table = "/search/table/demo.ecommerce.data"
    assert (await env.client.get(table, headers=headers)).status_code == 200
    clock.advance(1)
    for path in ("/search/jobs", table):
        replay = await env.client.get(path, headers=headers)
        assert replay.status_code == 401
        assert replay.json()["error"] == {
            "code": 12,
            "message": "Invalid signature validation: request already used",
        }
    assert (await env.client.get(table, headers=env.signed())).status_code == 200


@pytest.mark.parametrize("declared", ["¹", "١٢", "12a", "-1", " "])
def test_a_content_length_that_is_no_number_is_a_400(declared: str) -> None:
    from starlette.requests import Request

    from linqd.api.body import check_declared_length
    from linqd.errors import PayloadTooLarge, ValidationError

    request = Request(
        {"type": "http", "headers": [(b"content-length", declared.encode("latin-1", "replace"))]}
    )
    with pytest.raises(ValidationError) as caught:
        check_declared_length(request, 1024)
    assert not isinstance(caught.value, PayloadTooLarge)
