"""Query jobs in-process: the seed's endpoints and shapes, the lifecycle (complete, stop, start,
remove, continuous following, restart) and exactly-once delivery per checkpoint."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from linqd.api.app import create_app
from linqd.api.auth import hmac_signature
from linqd.clock import SimulatedClock
from linqd.config import Settings
from linqd.datadir import DataDir, open_data_dir
from linqd.domains import Credentials, DomainStore
from linqd.errors import SinkError
from linqd.jobs.model import Job
from linqd.jobs.repo import JobRepository
from linqd.jobs.runner import JobRunner
from linqd.sinks.base import RowFormat, Sink, SinkBatch, SinkSpec

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000_000
SIGNED = itertools.count()
TABLE = "my.app.jobs"
WAIT = 20.0


@dataclass
class Recorder:
    """A sink for tests that keeps every line it is sent, and can be told to fail."""

    lines: list[str] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    fail: bool = False


class RecordingSink(Sink):
    def __init__(self, recorder: Recorder, batch_rows: int) -> None:
        self.recorder = recorder
        self.spec = SinkSpec(RowFormat.JSON, batch_rows=batch_rows)

    def send(self, batch: SinkBatch) -> None:
        if self.recorder.fail:
            raise SinkError("receiver down")
        self.recorder.lines.extend(batch.lines)
        self.recorder.indexes.append(batch.index)


@dataclass
class Env:
    client: httpx.AsyncClient
    data: DataDir
    runner: JobRunner
    domains: DomainStore
    creds: Credentials
    recorder: Recorder

    def headers(self, body: bytes = b"") -> dict[str, str]:
        # Each signed request is accepted once: a fresh timestamp per request, as clients do.
        ts = str(NOW - next(SIGNED))
        key = self.creds.api_key
        return {
            "Content-Type": "application/json",
            "x-logtrust-apikey": key,
            "x-logtrust-timestamp": ts,
            "x-logtrust-sign": hmac_signature(key, self.creds.api_secret, body, ts),
        }

    async def launch(self, destination: dict[str, Any], **body: Any) -> httpx.Response:
        payload = {
            "query": f"from {TABLE} select message",
            "from": (NOW - 3_600_000) // 1000,
            "mode": {"type": "json/simple/compact"},
            "destination": destination,
            **body,
        }
        raw = json.dumps(payload).encode()
        return await self.client.post("/search/query", content=raw, headers=self.headers(raw))

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=self.headers())

    def append(self, *messages: str) -> None:
        self.data.store.append(TABLE, {"message": list(messages)}, client="self")


def make_runner(data: DataDir, recorder: Recorder, batch_rows: int = 3) -> JobRunner:
    def factory(job: Job) -> Sink:
        if job.type == "donothing":
            return RecordingSink(recorder, batch_rows)
        raise SinkError(f"no {job.type} here")

    return JobRunner(
        # The runner lives a minute later: bounded jobs ending at NOW are past their lateness.
        data.store,
        JobRepository(data.meta),
        SimulatedClock(NOW + 60_000),
        factory,
        idle_wait_s=0.05,
    )


@pytest.fixture
def data(tmp_path: Path, store_spec: str) -> Iterator[DataDir]:
    data = open_data_dir(tmp_path, SimulatedClock(NOW - 60_000), store=store_spec)
    yield data
    data.close()


@pytest.fixture
async def env(data: DataDir) -> AsyncIterator[Env]:
    clock = SimulatedClock(NOW)
    domains = DomainStore(data.meta, clock)
    creds = domains.create_domain("self")
    recorder = Recorder()
    runner = make_runner(data, recorder)
    app = create_app(Settings(data_dir=data.path), data.store, domains, clock, runner=runner)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://linqd"
    ) as client:
        yield Env(client, data, runner, domains, creds, recorder)
    runner.close()


def messages(recorder: Recorder) -> list[str]:
    return [json.loads(line)["message"] for line in recorder.lines]


async def test_bounded_job_completes_with_every_row(env: Env) -> None:
    env.append(*(f"m{i}" for i in range(10)))
    response = await env.launch(
        {"type": "donothing", "params": {"friendlyName": "nightly"}}, to=NOW // 1000 - 1
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"msg", "status", "object"} and body["status"] == 0
    job_id = body["object"]["id"]
    assert env.runner.wait(job_id, WAIT)
    job = (await env.get(f"/search/job/{job_id}")).json()
    assert job["status"] == 0 and isinstance(job["timestamp"], int) and job["cid"]
    obj = job["object"]
    assert obj["status"] == "COMPLETED"
    assert obj["eventGenerated"] == obj["eventsSent"] == 10
    assert obj["type"] == "donothing" and obj["friendlyName"] == "nightly"
    assert obj["query"] == f"from {TABLE} select message"
    assert obj["error"] == [] and isinstance(obj["extra"], dict)
    assert obj["lastDatetime"] == NOW - 60_000
    assert messages(env.recorder) == [f"m{i}" for i in range(10)]
    assert env.recorder.indexes == [0, 1, 2, 3, 4]  # batches of 3, then the empty last one


async def test_listing_filters_and_generated_names(env: Env) -> None:
    env.append("x")
    first = (await env.launch({"type": "donothing", "params": {}})).json()["object"]["id"]
    await env.launch({"type": "donothing", "params": {"friendlyName": "named"}})
    listed = (await env.get("/search/jobs")).json()["object"]
    assert len(listed) == 2 and all(job["friendlyName"] for job in listed)
    generated = next(job for job in listed if job["id"] == first)["friendlyName"]
    assert generated.startswith("donothing_") and len(generated) == len("donothing_") + 10
    by_type = (await env.get("/search/jobs/donothing")).json()["object"]
    assert len(by_type) == 2
    by_name = (await env.get("/search/jobs/donothing/named")).json()["object"]
    assert [job["friendlyName"] for job in by_name] == ["named"]
    assert (await env.get("/search/jobs/kafka")).json()["object"] == []


async def test_duplicate_friendly_name(env: Env) -> None:
    env.append("x")
    await env.launch({"type": "donothing", "params": {"friendlyName": "test_error"}})
    again = await env.launch({"type": "donothing", "params": {"friendlyName": "test_error"}})
    assert again.status_code == 409
    assert again.json()["msg"] == "Unable to Start Task: Task Key Duplicate: test_error"


async def test_continuous_job_stop_start_remove(env: Env) -> None:
    env.append("a", "b")
    job_id = (await env.launch({"type": "donothing", "params": {}})).json()["object"]["id"]
    env.append("c")
    stopped = (await env.get(f"/search/job/stop/{job_id}")).json()["object"]
    assert stopped["status"] == "STOPPED"
    sent_before = stopped["eventsSent"]
    assert messages(env.recorder) == ["a", "b", "c"][:sent_before]
    again = await env.get(f"/search/job/stop/{job_id}")
    assert again.status_code == 400 and again.json()["status"] == 108
    env.append("d", "e")
    started = (await env.get(f"/search/job/start/{job_id}")).json()["object"]
    assert started["status"] == "RUNNING"
    env.append("f")
    removed = await env.client.delete(f"/search/job/remove/{job_id}", headers=env.headers())
    assert removed.json()["object"]["status"] == "REMOVED"
    assert (await env.get("/search/jobs")).json()["object"] == []
    missing = await env.get(f"/search/job/{job_id}")
    assert missing.status_code == 404
    assert missing.json()["msg"] == "Task not found" and missing.json()["status"] == 100
    got = messages(env.recorder)
    assert got == sorted(set(got)), "no row twice"
    assert got == ["a", "b", "c", "d", "e", "f"][: len(got)]


async def test_restart_resumes_without_loss_or_repeat(env: Env, data: DataDir) -> None:
    env.append(*(f"r{i}" for i in range(7)))
    job_id = (await env.launch({"type": "donothing", "params": {}})).json()["object"]["id"]
    env.runner.close()  # the server stops; the job stays RUNNING
    env.append(*(f"s{i}" for i in range(5)))
    second = make_runner(data, env.recorder)
    second.resume_all()
    env.append("t0")
    try:
        repo = JobRepository(data.meta)
        for _ in range(400):  # bounded wait for the worker thread, each step a blocking join
            job = repo.find(job_id)
            if job is not None and job.events_sent == 13:
                break
            second.wait(job_id, 0.05)
        expected = [f"r{i}" for i in range(7)] + [f"s{i}" for i in range(5)] + ["t0"]
        assert messages(env.recorder) == expected
    finally:
        second.close()


async def test_sink_failure_stops_the_job_and_start_retries(env: Env) -> None:
    env.append("a", "b")
    env.recorder.fail = True
    job_id = (await env.launch({"type": "donothing", "params": {}})).json()["object"]["id"]
    assert env.runner.wait(job_id, WAIT)
    job = (await env.get(f"/search/job/{job_id}")).json()["object"]
    assert job["status"] == "STOPPED" and job["error"] == ["receiver down"]
    env.recorder.fail = False
    await env.get(f"/search/job/start/{job_id}")
    repo = JobRepository(env.data.meta)
    for _ in range(400):  # bounded: each step is a blocking join on the worker
        current = repo.find(job_id)
        if current is not None and current.events_sent == 2:
            break
        env.runner.wait(job_id, 0.05)
    await env.get(f"/search/job/stop/{job_id}")
    assert messages(env.recorder) == ["a", "b"]


async def test_jobs_of_other_domains_are_invisible(env: Env) -> None:
    env.append("x")
    job_id = (await env.launch({"type": "donothing", "params": {}})).json()["object"]["id"]
    other = env.domains.create_domain("other")
    headers = {"Authorization": f"Bearer {other.token}"}
    assert (await env.client.get("/search/jobs", headers=headers)).json()["object"] == []
    hidden = await env.client.get(f"/search/job/{job_id}", headers=headers)
    assert hidden.status_code == 404


async def test_unknown_destination_type_and_secrets(env: Env) -> None:
    env.append("x")
    bad = await env.launch({"type": "carrier-pigeon", "params": {}})
    assert bad.status_code == 400
    assert "Unknown destination type" in bad.text


@pytest.mark.parametrize(
    ("destination", "text"),
    [
        (
            {"type": "kafka", "params": {"bootstrap.servers": "127.0.0.1:8080", "topic": "t"}},
            "bootstrap.servers: Address 127.0.0.1 is not allowed for outbound connections",
        ),
        (
            {
                "type": "kafka",
                "params": {"bootstrap.servers": "k:9092", "topic": "t", "ssl.providers": "x"},
            },
            "Kafka setting `ssl.providers` is not allowed in a request: it loads code or runs "
            "a command on the linqd server",
        ),
        (
            {
                "type": "s3",
                "params": {
                    "aws.bucket": "b-1",
                    "aws.region": "r",
                    "aws.accesskey": "a",
                    "aws.secretkey": "s",
                    "aws.endpoint": "http://169.254.169.254/",
                },
            },
            "206 : aws.endpoint: Address 169.254.169.254 is not allowed for outbound connections",
        ),
        (
            {"type": "hdfs", "params": {"fs.defaultFS": "hdfs://[::1]:8020", "file": "/a"}},
            "fs.defaultFS: Address ::1 is not allowed for outbound connections",
        ),
    ],
)
async def test_destinations_are_held_to_the_servers_rules(
    env: Env, destination: dict[str, Any], text: str
) -> None:
    env.append("x")
    refused = await env.launch(destination)
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"] == "Bad parameters" and body["object"] == [text]
    assert env.runner.repo.list_jobs("self") == []


async def test_job_endpoints_need_credentials(env: Env) -> None:
    response = await env.client.get("/search/jobs")
    assert response.status_code == 401


# The seed's response examples (seed 000, newer readings), field by field: every field the seed
# shows is in our answer, with the same JSON type; statuses follow the seed's lifecycle.
SEED_GET = {
    "status": 0,
    "cid": "Yh7lwm6VWq",
    "timestamp": 1530010004752,
    "object": {
        "status": "COMPLETED",
        "id": "3f6002a9-69cb-4495-9745-d47216fc58bf",
        "eventGenerated": 13572,
        "eventsSent": 13572,
        "lastDatetime": 1528278403836,
        "error": [],
    },
}
SEED_JOBS_ITEM = {
    "status": "STOPPED",
    "id": "7629679a-8771-4bbe-8cc0-f95e73d10a82",
    "lastDatetime": 0,
    "type": "kafka",
    "friendlyName": "kafka_LKwsktP686",
    "query": "from siem.logtrust.web.activityAll group every 5m by domain, username every 5m",
    "error": [],
}
SEED_STOP = {
    "status": 0,
    "cid": "25WpxtgVel",
    "timestamp": 1530010251200,
    "object": {
        "status": "STOPPED",
        "id": "3360ccfa-4a32-413b-8b31-88ba758a20a4",
        "eventGenerated": 296,
        "lastDatetime": 1530010249501,
        "type": "donothing",
        "friendlyName": "donothing_0wJnjMe9hy",
        "query": "from demo.ecommerce.data select *",
        "error": [],
    },
}
SEED_START = {**SEED_STOP, "object": {**SEED_STOP["object"], "status": "RUNNING"}}  # type: ignore[dict-item]
SEED_REMOVE = {**SEED_STOP, "object": {**SEED_STOP["object"], "status": "REMOVED"}}  # type: ignore[dict-item]


def same_shape(seed: dict[str, Any], ours: dict[str, Any]) -> None:
    for key, value in seed.items():
        assert key in ours, key
        if isinstance(value, dict):
            same_shape(value, ours[key])
        else:
            assert type(ours[key]) is type(value), (key, ours[key], value)


async def test_seed_examples_field_by_field(env: Env) -> None:
    env.append("a", "b", "c")
    bounded = (await env.launch({"type": "donothing", "params": {}}, to=NOW // 1000 - 1)).json()[
        "object"
    ]["id"]
    assert env.runner.wait(bounded, WAIT)
    got = (await env.get(f"/search/job/{bounded}")).json()
    same_shape(SEED_GET, got)
    assert got["object"]["status"] == "COMPLETED"
    live = (await env.launch({"type": "donothing", "params": {}})).json()["object"]["id"]
    stopped = (await env.get(f"/search/job/stop/{live}")).json()
    same_shape(SEED_STOP, stopped)
    assert stopped["object"]["status"] == "STOPPED"
    listing = (await env.get("/search/jobs")).json()
    assert {"status", "cid", "timestamp", "object"} <= set(listing)
    for item in listing["object"]:
        same_shape(SEED_JOBS_ITEM, item)
    started = (await env.get(f"/search/job/start/{live}")).json()
    same_shape(SEED_START, started)
    assert started["object"]["status"] == "RUNNING"
    removed = await env.client.request(
        "DELETE", f"/search/job/remove/{live}", headers=env.headers()
    )
    same_shape(SEED_REMOVE, removed.json())
    assert removed.json()["object"]["status"] == "REMOVED"


async def test_secrets_never_come_back(env: Env) -> None:
    env.append("x")
    secret = "s3cr3t-Passw0rd"
    params = {"email.to": "ops@example.com", "file.password": secret, "friendlyName": "mail"}
    launched = await env.launch({"type": "email", "params": params})
    assert launched.status_code == 200 and secret not in launched.text
    job_id = launched.json()["object"]["id"]
    assert env.runner.wait(job_id, WAIT)
    for path in (f"/search/job/{job_id}", "/search/jobs", "/search/jobs/email/mail"):
        assert secret not in (await env.get(path)).text
    assert secret not in (await env.get(f"/search/job/remove/{job_id}")).text
