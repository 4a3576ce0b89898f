"""A Kafka query job survives ``kill -9`` of the server with every row delivered exactly once:
the real server process is killed while the job sends, started again on the same data dir, and
the job (resumed from its checkpoint) completes; the topic then holds each event once."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from confluent_kafka import Consumer, KafkaError
from confluent_kafka.admin import NewTopic

from linqd.api.auth import hmac_signature
from linqd.clock import SystemClock
from linqd.datadir import open_data_dir

from .conftest import start_server, stop_server

# Tansu listens on 127.0.0.1, which the outbound policy denies by default.
LOCAL_BROKER = ["--outbound-allow", "127.0.0.1"]

ROWS = 300_000
TABLE = "my.app.kill"
PARTITIONS = 3
JOB_TIMEOUT_S = 60.0
# The kill comes once the topic holds this many rows: batch 2 (rows 100,000-149,999 of the
# sink's 50,000-row batches) is then in flight, part in Kafka and not yet checkpointed.
KILL_AT = 120_000


def broker_launchers() -> ModuleType:
    """tests/sinks/conftest.py (Tansu's launcher, also used by benchmarks/jobs.py), loaded as a
    plain module: tests/sinks is no package to import it from."""
    name = "linqd_test_brokers"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "sinks" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def store_events(data_dir: Path, now_ms: int, store: str) -> None:
    """ROWS events a few minutes old, committed before the server starts (the store is ours)."""
    data = open_data_dir(data_dir, SystemClock(), store=store)
    try:
        start = now_ms - 600_000
        for first in range(0, ROWS, 100_000):
            count = min(100_000, ROWS - first)
            data.store.append(
                TABLE,
                {"message": [f"event {first + i}" for i in range(count)]},
                client="self",
                eventdates=[start + first + i for i in range(count)],
            )
    finally:
        data.close()


class Api:
    """Signed Query API calls (Devo's HMAC scheme) to one server."""

    def __init__(self, url: str, data_dir: Path) -> None:
        credentials = json.loads((data_dir / "credentials.json").read_text())
        self.url = url
        self.key = credentials["apiKey"]
        self.secret = credentials["apiSecret"]
        self.client = httpx.Client(timeout=30)

    def _headers(self, body: bytes) -> dict[str, str]:
        stamp = str(SystemClock().now_ms())
        return {
            "Content-Type": "application/json",
            "x-logtrust-apikey": self.key,
            "x-logtrust-timestamp": stamp,
            "x-logtrust-sign": hmac_signature(self.key, self.secret, body, stamp),
        }

    def launch(self, body: dict[str, Any]) -> str:
        raw = json.dumps(body).encode()
        answer = self.client.post(
            f"{self.url}/search/query", content=raw, headers=self._headers(raw)
        )
        assert answer.status_code == 200, answer.text
        launched = answer.json()
        assert launched["status"] == 0, launched
        return str(launched["object"]["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        answer = self.client.get(f"{self.url}/search/job/{job_id}", headers=self._headers(b""))
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()["object"]
        return job

    def close(self) -> None:
        self.client.close()


def wait_until_completed(api: Api, job_id: str) -> dict[str, Any]:
    """Poll the job (another process's state) until it is COMPLETED."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        job = api.job(job_id)
        if job["status"] == "COMPLETED":
            return job
        assert job["status"] == "RUNNING", job
        assert time.monotonic() < deadline, f"not completed in {JOB_TIMEOUT_S:.0f} s: {job}"
        time.sleep(0.05)


def consumer(bootstrap: str, *topics: str) -> Consumer:
    """A consumer of whole topics from their start, in a group of its own."""
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"linqd-kill-test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "session.timeout.ms": 6000,  # Tansu's first join takes ~23 s with the default
        }
    )
    reader.subscribe(list(topics))
    return reader


def read(reader: Consumer, *, until_count: int | None = None) -> list[bytes]:
    """Message values: up to ``until_count`` of them, or else until every partition's end."""
    return [value for _, value in read_topics(reader, until_count=until_count)]


def read_topics(
    reader: Consumer, *, until_count: int | None = None, topics: int = 1
) -> list[tuple[str, bytes]]:
    """(topic, value) of the messages of ``topics`` topics: up to ``until_count`` of them, or
    else until every partition's end."""
    events: list[tuple[str, bytes]] = []
    ended: set[tuple[str | None, int | None]] = set()
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while (
        (len(ended) < PARTITIONS * topics) if until_count is None else (len(events) < until_count)
    ):
        assert time.monotonic() < deadline, f"only {len(events)} messages in the topics"
        for message in reader.consume(10_000, 0.5):
            error = message.error()
            if error is None:
                events.append((str(message.topic()), message.value()))
            elif error.code() == KafkaError._PARTITION_EOF:
                ended.add((message.topic(), message.partition()))
            else:
                raise AssertionError(f"consumer error: {error}")
    return events


def test_kafka_job_killed_mid_batch_delivers_every_row_once(
    tmp_path: Path, store_spec: str
) -> None:
    brokers = broker_launchers()
    scratch = tmp_path / "tansu"
    scratch.mkdir()
    data_dir = tmp_path / "data"
    now_ms = SystemClock().now_ms()
    store_events(data_dir, now_ms, store_spec)
    with brokers.running_kafka(scratch) as broker:
        topic = f"kill-{uuid.uuid4().hex[:8]}"
        admin = broker.admin()  # held until the topic exists
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
        destination = {
            "type": "kafka",
            "params": {
                "bootstrap.servers": broker.bootstrap_servers,
                "topic": topic,
                "key": "message",  # each batch spreads over the three partitions
                # A small local queue and a long linger hold the job to ~75,000 rows/s: the
                # kill lands well inside a batch whatever the watcher's lag.
                "queue.buffering.max.messages": 2_000,
                "linger.ms": 25,
            },
        }
        body = {
            "query": f"from {TABLE} select message",
            "from": (now_ms - 3_600_000) // 1000,
            "to": (now_ms - 60_000) // 1000,  # bounded, and past: one window completes it
            "destination": destination,
        }
        process: subprocess.Popen[bytes] | None = None
        try:
            watcher = consumer(broker.bootstrap_servers, topic)
            try:
                assert read(watcher) == []  # joined its group and at the end of the topic
                process, url, _ = start_server(data_dir, None, LOCAL_BROKER, store=store_spec)
                api = Api(url, data_dir)
                job_id = api.launch(body)
                read(watcher, until_count=KILL_AT)
                process.kill()
                process.wait()
            finally:
                watcher.close()
            api.close()
            process, url, _ = start_server(data_dir, None, LOCAL_BROKER, store=store_spec)
            api = Api(url, data_dir)
            finished = wait_until_completed(api, job_id)
            api.close()
            assert finished["eventsSent"] == ROWS, finished
        finally:
            if process is not None:
                stop_server(process)
        reader = consumer(broker.bootstrap_servers, topic)
        try:
            events = [json.loads(value)["message"] for value in read(reader)]
        finally:
            reader.close()
    counted = Counter(events)
    twice = sorted((event for event, n in counted.items() if n > 1), key=len)
    assert not twice, f"{len(twice)} events arrived more than once, e.g. {twice[:3]}"
    assert len(events) == ROWS
    assert set(events) == {f"event {i}" for i in range(ROWS)}
